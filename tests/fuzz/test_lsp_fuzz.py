"""The language server under a seeded fuzz, bad framing and lifecycle disorder: short runs for
CI (benchmarks/hardening.py does 10,000 messages). Each number is what an editor's user
would notice: a crash, a request left unanswered or answered after 5 s, a traceback shown to
them, an internal error for something they sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.lsp_client import LspProcess
from tests.fuzz.lsp_fuzz import (
    INVALID_REQUEST,
    SERVER_NOT_INITIALIZED,
    framing_faults,
    lifecycle_cases,
    make_vault,
    run_fuzz,
)


def test_a_thousand_seeded_fuzz_messages(tmp_path: Path) -> None:
    report = run_fuzz(tmp_path, 1000, seed=18)
    assert report.requests > 500 and report.probes >= 20
    summary = report.as_dict()
    assert (report.crashes, report.unanswered, report.slow, report.tracebacks,
            report.internal_errors) == (0, 0, 0, 0, 0), summary


def test_every_framing_fault_is_recovered_from(tmp_path: Path) -> None:
    results = framing_faults(tmp_path, long_line=8_000_000)
    assert [r.name for r in results if not r.recovered] == []
    # Frames that are only unusual, not wrong, are read as they are.
    assert [r.name for r in results if r.own_answered is False] == []


def test_lifecycle_order_is_answered_as_the_spec_says(tmp_path: Path) -> None:
    assert lifecycle_cases(tmp_path) == {
        "request before initialize": SERVER_NOT_INITIALIZED,
        "shutdown before initialize": SERVER_NOT_INITIALIZED,
        "initialize after that": "result",
        "second initialize": INVALID_REQUEST,
        "hover after that": "result",
        "shutdown": "result",
        "request after shutdown": INVALID_REQUEST,
        "exit code after shutdown": 0,
        "exit code without shutdown": 1,
    }


@pytest.mark.parametrize("target", ["file:///dev/zero", "pipe.md", "zero.md"])
def test_a_device_or_fifo_closed_under_another_spelling_is_never_read(
        tmp_path: Path, target: str) -> None:
    """Finding 1: didOpen `file:///dev/zero`, didClose `file:///dev/z%65ro`, documentSymbol:
    the server's table and pygls's disagreed and the document was read from the device
    until memory ran out (or, for a FIFO note, every later request hung)."""
    home, ws = make_vault(tmp_path)
    uri = target if target.startswith("file:") else (ws / target).as_uri()
    respelled = uri[:-4] + "%" + f"{ord(uri[-4]):02x}" + uri[-3:]
    proc = LspProcess(home, ws)
    try:
        proc.initialize()
        proc.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "markdown", "version": 1, "text": "# Opened\n"}})
        proc.notify("textDocument/didClose", {"textDocument": {"uri": respelled}})
        answer = proc.call("textDocument/documentSymbol", {"textDocument": {"uri": uri}},
                           timeout=10)
        assert answer is not None and "error" not in answer.message
        assert answer.message["result"] in (None, [])
        hover = proc.call("textDocument/hover", {
            "textDocument": {"uri": (ws / "MEMORY.md").as_uri()},
            "position": {"line": 0, "character": 2}}, timeout=10)
        assert hover is not None and proc.alive()
    finally:
        proc.close()



def test_an_open_note_asked_for_under_another_spelling_after_an_edit(tmp_path: Path) -> None:
    """The one InternalError of a 10,000-message run (seed 1): documentSymbol on
    `.../M%45MORY.md` while MEMORY.md was open and had just been shortened."""
    home, ws = make_vault(tmp_path)
    memory = (ws / "MEMORY.md").as_uri()
    respelled = memory.replace("MEMORY.md", "M%45MORY.md")
    proc = LspProcess(home, ws)
    try:
        proc.initialize()
        proc.notify("textDocument/didOpen", {"textDocument": {
            "uri": memory, "languageId": "markdown", "version": 1,
            "text": "# Memory\n\n## Tea\n\nGreen.\n\n## Walks\n\nRiver.\n"}})
        first = proc.call("textDocument/documentSymbol", {"textDocument": {"uri": respelled}})
        assert first is not None and len(first.message["result"]) == 3
        proc.notify("textDocument/didChange", {"textDocument": {"uri": memory, "version": 2},
                                               "contentChanges": [{"text": "# Memory\n"}]})
        # Anything that reads MEMORY.md under its own spelling parses the new text.
        assert proc.call("textDocument/hover", {"textDocument": {"uri": memory},
                                                "position": {"line": 0, "character": 3}})
        answer = proc.call("textDocument/documentSymbol", {"textDocument": {"uri": respelled}})
        assert answer is not None and "error" not in answer.message, answer.message
        assert [s["name"] for s in answer.message["result"]] == ["Memory"]
    finally:
        proc.close()


def test_a_note_opened_again_with_a_version_it_had_before(tmp_path: Path) -> None:
    """Seed 3 of the 10,000-message fuzz: MEMORY.md opened (version 1) with one line, opened
    again without a close (version 1 again) with eight sections: the lines cached for
    "version 1" were the old text's, the headings the new one's, and documentSymbol failed."""
    home, ws = make_vault(tmp_path)
    memory = (ws / "MEMORY.md").as_uri()
    proc = LspProcess(home, ws)
    try:
        proc.initialize()
        for text in ("# Memory\n", "# Memory\n\n" + "".join(
                f"## Part {i}\n\ntext {i}\n\n" for i in range(8))):
            proc.notify("textDocument/didOpen", {"textDocument": {
                "uri": memory, "languageId": "markdown", "version": 1, "text": text}})
            answer = proc.call("textDocument/documentSymbol", {"textDocument": {
                "uri": memory.replace("MEMORY.md", "%4dEMORY.md")}})
            assert answer is not None and "error" not in answer.message, answer.message
        assert [s["name"] for s in answer.message["result"]] == ["Memory"] + [
            f"Part {i}" for i in range(8)]
        # A change that repeats a version number is a new text all the same.
        proc.notify("textDocument/didChange", {"textDocument": {"uri": memory, "version": 1},
                                               "contentChanges": [{"text": "# Short\n"}]})
        answer = proc.call("textDocument/documentSymbol", {"textDocument": {"uri": memory}})
        assert answer is not None and [s["name"] for s in answer.message["result"]] == ["Short"]
    finally:
        proc.close()
