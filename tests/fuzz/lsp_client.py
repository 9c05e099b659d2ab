"""A raw LSP client for fuzzing: it writes any bytes it is told to (bad frames included) to a
real `localgpt lsp` process and reads its answers with a strict parser of its own.

Deliberately not pytest-lsp or pygls: those refuse to send what the fuzzer needs to send
(malformed JSON, ids that are objects, frames with lying lengths).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.user_env import user_env

_HEADER = re.compile(rb"Content-Length: (\d+)\r\n(?:[A-Za-z-]+: [^\r\n]*\r\n)*\r\n")


@dataclass
class Answer:
    message: dict[str, Any]
    at: float


@dataclass
class LspProcess:
    """`python -m localgpt_ls lsp` on pipes, with a thread collecting every message."""

    home: Path
    workspace: Path
    process: subprocess.Popen[bytes] = field(init=False)
    answers: dict[Any, Answer] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    stderr: list[bytes] = field(default_factory=list)
    sent_at: dict[Any, float] = field(default_factory=dict)
    lock: threading.Condition = field(default_factory=threading.Condition)
    _next: int = 0

    def __post_init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localgpt_ls", "lsp"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=user_env(self.home, self.workspace), cwd=self.workspace)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        buf = b""
        while True:
            chunk = out.read1(1 << 16) if hasattr(out, "read1") else out.read(1 << 16)
            if not chunk:
                return
            buf += chunk
            while True:
                m = _HEADER.search(buf)
                if m is None or len(buf) < m.end() + int(m.group(1)):
                    break
                body = buf[m.end():m.end() + int(m.group(1))]
                buf = buf[m.end() + int(m.group(1)):]
                self._got(json.loads(body))

    def _read_stderr(self) -> None:
        err = self.process.stderr
        assert err is not None
        for line in err:
            self.stderr.append(line)

    def _got(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # the server asks the client something
            self.answer_server_request(message)
            return
        with self.lock:
            if "method" in message:
                self.notifications.append(message)
            else:
                key = _key(message.get("id"))
                self.answers[key] = Answer(message, time.monotonic())
            self.lock.notify_all()

    def answer_server_request(self, message: dict[str, Any]) -> None:
        method = message["method"]
        result: Any = None
        if method == "workspace/configuration":
            items = (message.get("params") or {}).get("items") or []
            result = [None for _ in items]
        elif method == "workspace/applyEdit":
            result = {"applied": True}
        self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    # -- writing ---------------------------------------------------------------------------

    def write(self, data: bytes) -> bool:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def send(self, message: Any) -> bool:
        body = json.dumps(message).encode("utf-8", "surrogatepass")
        return self.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def new_id(self) -> int:
        self._next += 1
        return self._next

    def request(self, method: str, params: Any = None, *, id_: Any = None) -> Any:
        id_ = self.new_id() if id_ is None else id_
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            message["params"] = params
        self.sent_at[_key(id_)] = time.monotonic()
        self.send(message)
        return id_

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def wait(self, id_: Any, timeout: float) -> Answer | None:
        key = _key(id_)
        deadline = time.monotonic() + timeout
        with self.lock:
            while key not in self.answers:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    return self.answers.get(key)
                self.lock.wait(min(left, 0.2))
            return self.answers[key]

    def call(self, method: str, params: Any = None, timeout: float = 10.0) -> Answer | None:
        return self.wait(self.request(method, params), timeout)

    def initialize(self, **options: Any) -> Answer | None:
        answer = self.call("initialize", {
            "processId": os.getpid(), "rootUri": self.workspace.as_uri(),
            "capabilities": {"general": {"positionEncodings": ["utf-16"]},
                             "window": {"workDoneProgress": True},
                             "workspace": {"configuration": True, "applyEdit": True}},
            "initializationOptions": options or None,
        }, timeout=60)
        self.notify("initialized", {})
        return answer

    def close(self) -> int | None:
        if self.process.poll() is None:
            with_exit = self.call("shutdown", timeout=10) is not None
            self.notify("exit")
            try:
                self.process.wait(10 if with_exit else 2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def alive(self) -> bool:
        return self.process.poll() is None


def _key(id_: Any) -> str:
    return json.dumps(id_, sort_keys=True)
