"""A pathological note open in the editor and being edited must not stall requests about other
notes (issue 18): its parse runs in the parse thread, not on the event loop, and its outline
still arrives. A real server process; the latency figures are in benchmarks/hardening.py
(deep_list_open), the bound here only says "the user would not notice"."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from tests.fuzz.lsp_client import LspProcess
from tests.fuzz.lsp_fuzz import make_vault
from tests.fuzz.markdown_corpus import nested_list, setext_headings


@pytest.mark.parametrize("make", [nested_list, setext_headings], ids=["1000-level list",
                                                                      "setext headings"])
def test_other_notes_answer_while_a_1mb_pathological_note_is_edited(tmp_path: Path,
                                                                    make) -> None:
    home, ws = make_vault(tmp_path)
    proc = LspProcess(home, ws)
    try:
        proc.initialize()
        hover = {"textDocument": {"uri": (ws / "MEMORY.md").as_uri()},
                 "position": {"line": 2, "character": 28}}
        other = {"textDocument": {"uri": (ws / "knowledge" / "kestrel.md").as_uri()}}
        assert proc.call("textDocument/hover", hover, timeout=30) is not None
        big = (ws / "knowledge" / "big.md").as_uri()
        proc.notify("textDocument/didOpen", {"textDocument": {
            "uri": big, "languageId": "markdown", "version": 1,
            "text": "# Big\n\n" + make(1_000_000)}})
        took: list[float] = []
        own = []
        for version in range(2, 12):
            proc.notify("textDocument/didChange", {
                "textDocument": {"uri": big, "version": version},
                "contentChanges": [{"range": {"start": {"line": 0, "character": 5},
                                              "end": {"line": 0, "character": 5}},
                                    "text": "x"}]})
            own.append(proc.request("textDocument/documentSymbol", {"textDocument": {
                "uri": big}}))
            for method, params in (("textDocument/hover", hover),
                                   ("textDocument/documentSymbol", other)):
                sent = time.monotonic()
                answer = proc.call(method, params, timeout=30)
                assert answer is not None and "result" in answer.message, answer
                took.append(answer.at - sent)
            time.sleep(0.05)
        assert statistics.median(took) < 0.5, sorted(took)
        # The edited note's own outline still comes, for its latest text.
        outline = proc.wait(own[-1], timeout=60)
        assert outline is not None and "result" in outline.message
        if make is setext_headings:
            names = [s["name"] for s in outline.message["result"]]
            assert names[0] == "Big" + "x" * 10  # the tenth edit's text
            assert "Title 0" in names
        assert proc.alive()
    finally:
        proc.close()
