"""End-to-end fixtures: the real `localgpt lsp` process driven by pytest-lsp, once per client
preset (Neovim 0.11 and VS Code) per test module, on a small vault in a temporary home."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests import vault
from tests.llm.fake_server import FakeServer
from tests.user_env import user_env

PRESETS = ["neovim", "visual-studio-code"]

VAULT = {
    "MEMORY.md": "# Memory\n\nSee [[Project Alpha]] and [[project-alpha#Goals]].\n",
    "HEARTBEAT.md": ("# Heartbeat\n\n- [ ] check the inbox\n-[ ] no space after the dash\n"
                     "- [] empty box\n"),
    "knowledge/project-alpha.md": (
        "# Project Alpha\n\nIntro about the alpha project. #work #alpha\n\n## Goals\n\n"
        "Ship the thing by Friday.\n\n## Risks 😀\n\nCJK 漢字 text.\n"),
    "knowledge/beta.md": (
        "# Beta\n\nLinks to [alpha](project-alpha.md#goals) and [[missing-note]] and "
        "[[project-alpha#nope]]. #work\n"),
    "notes/emoji.md": "# Emoji\n\n😀漢 [[Project Alpha]] and #tag-x\n",
}


@dataclass
class Session:
    client: LanguageClient
    workspace: Path
    home: Path
    preset: str
    encoding: str
    statuses: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[Any] = field(default_factory=list)

    def uri(self, rel: str) -> str:
        return (self.workspace / rel).as_uri()

    def open(self, rel: str, text: str | None = None) -> str:
        """didOpen a vault file (or a new scratch file with `text`)."""
        uri = self.uri(rel)
        if text is None:
            text = (self.workspace / rel).read_text(encoding="utf-8")
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=1,
                                                 text=text)))
        return uri

    def col(self, line: str, index: int) -> int:
        """`str` index -> the negotiated position encoding's units."""
        prefix = line[:index]
        if self.encoding == "utf-8":
            return len(prefix.encode("utf-8"))
        if self.encoding == "utf-32":
            return len(prefix)
        return len(prefix.encode("utf-16-le")) // 2


def write_vault(workspace: Path) -> None:
    vault.write_vault(workspace, VAULT)


def fix_code_action_union(client: LanguageClient) -> None:
    """lsprotocol's client-side hook reads any code action that has a `command` as a bare
    Command (a CodeAction's `command` is an object, a Command's a string); tell them apart
    properly so the tests see what the server sent."""
    converter = client.protocol._converter

    def hook(obj: Any, _type: Any) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)  # noqa: UP007


async def start_session(preset: str, root: Path, config_toml: str,
                        init_options: dict[str, Any] | None = None,
                        capabilities: types.ClientCapabilities | None = None) -> Session:
    """Start the server on a fresh vault; `capabilities` (default: the preset's) lets a test
    announce what a newer client of that kind would, e.g. inline completion."""
    home, workspace = root / "home", root / "workspace"
    home.mkdir(parents=True)
    workspace.mkdir(parents=True)
    write_vault(workspace)
    (home / "config.toml").write_text(config_toml, encoding="utf-8")
    config = ClientServerConfig(server_command=[sys.executable, "-m", "localgpt_ls", "lsp"],
                                server_env=user_env(home, workspace))
    client = await config.start()
    assert isinstance(client, LanguageClient)
    fix_code_action_union(client)
    statuses: list[dict[str, Any]] = []
    ready = asyncio.Event()

    @client.feature("localgpt/status")
    def on_status(params: Any) -> None:
        data = params if isinstance(params, dict) else {
            "state": getattr(params, "state", None), "message": getattr(params, "message", "")}
        statuses.append(data)
        if data.get("state") in ("ready", "error"):
            ready.set()

    registrations: list[Any] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    result = await client.initialize_session(types.InitializeParams(
        capabilities=capabilities or client_capabilities(preset),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="vault")],
        initialization_options=init_options or {"diagnosticsDebounceMs": 50,
                                                "indexDebounceMs": 100},
    ))
    await asyncio.wait_for(ready.wait(), 30)
    encoding = str(getattr(result.capabilities.position_encoding, "value",
                           result.capabilities.position_encoding or "utf-16"))
    return Session(client, workspace, home, preset, encoding, statuses, registrations)


async def stop_session(session: Session) -> None:
    await session.client.shutdown_session()
    await session.client.stop()


# No embedder (fast); and heartbeat hours that can never match, for the HEARTBEAT.md check.
NO_EMBED = ('[memory]\nembedding_provider = "none"\n\n'
            '[heartbeat.active_hours]\nstart = "09:00"\nend = "09:00"\n')


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PRESETS)
async def lsp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    session = await start_session(request.param, tmp_path_factory.mktemp("lsp"), NO_EMBED)
    yield session
    await stop_session(session)


def provider_config(fake: FakeServer) -> str:
    """config.toml for a session whose model is the loopback OpenAI-wire server `fake`."""
    return (f'[agent]\ndefault_model = "openai/test-model"\n\n'
            f'[providers.openai]\napi_key = "sk-test-secret"\nbase_url = "{fake.url}/v1"\n\n'
            '[heartbeat]\nenabled = false\n\n' + NO_EMBED.split("\n\n")[0] + "\n")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    """A loopback provider per test module (its reply queue is the module's script)."""
    server = FakeServer().start()
    yield server
    server.stop()


async def command(session: Session, name: str, args: dict[str, Any] | None = None,
                  token: str | None = None) -> Any:
    """workspace/executeCommand with the one JSON object argument."""
    return await session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=name, arguments=[args if args is not None else {}], work_done_token=token))
