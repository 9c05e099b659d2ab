"""First-run workspace and the path-safety rule every file access goes through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.errors import PathSafetyError
from localgpt_ls.workspace import TEMPLATE_DIRS, TEMPLATE_FILES, init_workspace, safe_path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localgpt_ls", *args],
                          capture_output=True, text=True, timeout=60)


def test_init_creates_the_openclaw_layout(lg_env: Any) -> None:
    result = run_cli("init")
    assert result.returncode == 0, result.stderr
    for name in TEMPLATE_FILES:
        text = (lg_env.workspace / name).read_text(encoding="utf-8")
        assert text.startswith("# "), f"{name} must start with an H1"
        assert not text.startswith("---"), f"{name} must have no front matter"
    for folder in TEMPLATE_DIRS:
        assert (lg_env.workspace / folder).is_dir()


def test_heartbeat_template_is_only_comments_and_headings(lg_env: Any) -> None:
    init_workspace(lg_env.workspace)
    text = (lg_env.workspace / "HEARTBEAT.md").read_text(encoding="utf-8")
    body = text.split("<!--", 1)
    assert len(body) == 2 and body[1].rstrip().endswith("-->")
    outside = [line for line in body[0].splitlines() if line.strip()]
    assert all(line.startswith("#") for line in outside)


def test_init_never_overwrites_without_force(lg_env: Any) -> None:
    init_workspace(lg_env.workspace)
    soul = lg_env.workspace / "SOUL.md"
    soul.write_text("# My own soul\n", encoding="utf-8")
    result = run_cli("init")
    assert result.returncode == 0
    assert soul.read_text(encoding="utf-8") == "# My own soul\n"
    assert "already exist" in result.stdout
    forced = run_cli("init", "--force")
    assert forced.returncode == 0
    assert soul.read_text(encoding="utf-8").startswith("# SOUL.md")


def test_init_keeps_existing_files_and_fills_missing(lg_env: Any) -> None:
    lg_env.workspace.mkdir()
    (lg_env.workspace / "MEMORY.md").write_text("# Mine\n- fact\n", encoding="utf-8")
    written = init_workspace(lg_env.workspace)
    assert lg_env.workspace / "MEMORY.md" not in written
    assert (lg_env.workspace / "MEMORY.md").read_text(encoding="utf-8") == "# Mine\n- fact\n"
    assert (lg_env.workspace / "SOUL.md").exists()


def test_unwritable_workspace_is_a_clear_error(
    lg_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("LOCALGPT_WORKSPACE", str(blocker / "ws"))
    result = run_cli("init")
    assert result.returncode == 2
    assert "cannot create the workspace" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "knowledge").mkdir(parents=True)
    (root / "knowledge" / "note.md").write_text("# Note\n")
    return root


@pytest.mark.parametrize("given", ["knowledge/note.md", "./knowledge/../knowledge/note.md",
                                   "knowledge/ünïcødé 笔记.md", "MEMORY.md"])
def test_safe_path_accepts_paths_inside(ws: Path, given: str) -> None:
    resolved = safe_path(ws, given)
    assert ws.resolve() in resolved.parents


@pytest.mark.parametrize("given", ["../outside.md", "knowledge/../../outside.md", "..",
                                   "/etc/passwd", "", "a\x00b"])
def test_safe_path_refuses_escapes(ws: Path, given: str) -> None:
    with pytest.raises(PathSafetyError):
        safe_path(ws, given)


def test_safe_path_refuses_symlink_leading_out(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key.md").write_text("secret")
    (ws / "link").symlink_to(outside, target_is_directory=True)
    (ws / "file-link.md").symlink_to(outside / "key.md")
    for given in ("link/key.md", "file-link.md", "link"):
        with pytest.raises(PathSafetyError, match="outside the workspace"):
            safe_path(ws, given)


def test_safe_path_refuses_symlink_loop(ws: Path) -> None:
    # The assistant's memory_get turns this error into a tool error instead of a crash.
    (ws / "a.md").symlink_to("b.md")
    (ws / "b.md").symlink_to("a.md")
    for given in ("a.md", "b.md"):
        with pytest.raises(PathSafetyError, match="symlink loop"):
            safe_path(ws, given)


def test_safe_path_allows_symlink_inside(ws: Path) -> None:
    (ws / "alias.md").symlink_to(ws / "knowledge" / "note.md")
    assert safe_path(ws, "alias.md") == (ws / "knowledge" / "note.md").resolve()


def test_version_and_help(lg_env: Any) -> None:
    from localgpt_ls import __version__

    assert run_cli("--version").stdout.strip() == f"localgpt {__version__}"
    assert "lsp" in run_cli("--help").stdout
