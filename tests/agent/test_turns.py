"""Whole turns through Engine.agent against the loopback provider server."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.agent.events import AgentEvent, TextDelta, ToolEnd, ToolStart, TurnError
from localgpt_ls.agent.sessions import SessionStore
from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.llm.errors import StreamCutError
from localgpt_ls.llm.types import Message
from tests.agent.conftest import MODELS, config_text, make_engine, no_provider_config, write_config
from tests.llm.conftest import DIALECTS, SECRET
from tests.llm.fake_server import FakeServer, Reply, error_reply
from tests.llm.wire import reply


def session_lines(home: Path, session_id: str) -> list[dict[str, Any]]:
    path = home / "sessions" / f"{session_id}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def roles(lines: list[dict[str, Any]]) -> list[str]:
    return [line["message"]["role"] for line in lines if line["type"] == "message"]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_memory_search_round_in_a_session(dialect: str, fake: FakeServer, workspace: Path,
                                                lg_env: Any,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = write_config(lg_env.home, config_text(fake.url, MODELS[dialect]))
    fake.queue(reply(dialect, "Let me check.", [("call_7", "memory_search",
                                                 {"query": "dentist appointment"})]),
               reply(dialect, "Tuesday at 9:00 (knowledge/health.md:4)."))
    events: list[AgentEvent] = []
    engine = make_engine(config, workspace)
    try:
        result = await engine.agent.chat("When is my dentist?", on_event=events.append)
    finally:
        engine.close()

    assert result.model == MODELS[dialect]
    assert result.response == "Let me check.\n\nTuesday at 9:00 (knowledge/health.md:4)."
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed == result.response
    tool_events = [e for e in events if isinstance(e, ToolStart | ToolEnd)]
    assert tool_events[0] == ToolStart("memory_search", {"query": "dentist appointment"})
    end = tool_events[1]
    assert isinstance(end, ToolEnd) and not end.is_error
    assert "knowledge/health.md" in end.result and "Dr. Moreau" in end.result

    # The tool result went back to the model as data, in the request after the tool call.
    second = json.dumps(fake.posts()[1].body)
    assert "Dr. Moreau" in second and '<data source=\\"memory_search\\">' in second

    lines = session_lines(lg_env.home, result.session_id)
    assert lines[0]["type"] == "session" and lines[0]["id"] == result.session_id
    assert lines[0]["model"] == MODELS[dialect]
    assert roles(lines) == ["user", "assistant", "tool", "assistant"]
    assert lines[2]["message"]["tool_calls"][0]["name"] == "memory_search"
    session_file = (lg_env.home / "sessions" / f"{result.session_id}.jsonl").read_text()
    assert SECRET not in session_file
    assert SECRET not in caplog.text
    assert "memory_search" in fake.posts()[0].body["messages"][0]["content"] or dialect == \
        "anthropic"


async def test_session_resumes_with_history(fake: FakeServer, workspace: Path,
                                            lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["openai"]))
    fake.queue(reply("openai", "Noted."), reply("openai", "You said blue."))
    engine = make_engine(config, workspace)
    first = await engine.agent.chat("My favourite colour is blue.")
    second = await engine.agent.chat("What did I say?", first.session_id)
    engine.close()
    assert second.session_id == first.session_id
    sent = [m["content"] for m in fake.posts()[1].body["messages"][1:]]
    assert sent == ["My favourite colour is blue.", "Noted.", "What did I say?"]
    assert [s.id for s in engine.agent.sessions.list()] == [first.session_id]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_cut_stream_fails_the_turn_but_keeps_the_message(
        dialect: str, fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS[dialect]))
    whole = reply(dialect, "A long answer that gets cut halfway through")
    fake.queue(Reply(chunks=whole.chunks[:len(whole.chunks) * 2 // 3], cut=True,
                     content_type=whole.content_type),
               reply(dialect, "Here it is again."))
    engine = make_engine(config, workspace)
    events: list[AgentEvent] = []
    with pytest.raises(StreamCutError) as info:
        await engine.agent.chat("Tell me everything", "s-cut", on_event=events.append)
    assert isinstance(events[-1], TurnError) and events[-1].message == str(info.value)
    lines = session_lines(lg_env.home, "s-cut")
    assert lines[1]["message"] == {"role": "user", "content": "Tell me everything"}
    # What had streamed is kept and marked, so the user sees the same history.
    assert lines[2]["message"]["role"] == "assistant"
    assert lines[2]["message"]["content"].startswith("A long answer")
    assert lines[2]["message"]["content"].endswith("[interrupted]")

    # The session goes on: the next turn carries the kept message.
    result = await engine.agent.chat("Try again", "s-cut")
    engine.close()
    assert result.response == "Here it is again."
    assert "Tell me everything" in json.dumps(fake.posts()[-1].body)


async def test_provider_error_keeps_message_and_is_not_retried_forever(
        fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["anthropic"]))
    fake.queue(*[error_reply(500, "down") for _ in range(3)])
    engine = make_engine(config, workspace)
    with pytest.raises(Exception, match=r"anthropic: HTTP 500"):
        await engine.agent.chat("Hello?", "s-500")
    engine.close()
    assert len(fake.posts()) == 3
    assert roles(session_lines(lg_env.home, "s-500")) == ["user"]


async def test_cancel_closes_stream_and_keeps_the_message(fake: FakeServer, workspace: Path,
                                                          lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["ollama"]))
    fake.queue(reply("ollama", "word " * 200, delay=0.02))
    engine = make_engine(config, workspace)
    started = asyncio.Event()

    def on_event(event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            started.set()

    task = asyncio.create_task(engine.agent.chat("Talk a lot", "s-cancel", on_event=on_event))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    engine.close()
    assert await asyncio.to_thread(fake.disconnected.wait, 5)
    lines = session_lines(lg_env.home, "s-cancel")
    assert lines[1]["message"]["content"] == "Talk a lot"
    assert lines[2]["message"]["content"].endswith("[interrupted]")


async def test_tool_rounds_are_bounded(fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["anthropic"],
                                                   "max_tool_rounds = 2"))
    call = [("c", "memory_search", {"query": "again"})]
    fake.queue(reply("anthropic", "", [("c1", *call[0][1:])]),
               reply("anthropic", "", [("c2", *call[0][1:])]),
               reply("anthropic", "Final answer."))
    engine = make_engine(config, workspace)
    result = await engine.agent.chat("Loop please")
    engine.close()
    posts = fake.posts()
    assert len(posts) == 3
    assert "tool_choice" not in posts[1].body
    assert posts[2].body["tool_choice"] == {"type": "none"}
    assert result.response == "Final answer."


async def test_unknown_tool_and_bad_arguments_are_told_to_the_model(
        fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["openai"]))
    fake.queue(reply("openai", "", [("a", "rm_rf", {}), ("b", "memory_get", '{"path": ')]),
               reply("openai", "Sorry."))
    events: list[AgentEvent] = []
    engine = make_engine(config, workspace)
    await engine.agent.chat("Do it", on_event=events.append)
    engine.close()
    ends = [e for e in events if isinstance(e, ToolEnd)]
    assert all(e.is_error for e in ends)
    assert "unknown tool 'rm_rf'" in ends[0].result
    assert "not valid JSON" in ends[1].result
    tools = [m for m in fake.posts()[1].body["messages"] if m["role"] == "tool"]
    assert [t["tool_call_id"] for t in tools] == ["a", "b"]


async def test_write_refused_without_an_approver(fake: FakeServer, workspace: Path,
                                                 lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["anthropic"]))
    fake.queue(reply("anthropic", "", [("w", "write_file", {"path": "notes.md",
                                                            "content": "x"})]),
               reply("anthropic", "I could not write it."))
    events: list[AgentEvent] = []
    engine = make_engine(config, workspace)
    await engine.agent.chat("Write notes.md", on_event=events.append)
    engine.close()
    (end,) = [e for e in events if isinstance(e, ToolEnd)]
    assert end.is_error and "nobody can approve" in end.result
    assert not (workspace / "notes.md").exists()


async def test_memory_only_mode_answers_from_memory(workspace: Path, lg_env: Any) -> None:
    config = write_config(lg_env.home, no_provider_config(lg_env.home))
    engine = make_engine(config, workspace)
    events: list[AgentEvent] = []
    result = await engine.agent.chat("dentist appointment", on_event=events.append)
    engine.close()
    assert result.model == "memory-only"
    assert "No model is configured" in result.response
    assert "knowledge/health.md:" in result.response and "Dr. Moreau" in result.response
    assert "ANTHROPIC_API_KEY" in result.response and "[providers.openai]" in result.response
    assert [e.text for e in events if isinstance(e, TextDelta)] == [result.response]
    assert roles(session_lines(lg_env.home, result.session_id)) == ["user", "assistant"]


async def test_run_turn_leaves_no_session(fake: FakeServer, workspace: Path,
                                          lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["openai"]))
    fake.queue(reply("openai", "HEARTBEAT_OK"))
    engine = make_engine(config, workspace)
    result = await engine.agent.run_turn("Read HEARTBEAT.md", tools=["memory_get"],
                                         system_extra="Heartbeat run.")
    engine.close()
    assert (result.response, result.session_id) == ("HEARTBEAT_OK", "")
    body = fake.posts()[0].body
    assert [t["function"]["name"] for t in body["tools"]] == ["memory_get"]
    assert "Heartbeat run." in body["messages"][0]["content"]
    assert not (lg_env.home / "sessions").exists()


async def test_compaction_flushes_memory_then_summarises(fake: FakeServer, workspace: Path,
                                                         lg_env: Any) -> None:
    config = write_config(lg_env.home, config_text(fake.url, MODELS["anthropic"],
                                                   "context_window = 1000"))
    store = SessionStore()
    session = store.create(MODELS["anthropic"], workspace, "s-long")
    for i in range(6):
        session.append(Message("user", f"question {i} " + "detail " * 50))
        session.append(Message("assistant", f"answer {i}"))
    fake.queue(
        reply("anthropic", "", [("f", "memory_append", {"text": "Prefers tea.",
                                                        "target": "daily"})]),
        reply("anthropic", "Saved."),
        reply("anthropic", "The user asked six questions and prefers tea."),
        reply("anthropic", "Fresh answer."))
    engine = make_engine(config, workspace)
    result = await engine.agent.chat("And now?", "s-long")
    engine.close()
    assert result.response == "Fresh answer."
    daily = list((workspace / "memory").glob("*.md"))
    assert len(daily) == 1 and "Prefers tea." in daily[0].read_text()
    flush, _, summary, turn = (p.body for p in fake.posts())
    assert [t["name"] for t in flush["tools"]] == ["memory_append"]
    assert "question 0" in summary["messages"][0]["content"][0]["text"]
    first = turn["messages"][0]["content"][0]["text"]
    assert first.startswith("[Summary of the earlier conversation]")
    assert "prefers tea" in first
    assert "question 0" not in json.dumps(turn["messages"])
    assert "# Project Context" in turn["system"]  # the system prompt is never summarised
    lines = session_lines(lg_env.home, "s-long")
    assert any(line["type"] == "compaction" for line in lines)
    reopened = SessionStore().open("s-long")
    assert reopened.messages[0].content.startswith("[Summary")
    assert reopened.messages[-1].content == "Fresh answer."


async def test_missing_key_is_a_clear_error_and_keeps_the_message(workspace: Path,
                                                                   lg_env: Any) -> None:
    config = write_config(lg_env.home, '[agent]\ndefault_model = "sonnet"\n'
                                       '[memory]\nembedding_provider = "none"\n')
    engine = make_engine(config, workspace)
    events: list[AgentEvent] = []
    with pytest.raises(LocalGPTError, match=r"anthropic: no API key: set ANTHROPIC_API_KEY"):
        await engine.agent.chat("Remember my keys are in the drawer", "s-nokey",
                                on_event=events.append)
    engine.close()
    assert isinstance(events[-1], TurnError)
    assert roles(session_lines(lg_env.home, "s-nokey")) == ["user"]


async def test_memory_only_chat_explains_configuration_once(workspace: Path,
                                                            lg_env: Any) -> None:
    config = write_config(lg_env.home, no_provider_config(lg_env.home))
    engine = make_engine(config, workspace)
    first = await engine.agent.chat("dentist")
    second = await engine.agent.chat("Moreau", first.session_id)
    engine.close()
    assert "default_model" in first.response
    assert "default_model" not in second.response and "Dr. Moreau" in second.response


async def test_timeout_and_retries_follow_the_config(fake: FakeServer, workspace: Path,
                                                     lg_env: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALGPT_RETRY_BASE", "0.01")  # short backoff; the count is the config's
    config = write_config(lg_env.home, config_text(
        fake.url, MODELS["openai"], extra="request_timeout = 0.3\nmax_retries = 1\n"))
    engine = Engine(config, workspace)  # no test override: the policy comes from config.toml
    sent = len(fake.posts())
    fake.queue(error_reply(503, "busy"), error_reply(503, "busy"), reply("openai", "unused"))
    with pytest.raises(LocalGPTError, match="HTTP 503"):
        await engine.agent.chat("Hello?", "s-retries")
    assert len(fake.posts()) - sent == 2  # the first try and max_retries = 1 retry
    fake.replies.clear()

    # A reply that pauses longer than request_timeout fails, saying which setting to raise.
    fake.queue(reply("openai", "a slow local model " * 3, delay=1.0))
    with pytest.raises(LocalGPTError, match=r"\[agent\] request_timeout"):
        await engine.agent.chat("Still there?", "s-stall")
    engine.close()


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_lone_surrogate_in_a_message_is_replaced_and_the_turn_works(
        dialect: str, fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    """LSP and HTTP clients can send JSON "\\ud800"; the session write failed with
    UnicodeEncodeError and the message was lost. It is kept with U+FFFD in its place, sent
    the same way, and the model's own stray surrogates do not break the turn either."""
    config = write_config(lg_env.home, config_text(fake.url, MODELS[dialect]))
    fake.queue(reply(dialect, "Got it \ud83d."), reply(dialect, "Still here."))
    engine = make_engine(config, workspace)
    result = await engine.agent.chat("broken \ud800 emoji", "s-surrogate",
                                     context="sel \udc00 ection")
    again = await engine.agent.chat("next", "s-surrogate")
    engine.close()
    assert result.response == "Got it \ufffd."
    assert again.response == "Still here."
    lines = session_lines(lg_env.home, "s-surrogate")
    assert roles(lines) == ["user", "assistant", "user", "assistant"]
    assert lines[1]["message"]["content"].startswith("broken \ufffd emoji")
    assert "sel \ufffd ection" in lines[1]["message"]["content"]
    sent = json.dumps(fake.posts()[1].body, ensure_ascii=False)
    assert "broken \ufffd emoji" in sent and "Got it \ufffd." in sent
    assert all("\ud800" not in json.dumps(p.body) for p in fake.posts())


async def test_lone_surrogate_in_memory_only_mode(workspace: Path, lg_env: Any) -> None:
    config = write_config(lg_env.home, no_provider_config(lg_env.home))
    engine = make_engine(config, workspace)
    result = await engine.agent.chat("dentist \udbff appointment", "s-sur-mem")
    engine.close()
    assert "knowledge/health.md:" in result.response
    lines = session_lines(lg_env.home, "s-sur-mem")
    assert lines[1]["message"]["content"] == "dentist \ufffd appointment"


async def test_a_turn_refused_before_it_starts_still_keeps_the_message(
        fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    """A typo in the model name is fixed in a second; the question typed with it stays."""
    config = write_config(lg_env.home, config_text(fake.url, MODELS["openai"]))
    engine = make_engine(config, workspace)
    events: list[AgentEvent] = []
    with pytest.raises(LocalGPTError, match="nosuch"):
        await engine.agent.chat("What did I decide about the roof?", "s-typo",
                                model="nosuch/model", on_event=events.append)
    assert isinstance(events[-1], TurnError)
    lines = session_lines(lg_env.home, "s-typo")
    assert lines[1]["message"] == {"role": "user", "content": "What did I decide about the roof?"}
    fake.queue(reply("openai", "You chose slate."))
    result = await engine.agent.chat("And the gutters?", "s-typo")
    engine.close()
    assert result.response == "You chose slate."
    assert "What did I decide about the roof?" in json.dumps(fake.posts()[-1].body)


@pytest.mark.parametrize("followed", [False, True])
async def test_a_remembered_fact_is_embedded_in_the_turn_only_where_nothing_follows(
        followed: bool, fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    """`memory_append` in a chat turn indexes the fact at once either way (keywords); its
    vector is made in the turn only for a one-shot door. Where a door keeps the index fresh
    (the editor, the daemon's follower) the turn leaves it behind: embedding there waited for
    the model and the whole backlog while a reindex ran."""
    from localgpt_ls.engine import EditorBridge

    async def not_open(*_args: object) -> bool:
        return False

    text = config_text(fake.url, MODELS["anthropic"]).replace(
        'embedding_provider = "none"', 'embedding_provider = "local"')
    config = write_config(lg_env.home, text)
    engine = Engine(config, workspace, editor=EditorBridge(not_open, not_open)
                    if followed else None)
    fake.queue(reply("anthropic", "", [("c1", "memory_append", {
        "text": "The boiler was serviced by Nordvik on 3 March", "target": "memory"})]),
               reply("anthropic", "Noted."))
    try:
        await engine.agent.chat("Remember: the boiler was serviced by Nordvik on 3 March.")
        rows = engine.memory.store.conn().execute(
            "SELECT embedded FROM chunks WHERE path = 'MEMORY.md' AND text LIKE '%Nordvik%'"
        ).fetchall()
        found = engine.memory.search("Nordvik boiler", limit=3).results
    finally:
        engine.close()
    assert rows == [(0 if followed else 1,)]
    assert found and found[0].file == "MEMORY.md"
