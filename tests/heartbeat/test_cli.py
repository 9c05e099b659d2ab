"""`localgpt heartbeat once|status` as real subprocesses: memory-only mode, and the agent's real
provider code against a loopback server speaking the Anthropic/OpenAI wire formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from localgpt_ls.heartbeat import PROMPT
from tests.agent.conftest import MODELS, config_text, no_provider_config
from tests.heartbeat.conftest import ALERT, TASKS, check_schema
from tests.llm.fake_server import FakeServer
from tests.llm.wire import reply


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCALGPT_RETRY_BASE": "0.01"}
    return subprocess.run([sys.executable, "-m", "localgpt_ls", "heartbeat", *args],
                          capture_output=True, text=True, timeout=60, env=env)


def once() -> dict[str, Any]:
    result = run("once", "--json")
    assert result.returncode in (0, 1), result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    check_schema("localgpt.heartbeatRun", data)
    data["_exit"] = result.returncode
    return data


def test_memory_only_mode_skips_without_a_model(ws: Path, lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(no_provider_config(lg_env.home))
    data = once()  # the shipped template: comments only
    assert data["outcome"] == "skipped:empty-file" and data["_exit"] == 0
    assert not data["called_model"] and not data["delivered"]
    (ws / "HEARTBEAT.md").write_text(TASKS)
    data = once()
    assert data["outcome"] == "skipped:no-model"  # the memory-only text is not an alert
    assert set(data) >= {"outcome", "response", "delivered", "duration_ms", "daily_log"}
    assert list((ws / "memory").iterdir()) == []
    human = run("once")
    assert "no model is configured" in human.stdout and human.returncode == 0


def test_alert_through_the_real_agent_is_logged_once(fake: FakeServer, ws: Path,
                                                     lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["anthropic"]))
    (ws / "HEARTBEAT.md").write_text(TASKS)
    fake.queue(reply("anthropic", ALERT), reply("anthropic", ALERT),
               reply("anthropic", "**HEARTBEAT_OK**"))
    first = once()
    assert first["outcome"] == "alert" and first["delivered"] and first["_exit"] == 0
    assert first["response"] == ALERT
    log = (ws / first["daily_log"]).read_text()
    assert "## Heartbeat " in log and ALERT in log
    sent = json.dumps(fake.posts()[0].body)
    assert json.dumps(PROMPT)[1:-1] in sent  # the heartbeat prompt, in a fresh turn
    assert "Remind me when knowledge/deadlines.md" in sent  # HEARTBEAT.md in the context

    second = once()
    assert second["outcome"] == "alert" and second["duplicate"] and not second["delivered"]
    assert (ws / first["daily_log"]).read_text() == log
    status = json.loads(run("status", "--json").stdout)
    check_schema("localgpt.heartbeatStatus", status)
    assert status["outcome"] == "alert" and status["duplicate"] is True
    assert "not shown again" in run("status").stdout  # not "alert" as if the user saw it

    third = once()
    assert third["outcome"] == "ok" and not third["delivered"]
    assert list((lg_env.home / "sessions").glob("*.jsonl")) == []  # no session was recorded

    status = json.loads(run("status", "--json").stdout)
    check_schema("localgpt.heartbeatStatus", status)
    assert status["outcome"] == "ok" and status["runner"] is None
    human = run("status").stdout
    assert "last run:" in human and "ok" in human and "every 30m" in human


def test_memory_append_tool_works_in_a_heartbeat(fake: FakeServer, ws: Path,
                                                 lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["openai"]))
    (ws / "HEARTBEAT.md").write_text(TASKS)
    fake.queue(reply("openai", "", [("c1", "memory_append",
                                     {"text": "Checked deadlines: none within 3 days.",
                                      "target": "daily"})]),
               reply("openai", "HEARTBEAT_OK"))
    data = once()
    assert data["outcome"] == "ok"
    daily = list((ws / "memory").glob("*.md"))
    assert len(daily) == 1 and "none within 3 days" in daily[0].read_text()


def test_provider_failure_is_reported_and_exits_1(fake: FakeServer, ws: Path,
                                                  lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["anthropic"]))
    (ws / "HEARTBEAT.md").write_text(TASKS)
    data = once()  # nothing scripted: the loopback server answers 500 to every request
    assert data["outcome"].startswith("failed:") and "500" in data["outcome"]
    assert data["_exit"] == 1
    human = run("once")
    assert human.returncode == 1 and "heartbeat failed" in human.stderr


def test_a_heartbeat_run_can_tick_its_task_done(fake: FakeServer, ws: Path, lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["openai"]))
    (ws / "HEARTBEAT.md").write_text(TASKS)
    first_open = next(line for line in TASKS.splitlines() if line.startswith("- [ ]"))
    fake.queue(reply("openai", "", [("c1", "heartbeat_done", {"task": first_open[6:]})]),
               reply("openai", "HEARTBEAT_OK"))
    data = once()
    assert data["outcome"] == "ok"
    assert first_open.replace("- [ ]", "- [x]") in (ws / "HEARTBEAT.md").read_text()


def test_status_with_a_bad_heartbeat_config_names_the_problem(ws: Path, lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text('[heartbeat]\ninterval = "soon"\n')
    human = run("status")
    assert human.returncode == 0, human.stderr
    assert "interval" in human.stdout and "off until the config problem" in human.stdout
    assert "enabled = false" not in human.stdout  # it is not the user who turned it off
