"""The heartbeat in the language server, end to end: two real `localgpt lsp` processes on one
workspace, the agent's real provider code against a loopback Anthropic-speaking server, a 1 s
interval. One server runs the schedule and its alert arrives as window/showMessage; the other
stays idle and takes over when the first shuts down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.agent.conftest import MODELS, config_text, no_provider_config
from tests.conftest import PROVIDER_ENV
from tests.heartbeat.conftest import ALERT, TASKS, check_schema
from tests.llm.fake_server import FakeServer
from tests.llm.wire import reply


async def start_server(home: Path, workspace: Path) -> LanguageClient:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace),
               LOCALGPT_RETRY_BASE="0.01")
    config = ClientServerConfig(server_command=[sys.executable, "-m", "localgpt_ls", "lsp"],
                                server_env=env)
    client = await config.start()
    assert isinstance(client, LanguageClient)
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="vault")]))
    return client


async def eventually(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


def alerts(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if ALERT in m.message]


async def command(client: LanguageClient, name: str) -> Any:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[{}]))
    check_schema(name, result)
    return result


async def test_alert_reaches_the_editor_and_one_server_runs_it(fake: FakeServer,
                                                               tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "workspace"
    home.mkdir()
    (home / "config.toml").write_text(
        config_text(fake.url, MODELS["anthropic"]) + '\n[heartbeat]\ninterval = "1s"\n')
    workspace.mkdir()
    (workspace / "HEARTBEAT.md").write_text(TASKS)
    fake.queue(reply("anthropic", ALERT), *[reply("anthropic", "HEARTBEAT_OK")] * 40)

    # Today's log is open in the first editor with unsaved typing: the entry must go in through
    # workspace/applyEdit at the end of the buffer, and the file on disk stays as it was.
    daily = workspace / "memory" / f"{datetime.now().astimezone():%Y-%m-%d}.md"
    daily.parent.mkdir()
    daily.write_text("# Today\n\nSaved line.\n")
    buffer = "# Today\n\nSaved line.\nUnsaved typing é😀"
    applied: list[types.ApplyWorkspaceEditParams] = []

    first = await start_server(home, workspace)
    running = [first]

    @first.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    first.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=daily.as_uri(), language_id="markdown",
                                             version=1, text=buffer)))
    try:
        assert await eventually(lambda: bool(alerts(first)), 20), first.messages
        second = await start_server(home, workspace)
        running.append(second)
        status = await command(second, "localgpt.heartbeatStatus")
        assert status["runner"]["this_process"] is False  # the second editor stays idle
        assert (await command(first, "localgpt.heartbeatStatus"))["runner"]["this_process"]
        await asyncio.sleep(1.5)
        assert alerts(second) == []
        assert len(alerts(first)) == 1  # later runs said HEARTBEAT_OK: nothing more shown

        assert len(applied) == 1
        change = applied[0].edit.document_changes[0]  # VS Code applies versioned changes
        assert change.text_document.uri == daily.as_uri() and change.text_document.version == 1
        edit = change.edits[0]
        # The end of the buffer in UTF-16 units: "Unsaved typing é😀" is 18 of them.
        assert edit.range.start == edit.range.end == types.Position(line=3, character=18)
        assert edit.new_text.startswith("\n\n## Heartbeat ") and ALERT in edit.new_text
        assert daily.read_text() == "# Today\n\nSaved line.\n"

        lenses = await second.text_document_code_lens_async(types.CodeLensParams(
            text_document=types.TextDocumentIdentifier(
                uri=(workspace / "HEARTBEAT.md").as_uri())))
        assert lenses and lenses[0].command is not None
        assert lenses[0].command.title.startswith("Run now · last: ")
        assert lenses[0].command.command == "localgpt.heartbeatRun"

        ran = await command(second, "localgpt.heartbeatRun")  # "Run now" works on either
        assert ran["outcome"] in ("ok", "skipped:busy")

        running.remove(first)
        await first.shutdown_session()
        await first.stop()
        for _ in range(100):  # the idle server polls the lock every 2 s, then takes over
            status = await command(second, "localgpt.heartbeatStatus")
            if status["runner"] and status["runner"]["this_process"]:
                break
            await asyncio.sleep(0.1)
        assert status["runner"]["this_process"] is True
    finally:
        for client in running:
            with contextlib.suppress(Exception):
                await client.shutdown_session()
            await client.stop()


async def test_a_bad_schedule_is_shown_once_and_the_server_works_on(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "workspace"
    home.mkdir()
    (home / "config.toml").write_text(
        no_provider_config(home) + '\n[heartbeat]\ninterval = "soon"\n')
    workspace.mkdir()
    (workspace / "HEARTBEAT.md").write_text(TASKS)
    client = await start_server(home, workspace)
    try:
        assert await eventually(lambda: any("heartbeat is off" in m.message
                                            for m in client.messages), 10), client.messages
        off = [m.message for m in client.messages if "heartbeat is off" in m.message]
        assert len(off) == 1 and "interval" in off[0] and "1h30m" in off[0]
        status = await command(client, "localgpt.heartbeatStatus")
        assert "interval" in status["config_error"] and status["runner"] is None
        ran = await command(client, "localgpt.heartbeatRun")  # "Run now" still works
        assert ran["outcome"] == "skipped:no-model"
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_ticking_an_open_heartbeat_file_goes_through_the_editor(fake: FakeServer,
                                                                      tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "workspace"
    home.mkdir()
    (home / "config.toml").write_text(
        config_text(fake.url, MODELS["openai"]) + '\n[heartbeat]\ninterval = "30m"\n')
    workspace.mkdir()
    saved = "# Heartbeat\n\n- [ ] Water the tomatoes\n"
    (workspace / "HEARTBEAT.md").write_text(saved)
    buffer = "# Heartbeat 🌱\n\n- [ ] Water the tomatoes\n- [ ] unsaved new task\n"
    fake.queue(reply("openai", "", [("t1", "heartbeat_done", {"task": "tomatoes"})]),
               reply("openai", "HEARTBEAT_OK"))
    client = await start_server(home, workspace)
    applied: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    uri = (workspace / "HEARTBEAT.md").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=1,
                                             text=buffer)))
    try:
        ran = await command(client, "localgpt.heartbeatRun")
    finally:
        await client.shutdown_session()
        await client.stop()
    assert ran["outcome"] == "ok"
    assert len(applied) == 1
    edit = applied[0].edit.document_changes[0].edits[0]
    assert edit.range.start == types.Position(line=2, character=0)
    assert edit.new_text == "- [x] Water the tomatoes"
    assert (workspace / "HEARTBEAT.md").read_text() == saved  # never behind the editor
