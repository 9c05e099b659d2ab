"""A fact kept in MEMORY.md or the daily log is found by a question about it, as the user
reads it: the result points at the fact's own line, not at the whole file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from localgpt_ls import daily_log
from localgpt_ls.cli import main
from localgpt_ls.markdown import entry_chunks
from localgpt_ls.memory.chunking import template_chunk_texts
from localgpt_ls.workspace import template_text

from .conftest import NOTES

FACTS = [
    "- I am allergic to peanuts; never suggest recipes with them.",
    "My sister Ingrid moved to Tromsø; her birthday is 14 August.",
    "- Uses a Kinesis Advantage keyboard with the Colemak layout.",
    "Never schedule meetings on Friday afternoons: that time is blocked for deep work.",
]


def _memory_with_facts(workspace: Path) -> Path:
    """MEMORY.md as `init` writes it, then facts appended the way memory_append does."""
    import shutil

    shutil.copytree(NOTES / "knowledge", workspace / "knowledge", dirs_exist_ok=True)
    memory = workspace / "MEMORY.md"
    memory.write_text(template_text("MEMORY.md"), encoding="utf-8")
    for fact in FACTS:
        daily_log.append(workspace, memory, fact, "")
    return memory


def _line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_a_fact_appended_to_memory_is_found_at_its_line(lg_env, make_index) -> None:
    memory = _memory_with_facts(lg_env.workspace)
    idx = make_index(lg_env.workspace)
    idx.reindex()
    for query, fact in [("peanut allergy", "peanuts"), ("when is my sister's birthday", "Ingrid"),
                        ("what keyboard layout do I type on", "Colemak")]:
        top = idx.search(query, limit=3).results
        assert top, query
        line = _line_of(memory, fact)
        assert (top[0].file, top[0].line_start <= line <= top[0].line_end) == ("MEMORY.md", True)
        assert fact in top[0].content


def test_cli_search_finds_the_fact_a_new_user_remembered(lg_env, local_embedder,
                                                         capsys) -> None:
    """The new-user walk's case: `init`, one fact appended, `memory search "peanut allergy"`
    said "No matches" when the whole MEMORY.md was one chunk."""
    lg_env.workspace.mkdir(parents=True)
    memory = _memory_with_facts(lg_env.workspace)
    assert main(["memory", "search", "peanut allergy"]) == 0
    out = capsys.readouterr().out
    assert f"MEMORY.md:{_line_of(memory, 'peanuts')}" in out and "allergic to peanuts" in out


def test_a_daily_log_entry_is_its_own_result(lg_env, make_index) -> None:
    ws = lg_env.workspace
    ws.mkdir(parents=True)
    day = datetime(2026, 11, 26, 9, 30)
    log = ws / daily_log.rel_path(day.date())
    for text in ["Standup ran long.", "The plumber will come Thursday between 8 and 10 to "
                 "fix the kitchen tap.", "Measured the living room: 4.2 m by 5.6 m, for the rug."]:
        daily_log.append(ws, log, daily_log.note_entry(text, day), daily_log.header(day.date()))
    idx = make_index(ws)
    idx.reindex()
    hit = idx.search("when is the plumber coming", limit=1).results[0]
    assert hit.line_start == hit.line_end == _line_of(log, "plumber")


def test_entries_are_list_items_and_paragraphs_with_their_nested_lines() -> None:
    text = ("# Memory\n\nIntro paragraph\nover two lines.\n\n- first fact\n  - a detail of it\n"
            "- second fact\n\n1. numbered fact\n2. another\n\n## People\n\n- Ana: my manager\n")
    got = [(c.line_start, c.line_end, c.heading_path) for c in entry_chunks(text)]
    assert got == [(3, 4, ("Memory",)), (6, 7, ("Memory",)), (8, 8, ("Memory",)),
                   (10, 10, ("Memory",)), (11, 11, ("Memory",)),
                   (15, 15, ("Memory", "People"))]


def test_a_long_entry_is_cut_and_headings_alone_still_give_a_chunk() -> None:
    long = "- " + " ".join(["word"] * 900)
    pieces = entry_chunks(f"# Log\n\n{long}\n", chunk_tokens=100, overlap_tokens=10)
    assert len(pieces) > 3 and all(len(p.text) <= 100 * 4 + 10 for p in pieces)
    assert [c.text for c in entry_chunks("# Just a title\n")] == ["# Just a title"]


def test_the_templates_example_line_stays_boilerplate() -> None:
    assert "- 2026-01-15: Prefers meetings after 10:00." in template_chunk_texts()
    assert all(f.lstrip("- ") not in " ".join(template_chunk_texts()) for f in FACTS)
