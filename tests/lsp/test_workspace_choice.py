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
