"""The assistant in the editor, end to end: the real server process, a loopback provider that
speaks OpenAI's streaming wire format, and pytest-lsp clients with the Neovim and VS Code
capability presets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import client_capabilities

from tests.heartbeat.conftest import check_schema
from tests.llm.fake_server import FakeServer, error_reply
from tests.llm.wire import reply
from tests.lsp.conftest import (
    NO_EMBED,
    PRESETS,
    Session,
    command,
    provider_config,
    start_session,
    stop_session,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "lsp"


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


class Recorder:
    """What the server sent the client besides responses."""

    def __init__(self, session: Session) -> None:
        self.deltas: list[dict[str, Any]] = []
        self.asked: list[str] = []
        self.answer = "Allow"
        client = session.client

        @client.feature("localgpt/chatDelta")
        def on_delta(params: Any) -> None:
            # pygls gives an unknown notification's params as a namedtuple-like Object.
            self.deltas.append(params if isinstance(params, dict) else params._asdict())

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_ask(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.asked.append(params.message)
            return types.MessageActionItem(title=self.answer)



def progress_text(session: Session, token: str) -> str:
    """The text of the `$/progress` reports the server sent on `token` (pytest-lsp keeps them)."""
    return "".join(v.message or "" for v in session.client.progress_reports.get(token, [])
                   if isinstance(v, types.WorkDoneProgressReport))



@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PRESETS)
async def assisted(request: pytest.FixtureRequest, fake: FakeServer,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[
                       tuple[Session, Recorder]]:
    session = await start_session(request.param, tmp_path_factory.mktemp("assist"),
                                  provider_config(fake))
    yield session, Recorder(session)
    await stop_session(session)


@pytest.mark.asyncio(loop_scope="module")
async def test_chat_streams_and_returns_the_contract_shape(assisted: tuple[Session, Recorder],
                                                          fake: FakeServer) -> None:
    session, rec = assisted
    answer = "Ship the thing by Friday, says your note."
    fake.queue(reply("openai", answer))
    rec.deltas.clear()
    session.client.progress_reports["chat-token-1"] = []  # the client's own token
    params = {"message": "When do we ship alpha?", "context": "knowledge/beta.md:3"}
    jsonschema.validate(params, schema("localgpt.chat.params.json"))
    result = await command(session, "localgpt.chat", params, token="chat-token-1")
    jsonschema.validate(result, schema("localgpt.chat.result.json"))
    assert result["response"] == answer
    assert result["model"] == "openai/test-model"
    assert "".join(d["text"] for d in rec.deltas) == answer
    assert {d["session_id"] for d in rec.deltas} == {result["session_id"]}
    for delta in rec.deltas:
        jsonschema.validate(delta, schema("localgpt.chatDelta.json"))
    assert progress_text(session, "chat-token-1") == answer
    sent = fake.posts()[-1].body
    assert "knowledge/beta.md:3" in json.dumps(sent)  # the editor context reached the model
    session_file = session.home / "sessions" / f"{result['session_id']}.jsonl"
    assert "When do we ship alpha?" in session_file.read_text(encoding="utf-8")
    assert "sk-test-secret" not in session_file.read_text(encoding="utf-8")

    fake.queue(reply("openai", "Still Friday."))
    again = await command(session, "localgpt.chat",
                          {"message": "And again?", "session_id": result["session_id"]})
    assert again["session_id"] == result["session_id"]
    assert len(fake.posts()[-1].body["messages"]) > len(sent["messages"])  # history went along


@pytest.mark.asyncio(loop_scope="module")
async def test_cancel_stops_the_provider_stream(assisted: tuple[Session, Recorder],
                                                fake: FakeServer) -> None:
    session, rec = assisted
    fake.disconnected.clear()
    fake.queue(reply("openai", "slow " * 200, delay=0.05))
    rec.deltas.clear()
    request_id = f"cancel-me-{session.preset}"
    task = asyncio.ensure_future(session.client.protocol.send_request_async(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="localgpt.chat", arguments=[{"message": "Tell me slowly"}]),
        msg_id=request_id))
    async with asyncio.timeout(10):
        while not rec.deltas:
            await asyncio.sleep(0.02)
    session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(task, 10)
    assert await asyncio.to_thread(fake.disconnected.wait, 10), "provider stream kept running"
    session_id = rec.deltas[0]["session_id"]
    text = (session.home / "sessions" / f"{session_id}.jsonl").read_text(encoding="utf-8")
    assert "Tell me slowly" in text  # the user's message survives the cancel


@pytest.mark.asyncio(loop_scope="module")
async def test_completion_and_hover_answer_while_a_slow_chat_is_in_flight(
        assisted: tuple[Session, Recorder], fake: FakeServer) -> None:
    session, rec = assisted
    fake.queue(reply("openai", "thinking " * 60, delay=0.03))
    rec.deltas.clear()
    chat = asyncio.ensure_future(command(session, "localgpt.chat", {"message": "Long answer"}))
    async with asyncio.timeout(10):
        while not rec.deltas:
            await asyncio.sleep(0.02)
    uri = session.open("scratch-inflight.md", "See [[proj")
    items = await session.client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=0, character=10)))
    # any hover answer will do: what counts is that it comes while the model still streams
    await session.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=0, character=1)))
    assert not chat.done(), "the chat finished before completion answered: nothing was tested"
    labels = [i.label for i in (items.items if isinstance(items, types.CompletionList) else items)]
    assert any("project-alpha" in label.lower() or "Project Alpha" in label for label in labels)
    result = await chat
    assert result["response"].startswith("thinking")


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("answer", ["Allow", "Deny"])
async def test_file_tool_asks_the_editor(assisted: tuple[Session, Recorder], fake: FakeServer,
                                         answer: str) -> None:
    session, rec = assisted
    target = session.workspace / f"knowledge/approved-{answer.lower()}.md"
    call = ("w1", "write_file", {"path": target.relative_to(session.workspace).as_posix(),
                                 "content": "# Written by the assistant\n"})
    fake.queue(reply("openai", "", [call]), reply("openai", "Done."))
    rec.answer = answer
    rec.asked.clear()
    result = await command(session, "localgpt.chat", {"message": "Write the note"})
    assert result["response"] == "Done."
    assert len(rec.asked) == 1 and "write_file" in rec.asked[0]
    assert target.exists() == (answer == "Allow")
    tool_result = json.dumps(fake.posts()[-1].body["messages"][-1])
    assert ("the user declined" in tool_result) == \
        (answer == "Deny")


@pytest.mark.asyncio(loop_scope="module")
async def test_memory_search_remember_daily_log_and_sessions(
        assisted: tuple[Session, Recorder]) -> None:
    session, _ = assisted
    found = await command(session, "localgpt.memorySearch", {"query": "Ship the thing", "limit": 3})
    jsonschema.validate(found, schema("localgpt.memorySearch.result.json"))
    assert found["results"][0]["file"] == "knowledge/project-alpha.md"
    assert Path(found["workspace"]) == session.workspace

    remembered = await command(session, "localgpt.remember",
                               {"text": "The alpha launch moved to Monday"})
    check_schema("localgpt.remember", remembered)
    today = datetime.now().astimezone().date().isoformat()
    assert remembered["file"] == f"memory/{today}.md"
    log = (session.workspace / remembered["file"]).read_text(encoding="utf-8")
    assert "The alpha launch moved to Monday" in log
    again = await command(session, "localgpt.memorySearch", {"query": "launch moved Monday"})
    assert any(r["file"] == remembered["file"] for r in again["results"])

    opened = await command(session, "localgpt.openDailyLog")
    check_schema("localgpt.openDailyLog", opened)
    assert opened["file"] == remembered["file"]
    # both presets announce window/showDocument: the editor is asked to show the log
    shown = session.client.shown_documents[-1].uri
    assert shown == (session.workspace / opened["file"]).as_uri()
    listed = await command(session, "localgpt.sessions")
    check_schema("localgpt.sessions", listed)
    assert listed["sessions"] and all("id" in s for s in listed["sessions"])


@pytest.mark.asyncio(loop_scope="module")
async def test_reindex_picks_up_a_note_written_behind_the_editor(
        assisted: tuple[Session, Recorder]) -> None:
    session, _ = assisted
    before = await command(session, "localgpt.reindex")
    check_schema("localgpt.reindex", before)
    note = session.workspace / "knowledge" / f"quokka-{session.preset}.md"
    note.write_text("# Quokka\n\nThe quokkafacts live here.\n", encoding="utf-8")
    token = f"reindex-{session.preset}"
    session.client.progress_reports[token] = []
    after = await command(session, "localgpt.reindex", {"force": True}, token=token)
    check_schema("localgpt.reindex", after)
    kinds = [type(r).__name__ for r in session.client.progress_reports[token]]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert after["total_files"] == before["total_files"] + 1
    found = await command(session, "localgpt.memorySearch", {"query": "quokkafacts"})
    assert found["results"][0]["file"] == f"knowledge/quokka-{session.preset}.md"
    with pytest.raises(JsonRpcException, match="force") as refused:
        await command(session, "localgpt.reindex", {"force": "yes"})
    assert refused.value.code == types.ErrorCodes.InvalidParams


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("name", "args"), [
    ("localgpt.chat", {}), ("localgpt.chat", {"message": 3}),
    ("localgpt.memorySearch", {"query": "x", "limit": 0}), ("localgpt.remember", {"text": ""}),
    ("localgpt.remember", {"text": "x", "target": "elsewhere"})])
async def test_bad_arguments_are_errors_not_crashes(assisted: tuple[Session, Recorder],
                                                    name: str, args: dict[str, Any]) -> None:
    session, _ = assisted
    with pytest.raises(JsonRpcException, match="localgpt") as refused:
        await command(session, name, args)
    assert refused.value.code == types.ErrorCodes.InvalidParams  # the editor shows the message
    assert (await command(session, "localgpt.memorySearch", {"query": "alpha"}))["results"]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_provider_error_reaches_the_editor_as_one_sentence(
        assisted: tuple[Session, Recorder], fake: FakeServer) -> None:
    session, _ = assisted
    fake.queue(error_reply(401, "Incorrect API key provided"))
    with pytest.raises(JsonRpcException) as failed:
        await command(session, "localgpt.chat", {"message": "Who are you?"})
    error = failed.value
    assert error.code == types.LSPErrorCodes.RequestFailed
    message = str(error.message)
    assert message.startswith("openai: HTTP 401") and "Incorrect API key provided" in message
    # the sentence the CLI prints: no class path, no traceback, nothing else attached
    assert "Traceback" not in message and "localgpt_ls." not in message and "AuthError" \
        not in message
    assert not getattr(error, "data", None)
    # and the server works on
    fake.queue(reply("openai", "Back again."))
    assert (await command(session, "localgpt.chat", {"message": "Hi"}))["response"] == \
        "Back again."


@pytest.mark.asyncio
@pytest.mark.parametrize("preset", PRESETS)
async def test_memory_only_chat_answers_without_a_provider(tmp_path: Path, preset: str) -> None:
    session = await start_session(preset, tmp_path, NO_EMBED)
    try:
        result = await command(session, "localgpt.chat", {"message": "What are the goals?"})
    finally:
        await stop_session(session)
    assert result["model"] == "memory-only"
    assert "No model is configured" in result["response"]
    assert "project-alpha.md" in result["response"]


@pytest.mark.asyncio
async def test_a_file_tool_is_refused_where_the_editor_cannot_ask(tmp_path: Path) -> None:
    """A client without window/showMessageRequest cannot approve a write: the tool is refused
    with a message the model passes on, and nothing is written."""
    fake = FakeServer().start()
    capabilities = client_capabilities("neovim")
    assert capabilities.window is not None
    capabilities.window.show_message = None
    session = await start_session("neovim", tmp_path, provider_config(fake),
                                  capabilities=capabilities)
    try:
        call = ("w1", "write_file", {"path": "knowledge/unasked.md", "content": "# No\n"})
        fake.queue(reply("openai", "", [call]), reply("openai", "I could not write it."))
        result = await command(session, "localgpt.chat", {"message": "Write the note"})
        tool_result = json.dumps(fake.posts()[-1].body["messages"][-1])
    finally:
        await stop_session(session)
        fake.stop()
    assert result["response"] == "I could not write it."
    assert not (session.workspace / "knowledge/unasked.md").exists()
    assert "nobody can approve here" in tool_result, tool_result
