"""`localgpt memory ...` as a user types it (in-process main, isolated home and workspace)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localgpt_ls import paths
from localgpt_ls.cli import main

from .conftest import NOTES


@pytest.fixture
def ws(lg_env, local_embedder) -> Path:
    lg_env.workspace.mkdir(parents=True, exist_ok=True)
    shutil.copytree(NOTES, lg_env.workspace, dirs_exist_ok=True)
    return lg_env.workspace


@pytest.fixture
def fts_ws(lg_env) -> Path:
    """The notes with keyword search only, for commands run as a real process (no model)."""
    shutil.copytree(NOTES, lg_env.workspace, dirs_exist_ok=True)
    (lg_env.home / "config.toml").write_text('[memory]\nembedding_provider = "none"\n')
    return lg_env.workspace.resolve()


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`localgpt ...` in its own process: logging as a user gets it, no pytest handlers."""
    return subprocess.run([sys.executable, "-m", "localgpt_ls", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


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


def test_search_recency_option(ws: Path, capsys) -> None:
    def scores(*extra: str) -> dict[str, float]:
        assert main(["memory", "search", "Kestrel refunds ledger", "-n", "10", "--json",
                     "--min-score", "0",
                     *extra]) == 0
        return {h["file"]: h["score"] for h in json.loads(capsys.readouterr().out)["results"]}

    plain, fading = scores(), scores("--recency", "1")
    assert fading.get("memory/2025-03-10.md", 0) < plain["memory/2025-03-10.md"]
    assert fading["MEMORY.md"] == plain["MEMORY.md"]
    (ws.parent / "home" / "config.toml").write_text("[memory]\nrecency_half_life_days = 1\n")
    assert scores() == fading and scores("--recency", "0") == plain
    with pytest.raises(SystemExit):
        main(["memory", "search", "x", "--recency", "-1"])
    assert "must be 0 (off) or more days" in capsys.readouterr().err


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


def _corrupt_index_and_binary_note(ws: Path) -> None:
    (ws / "knowledge" / "bin.md").write_bytes(b"# x\n\x00\xffbinary")  # NULs among non-UTF-8 bytes
    index = paths.index_path(ws)
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_bytes(b"this is not a database" * 100)


def test_each_warning_is_shown_once(fts_ws: Path) -> None:
    _corrupt_index_and_binary_note(fts_ws)
    result = run_cli("memory", "search", "Kestrel")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    binary = [ln for ln in lines if "looks binary" in ln]
    corrupt = [ln for ln in lines if "could not be read" in ln]
    assert binary == ["warning: knowledge/bin.md: skipped, looks binary (NUL bytes)"]
    assert len(corrupt) == 1 and corrupt[0].startswith("warning: the memory index ")
    assert "knowledge/kestrel.md" in result.stdout


def test_skipped_note_is_not_warned_about_on_every_search(fts_ws: Path, capsys) -> None:
    (fts_ws / "knowledge" / "bin.md").write_bytes(b"# x\n\x00\xffbinary")
    assert main(["memory", "search", "Kestrel"]) == 0
    assert "bin.md: skipped, looks binary" in capsys.readouterr().err
    assert main(["memory", "search", "Kestrel"]) == 0
    assert main(["memory", "recent"]) == 0
    captured = capsys.readouterr()
    assert "bin.md" not in captured.err and "bin.md" not in captured.out


def test_localgpt_log_shows_records_once_with_their_logger(fts_ws: Path) -> None:
    _corrupt_index_and_binary_note(fts_ws)
    result = run_cli("memory", "reindex", LOCALGPT_LOG="debug")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [ln for ln in lines if "looks binary" in ln] == [
        "WARNING localgpt.memory: knowledge/bin.md: skipped, looks binary (NUL bytes)"]
    assert len([ln for ln in lines if "could not be read" in ln]) == 1
    assert not [ln for ln in lines if ln.startswith("warning: ")]


def test_index_path_that_is_a_folder_is_explained(fts_ws: Path, capsys) -> None:
    index = paths.index_path(fts_ws)
    index.mkdir(parents=True)
    assert main(["memory", "search", "Kestrel"]) == 2
    err = capsys.readouterr().err
    assert f"the memory index {index} is a folder, not a file; move or delete that folder" in err
    assert "try again" not in err and "Traceback" not in err
    assert index.is_dir() and not list(index.parent.glob("*.corrupt-*"))  # nothing moved


def test_stats_after_recovery_shows_the_rebuilt_index(fts_ws: Path, capsys) -> None:
    _corrupt_index_and_binary_note(fts_ws)
    assert main(["memory", "stats", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("is being rebuilt from the workspace") == 1
    data = json.loads(captured.out)
    assert data["total_files"] == 9 and data["total_chunks"] > 0


def test_bad_localgpt_log_is_one_clear_line(fts_ws: Path) -> None:
    result = run_cli("memory", "stats", LOCALGPT_LOG="loud")
    assert result.returncode == 2
    assert result.stderr.startswith("localgpt: error: LOCALGPT_LOG='loud' is not a log level")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(("command", "value"), [
    (["memory", "search", "x"], "0"), (["memory", "search", "x"], "-1"),
    (["memory", "recent"], "-1"), (["memory", "recent"], "0"), (["memory", "recent"], "two"),
])
def test_bad_limit_is_a_usage_error(lg_env, capsys, command: list[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "-n", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument -n/--limit:" in err
    assert ("must be at least 1" in err) if value != "two" else ("expected a whole number" in err)
    assert not lg_env.workspace.exists()  # refused before anything ran


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
