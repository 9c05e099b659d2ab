"""The index follower the daemon and `localgpt mcp` both run (index_sync.IndexFollower), in
process over a real workspace under a dotted folder (`~/.localgpt/workspace`) and a real index
file: what it syncs at start, what it follows, and what its status (the daemon's /api/status
`watcher`) says when things go wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localgpt_ls.config import Config
from localgpt_ls.index_sync import IndexFollower
from localgpt_ls.memory import MemoryIndex
from localgpt_ls.workspace import init_workspace
from tests.waiting import wait_for


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "home" / ".localgpt" / "workspace"
    init_workspace(ws)
    (ws / "knowledge" / "boiler.md").write_text(
        "# Boiler\n\nThe boiler pressure gauge should read between one and two bar.\n")
    return ws.resolve()


@pytest.fixture
def index(workspace: Path, tmp_path: Path) -> Iterator[MemoryIndex]:
    config = Config()
    config.memory.embedding_provider = "none"  # type: ignore[assignment]
    idx = MemoryIndex(workspace, config, index_file_path=tmp_path / "state" / "index.sqlite")
    yield idx
    idx.close()


def files(index: MemoryIndex, query: str) -> list[str]:
    return [hit.file for hit in index.search(query, limit=5).results]


def test_it_syncs_at_start_then_follows_changes(workspace: Path, index: MemoryIndex,
                                                tmp_path: Path) -> None:
    assert (tmp_path / "state" / "index.sqlite").is_file()
    follower = IndexFollower(workspace, lambda: index, debounce_ms=50)
    assert follower.status()["running"] is False
    follower.start()
    try:
        assert follower.ready.wait(20)
        status = follower.status()
        assert status["running"] is True and status["ready"] is True
        assert status["last_error"] is None and status["last_sync"] is not None
        # Written before the follower started: found by its first (full) sync.
        assert files(index, "boiler pressure gauge") == ["knowledge/boiler.md"]

        (workspace / ".obsidian").mkdir()
        (workspace / ".obsidian" / "kettle.md").write_text("# Kettle\n\nDescale monthly.\n")
        note = workspace / "knowledge" / "kettle.md"
        note.write_text("# Kettle\n\nDescale the kettle with citric acid monthly.\n")
        assert wait_for(lambda: files(index, "descale kettle citric") == [
            "knowledge/kettle.md"])
        assert follower.status()["batches"] >= 1

        note.unlink()
        assert wait_for(lambda: files(index, "descale kettle citric") == [])
        assert index.stats()["total_files"] == len(
            [p for p in workspace.rglob("*.md") if ".obsidian" not in p.parts])
    finally:
        follower.stop()
    status = follower.status()
    assert status["running"] is False and status["last_error"] is None


def test_a_failing_index_is_reported_and_the_follower_keeps_going(
        workspace: Path, index: MemoryIndex) -> None:
    broken = True

    def open_index() -> MemoryIndex:
        if broken:
            raise OSError("disk is full")
        return index

    follower = IndexFollower(workspace, open_index, debounce_ms=50).start()
    try:
        assert follower.ready.wait(20)
        status = follower.status()
        assert status["running"] is True and status["last_error"] == "OSError: disk is full"
        broken = False
        (workspace / "knowledge" / "kettle.md").write_text("# Kettle\n\nDescale monthly.\n")
        # The next batch works, and the error is cleared once it does.
        assert wait_for(lambda: files(index, "descale kettle") == ["knowledge/kettle.md"])
        assert wait_for(lambda: follower.status()["last_error"] is None)
    finally:
        follower.stop()


def test_a_folder_that_cannot_be_watched_ends_the_follower_with_a_reason(
        tmp_path: Path, index: MemoryIndex) -> None:
    gone = tmp_path / "home" / ".localgpt" / "no-such-workspace"
    follower = IndexFollower(gone, lambda: index, debounce_ms=50).start()
    try:
        assert follower.ready.wait(20)  # whoever waits for the first sync is not left hanging
        assert wait_for(lambda: not follower.status()["running"])
        error = follower.status()["last_error"]
        assert error is not None and error.startswith("watcher stopped: ")
    finally:
        follower.stop()


def test_the_engine_says_once_who_keeps_its_index_fresh(lg_env) -> None:
    """A door that follows file changes (daemon, `localgpt mcp`) starts it on the engine; a
    chat turn then skips its own reindex, and after stop() it does it again (no door swaps
    the agent's attributes)."""
    from localgpt_ls.engine import EditorBridge, Engine

    async def no(*_args: object) -> bool:
        return False

    config = Config()
    config.memory.embedding_provider = "none"  # type: ignore[assignment]
    engine = Engine(config, lg_env.workspace)
    try:
        assert engine.agent.refresh_memory()
        follower = engine.follow_index()
        assert engine.follow_index() is follower  # one follower per engine
        assert not engine.agent.refresh_memory()
        (lg_env.workspace / "knowledge" / "kettle.md").write_text("# Kettle\n\nDescale monthly.\n")
        assert wait_for(lambda: "knowledge/kettle.md" in files(engine.memory, "descale kettle"),
                        20)
        engine.stop()
        assert engine.agent.refresh_memory() and not follower.status()["running"]
    finally:
        engine.close()
    editor = Engine(config, lg_env.workspace, editor=EditorBridge(append=no, replace_line=no))
    assert not editor.agent.refresh_memory()
