"""A seeded fuzzer for the language server: hostile params for every method and command,
malformed JSON, framing faults, lifecycle order, and device/FIFO/long/encoded URIs.

`run_fuzz(base, messages, seed)` drives one real server process and returns a FuzzReport;
`framing_faults` and `lifecycle_cases` each check recovery / the answer the spec asks for.
tests/fuzz/test_lsp_fuzz.py runs short seeded versions in CI; benchmarks/hardening.py the
full run. What counts is what an editor's user would notice: a crash, a request never
answered or answered after 5 s, a traceback shown to them, an InternalError for their input.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.fuzz.lsp_client import Answer, LspProcess
from tests.vault import write_vault

SLOW = 5.0  # seconds: an answer later than this counts as not answered in time
WINDOW = 8  # requests in flight at once, as an editor typing fast has

INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
INVALID_REQUEST = -32600

NOTES = {
    "MEMORY.md": "# Memory\n\n- Prefers tea. See [[kestrel]] and [garden](knowledge/garden.md).\n",
    "HEARTBEAT.md": "# Heartbeat\n\n- [ ] water the plants\n",
    "knowledge/kestrel.md": "# Kestrel\n\nThe kestrel hovers over the field. #birds\n\n"
                            "## Habits\n\nIt hunts voles at dawn.\n",
    "knowledge/garden.md": "# Garden\n\nTomatoes need water every morning in July.\n",
    "memory/2026-11-30.md": "# 2026-11-30\n\n- 10:00 Walked by the river.\n",
}


def make_vault(base: Path) -> tuple[Path, Path]:
    """A home and a workspace at base/.localgpt/workspace with real notes, offline config
    (keyword search, no provider), and the traps: a FIFO note, a link to /dev/zero."""
    home = base / ".localgpt"
    ws = home / "workspace"
    write_vault(ws, NOTES)
    os.mkfifo(ws / "pipe.md")
    (ws / "zero.md").symlink_to("/dev/zero")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    (home / "config.toml").write_text(
        f'[providers.ollama]\nendpoint = "http://127.0.0.1:{dead}"\n\n'
        '[memory]\nembedding_provider = "none"\n\n[heartbeat]\nenabled = false\n',
        encoding="utf-8")
    return home, ws


# -- hostile values ---------------------------------------------------------------------------

def uris(ws: Path) -> list[str]:
    root = ws.as_uri()
    return [
        f"{root}/MEMORY.md", f"{root}/knowledge/kestrel.md", f"{root}/knowledge/new-note.md",
        f"{root}/pipe.md", f"{root}/zero.md", "file:///dev/zero", "file:///dev/z%65ro",
        "file:///dev/urandom", "file:///dev/stdin", "file:///proc/self/fd/0",
        "file:///etc/passwd", "file://", "file:///", "file://host/share/x.md", "file:///%",
        "file:///%00.md", f"{root}/%2e%2e/%2e%2e/etc/passwd", f"{root}/../../etc/passwd",
        f"{root}/./MEMORY.md", f"{root}/knowledge", f"{root}/", root,
        f"{root}/{'a' * 300}.md", f"{root}/{'d/' * 2000}x.md", "file:///" + "x" * 10_000,
        f"{root}/\ud800.md", f"{root}/%ED%A0%80.md", f"{root}/caf%C3%A9.md",
        f"{root}/M%45MORY.md", "FILE:///" + quote(str(ws)).lstrip("/") + "/MEMORY.md",
        "untitled:Untitled-1", "vscode-notebook-cell:/x.ipynb#W0", "http://example.com/x.md",
        "x.md", "", " ", "\x00", "file:///\n/etc/passwd",
    ]


def _strings(rng: random.Random) -> str:
    return rng.choice([
        "", " ", "\x00", "\ud800", "\udfff\ud800", "a\x00b", "x" * rng.choice((10, 5000, 100_000)),
        "../../../../etc/passwd", "/etc/passwd", "knowledge/../../x.md", "[[", "#", "```",
        "\u202e", "😀" * 50, "%2e%2e%2f", "file:///dev/zero", "null", "{}", "\r\n\r\n",
        "Content-Length: 5\r\n\r\n", "-1", "1e309",
    ])


def hostile(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth > 3 or pick < 0.35:
        return rng.choice([None, True, False, 0, -1, 2**31, 2**63, -(2**63) - 1, 10**30,
                           1.5, -0.0, float("1e308"), _strings(rng)])
    if pick < 0.6:
        return [hostile(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if pick < 0.65:
        deep: Any = {}
        for _ in range(rng.choice((50, 400))):
            deep = {"a": deep}
        return deep
    keys = ["uri", "textDocument", "position", "range", "line", "character", "text",
            "query", "path", "message", "session_id", "limit", "force", "target", "name",
            "arguments", "command", "context", "newName", "version", "contentChanges"]
    return {rng.choice(keys): hostile(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def position(rng: random.Random) -> Any:
    if rng.random() < 0.7:
        return {"line": rng.choice([0, 1, 2, 3, 5, 10**6, -1, 2**31 - 1]),
                "character": rng.choice([0, 3, 10, 10**6, -5, 2**31 - 1])}
    return hostile(rng)


def document(rng: random.Random, pool: list[str]) -> Any:
    if rng.random() < 0.85:
        return {"uri": rng.choice(pool)}
    return hostile(rng)


def _text(rng: random.Random) -> str:
    return rng.choice([
        NOTES["knowledge/kestrel.md"], "", "\x00" * 10, "\ud800 text", "# T\n\n" + "[[" * 1000,
        "".join("  " * i + "- x\n" for i in range(rng.choice((30, 300)))),
        "<!--" * 500, "x" * 200_000, "# Chat\n\n**You:** hello\n",
    ])


# -- what to send -------------------------------------------------------------------------------

Params = Callable[[random.Random, list[str]], Any]

REQUESTS: dict[str, Params] = {
    "textDocument/hover": lambda r, p: {"textDocument": document(r, p), "position": position(r)},
    "textDocument/completion": lambda r, p: {"textDocument": document(r, p),
                                             "position": position(r)},
    "textDocument/definition": lambda r, p: {"textDocument": document(r, p),
                                             "position": position(r)},
    "textDocument/references": lambda r, p: {"textDocument": document(r, p),
                                             "position": position(r),
                                             "context": {"includeDeclaration": True}},
    "textDocument/documentSymbol": lambda r, p: {"textDocument": document(r, p)},
    "textDocument/documentLink": lambda r, p: {"textDocument": document(r, p)},
    "textDocument/codeAction": lambda r, p: {
        "textDocument": document(r, p), "context": {"diagnostics": []},
        "range": {"start": position(r), "end": position(r)}},
    "textDocument/codeLens": lambda r, p: {"textDocument": document(r, p)},
    "textDocument/prepareRename": lambda r, p: {"textDocument": document(r, p),
                                                "position": position(r)},
    "textDocument/rename": lambda r, p: {"textDocument": document(r, p),
                                         "position": position(r), "newName": _strings(r)},
    "textDocument/inlineCompletion": lambda r, p: {
        "textDocument": document(r, p), "position": position(r),
        "context": {"triggerKind": r.choice([1, 2, 7, -1])}},
    "textDocument/diagnostic": lambda r, p: {"textDocument": document(r, p)},
    "textDocument/foldingRange": lambda r, p: {"textDocument": document(r, p)},
    "workspace/symbol": lambda r, p: {"query": _strings(r)},
    "completionItem/resolve": lambda r, p: {"label": _strings(r), "data": hostile(r)},
    "codeAction/resolve": lambda r, p: {"title": _strings(r), "data": hostile(r)},
    "no/such/method": lambda r, p: hostile(r),
    "$/no-such-request": lambda r, p: hostile(r),
}

NOTIFICATIONS: dict[str, Params] = {
    "textDocument/didOpen": lambda r, p: {"textDocument": {
        "uri": r.choice(p), "languageId": "markdown", "version": r.choice([1, 0, -1, 2**40]),
        "text": _text(r)}},
    "textDocument/didChange": lambda r, p: {
        "textDocument": {"uri": r.choice(p), "version": r.randint(-2, 100)},
        "contentChanges": r.choice([[{"text": _text(r)}], [{"range": {
            "start": position(r), "end": position(r)}, "text": _strings(r)}], hostile(r)])},
    "textDocument/didClose": lambda r, p: {"textDocument": document(r, p)},
    "textDocument/didSave": lambda r, p: {"textDocument": document(r, p)},
    "workspace/didChangeConfiguration": lambda r, p: {"settings": hostile(r)},
    "workspace/didChangeWatchedFiles": lambda r, p: {"changes": [
        {"uri": r.choice(p), "type": r.choice([1, 2, 3, 0, 99])}]},
    "$/cancelRequest": lambda r, p: {"id": r.choice([1, 2, "x", None, {}, []])},
    "$/setTrace": lambda r, p: {"value": r.choice(["off", "verbose", 1])},
    "window/workDoneProgress/cancel": lambda r, p: {"token": hostile(r)},
    "no/such/notification": lambda r, p: hostile(r),
}


def command_args(rng: random.Random, name: str, pool: list[str]) -> Any:
    choice = rng.random()
    if choice < 0.3:
        return hostile(rng)
    if choice < 0.45:
        return [hostile(rng) for _ in range(rng.randint(0, 3))]
    fields = {
        "localgpt.chat": lambda: {"message": _strings(rng), "session_id": _strings(rng)},
        "localgpt.memorySearch": lambda: {"query": _strings(rng),
                                          "limit": rng.choice([1, 0, -1, 10**9, "x"])},
        "localgpt.createNote": lambda: {"path": rng.choice([
            "../../../../etc/passwd", "/etc/passwd", "knowledge/\ud800.md", "a\x00.md",
            "x" * 5000 + ".md", "knowledge/fuzz-note.md", "", ".."]),
            "text": _strings(rng)},
        "localgpt.remember": lambda: {"text": _strings(rng),
                                      "target": rng.choice(["daily", "memory", "x", None])},
    }.get(name, lambda: hostile(rng))
    value = fields()
    if isinstance(value, dict) and rng.random() < 0.5:
        value["uri"] = rng.choice(pool)
    return [value]


@dataclass
class FuzzReport:
    messages: int = 0
    requests: int = 0
    answered: int = 0
    unanswered: int = 0
    slow: int = 0
    crashes: int = 0
    tracebacks: int = 0
    internal_errors: int = 0
    probes: int = 0
    probe_worst_ms: float = 0.0
    worst_ms: float = 0.0
    max_rss_mb: float = 0.0
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["examples"] = self.examples[:20]
        return data

    def note(self, text: str) -> None:
        if len(self.examples) < 50:
            self.examples.append(text[:400])


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def check_answer(report: FuzzReport, what: str, sent: float, answer: Answer | None) -> None:
    if answer is None:
        report.unanswered += 1
        report.note(f"unanswered: {what}")
        return
    report.answered += 1
    took = answer.at - sent
    report.worst_ms = max(report.worst_ms, took * 1000)
    if took > SLOW:
        report.slow += 1
        report.note(f"slow {took:.1f}s: {what}")
    text = json.dumps(answer.message)
    if "Traceback" in text or 'File \\"' in text:
        report.tracebacks += 1
        report.note(f"traceback: {what} -> {text[:300]}")
    error = answer.message.get("error") or {}
    if error.get("code") == INTERNAL_ERROR:
        report.internal_errors += 1
        report.note(f"InternalError: {what} -> {error.get('message')}")


def actions(seed: int, count: int, pool: list[str], commands: list[str]
            ) -> Iterator[tuple[str, str, Any]]:
    """(kind, method, params) for `count` messages: kind is request, notify or raw."""
    rng = random.Random(seed)
    request_names = list(REQUESTS)
    notify_names = list(NOTIFICATIONS)
    for _ in range(count):
        roll = rng.random()
        if roll < 0.03:  # the sequence of finding 1: open, close by another spelling, ask
            target = rng.choice(["file:///dev/zero", pool[3], pool[4]])
            yield "notify", "textDocument/didOpen", {"textDocument": {
                "uri": target, "languageId": "markdown", "version": 1, "text": "# x\n"}}
            yield "notify", "textDocument/didClose", {"textDocument": {
                "uri": _respell(rng, target)}}
            yield "request", "textDocument/documentSymbol", {"textDocument": {"uri": target}}
        elif roll < 0.06:
            yield "raw", "malformed", rng.choice([
                b"{", b"[]", b"null", b"1", b'"x"', b'{"jsonrpc": "2.0"}',
                b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/hover"}',
                b'{"jsonrpc": "2.0", "id": [1], "method": "workspace/symbol", '
                b'"params": {"query": "x"}}',
                b'{"jsonrpc": "2.0", "id": true, "method": "workspace/symbol"}',
                b'{"jsonrpc": "1.0", "id": "raw-5", "method": "workspace/symbol"}',
                b'{"jsonrpc": "2.0", "id": "raw-7", "method": 12}',
                b'{"jsonrpc": "2.0", "id": "raw-8", "method": "workspace/symbol", "params": 5}',
                b"\xff\xfe{}", b'{"a": "\xed\xa0\x80"}', b"[" * 10_000 + b"]" * 10_000,
            ])
        elif roll < 0.30:
            name = rng.choice(notify_names)
            yield "notify", name, NOTIFICATIONS[name](rng, pool)
        elif roll < 0.45 and commands:
            name = rng.choice([*commands, "localgpt.noSuchCommand"])
            if name in ("localgpt.reindex",) and rng.random() < 0.8:
                name = "localgpt.memorySearch"
            yield "request", "workspace/executeCommand", {
                "command": name, "arguments": command_args(rng, name, pool)}
        else:
            name = rng.choice(request_names)
            params = REQUESTS[name](rng, pool) if rng.random() < 0.9 else hostile(rng)
            yield "request", name, params


def _respell(rng: random.Random, uri: str) -> str:
    """The same URI written differently: one letter of the path percent-encoded."""
    scheme, _, rest = uri.partition("://")
    letters = [i for i, ch in enumerate(rest) if ch.isalpha()]
    if not letters:
        return uri
    i = rng.choice(letters[len(letters) // 2:])
    return f"{scheme}://{rest[:i]}%{ord(rest[i]):02x}{rest[i + 1:]}"


def probe(proc: LspProcess, ws: Path, report: FuzzReport) -> None:
    """A hover on a real note: what a user does while all this goes on."""
    sent = time.monotonic()
    answer = proc.call("textDocument/hover", {
        "textDocument": {"uri": (ws / "MEMORY.md").as_uri()},
        "position": {"line": 2, "character": 28}}, timeout=SLOW + 5)
    report.probes += 1
    if answer is not None:
        report.probe_worst_ms = max(report.probe_worst_ms, (answer.at - sent) * 1000)
    check_answer(report, "probe hover", sent, answer)


def run_fuzz(base: Path, messages: int, seed: int, probe_every: int = 50,
             trace: list[tuple[float, str, str, str]] | None = None) -> FuzzReport:
    """`messages` fuzz messages into one server (restarted if it dies: each death is a
    crash), with a probe every `probe_every`."""
    home, ws = make_vault(base)
    pool = uris(ws)
    report = FuzzReport()
    proc = _start(home, ws)
    init = proc.initialize()
    caps = ((init.message.get("result") or {}).get("capabilities") or {}) if init else {}
    commands = list((caps.get("executeCommandProvider") or {}).get("commands") or [])
    pending: list[tuple[Any, str, float]] = []

    def settle(limit: int) -> None:
        while len(pending) > limit:
            id_, what, sent = pending.pop(0)
            answer = proc.wait(id_, max(0.0, sent + SLOW + 5 - time.monotonic()))
            check_answer(report, what, sent, answer)

    for i, (kind, method, params) in enumerate(actions(seed, messages, pool, commands)):
        if not proc.alive():
            report.crashes += 1
            report.note(f"server died before message {i}: "
                        + b"".join(proc.stderr[-20:]).decode(errors="replace")[-300:])
            pending.clear()
            proc = _start(home, ws)
            proc.initialize()
        report.messages += 1
        if trace is not None:
            trace.append((time.monotonic(), kind, method,
                          json.dumps(params, ensure_ascii=True)[:150] if kind != "raw"
                          else repr(params[:80])))
        if kind == "request":
            report.requests += 1
            id_ = proc.new_id()
            what = f"#{id_} {method} {json.dumps(params, ensure_ascii=True)[:200]}"
            proc.request(method, params, id_=id_)
            pending.append((id_, what, time.monotonic()))
        elif kind == "notify":
            proc.notify(method, params)
        else:
            proc.write(b"Content-Length: %d\r\n\r\n" % len(params) + params)
        settle(WINDOW)
        if probe_every and i % probe_every == probe_every - 1:
            settle(0)
            probe(proc, ws, report)
            report.max_rss_mb = max(report.max_rss_mb, _rss_mb(proc.process.pid))
    settle(0)
    probe(proc, ws, report)
    report.max_rss_mb = max(report.max_rss_mb, _rss_mb(proc.process.pid))
    if not proc.alive():
        report.crashes += 1
    proc.close()
    return report


def _start(home: Path, ws: Path) -> LspProcess:
    return LspProcess(home, ws)


# -- framing ------------------------------------------------------------------------------------

def _frame(body: bytes, header: bytes | None = None) -> bytes:
    return (header if header is not None else b"Content-Length: %d\r\n\r\n" % len(body)) + body


def _symbol_request(id_: int, ws: Path) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": "workspace/symbol",
                       "params": {"query": "kestrel"}}).encode()


def framing_cases(long_line: int) -> list[tuple[str, Callable[[int, Path], bytes], bool]]:
    """(name, bytes for a request id, whether that request itself must be answered)."""
    def short(i: int, ws: Path) -> bytes:
        body = _symbol_request(i, ws)
        return _frame(body, b"Content-Length: %d\r\n\r\n" % (len(body) - 5))

    def long(i: int, ws: Path) -> bytes:
        body = _symbol_request(i, ws)
        return _frame(body, b"Content-Length: %d\r\n\r\n" % (len(body) + 40))

    def with_header(header: bytes) -> Callable[[int, Path], bytes]:
        return lambda i, ws: _frame(_symbol_request(i, ws),
                                    header.replace(b"N", b"%d" % len(_symbol_request(i, ws))))

    return [
        ("short Content-Length", short, False),
        ("long Content-Length", long, False),
        ("non-numeric Content-Length", with_header(b"Content-Length: abc\r\n\r\n"), False),
        ("negative Content-Length", with_header(b"Content-Length: -5\r\n\r\n"), False),
        ("lowercase header name", with_header(b"content-length: N\r\n\r\n"), True),
        ("LF-only lines", with_header(b"Content-Length: N\n\n"), True),
        ("extra Content-Type header", with_header(
            b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: N"
            b"\r\n\r\n"), True),
        ("huge Content-Length", lambda i, ws: b"Content-Length: 1000000000000\r\n\r\n", False),
        ("no Content-Length", with_header(b"Content-Type: x\r\n\r\n"), False),
        ("garbage bytes", lambda i, ws: bytes(random.Random(i).randrange(256)
                                              for _ in range(3000)), False),
        (f"{long_line // 1_000_000} MB header line", lambda i, ws: b"X-Junk: "
         + b"a" * long_line, False),
        ("invalid JSON body", lambda i, ws: _frame(b'{"jsonrpc": "2.0", "id": ' + b"%d" % i
                                                   + b', "method": '), False),
        ("invalid UTF-8 body", lambda i, ws: _frame(b'{"x": "\xff\xfe"}'), False),
        ("JSON batch", lambda i, ws: _frame(b"[" + _symbol_request(i, ws) + b"]"), False),
    ]


@dataclass
class CaseResult:
    name: str
    recovered: bool
    own_answered: bool | None
    detail: str = ""


def framing_faults(base: Path, long_line: int = 2_000_000) -> list[CaseResult]:
    """Each fault, then a good request: the good one must be answered (recovered)."""
    home, ws = make_vault(base)
    proc = _start(home, ws)
    proc.initialize()
    results = []
    for name, make, own in framing_cases(long_line):
        fault_id = proc.new_id()
        proc.write(make(fault_id, ws))
        after = proc.call("workspace/symbol", {"query": "garden"}, timeout=SLOW)
        own_answer = proc.wait(fault_id, 1.0) if own else None
        results.append(CaseResult(
            name, after is not None and "result" in after.message,
            (own_answer is not None and "result" in own_answer.message) if own else None,
            "" if proc.alive() else "server died"))
        if not proc.alive():
            proc = _start(home, ws)
            proc.initialize()
    proc.close()
    return results


# -- lifecycle ----------------------------------------------------------------------------------

def lifecycle_cases(base: Path) -> dict[str, Any]:
    """What the spec asks for in each order of lifecycle messages (one process per case)."""
    home, ws = make_vault(base)
    out: dict[str, Any] = {}
    hover = {"textDocument": {"uri": (ws / "MEMORY.md").as_uri()},
             "position": {"line": 2, "character": 28}}

    proc = _start(home, ws)
    before = proc.call("textDocument/documentSymbol",
                       {"textDocument": {"uri": (ws / "MEMORY.md").as_uri()}}, timeout=SLOW)
    out["request before initialize"] = _code(before)
    proc.notify("textDocument/didOpen", {"textDocument": {
        "uri": (ws / "MEMORY.md").as_uri(), "languageId": "markdown", "version": 1,
        "text": "x"}})
    early_shutdown = proc.call("shutdown", timeout=SLOW)
    out["shutdown before initialize"] = _code(early_shutdown)
    init = proc.initialize()
    out["initialize after that"] = "result" if init and "result" in init.message else _code(init)
    again = proc.call("initialize", {"processId": None, "rootUri": None, "capabilities": {}},
                      timeout=SLOW)
    out["second initialize"] = _code(again)
    out["hover after that"] = "result" if (a := proc.call("textDocument/hover", hover,
                                                          timeout=SLOW)) and \
        "result" in a.message else _code(a)
    shut = proc.call("shutdown", timeout=SLOW)
    out["shutdown"] = "result" if shut and "result" in shut.message else _code(shut)
    after = proc.call("textDocument/hover", hover, timeout=SLOW)
    out["request after shutdown"] = _code(after)
    proc.notify("exit")
    try:
        proc.process.wait(10)
    except Exception:
        proc.process.kill()
    out["exit code after shutdown"] = proc.process.returncode

    proc = _start(home, ws)
    proc.initialize()
    proc.notify("exit")
    try:
        proc.process.wait(10)
    except Exception:
        proc.process.kill()
    out["exit code without shutdown"] = proc.process.returncode
    return out


def _code(answer: Answer | None) -> Any:
    if answer is None:
        return "no answer"
    if "error" in answer.message:
        return answer.message["error"].get("code")
    return "result"
