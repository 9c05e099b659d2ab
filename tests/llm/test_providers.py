"""Each dialect against a loopback server speaking its real wire format, in small chunks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest

from localgpt_ls.llm.errors import (
    AuthError,
    ConnectionDroppedError,
    ModelNotFoundError,
    ProtocolError,
    ProviderError,
    ProviderTimeoutError,
    ServerError,
    StreamCutError,
    UnreachableError,
)
from localgpt_ls.llm.types import (
    Message,
    Request,
    Stop,
    StreamEvent,
    TextChunk,
    ToolCall,
    ToolCallReady,
    ToolSpec,
)
from tests.llm.conftest import DIALECTS, SECRET, make_provider
from tests.llm.fake_server import FakeServer, Reply, error_reply, free_port, split
from tests.llm.wire import anthropic_body, openai_body, reply

SEARCH = ToolSpec("memory_search", "search memory",
                  {"type": "object", "properties": {"query": {"type": "string"}}})


async def collect(provider: Any, request: Request) -> list[StreamEvent]:
    async with httpx.AsyncClient(timeout=5) as client:
        return [event async for event in provider.stream(client, request)]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextChunk))


def calls_of(events: list[StreamEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallReady)]


def tool_result_in(dialect: str, body: dict[str, Any]) -> tuple[str, str]:
    """(call id or tool name, content) of the tool result in a recorded request body."""
    if dialect == "anthropic":
        last = body["messages"][-1]
        assert last["role"] == "user"
        block = last["content"][0]
        assert block["type"] == "tool_result"
        return block["tool_use_id"], block["content"]
    last = body["messages"][-1]
    assert last["role"] == "tool"
    return (last["tool_call_id"] if dialect == "openai" else last["tool_name"]), last["content"]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_conversation_round_trips(dialect: str, fake: FakeServer) -> None:
    """Text + a tool call split across chunks comes in; the tool result goes back out in the
    dialect's own shape, after the assistant's tool-call message; the answer streams."""
    args = {"query": "dentist appointment", "max_results": 3}
    fake.queue(reply(dialect, "Let me look.", [("call_1", "memory_search", args)]),
               reply(dialect, "Your dentist is on Tuesday."))
    provider = make_provider(dialect, fake.url)
    history = [Message("user", "When is my dentist?")]
    events = await collect(provider, Request("sys prompt", history, [SEARCH]))
    assert text_of(events) == "Let me look."
    calls = calls_of(events)
    assert [(c.name, c.arguments) for c in calls] == [("memory_search", args)]
    assert isinstance(events[-1], Stop) and events[-1].reason == "tool_use"

    history += [Message("assistant", "Let me look.", calls),
                Message("tool", "knowledge/health.md:3 dentist Tuesday",
                        tool_call_id=calls[0].id, name="memory_search")]
    events = await collect(provider, Request("sys prompt", history, [SEARCH]))
    assert text_of(events) == "Your dentist is on Tuesday."
    assert isinstance(events[-1], Stop) and events[-1].reason == "end"

    first, second = (r.body for r in fake.posts())
    assert first["stream"] is True
    assert first["model"] == "test-model"
    ident, content = tool_result_in(dialect, second)
    assert ident == (calls[0].id if dialect != "ollama" else "memory_search")
    assert content == "knowledge/health.md:3 dentist Tuesday"
    if dialect == "anthropic":
        assert second["system"] == "sys prompt"
        assistant = second["messages"][1]
        assert assistant["content"][1] == {"type": "tool_use", "id": "call_1",
                                           "name": "memory_search", "input": args}
        assert first["tools"][0]["input_schema"]["properties"]["query"]
    else:
        assert second["messages"][0] == {"role": "system", "content": "sys prompt"}
        assistant = second["messages"][2]
        fn = assistant["tool_calls"][0]["function"]
        arguments = json.loads(fn["arguments"]) if dialect == "openai" else fn["arguments"]
        assert (fn["name"], arguments) == ("memory_search", args)
        assert first["tools"][0]["function"]["name"] == "memory_search"


async def test_anthropic_sends_key_and_version_headers(fake: FakeServer) -> None:
    fake.queue(reply("anthropic", "hi"))
    await collect(make_provider("anthropic", fake.url), Request("s", [Message("user", "x")]))
    headers = fake.posts()[0].headers
    assert headers["x-api-key"] == SECRET
    assert headers["anthropic-version"] == "2023-06-01"
    assert fake.posts()[0].path == "/v1/messages"


async def test_openai_key_is_optional_for_local_servers(fake: FakeServer) -> None:
    from localgpt_ls.llm.openai import OpenAIProvider
    fake.queue(reply("openai", "local answer"))
    provider = OpenAIProvider("qwen", None, fake.url + "/v1")
    events = await collect(provider, Request("s", [Message("user", "x")]))
    assert text_of(events) == "local answer"
    assert "authorization" not in fake.posts()[0].headers
    assert fake.posts()[0].path == "/v1/chat/completions"
    assert fake.posts()[0].body["max_tokens"] == 4096


async def test_openai_assembles_parallel_tool_calls_by_index(fake: FakeServer) -> None:
    fake.queue(Reply(chunks=split(openai_body("", [("a", "memory_search", {"query": "x"}),
                                                    ("b", "memory_get", {"path": "y.md"})]))))
    events = await collect(make_provider("openai", fake.url), Request("s", [Message("user", "q")]))
    assert [(c.id, c.name, c.arguments) for c in calls_of(events)] == [
        ("a", "memory_search", {"query": "x"}), ("b", "memory_get", {"path": "y.md"})]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_429_with_retry_after_is_waited_then_retried(dialect: str,
                                                           fake: FakeServer) -> None:
    fake.queue(error_reply(429, "slow down", {"retry-after": "1"}), reply(dialect, "ok"))
    started = time.monotonic()
    events = await collect(make_provider(dialect, fake.url), Request("s", [Message("user", "q")]))
    assert text_of(events) == "ok"
    assert time.monotonic() - started >= 0.9
    assert len(fake.posts()) == 2


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_5xx_is_retried_with_backoff(dialect: str, fake: FakeServer) -> None:
    fake.queue(error_reply(500, "boom"), error_reply(503, "overloaded"), reply(dialect, "ok"))
    events = await collect(make_provider(dialect, fake.url), Request("s", [Message("user", "q")]))
    assert text_of(events) == "ok"
    assert len(fake.posts()) == 3


async def test_persistent_5xx_names_provider_and_status(fake: FakeServer) -> None:
    fake.queue(*[error_reply(500, "internal") for _ in range(3)])
    with pytest.raises(ServerError) as info:
        await collect(make_provider("openai", fake.url, retries=2),
                      Request("s", [Message("user", "q")]))
    assert str(info.value).startswith("openai: HTTP 500:")
    assert "try again" in str(info.value)
    assert len(fake.posts()) == 3


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_rejected_key_says_where_to_fix_it(dialect: str, fake: FakeServer) -> None:
    fake.queue(error_reply(401, f"invalid x-api-key {SECRET}"))
    with pytest.raises(AuthError) as info:
        await collect(make_provider(dialect, fake.url), Request("s", [Message("user", "q")]))
    message = str(info.value)
    assert f"{dialect}: HTTP 401" in message
    if dialect != "ollama":  # Ollama has no key: nothing to redact
        assert SECRET not in message
        assert f"{dialect.upper()}_API_KEY" in message and "config.toml" in message
    assert len(fake.posts()) == 1  # a bad key is not retried


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_unknown_model_says_how_to_list_models(dialect: str, fake: FakeServer) -> None:
    fake.queue(error_reply(404, "model 'nope' not found"))
    with pytest.raises(ModelNotFoundError) as info:
        await collect(make_provider(dialect, fake.url, model="nope"),
                      Request("s", [Message("user", "q")]))
    message = str(info.value)
    assert "unknown model 'nope'" in message
    assert {"anthropic": "models", "openai": "/models", "ollama": "ollama list"}[dialect] in message


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_connection_refused_asks_whether_the_server_runs(dialect: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UnreachableError) as info:
        await collect(make_provider(dialect, url, retries=1), Request("s", [Message("user", "q")]))
    assert f"{dialect}: cannot reach http://127.0.0.1" in str(info.value)
    assert "is the server running" in str(info.value)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_stream_cut_in_the_middle_is_a_clear_error(dialect: str, fake: FakeServer) -> None:
    whole = reply(dialect, "This answer will never finish properly")
    fake.queue(Reply(chunks=whole.chunks[:len(whole.chunks) // 2], cut=True,
                     content_type=whole.content_type))
    with pytest.raises(StreamCutError) as info:
        await collect(make_provider(dialect, fake.url), Request("s", [Message("user", "q")]))
    assert f"{dialect}: " in str(info.value) and "try again" in str(info.value)
    assert len(fake.posts()) == 1  # text had streamed: never retried


@pytest.mark.parametrize("dialect", ["anthropic", "openai"])
async def test_clean_end_without_terminator_is_a_cut(dialect: str, fake: FakeServer) -> None:
    if dialect == "anthropic":
        body = anthropic_body("partial", stop_after="event: message_delta")
    else:
        whole = openai_body("partial", done=False)
        body = whole[:whole.rindex(b"data: ", 0, whole.index(b'"finish_reason": "stop"'))]
    fake.queue(Reply(chunks=split(body)))
    with pytest.raises(StreamCutError):
        await collect(make_provider(dialect, fake.url), Request("s", [Message("user", "q")]))


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_malformed_json_in_the_stream(dialect: str, fake: FakeServer) -> None:
    bad = (b"data: {not json\n\n" if dialect != "ollama" else b'{"message": {"content": \n')
    fake.queue(Reply(chunks=split(bad)))
    with pytest.raises(ProtocolError) as info:
        await collect(make_provider(dialect, fake.url), Request("s", [Message("user", "q")]))
    assert "malformed JSON" in str(info.value)


async def test_anthropic_error_event_mid_stream(fake: FakeServer) -> None:
    body = (b'event: message_start\ndata: {"type":"message_start","message":{"usage":{}}}\n\n'
            b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
            b'"message":"Overloaded"}}\n\n')
    fake.queue(Reply(chunks=split(body)))
    with pytest.raises(ProviderError, match="overloaded_error: Overloaded"):
        await collect(make_provider("anthropic", fake.url), Request("s", [Message("user", "q")]))


async def test_malformed_tool_arguments_reach_the_tool_runner(fake: FakeServer) -> None:
    body = openai_body("", [("c", "memory_search", '{"query": "x"')])
    fake.queue(Reply(chunks=split(body)))
    events = await collect(make_provider("openai", fake.url), Request("s", [Message("user", "q")]))
    (call,) = calls_of(events)
    assert "__invalid_json__" in call.arguments


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_cancel_closes_the_stream(dialect: str, fake: FakeServer) -> None:
    fake.queue(reply(dialect, "x" * 400, delay=0.02))
    provider = make_provider(dialect, fake.url)
    got_text = asyncio.Event()

    async def consume() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            async for event in provider.stream(client, Request("s", [Message("user", "q")])):
                if isinstance(event, TextChunk):
                    got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The server notices the closed connection on its next write.
    assert await asyncio.to_thread(fake.disconnected.wait, 5)


@pytest.mark.parametrize("dialect", ["anthropic", "ollama"])
async def test_a_stalled_stream_times_out_clearly(dialect: str, fake: FakeServer) -> None:
    whole = reply(dialect, "slow")
    fake.queue(Reply(chunks=whole.chunks, delay=0.6,
                     content_type=whole.content_type))
    provider = make_provider(dialect, fake.url)
    with pytest.raises(ProviderTimeoutError) as info:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.2)) as client:
            async for _event in provider.stream(client, Request("s", [Message("user", "q")])):
                pass
    assert f"{dialect}: " in str(info.value) and "stalled" in str(info.value)


@pytest.mark.parametrize("dialect", ["anthropic", "openai"])
@pytest.mark.parametrize("padding", ["\n", "\r\n", " "])
async def test_key_read_from_a_file_is_sent_without_its_newline(
        dialect: str, padding: str, fake: FakeServer,
        caplog: pytest.LogCaptureFixture) -> None:
    """`api_key = $(cat key.txt)` ends with a newline; h11 refused that header and the
    error said the server could not be reached. The key is sent stripped and works."""
    caplog.set_level(logging.DEBUG)  # httpx and httpcore debug logs included
    from localgpt_ls.llm.anthropic import AnthropicProvider
    from localgpt_ls.llm.openai import OpenAIProvider
    fake.queue(reply(dialect, "ok"))
    key = f"{padding}{SECRET}{padding}"
    provider = (AnthropicProvider("m", key, fake.url) if dialect == "anthropic"
                else OpenAIProvider("m", key, fake.url + "/v1"))
    events = await collect(provider, Request("s", [Message("user", "q")]))
    assert text_of(events) == "ok"
    headers = fake.posts()[0].headers
    sent = headers["x-api-key"] if dialect == "anthropic" else headers["authorization"]
    assert sent == (SECRET if dialect == "anthropic" else f"Bearer {SECRET}")
    assert "httpcore" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("drop", ["close", "reset"])
async def test_connection_dropped_before_the_reply_is_retried(dialect: str, drop: str,
                                                              fake: FakeServer) -> None:
    """The server took the request and hung up before answering (a restart, a proxy):
    nothing had streamed, so it is retried like a 5xx and the answer arrives."""
    fake.queue(Reply(drop=drop), Reply(drop=drop), reply(dialect, "made it"))
    events = await collect(make_provider(dialect, fake.url), Request("s", [Message("user", "q")]))
    assert text_of(events) == "made it"
    assert len(fake.posts()) == 3


@pytest.mark.parametrize("drop", ["close", "reset"])
async def test_connection_dropped_every_time_says_so(drop: str, fake: FakeServer) -> None:
    fake.queue(*[Reply(drop=drop) for _ in range(3)])
    with pytest.raises(ConnectionDroppedError) as info:
        await collect(make_provider("openai", fake.url, retries=2),
                      Request("s", [Message("user", "q")]))
    message = str(info.value)
    assert message.startswith("openai: http://127.0.0.1")
    assert "closed the connection before replying" in message and "3 attempts" in message
    assert "cannot reach" not in message and "is the server running" not in message
    assert len(fake.posts()) == 3
