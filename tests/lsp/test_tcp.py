"""`localgpt lsp --tcp HOST:PORT`: the same server over a socket, for editors that connect
instead of spawning (and for debugging the server in a terminal)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import PROVIDER_ENV
from tests.lsp.conftest import NO_EMBED, write_vault


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_tcp_server(home: Path, workspace: Path, timeout: float, stderr: int
                     ) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """`localgpt lsp --tcp` on a free port, and a socket connected to it once it listens
    (`timeout`: the socket's own); `stderr` as for Popen (a PIPE is the caller's to close)."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "localgpt_ls", "lsp", "--tcp",
                               f"127.0.0.1:{port}"], env=env, stderr=stderr)
    deadline = time.monotonic() + 30
    while True:
        try:
            return server, socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.1)


class Rpc:
    """Just enough JSON-RPC framing to talk to the server over a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer, self.next_id = sock, b"", 0
        self.seen: set[Any] = set()  # ids of every answer read

    def send(self, method: str, params: Any = None, request: bool = True) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return message.get("id")

    def read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return dict(json.loads(rest[:length]))

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data

    def answer(self, request_id: int | None) -> dict[str, Any]:
        """The response to `request_id`; server requests on the way get an empty answer."""
        while True:
            message = self.read()
            if "method" not in message:
                self.seen.add(message.get("id"))
            if message.get("id") == request_id and "method" not in message:
                return message
            if "method" in message and "id" in message:
                body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": None})
                self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body.encode())


def test_the_server_answers_over_tcp(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "workspace"
    home.mkdir()
    workspace.mkdir()
    write_vault(workspace)
    (home / "config.toml").write_text(NO_EMBED, encoding="utf-8")
    server, sock = start_tcp_server(home, workspace, 30, subprocess.PIPE)
    try:
        with sock:
            rpc = Rpc(sock)
            init = rpc.answer(rpc.send("initialize", {
                "processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}))
            assert init["result"]["serverInfo"]["name"] == "localgpt-ls"
            rpc.send("initialized", {}, request=False)
            found: list[Any] = []
            for _ in range(100):  # the notes are read in the background after start
                found = rpc.answer(rpc.send("workspace/symbol", {"query": "goals"}))["result"]
                if found:
                    break
                time.sleep(0.05)
            assert found[0]["name"] == "Goals"
            assert found[0]["location"]["uri"].endswith("knowledge/project-alpha.md")
            assert "error" not in rpc.answer(rpc.send("shutdown"))
            rpc.send("exit", request=False)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)
        assert server.stderr is not None
        server.stderr.close()


def test_bad_frames_over_tcp_are_recovered_from(tmp_path: Path) -> None:
    """The framing faults of tests/fuzz (a lying or huge Content-Length, a lowercase header,
    LF-only lines, garbage, a 2 MB header line, bad JSON...), each sent over a real socket and
    followed by a good request: every good request is answered, and frames that are only
    unusual are read as they are. pygls's TCP reader stayed deaf after the first."""
    from tests.fuzz.lsp_fuzz import framing_cases, make_vault

    home, workspace = make_vault(tmp_path)
    server, sock = start_tcp_server(home, workspace, 15, subprocess.DEVNULL)
    try:
        with sock:
            rpc = Rpc(sock)
            rpc.answer(rpc.send("initialize", {"processId": None,
                                               "rootUri": workspace.as_uri(),
                                               "capabilities": {}}))
            rpc.send("initialized", {}, request=False)
            not_recovered, not_read = [], []
            for name, make, own_answered in framing_cases(long_line=2_000_000):
                rpc.next_id += 1
                fault_id = rpc.next_id
                sock.sendall(make(fault_id, workspace))
                try:
                    after = rpc.answer(rpc.send("workspace/symbol", {"query": "garden"}))
                except TimeoutError:
                    after = {}
                if "result" not in after:
                    not_recovered.append(name)
                    break  # the connection is out of step now; the rest would say nothing
                if own_answered and not _answered_before(rpc, fault_id):
                    not_read.append(name)
            assert not_recovered == [] and not_read == []
            assert "error" not in rpc.answer(rpc.send("shutdown"))
            rpc.send("exit", request=False)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)


def _answered_before(rpc: Rpc, request_id: int) -> bool:
    """Whether the answer to `request_id` came (the server answers in order, so it came
    before the answer just read, which `Rpc.answer` skipped past)."""
    return request_id in rpc.seen
