"""The daemon's background jobs in a real daemon process: the watcher keeps the memory index
fresh (new, changed and deleted notes), and the heartbeat runs while the daemon does."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from localgpt_ls.engine import Engine
from tests.http.conftest import validate
from tests.http.live_daemon import (
    LiveDaemon,
    offline_config,
    start_daemon,
    stop_daemon,
    write_notes,
)
from tests.waiting import wait_for


def files_found(c: httpx.Client, query: str) -> set[str]:
    response = c.get("/api/memory/search", params={"q": query, "limit": 10})
    assert response.status_code == 200
    return {hit["file"] for hit in response.json()["results"]}


def test_watcher_follows_new_changed_and_deleted_notes(live: LiveDaemon) -> None:
    note = live.workspace / "knowledge" / "sailing.md"
    with httpx.Client(base_url=live.url, headers=live.auth, timeout=10) as c:
        # The daemon indexed the workspace at start, without being asked.
        assert wait_for(lambda: "knowledge/garden.md" in files_found(c, "tomatoes"))
        status = validate(c.get("/api/status"), "/api/status", "get")
        assert status["watcher"]["running"] is True

        note.write_text("# Sailing\n\nThe catamaran is moored at pier quokka.\n")
        assert wait_for(lambda: "knowledge/sailing.md" in files_found(c, "catamaran quokka"))

        note.write_text("# Sailing\n\nSold the catamaran; now rowing a wombatboat.\n")
        assert wait_for(lambda: "knowledge/sailing.md" in files_found(c, "wombatboat"))

        note.unlink()
        assert wait_for(lambda: "knowledge/sailing.md" not in files_found(c, "wombatboat"))

        # A whole folder removed at once: its notes leave the index too.
        folder = live.workspace / "projects"
        folder.mkdir()
        (folder / "alpha.md").write_text("# Alpha\n\nProject platypus launch plan.\n")
        assert wait_for(lambda: "projects/alpha.md" in files_found(c, "platypus"))
        (folder / "alpha.md").unlink()
        folder.rmdir()
        assert wait_for(lambda: not files_found(c, "platypus"))


def test_hidden_and_non_markdown_files_are_ignored(live: LiveDaemon) -> None:
    with httpx.Client(base_url=live.url, headers=live.auth, timeout=10) as c:
        (live.workspace / ".obsidian").mkdir(exist_ok=True)
        (live.workspace / ".obsidian" / "cache.md").write_text("# x\n\nnarwhal secret\n")
        (live.workspace / "notes.txt").write_text("narwhal text file\n")
        (live.workspace / "knowledge" / "fish.md").write_text("# Fish\n\nnarwhal facts\n")
        assert wait_for(lambda: "knowledge/fish.md" in files_found(c, "narwhal"))
        assert files_found(c, "narwhal") == {"knowledge/fish.md"}


def test_heartbeat_runs_in_the_daemon(tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    home, workspace = tmp_path / "home", tmp_path / "workspace"
    home.mkdir()
    workspace.mkdir()
    offline_config(home)
    write_notes(workspace)
    daemon = start_daemon(home, workspace, heartbeat=True)
    try:
        with httpx.Client(base_url=daemon.url, headers=daemon.auth, timeout=10) as c:
            status = validate(c.get("/api/status"), "/api/status", "get")
            assert status["heartbeat_running"] is True
            # The daemon holds the workspace's heartbeat schedule (one runner per workspace).
            assert wait_for(lambda: c.get("/api/heartbeat/status").json()["runner"]
                            is not None)
            heartbeat = validate(c.get("/api/heartbeat/status"), "/api/heartbeat/status", "get")
            assert heartbeat["enabled"] is True
            assert heartbeat["next_run"] is not None
    finally:
        stop_daemon(daemon)
    # A graceful stop on SIGTERM: the heartbeat schedule is released for the next process.
    assert "Traceback" not in "".join(daemon.output)
    monkeypatch.setenv("LOCALGPT_HOME", str(home))
    monkeypatch.setenv("LOCALGPT_WORKSPACE", str(workspace))
    engine = Engine()
    try:
        after = engine.heartbeat.status()
    finally:
        engine.close()
    assert after["runner"] is None and after["next_run"] is None
