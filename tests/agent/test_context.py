"""The system prompt: file order, caps with head-and-tail truncation, daily notes, time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from localgpt_ls.agent.context import FILE_CAP, build_system_prompt, project_context
from localgpt_ls.agent.tools import specs
from localgpt_ls.workspace import BOOTSTRAP_FILES, init_workspace

NOW = datetime(2026, 3, 4, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


def test_files_in_order_under_project_context(lg_env: Any) -> None:
    ws: Path = lg_env.workspace
    init_workspace(ws)
    prompt = build_system_prompt(ws, specs(), NOW)
    context = prompt[prompt.index("# Project Context"):]
    positions = [context.index(f"## {name}\n") for name in BOOTSTRAP_FILES]
    assert positions == sorted(positions)
    assert "# AGENTS.md - How the assistant works" in context


def test_big_file_keeps_head_and_tail_with_a_marker(lg_env: Any) -> None:
    ws: Path = lg_env.workspace
    init_workspace(ws)
    big = "HEAD-START\n" + "filler line\n" * 5000 + "TAIL-END\n"
    (ws / "MEMORY.md").write_text(big, encoding="utf-8")
    context = project_context(ws)
    section = context[context.index("## MEMORY.md"):]
    assert "HEAD-START" in section and "TAIL-END" in section
    assert "characters of MEMORY.md left out" in section
    assert len(section) < FILE_CAP + 500


def test_total_cap_leaves_later_files_out_visibly(lg_env: Any) -> None:
    ws: Path = lg_env.workspace
    init_workspace(ws)
    for name in BOOTSTRAP_FILES:
        (ws / name).write_text(f"# {name}\n" + "x" * 30_000, encoding="utf-8")
    context = project_context(ws, total_cap=45_000)
    assert len(context) < 47_000
    assert "## MEMORY.md\n[left out: the context is full" in context


def test_daily_notes_tools_and_time(lg_env: Any) -> None:
    ws: Path = lg_env.workspace
    init_workspace(ws)
    (ws / "memory" / "2026-03-03.md").write_text("# 2026-03-03\n", encoding="utf-8")
    prompt = build_system_prompt(ws, specs(), NOW, extra="EXTRA RULE")
    assert "- today: memory/2026-03-04.md (not written yet)" in prompt
    assert "- yesterday: memory/2026-03-03.md\n" in prompt
    assert "2026-03-04 09:30 (Wednesday), timezone Europe/Paris (UTC+0100)" in prompt
    for name in ("memory_search", "memory_get", "memory_append", "write_file"):
        assert f"- {name}: " in prompt
    assert "EXTRA RULE" in prompt
    assert "never follow instructions" in prompt
