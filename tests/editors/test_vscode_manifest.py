"""The VS Code extension's manifest and code agree: every contributed command is registered,
none collides with a server command (vscode-languageclient registers those itself, and a
duplicate id makes the extension fail to activate), and activation matches the workspace rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

from localgpt_ls.lsp.server import create_server

EXT = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def server_commands() -> set[str]:
    """What the server announces in executeCommandProvider (read from the real server)."""
    return set(create_server().protocol.fm.commands)


def manifest() -> dict:
    return json.loads((EXT / "package.json").read_text())


def registered() -> set[str]:
    source = (EXT / "src" / "extension.ts").read_text()
    return set(re.findall(r'register\("([\w.]+)"', source))


def test_every_contributed_command_is_registered() -> None:
    contributed = {c["command"] for c in manifest()["contributes"]["commands"]}
    assert contributed == registered()


def test_no_command_id_collides_with_a_server_command() -> None:
    contributed = {c["command"] for c in manifest()["contributes"]["commands"]}
    commands = server_commands()
    assert {"localgpt.chat", "localgpt.assist", "localgpt.sendChat"} <= commands
    assert not contributed & commands


def test_activates_in_a_workspace_with_a_bootstrap_file() -> None:
    events = set(manifest()["activationEvents"])
    assert {"workspaceContains:SOUL.md", "workspaceContains:MEMORY.md"} <= events


def test_the_vsix_holds_only_the_bundle_and_docs() -> None:
    ignore = (EXT / ".vscodeignore").read_text().split()
    assert "**" in ignore and "!dist/extension.js" in ignore
    assert manifest()["main"] == "./dist/extension.js"
    assert (EXT / "LICENSE").is_file()
