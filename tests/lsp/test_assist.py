"""The assistant's code actions end to end: the real server, a loopback OpenAI-wire provider,
and a test editor that applies workspace edits the way VS Code and Neovim do."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

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
from tests.lsp.editor import Editor, progress_tokens, uri_path

DRAFT = ("# Draft\n\nIntro line about gardening.\n\n## Goals\n\nGrow tomatoes 🍅 this summer.\n"
         "Water them daily.\n\n## Shopping list\n\n- seeds\n- soil\n")
TITLES = {"Ask LocalGPT about this", "Summarize with LocalGPT", "Rewrite with LocalGPT",
          "Continue writing with LocalGPT", "Remember this (today's log)",
          "Remember this in MEMORY.md", "Create note from selection"}



@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PRESETS)
async def editing(request: pytest.FixtureRequest, fake: FakeServer,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[
                      tuple[Session, Editor]]:
    session = await start_session(request.param, tmp_path_factory.mktemp("assist"),
                                  provider_config(fake))
    yield session, Editor(session)
    await stop_session(session)


def line_range(session: Session, text: str, line: int, start: str, end: str | None = None
               ) -> types.Range:
    """The range from the start of `start` to the end of `end` (or of `start`) on one line."""
    row = text.split("\n")[line]
    a = row.index(start)
    b = row.index(end) + len(end) if end else a + len(start)
    return types.Range(start=types.Position(line=line, character=session.col(row, a)),
                       end=types.Position(line=line, character=session.col(row, b)))


async def actions(session: Session, uri: str, rng: types.Range,
                  only: list[str] | None = None) -> list[types.CodeAction]:
    result = await session.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
        context=types.CodeActionContext(diagnostics=[], only=only)))
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def run(session: Session, editor: Editor, action: types.CodeAction) -> Any:
    """What the editor does when the user picks an action: resolve it if it is incomplete,
    apply its edit, run its command."""
    if action.edit is None and action.command is None:
        action = await session.client.code_action_resolve_async(action)
    result = None
    if action.edit is not None:
        assert editor.apply(action.edit) == ""
    if action.command is not None:
        args = (action.command.arguments or [{}])[0]
        if action.command.command == "localgpt.assist":
            check_schema("localgpt.assist", args, "arguments")
        result = await command(session, action.command.command, args)
        if action.command.command == "localgpt.assist":
            check_schema("localgpt.assist", result)
    return result


async def pick(session: Session, uri: str, rng: types.Range, title: str) -> types.CodeAction:
    found = [a for a in await actions(session, uri, rng) if a.title == title]
    assert found, f"no action {title!r}"
    return found[0]


@pytest.mark.asyncio(loop_scope="module")
async def test_actions_are_listed_without_work_and_resolved(editing: tuple[Session, Editor],
                                                            fake: FakeServer) -> None:
    session, editor = editing
    uri = editor.open("notes/listing.md", DRAFT)
    posts = len(fake.posts())
    listed = await actions(session, uri, line_range(session, DRAFT, 6, "Grow", "summer."))
    assert {a.title for a in listed} >= TITLES
    ours = [a for a in listed if a.title in TITLES]
    for action in ours:
        if session.preset == "neovim":  # resolves both edit and command: listing is bare
            assert action.command is None and action.edit is None, action.title
        elif action.title != "Create note from selection":  # VS Code resolves only edits
            assert action.command is not None and action.command.command == "localgpt.assist"
        resolved = await session.client.code_action_resolve_async(action)
        assert resolved.command is not None or resolved.edit is not None, action.title
    extract = next(a for a in ours if a.title == "Create note from selection")
    resolved = await session.client.code_action_resolve_async(extract)
    if session.preset == "visual-studio-code":  # can create files through an edit
        assert resolved.edit is not None and resolved.command is None
    else:
        assert resolved.command is not None and resolved.edit is None
    assert len(fake.posts()) == posts  # listing and resolving never called the model

    # An empty selection inside a section offers the section; `only` filters by kind.
    cursor = types.Range(start=types.Position(line=7, character=2),
                         end=types.Position(line=7, character=2))
    section = await actions(session, uri, cursor)
    assert "Summarize this section with LocalGPT" not in {a.title for a in section}
    assert {"Ask LocalGPT about this section", "Create note from section"} <= {
        a.title for a in section}
    rewrites = await actions(session, uri, cursor, only=["refactor.rewrite"])
    assert [a.title for a in rewrites] == ["Rewrite with LocalGPT"]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_passage_too_big_for_the_model_is_refused_not_cut(
        editing: tuple[Session, Editor], fake: FakeServer) -> None:
    """A note with no headings is one section: asking about it with the cursor anywhere would
    send megabytes, and a rewrite of a cut passage would drop the rest. The user is told to
    select less, and the model is never called."""
    session, editor = editing
    text = ("A long line of notes about the garden and the weather. " * 40 + "\n\n") * 20
    uri = editor.open("notes/enormous.md", text)
    posts = len(fake.posts())
    cursor = {"start": {"line": 2, "character": 3}, "end": {"line": 2, "character": 3}}
    for action in ("rewrite", "remember"):
        with pytest.raises(JsonRpcException, match="select at most 20,000") as refused:
            await command(session, "localgpt.assist",
                          {"action": action, "uri": uri, "range": cursor})
        assert refused.value.code == types.LSPErrorCodes.RequestFailed
    assert len(fake.posts()) == posts
    assert editor.buffers[uri] == text


@pytest.mark.asyncio(loop_scope="module")
async def test_rewrite_replaces_the_selection_through_the_editor(
        editing: tuple[Session, Editor], fake: FakeServer) -> None:
    session, editor = editing
    uri = editor.open("notes/rewrite.md", DRAFT)
    fake.queue(reply("openai", "```markdown\nGrow cherry tomatoes 🍅 all summer.\n```"))
    action = await pick(session, uri, line_range(session, DRAFT, 6, "Grow", "summer."),
                        "Rewrite with LocalGPT")
    result = await run(session, editor, action)
    assert result["applied"] is True
    assert result["response"] == "Grow cherry tomatoes 🍅 all summer."  # the fence is dropped
    assert editor.buffers[uri] == DRAFT.replace("Grow tomatoes 🍅 this summer.",
                                                "Grow cherry tomatoes 🍅 all summer.")
    assert (session.workspace / "notes/rewrite.md").read_text() == DRAFT  # never behind it
    sent = str(fake.posts()[-1].body)
    assert "Grow tomatoes 🍅 this summer." in sent and "notes/rewrite.md:7-7" in sent


@pytest.mark.asyncio(loop_scope="module")
async def test_summary_and_continuation_land_after_the_section(
        editing: tuple[Session, Editor], fake: FakeServer) -> None:
    session, editor = editing
    uri = editor.open("notes/summary.md", DRAFT)
    cursor = types.Range(start=types.Position(line=7, character=0),
                         end=types.Position(line=7, character=0))
    fake.queue(reply("openai", "Tomatoes, watered daily."))
    await run(session, editor, await pick(session, uri, cursor, "Summarize with LocalGPT"))
    expected = DRAFT.replace("Water them daily.\n",
                             "Water them daily.\n\n> **Summary:** Tomatoes, watered daily.\n")
    assert editor.buffers[uri] == expected
    sent = str(fake.posts()[-1].body)
    assert "Water them daily." in sent and "## Goals" not in sent  # the body, not the heading

    fake.queue(reply("openai", "Then pick them in August."))
    rng = line_range(session, expected, 7, "Water", "daily.")
    result = await run(session, editor, await pick(session, uri, rng,
                                                   "Continue writing with LocalGPT"))
    assert result["applied"]
    assert "Water them daily.\n\nThen pick them in August.\n" in editor.buffers[uri]


@pytest.mark.asyncio(loop_scope="module")
async def test_ask_shows_the_answer_and_inserts_it_only_when_asked(
        editing: tuple[Session, Editor], fake: FakeServer) -> None:
    session, editor = editing
    uri = editor.open("notes/ask.md", DRAFT)
    rng = line_range(session, DRAFT, 2, "Intro", "gardening.")
    editor.answer = "Dismiss"
    fake.queue(reply("openai", "It is about your garden."))
    result = await run(session, editor, await pick(session, uri, rng, "Ask LocalGPT about this"))
    assert result["response"] == "It is about your garden." and result["applied"] is False
    assert any("It is about your garden." in m for m in editor.shown)
    assert editor.buffers[uri] == DRAFT
    tools = {t["function"]["name"] for t in fake.posts()[-1].body.get("tools", [])}
    assert tools == {"memory_search", "memory_get"}  # it may look things up, not write

    editor.answer = "Insert below"
    fake.queue(reply("openai", "It is about your garden.\nAnd tomatoes."))
    await run(session, editor, await pick(session, uri, rng, "Ask LocalGPT about this"))
    assert editor.buffers[uri] == DRAFT.replace(
        "gardening.\n", "gardening.\n\n> **LocalGPT:** It is about your garden.\n"
        "> And tomatoes.\n")


@pytest.mark.asyncio(loop_scope="module")
async def test_text_changed_meanwhile_is_never_overwritten(
        editing: tuple[Session, Editor], fake: FakeServer) -> None:
    session, editor = editing
    uri = editor.open("notes/busy.md", DRAFT)
    fake.queue(reply("openai", "A slow rewrite. " * 20, delay=0.02))
    action = await pick(session, uri, line_range(session, DRAFT, 6, "Grow", "summer."),
                        "Rewrite with LocalGPT")
    task = asyncio.ensure_future(run(session, editor, action))
    await asyncio.sleep(0.2)
    typed = DRAFT.replace("Grow tomatoes", "Grow many tomatoes")
    editor.type(uri, typed)
    result = await asyncio.wait_for(task, 20)
    assert result["applied"] is False
    assert editor.buffers[uri] == typed
    assert any("changed while LocalGPT was answering" in m for m in editor.shown)


@pytest.mark.asyncio(loop_scope="module")
async def test_remember_goes_to_todays_log_with_its_source(
        editing: tuple[Session, Editor]) -> None:
    session, editor = editing
    uri = editor.open("notes/remember.md", DRAFT)
    result = await run(session, editor, await pick(
        session, uri, line_range(session, DRAFT, 7, "Water", "daily."),
        "Remember this (today's log)"))
    assert result["applied"]
    daily = session.workspace / "memory" / f"{datetime.now().astimezone():%Y-%m-%d}.md"
    text = daily.read_text(encoding="utf-8")
    # One line stays the log's one-line entry, `- HH:MM text (from where)`.
    assert re.search(r"^- \d\d:\d\d Water them daily\. \(from notes/remember\.md:8-8\)$", text,
                     re.M), text

    # MEMORY.md is open in the editor: the entry goes in through it, after its unsaved text.
    memory_uri = editor.open("MEMORY.md", "# Memory\n\nUnsaved fact.")
    result = await run(session, editor, await pick(
        session, uri, line_range(session, DRAFT, 6, "Grow", "summer."),
        "Remember this in MEMORY.md"))
    assert result["file"] == "MEMORY.md" and result["target"] == "memory"
    assert editor.buffers[memory_uri] == ("# Memory\n\nUnsaved fact.\n\n- Grow tomatoes 🍅 this "
                                          "summer. (from notes/remember.md:7-7)\n")


@pytest.mark.asyncio(loop_scope="module")
async def test_create_note_from_selection(editing: tuple[Session, Editor]) -> None:
    session, editor = editing
    uri = editor.open("notes/extract.md", DRAFT)
    rng = types.Range(start=types.Position(line=9, character=0),
                      end=types.Position(line=12, character=6))
    await run(session, editor, await pick(session, uri, rng, "Create note from selection"))
    await editor.settle()
    note = session.workspace / "notes" / "Shopping list.md"
    body = "# Shopping list\n\n- seeds\n- soil\n"
    new_uri = [u for u in editor.buffers if uri_path(u) == note]
    # VS Code creates the note through the edit (a buffer), Neovim's server writes the file.
    assert (editor.buffers[new_uri[0]] if new_uri else note.read_text()) == body
    assert editor.buffers[uri] == DRAFT.replace("## Shopping list\n\n- seeds\n- soil",
                                                "[[Shopping list]]")
    # Doing it again never overwrites: the second note gets a new name.
    again = editor.buffers[uri] + "\n## Shopping list\n\n- rake\n"
    editor.type(uri, again)
    rng = types.Range(start=types.Position(line=11, character=0),
                      end=types.Position(line=13, character=6))
    await run(session, editor, await pick(session, uri, rng, "Create note from selection"))
    await editor.settle()
    assert "[[Shopping list 2]]" in editor.buffers[uri]
    assert note.exists() and (note.read_text() == body or new_uri)


@pytest.mark.asyncio(loop_scope="module")
async def test_progress_cancel_stops_the_model(editing: tuple[Session, Editor],
                                               fake: FakeServer) -> None:
    session, editor = editing
    uri = editor.open("notes/cancel.md", DRAFT)
    fake.disconnected.clear()
    fake.queue(reply("openai", "slow " * 300, delay=0.05))
    action = await pick(session, uri, line_range(session, DRAFT, 6, "Grow", "summer."),
                        "Summarize with LocalGPT")
    before = set(progress_tokens(session, "localgpt-summarize-"))
    task = asyncio.ensure_future(run(session, editor, action))
    async with asyncio.timeout(10):
        while not set(progress_tokens(session, "localgpt-summarize-")) - before:
            await asyncio.sleep(0.02)
    token = (set(progress_tokens(session, "localgpt-summarize-")) - before).pop()
    await asyncio.sleep(0.3)
    session.client.protocol.notify(types.WINDOW_WORK_DONE_PROGRESS_CANCEL,
                                   types.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(Exception, match=r"(?i)cancel"):
        await asyncio.wait_for(task, 10)
    assert await asyncio.to_thread(fake.disconnected.wait, 10), "provider stream kept running"
    assert editor.buffers[uri] == DRAFT


@pytest.mark.asyncio
async def test_without_a_model_actions_say_how_to_add_one(tmp_path: Path) -> None:
    session = await start_session("neovim", tmp_path, NO_EMBED)
    editor = Editor(session)
    editor.answer = "Dismiss"
    try:
        uri = editor.open("notes/plain.md", DRAFT)
        rng = line_range(session, DRAFT, 6, "Grow", "summer.")
        result = await run(session, editor, await pick(session, uri, rng,
                                                       "Rewrite with LocalGPT"))
        asked = await run(session, editor, await pick(session, uri, rng,
                                                      "Ask LocalGPT about this"))
    finally:
        await stop_session(session)
    assert result["applied"] is False and "needs a model" in result["response"]
    assert editor.buffers[uri].count("Grow tomatoes 🍅 this summer.") == 1
    assert asked["model"] == "memory-only" and "No model is configured" in asked["response"]
