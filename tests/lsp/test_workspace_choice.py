"""Which folder the language server treats as the workspace."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from localgpt_ls.config import Config
from localgpt_ls.lsp.lifecycle import choose_workspace, root_folder


def params(root: Path | None) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="r")] if root else None)


def test_option_beats_a_marked_root_folder_which_beats_the_configured_one(
        tmp_path: Path, lg_env) -> None:
    root = tmp_path / "project"
    root.mkdir()
    configured = Config().workspace()
    # a root folder without OpenClaw files: the configured workspace
    assert choose_workspace(None, root_folder(params(root)), Config()) == configured
    # a root folder holding SOUL.md (or MEMORY.md, HEARTBEAT.md, AGENTS.md) is the workspace
    (root / "SOUL.md").write_text("# Soul\n")
    assert choose_workspace(None, root_folder(params(root)), Config()) == root.resolve()
    # initializationOptions.workspace wins over both
    chosen = tmp_path / "elsewhere"
    assert choose_workspace(str(chosen), root_folder(params(root)), Config()) == chosen.resolve()
    # no root folder at all: the configured workspace
    assert choose_workspace(None, root_folder(params(None)), Config()) == configured


def test_the_notes_scan_skips_symlink_loops_and_links_out(tmp_path: Path) -> None:
    from localgpt_ls.lsp.notes import iter_markdown_files

    root, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    (root / "knowledge").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "knowledge" / "real.md").write_text("# Real\n")
    (elsewhere / "secret.md").write_text("# Secret\n")
    (root / "knowledge" / "a.md").symlink_to("b.md")  # a loop: a -> b -> a
    (root / "knowledge" / "b.md").symlink_to("a.md")
    (root / "out.md").symlink_to(elsewhere / "secret.md")
    (root / "alias.md").symlink_to(root / "knowledge" / "real.md")  # stays inside: kept
    found = sorted(p.relative_to(root.resolve()).as_posix() for p in iter_markdown_files(root))
    assert found == ["alias.md", "knowledge/real.md"]
