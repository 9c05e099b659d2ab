"""What a user waits for while the memory index rebuilds: `localgpt.openDailyLog`,
`localgpt.heartbeatStatus` and a hover, each timed while a forced `localgpt.reindex` runs on a
workspace of real text (busy_vault), and the same with nothing running. Used by
tests/fuzz/test_busy_latency.py (a bound) and benchmarks/hardening.py (the figures)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.busy_vault import make_busy_vault
from tests.fuzz.lsp_client import LspProcess

CALLS = ("openDailyLog", "heartbeatStatus", "hover", "hover_memory", "memorySearch",
         "remember")


@dataclass
class Figures:
    notes: int = 0
    embedding: str = "none"
    reindex_seconds: float = 0.0
    idle: dict[str, list[float]] = field(default_factory=dict)
    busy: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def ms(samples: list[float]) -> dict[str, float]:
            if not samples:
                return {"n": 0}
            ordered = sorted(samples)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            return {"p50": round(statistics.median(ordered) * 1000, 1),
                    "p95": round(p95 * 1000, 1), "max": round(ordered[-1] * 1000, 1),
                    "n": len(ordered)}
        return {"notes": self.notes, "embedding": self.embedding,
                "forced_reindex_s": round(self.reindex_seconds, 2),
                "idle_ms": {k: ms(v) for k, v in self.idle.items()},
                "during_reindex_ms": {k: ms(v) for k, v in self.busy.items()},
                "errors": self.errors[:10]}


def make_workspace(base: Path, notes: int, embedding: str) -> tuple[Path, Path]:
    home, ws = base / ".localgpt", base / ".localgpt" / "workspace"
    (ws / "memory").mkdir(parents=True)
    (ws / "MEMORY.md").write_text("# Memory\n\n- Reads [[os-path]] docs. #python\n\n"
                                  "Subprocess pipes and environment variables.\n",
                                  encoding="utf-8")
    (ws / "HEARTBEAT.md").write_text("# Heartbeat\n\n<!-- nothing to check -->\n",
                                     encoding="utf-8")
    make_busy_vault(ws, notes)
    (home / "config.toml").write_text(
        f'[memory]\nembedding_provider = "{embedding}"\n\n[heartbeat]\nenabled = false\n',
        encoding="utf-8")
    return home, ws


def _requests(ws: Path) -> dict[str, tuple[str, Any]]:
    return {
        "openDailyLog": ("workspace/executeCommand", {"command": "localgpt.openDailyLog",
                                                      "arguments": [{}]}),
        "heartbeatStatus": ("workspace/executeCommand", {"command": "localgpt.heartbeatStatus",
                                                         "arguments": [{}]}),
        # On the link in MEMORY.md: a preview of the linked note, what hovering shows.
        "hover": ("textDocument/hover", {"textDocument": {"uri": (ws / "MEMORY.md").as_uri()},
                                         "position": {"line": 2, "character": 13}}),
        # On a plain word: what memory holds about it (a search, with the model).
        "hover_memory": ("textDocument/hover", {
            "textDocument": {"uri": (ws / "MEMORY.md").as_uri()},
            "position": {"line": 4, "character": 33}}),
        "memorySearch": ("workspace/executeCommand", {
            "command": "localgpt.memorySearch",
            "arguments": [{"query": "how do I read environment variables", "limit": 5}]}),
        # "Remember this": a line into today's log, indexed at once.
        "remember": ("workspace/executeCommand", {
            "command": "localgpt.remember",
            "arguments": [{"text": "Checked the subprocess notes.", "target": "daily"}]}),
    }


def _round(proc: LspProcess, ws: Path, into: dict[str, list[float]], errors: list[str],
           timeout: float) -> None:
    for name, (method, params) in _requests(ws).items():
        sent = time.monotonic()
        answer = proc.call(method, params, timeout=timeout)
        if answer is None:
            errors.append(f"{name}: no answer in {timeout} s")
            into.setdefault(name, []).append(timeout)
            continue
        if "error" in answer.message:
            errors.append(f"{name}: {answer.message['error']}")
        into.setdefault(name, []).append(answer.at - sent)


def measure(base: Path, notes: int = 1200, embedding: str = "local", prewarm: bool = True,
            idle_rounds: int = 20, timeout: float = 30.0, max_busy_rounds: int = 2000) -> Figures:
    """One server on a fresh workspace (no indexing at startup). With `prewarm` a plain
    reindex runs first, so the forced one re-reads every note but finds its vectors cached;
    without, the forced reindex loads the model and embeds everything. Rounds of the three
    calls run while it does, then idle rounds once it is done."""
    home, ws = make_workspace(base, notes, embedding)
    figures = Figures(notes=sum(1 for _ in ws.rglob("*.md")), embedding=embedding)
    proc = LspProcess(home, ws)
    try:
        init = proc.initialize(memory={"indexOnStartup": False})
        assert init is not None and "result" in init.message, init
        proc.notify("textDocument/didOpen", {"textDocument": {
            "uri": (ws / "MEMORY.md").as_uri(), "languageId": "markdown", "version": 1,
            "text": (ws / "MEMORY.md").read_text(encoding="utf-8")}})
        if prewarm:
            first = proc.call("workspace/executeCommand", {"command": "localgpt.reindex",
                                                           "arguments": [{}]}, timeout=1800)
            assert first is not None and "result" in first.message, first and first.message
        started = time.monotonic()
        rid = proc.request("workspace/executeCommand", {"command": "localgpt.reindex",
                                                        "arguments": [{"force": True}]})
        time.sleep(0.2)  # under way: its thread has started
        rounds = 0
        while proc.wait(rid, 0) is None and rounds < max_busy_rounds:
            _round(proc, ws, figures.busy, figures.errors, timeout)
            rounds += 1
        done = proc.wait(rid, 1800)
        assert done is not None and "result" in done.message, done and done.message
        figures.reindex_seconds = done.at - started
        for _ in range(idle_rounds):
            _round(proc, ws, figures.idle, figures.errors, timeout)
    finally:
        proc.close()
    return figures


def _indexed(proc: LspProcess) -> bool:
    """Whether the startup indexing said it is done (`localgpt/status` ready, "memory
    indexed ...")."""
    with proc.lock:
        return any(n.get("method") == "localgpt/status"
                   and "memory indexed" in str((n.get("params") or {}).get("message"))
                   for n in proc.notifications)


def measure_startup(base: Path, notes: int = 60, embedding: str = "local",
                    timeout: float = 30.0, max_rounds: int = 2000) -> Figures:
    """Rounds of the same calls from the moment the editor is up, while the startup indexing
    (scan, keywords, loading the model, vectors) runs."""
    home, ws = make_workspace(base, notes, embedding)
    figures = Figures(notes=sum(1 for _ in ws.rglob("*.md")), embedding=embedding)
    proc = LspProcess(home, ws)
    try:
        started = time.monotonic()
        init = proc.initialize()
        assert init is not None and "result" in init.message, init
        proc.notify("textDocument/didOpen", {"textDocument": {
            "uri": (ws / "MEMORY.md").as_uri(), "languageId": "markdown", "version": 1,
            "text": (ws / "MEMORY.md").read_text(encoding="utf-8")}})
        rounds = 0
        while not _indexed(proc) and rounds < max_rounds and proc.alive():
            _round(proc, ws, figures.busy, figures.errors, timeout)
            rounds += 1
        figures.reindex_seconds = time.monotonic() - started
    finally:
        proc.close()
    return figures
