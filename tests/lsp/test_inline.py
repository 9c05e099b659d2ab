"""Inline completion end to end: the real server process, a loopback provider speaking OpenAI's
streaming format, and pytest-lsp clients with the Neovim and VS Code presets plus the
inlineCompletion capability (which neither preset announces yet)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import client_capabilities

from localgpt_ls.lsp.inline import clean_answer
from tests.llm.fake_server import FakeServer
from tests.llm.wire import reply
from tests.lsp.conftest import (
    NO_EMBED,
    PRESETS,
    Session,
    provider_config,
    start_session,
    stop_session,
)

# The debounce is long enough that two requests sent back to back land within it.
OPTIONS = {"diagnosticsDebounceMs": 50, "indexDebounceMs": 100,
           "inlineCompletion": {"debounceMs": 300}}
LINE = "The alpha launch is planned for and the team is ready."
CURSOR = LINE.index(" and the team")
NOTE = f"# Draft\n\n{LINE}\n\nAnother paragraph.\n"


def with_inline(preset: str) -> types.ClientCapabilities:
    """The preset's capabilities plus inline completion, as a newer client would send."""
    caps = client_capabilities(preset)
    if caps.text_document is None:
        caps.text_document = types.TextDocumentClientCapabilities()
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps


async def start(preset: str, root: Path, config: str, inline: bool = True) -> Session:
    return await start_session(preset, root, config, init_options=OPTIONS,
                               capabilities=with_inline(preset) if inline else None)



@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PRESETS)
async def inline(request: pytest.FixtureRequest, fake: FakeServer,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Session]:
    session = await start(request.param, tmp_path_factory.mktemp("inline"),
                          provider_config(fake))
    yield session
    await stop_session(session)


Answer = types.InlineCompletionList | Sequence[types.InlineCompletionItem] | None


def ask(session: Session, uri: str, line: int = 2, index: int = CURSOR) -> asyncio.Future[Answer]:
    """Send an inline completion request at `index` of `line` in NOTE (not awaited yet)."""
    text = NOTE.split("\n")[line]
    return asyncio.ensure_future(session.client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=session.col(text, index)),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic))))


def items(answer: Answer) -> list[types.InlineCompletionItem]:
    if answer is None:
        return []
    return list(answer.items if isinstance(answer, types.InlineCompletionList) else answer)


def edit(session: Session, uri: str, version: int, text: str) -> None:
    """Type `text` at the start of the paragraph (a didChange)."""
    session.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=2, character=0),
                              end=types.Position(line=2, character=0)),
            text=text)]))


async def until_posted(fake: FakeServer, count: int) -> None:
    """Wait until the provider has received `count` requests in all (the model is running)."""
    async with asyncio.timeout(10):
        while len(fake.posts()) < count:
            await asyncio.sleep(0.02)


@pytest.mark.asyncio(loop_scope="module")
async def test_suggests_the_rest_of_the_paragraph(inline: Session, fake: FakeServer) -> None:
    uri = inline.open("drafts/first.md", NOTE)
    fake.queue(reply("openai", "```markdown\nnext Friday, after the review\n\n"
                               "A second paragraph nobody asked for.\n```"))
    answer = items(await ask(inline, uri))
    assert [i.insert_text for i in answer] == [" next Friday, after the review"]
    cursor = types.Position(line=2, character=inline.col(LINE, CURSOR))
    assert answer[0].range == types.Range(start=cursor, end=cursor)
    prompt = json.dumps(fake.posts()[-1].body)
    assert "The alpha launch is planned for" in prompt
    assert "drafts/first.md" in prompt


@pytest.mark.asyncio(loop_scope="module")
async def test_a_newer_request_supersedes_the_pending_one(inline: Session,
                                                          fake: FakeServer) -> None:
    uri = inline.open("drafts/second.md", NOTE)
    before = len(fake.posts())
    fake.queue(reply("openai", "on Monday"))
    first, second = ask(inline, uri), ask(inline, uri)
    assert items(await first) == []
    assert [i.insert_text for i in items(await second)] == [" on Monday"]
    assert len(fake.posts()) - before == 1  # the superseded request never reached the model


@pytest.mark.asyncio(loop_scope="module")
async def test_typing_cancels_the_model_call(inline: Session, fake: FakeServer) -> None:
    uri = inline.open("drafts/third.md", NOTE)
    fake.disconnected.clear()
    fake.queue(reply("openai", "slow " * 200, delay=0.05))
    posted = len(fake.posts())
    pending = ask(inline, uri)
    await until_posted(fake, posted + 1)
    edit(inline, uri, 2, "So ")
    assert items(await asyncio.wait_for(pending, 10)) == []
    assert await asyncio.to_thread(fake.disconnected.wait, 10), "provider stream kept running"


@pytest.mark.asyncio(loop_scope="module")
async def test_the_client_can_cancel_a_suggestion(inline: Session, fake: FakeServer) -> None:
    uri = inline.open("drafts/cancelled.md", NOTE)
    fake.disconnected.clear()
    fake.queue(reply("openai", "slow " * 200, delay=0.05))
    posted = len(fake.posts())
    request_id = f"inline-cancel-{inline.preset}"
    text = NOTE.split("\n")[2]
    pending = asyncio.ensure_future(inline.client.protocol.send_request_async(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=2, character=inline.col(text, CURSOR)),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked)),
        msg_id=request_id))
    await until_posted(fake, posted + 1)
    inline.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(pending, 10)
    assert await asyncio.to_thread(fake.disconnected.wait, 10), "provider stream kept running"


@pytest.mark.asyncio(loop_scope="module")
async def test_completion_answers_while_a_suggestion_is_thinking(inline: Session,
                                                                 fake: FakeServer) -> None:
    uri = inline.open("drafts/fourth.md", NOTE)
    fake.queue(reply("openai", "slow " * 200, delay=0.05))
    posted = len(fake.posts())
    pending = ask(inline, uri)
    await until_posted(fake, posted + 1)
    link = inline.open("drafts/link.md", "See [[proj")
    listed = await inline.client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=link),
        position=types.Position(line=0, character=10)))
    assert not pending.done(), "the suggestion finished first: nothing was tested"
    found = listed.items if isinstance(listed, types.CompletionList) else listed or []
    assert any("project-alpha" in i.label.lower() or "Project Alpha" in i.label for i in found)
    edit(inline, uri, 2, "So ")  # stop the slow suggestion
    assert items(await asyncio.wait_for(pending, 10)) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_no_model_configured_means_no_suggestion(
        fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    session = await start("neovim", tmp_path_factory.mktemp("nomodel"), NO_EMBED)
    try:
        before = len(fake.posts())
        uri = session.open("drafts/plain.md", NOTE)
        assert items(await ask(session, uri)) == []
        assert len(fake.posts()) == before
    finally:
        await stop_session(session)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("preset", PRESETS)
async def test_a_client_without_the_capability_gets_nothing(
        preset: str, fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> None:
    session = await start(preset, tmp_path_factory.mktemp("nocap"), provider_config(fake),
                          inline=False)
    try:
        before = len(fake.posts())
        fake.queue(reply("openai", "should never be offered"))
        uri = session.open("drafts/plain.md", NOTE)
        assert items(await ask(session, uri)) == []
        assert len(fake.posts()) == before
    finally:
        fake.replies.clear()
        await stop_session(session)


@pytest.mark.parametrize(("answer", "before", "limit", "offered"), [
    ('"by Friday."', "planned", 40, " by Friday."),  # quotes go; a space after the word
    ("one two three four", "x ", 9, "one two"),  # cut at max_chars on a word boundary
    ("The launch is planned for next week", "The launch is planned for", 40, " next week"),
    ("```\n```", "planned", 40, ""),  # only fences: nothing to offer
])
def test_the_answer_is_cleaned_to_what_fits(answer: str, before: str, limit: int,
                                            offered: str) -> None:
    assert clean_answer(answer, before, max_chars=limit) == offered


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("context", [
    # vscode-languageclient 9 as it is: VS Code's own numbering and Range JSON ([start, end]).
    {"triggerKind": 1, "selectedCompletionInfo": {
        "range": [{"line": 2, "character": 0}, {"line": 2, "character": 3}], "text": "The"}},
    {"triggerKind": 0},
    {"triggerKind": 2, "selectedCompletionInfo": {"range": "garbage", "text": "x"}},
], ids=["vscode-automatic-with-selection", "vscode-invoke", "unreadable-selection"])
async def test_the_context_real_clients_send_is_accepted(inline: Session, fake: FakeServer,
                                                         context: dict[str, object]) -> None:
    """Sent as raw JSON, the way VS Code's client sends it: an answer, not -32602."""
    uri = inline.open(f"drafts/raw-{len(fake.posts())}.md", NOTE)
    fake.queue(reply("openai", "next Friday"))
    protocol = inline.client.protocol
    msg_id = f"raw-{len(fake.posts())}-{context.get('triggerKind')}"
    pending: concurrent.futures.Future[object] = concurrent.futures.Future()
    protocol._request_futures[msg_id] = pending  # the client's own bookkeeping answers it
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/inlineCompletion",
                         "params": {"textDocument": {"uri": uri},
                                    "position": {"line": 2,
                                                 "character": inline.col(LINE, CURSOR)},
                                    "context": context}})
    future = asyncio.wrap_future(pending)
    answer = await asyncio.wait_for(future, 20)
    # Unstructured JSON comes back as pygls's attribute objects.
    assert [item.insertText for item in answer.items] == [" next Friday"]  # type: ignore[attr-defined]
