"""Skills: SKILL.md parsed as OpenClaw / Agent Skills write it, listed in the prompt by name,
description and path only, read by the model in a scripted turn, and invoked by name in
`localgpt chat`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.agent import skills
from localgpt_ls.agent.context import build_system_prompt
from localgpt_ls.agent.events import AgentEvent, ToolEnd
from localgpt_ls.workspace import init_workspace
from tests.agent.conftest import MODELS, config_text, make_engine, write_config
from tests.llm.fake_server import FakeServer
from tests.llm.wire import reply

SOURDOUGH = """\
---
name: sourdough-log
description: Log a sourdough bake (flour, hydration, bake time) to today's daily note. Use \
when the user reports a bake.
metadata:
  openclaw:
    emoji: "🍞"
---

# Sourdough log

Write one line to today's daily log with memory_append: "Bake: <flour>, <hydration>%,
<minutes> min". Always state hydration as a percentage, then say KNEADED when done.
"""


@pytest.fixture
def with_skill(workspace: Path) -> Path:
    folder = workspace / "skills" / "sourdough-log"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SOURDOUGH, encoding="utf-8")
    return workspace


def test_the_prompt_lists_name_description_and_path_only(with_skill: Path) -> None:
    prompt = build_system_prompt(with_skill, [])
    assert "- sourdough-log: Log a sourdough bake (flour, hydration, bake time) to today's " \
           "daily note. Use when the user reports a bake. " \
           "(path: skills/sourdough-log/SKILL.md)" in prompt
    assert "KNEADED" not in prompt  # the instructions stay in the file


@pytest.mark.parametrize(("text", "code", "fragment"), [
    ("# no front matter\n", "skill-front-matter", "needs front matter"),
    ("---\nname: [unclosed\n---\nbody\n", "skill-yaml", "not valid YAML"),
    ("---\ndescription: does things\n---\n", "skill-name", "'name' is missing"),
    ("---\nname: Bread_Log\ndescription: x\n---\n", "skill-name", "lowercase letters"),
    ("---\nname: other\ndescription: x\n---\n", "skill-name", "folder is skills/bread/"),
    ("---\nname: bread\n---\n", "skill-description", "'description' is missing"),
])
def test_bad_front_matter_is_named(text: str, code: str, fragment: str) -> None:
    _, _, problems = skills.parse(text, "bread")
    assert [p.code for p in problems] == [code]
    assert fragment in problems[0].message


def test_a_broken_skill_is_left_out(with_skill: Path) -> None:
    bad = with_skill / "skills" / "broken"
    bad.mkdir()
    (bad / "SKILL.md").write_text("no front matter\n", encoding="utf-8")
    assert [s.name for s in skills.discover(with_skill)] == ["sourdough-log"]


def test_init_writes_one_example_skill(tmp_path: Path) -> None:
    written = init_workspace(tmp_path / "ws")
    example = tmp_path / "ws" / "skills" / "weekly-review" / "SKILL.md"
    assert example in written
    found = skills.discover(tmp_path / "ws")
    assert [s.name for s in found] == ["weekly-review"] and not found[0].problems


async def test_a_scripted_turn_reads_and_uses_the_skill(
        fake: FakeServer, with_skill: Path, lg_env: Any) -> None:
    """The model sees the skill listed, reads SKILL.md with memory_get, then follows it."""
    config = write_config(lg_env.home, config_text(fake.url, MODELS["anthropic"]))
    fake.queue(
        reply("anthropic", "", [("c1", "memory_get", {"path": "skills/sourdough-log/SKILL.md"})]),
        reply("anthropic", "", [("c2", "memory_append", {
            "text": "Bake: rye, 78%, 45 min", "target": "daily"})]),
        reply("anthropic", "Logged it. KNEADED"))
    events: list[AgentEvent] = []
    engine = make_engine(config, with_skill)
    try:
        result = await engine.agent.chat("I baked a rye loaf: 78% hydration, 45 minutes.",
                                         on_event=events.append)
    finally:
        engine.close()
    first = json.dumps(fake.posts()[0].body)
    assert "sourdough-log" in first and "skills/sourdough-log/SKILL.md" in first
    assert "KNEADED" not in first  # only the listing reached the model at first
    read = next(e for e in events if isinstance(e, ToolEnd) and e.name == "memory_get")
    assert not read.is_error and "hydration as a percentage" in read.result
    assert "KNEADED" in json.dumps(fake.posts()[1].body)  # the file went back to the model
    daily = next((with_skill / "memory").glob("*.md")).read_text()
    assert "Bake: rye, 78%, 45 min" in daily
    assert result.response.endswith("KNEADED")


def test_chat_lists_and_invokes_skills(fake: FakeServer, with_skill: Path, lg_env: Any) -> None:
    write_config(lg_env.home, config_text(fake.url, MODELS["anthropic"]))
    fake.queue(reply("anthropic", "Logged."))
    result = subprocess.run([sys.executable, "-m", "localgpt_ls", "chat"],
                            input="/skills\n/sourdough-log spelt, 70%, 40 min\n/nope\n",
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "/sourdough-log - Log a sourdough bake" in result.stdout
    assert "[skills/sourdough-log/SKILL.md]" in result.stdout
    assert "Unknown command /nope" in result.stdout
    # Invoked by name: the skill's instructions come with the request.
    body = fake.posts()[0].body
    assert "Always state hydration as a percentage" in json.dumps(body["system"])
    assert "spelt, 70%, 40 min" in json.dumps(body["messages"])


def test_openclaw_requirements_gate_a_skill(with_skill: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    folder = with_skill / "skills" / "deploy"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: deploy\ndescription: Deploy with kubectl.\nmetadata:\n  openclaw:\n"
        "    requires:\n      bins: [\"kubectl-not-installed-here\"]\n      env: [\"KUBECONFIG\"]\n"
        "---\n\nRun kubectl apply.\n", encoding="utf-8")
    found = {s.name: s for s in skills.discover(with_skill)}
    assert found["deploy"].blocked == "missing programs: kubectl-not-installed-here"
    assert found["sourdough-log"].blocked is None
    prompt = build_system_prompt(with_skill, [])
    assert "deploy" not in prompt and "sourdough-log" in prompt
    monkeypatch.setattr(skills, "_missing_requirements", lambda meta: None)
    assert skills.find(with_skill, "deploy").blocked is None  # type: ignore[union-attr]
