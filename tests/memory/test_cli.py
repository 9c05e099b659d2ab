"""`localgpt memory ...` as a user types it (in-process main, isolated home and workspace)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from localgpt_ls.cli import main

from .conftest import NOTES


@pytest.fixture
def ws(lg_env, local_embedder) -> Path:
    lg_env.workspace.mkdir(parents=True, exist_ok=True)
    shutil.copytree(NOTES, lg_env.workspace, dirs_exist_ok=True)
    return lg_env.workspace


def test_search_indexes_a_fresh_workspace_and_prints_lines(ws: Path, capsys) -> None:
    assert main(["memory", "search", "Kestrel billing", "-n", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\d\.\d\d knowledge/kestrel\.md:1-\d+", out[0])
    assert out[1].strip().startswith("# Kestrel billing system")


def test_search_json_shape(ws: Path, capsys) -> None:
    assert main(["memory", "search", "sourdough starter", "--json", "-n", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["query"] == "sourdough starter" and data["mode"] == "hybrid"
    assert data["results"][0]["file"] == "knowledge/sourdough.md"
    assert set(data["results"][0]) == {"file", "line_start", "line_end", "content", "score"}


def test_search_without_matches(ws: Path, capsys) -> None:
    assert main(["memory", "search", "qwzx vbnm", "--min-score", "0.5"]) == 0
    assert capsys.readouterr().out.strip() == "No matches."


def test_reindex_stats_recent(ws: Path, capsys) -> None:
    assert main(["memory", "reindex"]) == 0
    out = capsys.readouterr().out
    assert "Indexed" in out and "embedded" in out
    (ws / "knowledge" / "kestrel.md").unlink()
    assert main(["memory", "reindex", "--force"]) == 0
    assert "removed 1" in capsys.readouterr().out
    assert main(["memory", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert list(stats) == ["workspace", "total_files", "total_chunks", "embedded_chunks",
                           "index_size_kb", "embedding_model"]
    assert stats["total_files"] == 8
    assert stats["embedded_chunks"] == stats["total_chunks"]
    assert main(["memory", "recent", "-n", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_symlink_loop_does_not_stop_search(ws: Path, capsys) -> None:
    (ws / "knowledge" / "a.md").symlink_to("b.md")
    (ws / "knowledge" / "b.md").symlink_to("a.md")
    assert main(["memory", "search", "Kestrel billing", "-n", "1"]) == 0
    captured = capsys.readouterr()
    assert "knowledge/kestrel.md" in captured.out
    assert "knowledge/a.md: skipped, a symlink loop" in captured.err


def test_bad_limit_is_a_clear_error(ws: Path, capsys) -> None:
    assert main(["memory", "search", "x", "-n", "0"]) == 2
    assert "-n must be at least 1" in capsys.readouterr().err


def test_locked_index_is_one_clear_line(ws: Path, capsys, monkeypatch) -> None:
    from localgpt_ls.memory import store

    assert main(["memory", "reindex"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)
    from localgpt_ls import paths

    holder = store.connect(paths.index_path(ws.resolve()))
    holder.execute("BEGIN EXCLUSIVE")
    try:
        (ws / "knowledge" / "new.md").write_text("# New\n\nlocked out\n")
        assert main(["memory", "reindex"]) == 2
        err = capsys.readouterr().err
        assert "the memory index cannot be used right now" in err
        assert "Traceback" not in err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
