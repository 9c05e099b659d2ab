"""An OpenClaw workspace works as LOCALGPT_WORKSPACE as it is, newer layout included (no
HEARTBEAT.md, no TOOLS.md: the tool notes are a `## Tools` section of AGENTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.agent.context import build_system_prompt


@pytest.fixture
def openclaw(lg_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace = tmp_path / "user" / ".openclaw" / "workspace"
    (workspace / "memory").mkdir(parents=True)
    (workspace / "AGENTS.md").write_text(
        "# AGENTS.md\n\nYou help Dana with her allotment.\n\n## Tools\n\n"
        "- The greenhouse sensor log lives in knowledge/greenhouse.md.\n", encoding="utf-8")
    (workspace / "SOUL.md").write_text("# SOUL.md\n\nBe brief and kind.\n", encoding="utf-8")
    (workspace / "USER.md").write_text("# USER.md\n\nDana, gardener.\n", encoding="utf-8")
    (workspace / "memory" / "2026-11-30.md").write_text(
        "# 2026-11-30\n\n- Planted the garlic cloves in bed three before the frost.\n",
        encoding="utf-8")
    monkeypatch.setenv("LOCALGPT_WORKSPACE", str(workspace))
    return workspace


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localgpt_ls", *args], capture_output=True,
                          text=True, timeout=120)


def test_search_and_heartbeat_leave_the_workspace_as_it_was(openclaw: Path) -> None:
    before = _files(openclaw)
    found = _cli("memory", "search", "garlic frost", "--json")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert results and results[0]["file"] == "memory/2026-11-30.md"
    beat = _cli("heartbeat", "once", "--json")
    assert beat.returncode == 0, beat.stderr
    assert _files(openclaw) == before  # no templates written into someone's workspace
    assert not (openclaw / "HEARTBEAT.md").exists()


def test_tools_section_of_agents_md_reaches_the_prompt(openclaw: Path) -> None:
    prompt = build_system_prompt(openclaw, [])
    assert "## AGENTS.md" in prompt
    assert "greenhouse sensor log lives in knowledge/greenhouse.md" in prompt
    assert "## TOOLS.md" not in prompt and "## HEARTBEAT.md" not in prompt


def test_a_new_folder_still_gets_the_templates(lg_env: Any) -> None:
    result = _cli("memory", "stats", "--json")
    assert result.returncode == 0, result.stderr
    assert (lg_env.workspace / "HEARTBEAT.md").is_file()
    assert (lg_env.workspace / "MEMORY.md").is_file()
