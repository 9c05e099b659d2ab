"""The VS Code extension's manifest and code agree: every contributed command is registered,
none collides with a server command (vscode-languageclient registers those itself, and a
duplicate id makes the extension fail to activate), activation matches the workspace rule, and
the contributed settings are exactly the server's initialization options (options.py) plus the
extension's own `server.*`/`trace.*`, so VS Code never flags a documented setting as unknown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from localgpt_ls.lsp.app import create_server
from localgpt_ls.lsp.options import CLIENT_SIDE_KEYS, InitializationOptions

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


# Python type of an option -> the JSON Schema type VS Code's settings use for it.
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def server_options(cls: type = InitializationOptions, prefix: str = "localgpt."
                   ) -> dict[str, tuple[str, Any]]:
    """Every leaf of options.py as its VS Code setting: {'localgpt.memory.hoverTimeout':
    ('number', 1.5)}. `str | None` is a string whose empty default means "not set"."""
    out: dict[str, tuple[str, Any]] = {}
    defaults = cls()
    for field in attrs.fields(cls):
        key = prefix + _camel(field.name)
        value = getattr(defaults, field.name)
        if isinstance(field.type, type) and attrs.has(field.type):
            out.update(server_options(field.type, key + "."))
        elif value is None:
            out[key] = ("string", "")
        else:
            out[key] = (JSON_TYPES[type(value)], value)
    return out


def contributed_settings() -> dict[str, dict[str, Any]]:
    properties: dict[str, dict[str, Any]] = manifest()["contributes"]["configuration"]["properties"]
    return properties


def settings_ts_keys() -> list[str]:
    """The SERVER_SETTINGS list in settings.ts: what initOptions() copies to the server."""
    source = (EXT / "src" / "settings.ts").read_text()
    block = re.search(r"SERVER_SETTINGS = \[(.*?)\]", source, re.S)
    assert block, "settings.ts has no SERVER_SETTINGS list"
    return re.findall(r'"([\w.]+)"', block.group(1))


def test_options_py_yields_the_documented_settings() -> None:
    """The walk below sees what the README lists (so the drift checks check something)."""
    assert {"localgpt.workspace", "localgpt.completionLimit", "localgpt.memory.hoverMinScore",
            "localgpt.inlineCompletion.maxChars"} <= set(server_options())


@pytest.mark.parametrize(("key", "expected"), sorted(server_options().items()))
def test_every_server_option_is_a_contributed_setting(key: str, expected: tuple[str, Any]
                                                      ) -> None:
    setting = contributed_settings().get(key)
    assert setting is not None, f"package.json does not contribute {key} (options.py has it)"
    json_type, default = expected
    assert setting["type"] == json_type, key
    assert setting["default"] == default, f"{key}: package.json and options.py disagree"
    assert setting.get("markdownDescription") or setting.get("description"), key


def test_every_contributed_setting_is_a_server_option_or_the_extensions_own() -> None:
    """Anything else would go to the server through workspace/configuration and be reported
    as unknown; the extension's own keys are the ones the server knows to ignore."""
    extra = set(contributed_settings()) - set(server_options())
    own = {key for key in extra if key.split(".")[1] in CLIENT_SIDE_KEYS}
    assert extra == own, f"settings the server does not know: {sorted(extra - own)}"
    assert own  # server.command & co. are still the extension's


def test_settings_ts_sends_every_server_setting() -> None:
    keys = settings_ts_keys()
    assert len(keys) == len(set(keys))
    expected = {key.removeprefix("localgpt.") for key in server_options()} - {"workspace"}
    assert set(keys) == expected


def test_readme_documents_every_setting() -> None:
    readme = (EXT / "README.md").read_text()
    missing = [key for key in contributed_settings() if f"`{key}`" not in readme]
    assert not missing, f"editors/vscode/README.md does not document {missing}"
