"""Chat through the daemon with a model: a loopback server speaking the OpenAI wire format
(tests/llm/fake_server.py) stands in for the provider. Covers what memory-only mode cannot:
streamed deltas around tool calls, provider failures, and a browser tab closed mid-answer."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from localgpt_ls.engine import Engine
from localgpt_ls.http import Options, create_app
from localgpt_ls.llm.transport import RetryPolicy
from tests.agent.conftest import config_text, write_config
from tests.conftest import LGEnv
from tests.http.conftest import AUTH, BASE, TOKEN, validate, validate_sse
from tests.http.live_daemon import LiveDaemon, start_daemon, stop_daemon, write_notes
from tests.http.test_api import parse_sse
from tests.llm.fake_server import FakeServer, error_reply
from tests.llm.wire import reply

MODEL = "openai/gpt-test"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
async def model_client(lg_env: LGEnv, fake: FakeServer) -> AsyncIterator[httpx.AsyncClient]:
    config = write_config(lg_env.home, config_text(fake.url, MODEL))
    engine = Engine(config)
    write_notes(engine.workspace)
    engine.memory.reindex()
    engine.agent.retry = RetryPolicy(max_retries=1, base=0.01, max_delay=0.02)
    app = create_app(engine, TOKEN, Options(watch=False, heartbeat=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c
    engine.close()


async def test_stream_with_tool_call(model_client: httpx.AsyncClient, fake: FakeServer) -> None:
    fake.queue(reply("openai", "Let me look.", [("call_1", "memory_search",
                                                  {"query": "espresso grinder"})]),
               reply("openai", "It is set to 12 (knowledge/espresso.md:7)."))
    response = await model_client.post("/api/chat/stream", headers=AUTH,
                                       json={"message": "Grinder setting?"})
    assert response.status_code == 200
    events = parse_sse(response.text)
    validate_sse(events)
    names = [name for name, _ in events]
    assert names[0] == "session" and names[-1] == "done"
    start, end = names.index("tool_start"), names.index("tool_end")
    assert "delta" in names[1:start]  # "Let me look." streamed before the tool ran
    assert start < end < len(names) - 1
    assert "delta" in names[end:]  # the answer streamed after it
    assert events[start][1] == {"name": "memory_search",
                                "arguments": {"query": "espresso grinder"}}
    assert "knowledge/espresso.md" in events[end][1]["result"]
    assert events[end][1]["is_error"] is False
    done = events[-1][1]
    assert done["model"] == MODEL
    assert done["session_id"] == events[0][1]["session_id"]
    assert "It is set to 12" in done["response"]
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert "Let me look." in streamed and "It is set to 12" in streamed


async def test_provider_failure_is_502_and_keeps_the_message(
        model_client: httpx.AsyncClient, fake: FakeServer) -> None:
    fake.queue(error_reply(500, "overloaded"), error_reply(500, "overloaded"))
    response = await model_client.post("/api/chat", headers=AUTH,
                                       json={"message": "Are you there?", "session_id": "s-502"})
    assert response.status_code == 502
    error = validate(response, "/api/chat", "post")["error"]
    assert "openai" in error and "500" in error
    session = validate(await model_client.get("/api/sessions/s-502", headers=AUTH),
                       "/api/sessions/{session_id}", "get")
    messages = session["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["Are you there?"]
    # Read back, the session says what became of the question, and is named by it.
    assert session["errors"] == [{"after": 1, "message": error}]
    assert session["title"] == "Are you there?"

    # The next turn answers; the error stays where it happened and is never sent to the model.
    fake.queue(reply("openai", "I am."))
    response = await model_client.post("/api/chat", headers=AUTH,
                                       json={"message": "Now?", "session_id": "s-502"})
    assert response.status_code == 200
    assert error not in json.dumps(fake.posts()[-1].body)
    session = (await model_client.get("/api/sessions/s-502", headers=AUTH)).json()
    assert [m["role"] for m in session["messages"]] == ["user", "user", "assistant"]
    assert session["errors"] == [{"after": 1, "message": error}]


async def test_stream_provider_failure_ends_with_one_error(
        model_client: httpx.AsyncClient, fake: FakeServer) -> None:
    fake.queue(error_reply(401, "bad key"))
    response = await model_client.post("/api/chat/stream", headers=AUTH,
                                       json={"message": "Hello"})
    assert response.status_code == 200
    events = parse_sse(response.text)
    validate_sse(events)
    names = [name for name, _ in events]
    assert names == ["session", "error"]
    assert "401" in events[-1][1]["message"]


@pytest.fixture
def model_daemon(tmp_path: Path, fake: FakeServer) -> Iterator[LiveDaemon]:
    home, workspace = tmp_path / "home", tmp_path / "workspace"
    home.mkdir()
    workspace.mkdir()
    (home / "config.toml").write_text(config_text(fake.url, MODEL), encoding="utf-8")
    daemon = start_daemon(home, workspace, "--no-watch")
    yield daemon
    stop_daemon(daemon)


def test_closing_the_stream_cancels_the_turn(model_daemon: LiveDaemon,
                                             fake: FakeServer) -> None:
    """A closed tab stops the model (the provider connection is dropped) and the session keeps
    the question and what had streamed, marked interrupted."""
    fake.queue(reply("openai", "word " * 300, delay=0.02))
    body = {"message": "Talk a lot", "session_id": "s-closed"}
    with httpx.Client(base_url=model_daemon.url, headers=model_daemon.auth, timeout=10) as c:
        with c.stream("POST", "/api/chat/stream", json=body) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("event: delta"):
                    break
        assert fake.disconnected.wait(10), "the provider stream was not closed"
        deadline = time.monotonic() + 10
        messages: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            got = c.get("/api/sessions/s-closed")
            messages = got.json()["messages"] if got.status_code == 200 else []
            if len(messages) >= 2:
                break
            time.sleep(0.1)
    assert messages[0] == {"role": "user", "content": "Talk a lot"}
    assert messages[1]["content"].endswith("[interrupted]"), json.dumps(messages)[:500]
    assert model_daemon.process.poll() is None  # still serving
