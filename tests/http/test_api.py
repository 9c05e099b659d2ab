"""The routes answer in the contract's shapes (checked against schemas/openapi.json): memory
search, stats, reindex, chat in memory-only mode (no provider configured), the SSE stream, and
sessions."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from localgpt_ls.engine import Engine
from localgpt_ls.http import Options, create_app
from tests.http.conftest import AUTH, BASE, TOKEN, validate, validate_sse
from tests.http.live_daemon import LiveDaemon


@pytest.fixture
def indexed(engine: Engine) -> Engine:
    engine.memory.reindex()
    return engine


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """SSE text -> [(event, data)], comments skipped, as a browser's parser would."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


async def test_memory_search_shape(client: httpx.AsyncClient, indexed: Engine) -> None:
    response = await client.get("/api/memory/search", params={"q": "espresso grinder setting",
                                                              "limit": 3}, headers=AUTH)
    assert response.status_code == 200
    data = validate(response, "/api/memory/search", "get")
    assert data["query"] == "espresso grinder setting"
    assert 1 <= len(data["results"]) <= 3
    top = data["results"][0]
    assert top["file"] == "knowledge/espresso.md"
    assert "Baratza" in top["content"]
    # file:line points at the lines that hold the text
    lines = (indexed.workspace / top["file"]).read_text().splitlines()
    held = "\n".join(lines[top["line_start"] - 1:top["line_end"]])
    assert "Baratza" in held


@pytest.mark.parametrize("params", [{}, {"q": "   "}, {"q": "x", "limit": "ten"},
                                    {"q": "x", "limit": "0"}, {"q": "x", "limit": "51"}])
async def test_memory_search_bad_params(client: httpx.AsyncClient, engine: Engine,
                                        params: dict[str, str]) -> None:
    response = await client.get("/api/memory/search", params=params, headers=AUTH)
    assert response.status_code == 400
    assert validate(response, "/api/memory/search", "get")["error"]


async def test_stats_and_reindex(client: httpx.AsyncClient, engine: Engine) -> None:
    response = await client.post("/api/memory/reindex", headers=AUTH)
    assert response.status_code == 200
    report = validate(response, "/api/memory/reindex", "post")
    assert report["files_indexed"] >= len(["espresso", "garden"])
    stats = await client.get("/api/memory/stats", headers=AUTH)
    data = validate(stats, "/api/memory/stats", "get")
    assert data["total_files"] == report["files_seen"]
    assert data["total_chunks"] > 0
    again = await client.post("/api/memory/reindex", headers=AUTH, json={"force": False})
    assert validate(again, "/api/memory/reindex", "post")["files_indexed"] == 0


@pytest.mark.parametrize("body", [b"[1]", b"{\"force\": \"yes\"}", b"{\"forse\": true}",
                                  b"not json"])
async def test_reindex_bad_body(client: httpx.AsyncClient, engine: Engine, body: bytes) -> None:
    response = await client.post("/api/memory/reindex", headers=AUTH, content=body)
    assert response.status_code == 400
    validate(response, "/api/memory/reindex", "post")


async def test_chat_memory_only(client: httpx.AsyncClient, indexed: Engine) -> None:
    response = await client.post("/api/chat", headers=AUTH,
                                 json={"message": "what is the espresso grinder set to?"})
    assert response.status_code == 200
    data = validate(response, "/api/chat", "post")
    assert data["model"] == "memory-only"
    assert "No model is configured" in data["response"]
    assert "knowledge/espresso.md:" in data["response"]
    assert data["session_id"]
    # The next turn continues the same session.
    second = await client.post("/api/chat", headers=AUTH,
                               json={"message": "and the garden?", "session_id":
                                     data["session_id"]})
    assert validate(second, "/api/chat", "post")["session_id"] == data["session_id"]


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "  "}, {"message": 3},
                                  {"message": "hi", "session_id": 5},
                                  {"message": "hi", "extra": 1},
                                  {"message": "hi", "session_id": "../../etc/passwd"}])
async def test_chat_bad_body(client: httpx.AsyncClient, engine: Engine,
                             body: dict[str, Any]) -> None:
    response = await client.post("/api/chat", headers=AUTH, json=body)
    assert response.status_code == 400
    assert validate(response, "/api/chat", "post")["error"]


async def test_chat_stream_events_in_order(client: httpx.AsyncClient, indexed: Engine) -> None:
    response = await client.post("/api/chat/stream", headers=AUTH,
                                 json={"message": "tomatoes in the garden"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    validate(response, "/api/chat/stream", "post")
    events = parse_sse(response.text)
    validate_sse(events)
    names = [name for name, _ in events]
    assert names[0] == "session"
    assert names[-1] == "done"
    assert "delta" in names
    assert set(names[1:-1]) <= {"delta", "tool_start", "tool_end"}
    session_id = events[0][1]["session_id"]
    done = events[-1][1]
    assert done["session_id"] == session_id
    assert done["model"] == "memory-only"
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert streamed == done["response"]
    assert "knowledge/garden.md:" in streamed


async def test_chat_stream_bad_body_is_json_400(client: httpx.AsyncClient,
                                                engine: Engine) -> None:
    response = await client.post("/api/chat/stream", headers=AUTH, json={"message": ""})
    assert response.status_code == 400
    validate(response, "/api/chat/stream", "post")


BAD_BYTES = {
    "invalid UTF-8": b'{"message": "caf\xe9 au lait"}',
    "UTF-8-encoded surrogate": b'{"message": "\xed\xa0\x80"}',
    "UTF-16": '{"message": "hi"}'.encode("utf-16"),
}
BAD_JSON = {
    "cut short": b'{"message": "hi',
    "nested too deeply": b'{"message": ' + b"[" * 100_000,
    "a number too long": b'{"message": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/stream", "/api/memory/reindex"])
@pytest.mark.parametrize("body", [*BAD_BYTES.values(), *BAD_JSON.values()],
                         ids=[*BAD_BYTES, *BAD_JSON])
async def test_unreadable_body_is_a_400_that_says_why(client: httpx.AsyncClient, engine: Engine,
                                                      path: str, body: bytes) -> None:
    response = await client.post(path, headers={**AUTH, "Content-Type": "application/json"},
                                 content=body)
    assert response.status_code == 400
    error = validate(response, path, "post")["error"]
    expected = "not UTF-8" if body in BAD_BYTES.values() else "not valid JSON"
    assert expected in error, error
    assert "Error" not in error and "sys." not in error  # no Python internals


def test_live_daemon_answers_invalid_utf8_with_400(live: LiveDaemon) -> None:
    response = httpx.post(live.url + "/api/chat", headers={**live.auth,
                          "Content-Type": "application/json"},
                          content=BAD_BYTES["invalid UTF-8"], timeout=30)
    assert response.status_code == 400
    assert response.json() == {"error": "the body is not UTF-8 (invalid byte 0xe9 at offset 16):"
                                        " send the JSON encoded as UTF-8"}
    ok = httpx.post(live.url + "/api/chat", headers=live.auth, json={"message": "café"},
                    timeout=30)
    assert ok.status_code == 200


@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/stream"])
async def test_a_lone_surrogate_in_a_message_is_answered_and_kept(
        client: httpx.AsyncClient, indexed: Engine, path: str) -> None:
    """Valid JSON (a lone \\ud800 escape, as a JavaScript string can hold) but not valid text:
    the turn is answered, and the message is in the session with U+FFFD in its place."""
    body = b'{"message": "espresso grinder \\ud800 setting?"}'
    response = await client.post(path, headers={**AUTH, "Content-Type": "application/json"},
                                 content=body)
    assert response.status_code == 200
    if path == "/api/chat":
        session_id = validate(response, path, "post")["session_id"]
    else:
        events = parse_sse(response.text)
        validate_sse(events)
        assert events[-1][0] == "done"
        session_id = events[0][1]["session_id"]
    session = await client.get(f"/api/sessions/{session_id}", headers=AUTH)
    kept = json.dumps(session.json()["messages"][0], ensure_ascii=False)
    assert "espresso grinder \ufffd setting?" in kept


async def test_a_bug_is_a_500_without_python_internals(engine: Engine,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("/home/someone/.localgpt/index.sqlite exploded")

    monkeypatch.setattr(engine.memory, "stats", broken)
    app = create_app(engine, TOKEN, Options(watch=False, heartbeat=False))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        response = await c.get("/api/memory/stats", headers=AUTH)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error.startswith("internal error:") and "log" in error
    assert "RuntimeError" not in error and "/home/someone" not in error


async def test_sessions_list_get_delete(client: httpx.AsyncClient, indexed: Engine) -> None:
    chat = await client.post("/api/chat", headers=AUTH, json={"message": "garden"})
    session_id = chat.json()["session_id"]
    listing = await client.get("/api/sessions", headers=AUTH)
    sessions = validate(listing, "/api/sessions", "get")["sessions"]
    assert [s["id"] for s in sessions] == [session_id]
    assert sessions[0]["preview"] == "garden"
    one = await client.get(f"/api/sessions/{session_id}", headers=AUTH)
    messages = validate(one, "/api/sessions/{session_id}", "get")["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "garden"
    gone = await client.delete(f"/api/sessions/{session_id}", headers=AUTH)
    assert validate(gone, "/api/sessions/{session_id}", "delete") == {"deleted": session_id}
    missing = await client.get(f"/api/sessions/{session_id}", headers=AUTH)
    assert missing.status_code == 404
    validate(missing, "/api/sessions/{session_id}", "get")
    again = await client.delete(f"/api/sessions/{session_id}", headers=AUTH)
    assert again.status_code == 404


@pytest.mark.parametrize("session_id", ["..", "a%2F..%2Fb", ".hidden", "x.jsonl"])
async def test_session_ids_cannot_escape(client: httpx.AsyncClient, engine: Engine,
                                         session_id: str) -> None:
    response = await client.delete(f"/api/sessions/{session_id}", headers=AUTH)
    assert response.status_code in (400, 404)


async def test_status(client: httpx.AsyncClient, engine: Engine) -> None:
    response = await client.get("/api/status", headers=AUTH)
    data = validate(response, "/api/status", "get")
    assert data["workspace"] == str(engine.workspace)
    assert data["memory"]["workspace"] == str(engine.workspace)


async def test_heartbeat_status(client: httpx.AsyncClient, engine: Engine) -> None:
    response = await client.get("/api/heartbeat/status", headers=AUTH)
    assert response.status_code == 200
    data = validate(response, "/api/heartbeat/status", "get")
    assert data["workspace"] == str(engine.workspace)
    assert data["last_run"] is None  # nothing ran in this fresh home
