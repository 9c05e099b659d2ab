"""Chat as a document, end to end: "Send to LocalGPT" streams the reply into a chats/ file
through workspace/applyEdit, in a test editor that reports changes like VS Code (at once) or
Neovim (debounced didChange)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.heartbeat.conftest import check_schema
from tests.llm.fake_server import FakeServer
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
from tests.lsp.editor import Editor
from tests.lsp.test_assist import actions

CHAT = "# Chat\n\n## You\n\nWhen do we ship alpha?\n"
ANSWER = ("Ship the thing by Friday, says knowledge/project-alpha.md. " * 4).strip()
EVERYWHERE = types.Range(start=types.Position(line=0, character=0),
                         end=types.Position(line=0, character=0))



@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PRESETS)
async def chatting(request: pytest.FixtureRequest, fake: FakeServer,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[
                       tuple[Session, Editor]]:
    session = await start_session(request.param, tmp_path_factory.mktemp("chatdoc"),
                                  provider_config(fake))
    # Neovim sends didChange 150 ms after a change; the server must not write ahead of it.
    yield session, Editor(session, debounce=0.15 if request.param == "neovim" else 0.0)
    await stop_session(session)


async def send_action(session: Session, uri: str) -> types.CodeAction | None:
    found = [a for a in await actions(session, uri, EVERYWHERE) if a.title == "Send to LocalGPT"]
    return found[0] if found else None


async def lenses(session: Session, uri: str) -> list[types.CodeLens]:
    return await session.client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri))) or []


@pytest.mark.asyncio(loop_scope="module")
async def test_reply_streams_into_the_chat_document(chatting: tuple[Session, Editor],
                                                    fake: FakeServer) -> None:
    session, editor = chatting
    uri = editor.open("chats/alpha.md", CHAT)
    lens = await lenses(session, uri)
    assert [(c.range.start.line, c.command.title if c.command else "") for c in lens] == [
        (2, "▶ Send to LocalGPT")]
    action = await send_action(session, uri)
    assert action is not None and action.command is not None
    fake.queue(reply("openai", ANSWER, delay=0.01))
    check_schema("localgpt.sendChat", action.command.arguments[0], "arguments")
    result = await command(session, action.command.command, action.command.arguments[0])
    check_schema("localgpt.sendChat", result)
    await editor.settle()
    assert result["response"] == ANSWER
    assert editor.buffers[uri] == f"{CHAT}\n## LocalGPT\n\n{ANSWER}\n\n## You\n\n"
    pieces = [e for e in editor.applied if "## " not in str(e.edit)]
    assert len(pieces) > 1  # it streamed, in more than one edit
    assert (session.workspace / "chats/alpha.md").read_text() == CHAT  # via the editor
    # Answered: nothing to send until the user writes under the new `## You`.
    assert await send_action(session, uri) is None
    assert await lenses(session, uri) == []

    editor.type(uri, editor.buffers[uri] + "And beta?\n")
    fake.queue(reply("openai", "Beta has no date yet."))
    action = await send_action(session, uri)
    assert action is not None and action.command is not None
    await command(session, action.command.command, action.command.arguments[0])
    await editor.settle()
    messages = fake.posts()[-1].body["messages"]
    said = [(m["role"], m["content"]) for m in messages if m["role"] in ("user", "assistant")]
    # The document is the history: earlier turns went along as messages.
    assert said[-3:] == [("user", "When do we ship alpha?"), ("assistant", ANSWER),
                         ("user", "And beta?")]
    assert editor.buffers[uri].endswith(
        "And beta?\n\n## LocalGPT\n\nBeta has no date yet.\n\n## You\n\n")


@pytest.mark.asyncio(loop_scope="module")
async def test_stopping_keeps_what_streamed_and_readies_the_next_turn(
        chatting: tuple[Session, Editor], fake: FakeServer) -> None:
    session, editor = chatting
    uri = editor.open("chats/stop.md", CHAT)
    fake.disconnected.clear()
    fake.queue(reply("openai", "slow " * 300, delay=0.03))
    request_id = f"stop-{session.preset}"
    task = asyncio.ensure_future(session.client.protocol.send_request_async(
        types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command="localgpt.sendChat", arguments=[{"uri": uri}]), msg_id=request_id))
    async with asyncio.timeout(10):
        while "slow" not in editor.buffers[uri]:
            await asyncio.sleep(0.02)
    session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(task, 10)
    assert await asyncio.to_thread(fake.disconnected.wait, 10), "provider stream kept running"
    async with asyncio.timeout(10):
        while not editor.buffers[uri].endswith("## You\n\n"):
            await asyncio.sleep(0.02)
    text = editor.buffers[uri]
    assert text.startswith(CHAT + "\n## LocalGPT\n\nslow") and "*(stopped)*\n\n## You\n\n" in text


@pytest.mark.asyncio(loop_scope="module")
async def test_nothing_to_send_is_a_clear_error(chatting: tuple[Session, Editor]) -> None:
    session, editor = chatting
    uri = editor.open("chats/empty.md", "# Chat\n\n## You\n\n")
    assert await send_action(session, uri) is None
    with pytest.raises(JsonRpcException, match="nothing to send") as refused:
        await command(session, "localgpt.sendChat", {"uri": uri})
    assert refused.value.code == types.LSPErrorCodes.RequestFailed
    outside = editor.open("notes/not-a-chat.md", CHAT)
    assert await send_action(session, outside) is None  # only files under chats/
    with pytest.raises(Exception, match="chats/"):
        await command(session, "localgpt.sendChat", {"uri": outside})


@pytest.mark.asyncio(loop_scope="module")
async def test_open_chat_creates_todays_document(chatting: tuple[Session, Editor]) -> None:
    session, _ = chatting
    opened = await command(session, "localgpt.openChatDocument")
    check_schema("localgpt.openChatDocument", opened)
    today = datetime.now().astimezone().date().isoformat()
    assert opened["file"] == f"chats/{today}.md"
    path = session.workspace / opened["file"]
    assert path.read_text() == f"# Chat {today}\n\n## You\n\n"
    path.write_text(path.read_text() + "kept\n")
    await command(session, "localgpt.openChatDocument")
    assert path.read_text().endswith("kept\n")  # opening again never clobbers
    if session.preset == "visual-studio-code":  # the Neovim preset cannot show documents
        assert session.client.shown_documents[-1].uri == path.as_uri()


@pytest.mark.asyncio
async def test_without_a_model_the_document_gets_the_memory_answer(tmp_path: Path) -> None:
    session = await start_session("neovim", tmp_path, NO_EMBED)
    editor = Editor(session)
    try:
        uri = editor.open("chats/plain.md", "# Chat\n\n## You\n\nWhat are the alpha goals?\n")
        await command(session, "localgpt.sendChat", {"uri": uri})
        await editor.settle()
    finally:
        await stop_session(session)
    text = editor.buffers[uri]
    assert "## LocalGPT\n\nNo model is configured" in text and "project-alpha.md" in text
    assert text.endswith("\n\n## You\n\n")


PASTED = """\
# Chat

## You

Why does my backup copy nothing?

#!/bin/sh
# copy the notes
rsync -a ~/notes /backup
## then check
ls /backup

# Plan

Keep this heading.
"""


@pytest.mark.asyncio(loop_scope="module")
async def test_a_pasted_snippet_is_fenced_so_its_comments_stay_code(
        chatting: tuple[Session, Editor], fake: FakeServer) -> None:
    """`#` comment lines of a pasted shell snippet are not headings: Send fences the snippet
    in the document (one edit), and the model reads it as code; a heading standing apart stays."""
    session, editor = chatting
    uri = editor.open("chats/pasted.md", PASTED)
    fake.queue(reply("openai", "Check that ~/notes exists."))
    await command(session, "localgpt.sendChat", {"uri": uri})
    await editor.settle()
    fenced = ("#!/bin/sh\n# copy the notes\nrsync -a ~/notes /backup\n## then check\n"
              "ls /backup")
    text = editor.buffers[uri]
    assert f"\n\n```\n{fenced}\n```\n\n# Plan\n\nKeep this heading.\n" in text, text
    assert text.endswith("\n## LocalGPT\n\nCheck that ~/notes exists.\n\n## You\n\n")
    sent = fake.posts()[-1].body["messages"][-1]["content"]
    assert f"```\n{fenced}\n```" in sent and "# Plan" in sent


@pytest.mark.asyncio
async def test_a_chat_document_never_cites_itself(tmp_path: Path) -> None:
    # The document holds the question word for word, so it is the best keyword match for
    # it: memory must answer from the other notes instead.
    question = "What are the alpha goals?"
    session = await start_session("neovim", tmp_path, NO_EMBED)
    editor = Editor(session)
    try:
        (session.workspace / "chats").mkdir()
        (session.workspace / "chats" / "mine.md").write_text(
            f"# Chat\n\n## You\n\n{question}\n")
        await command(session, "localgpt.reindex")
        found = await command(session, "localgpt.memorySearch", {"query": question})
        assert "chats/mine.md" in [hit["file"] for hit in found["results"]]  # it would be
        uri = editor.open("chats/mine.md", f"# Chat\n\n## You\n\n{question}\n")
        await command(session, "localgpt.sendChat", {"uri": uri})
        await editor.settle()
    finally:
        await stop_session(session)
    answer = editor.buffers[uri].split("## LocalGPT", 1)[1]
    assert "project-alpha.md" in answer
    assert "chats/mine.md" not in answer
