"""MCP as streamable HTTP under a real daemon, at /api/mcp: the SDK's HTTP client gets in with
the daemon's token; without it, with a foreign Host or Origin, or with an oversized body, the
Guard refuses before the MCP server sees anything."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.http.live_daemon import LiveDaemon, offline_daemon, stop_daemon, wait_indexed

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "probe", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    live = offline_daemon(tmp_path_factory.mktemp("mcp-http"))
    wait_indexed(live)
    yield live
    stop_daemon(live)


async def test_sdk_client_with_the_token_searches_and_appends(daemon: LiveDaemon) -> None:
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(headers=daemon.auth, timeout=30) as http, \
                streamable_http_client(daemon.url + "/api/mcp", http_client=http) as (r, w), \
                ClientSession(r, w) as s:
            await s.initialize()
            assert {t.name for t in (await s.list_tools()).tools} == {
                "memory_search", "memory_get", "memory_append", "ask"}
            found = await s.call_tool("memory_search", {"query": "Baratza grinder setting"})
            assert not found.is_error
            assert found.structured_content["results"][0]["file"] == "knowledge/espresso.md"
            wrote = await s.call_tool("memory_append", {"text": "Descaled the Gaggia today."})
            assert not wrote.is_error
    daily = list((daemon.workspace / "memory").glob("*.md"))
    assert any("Descaled the Gaggia" in p.read_text() for p in daily)


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Bearer wrong-token"}, 401),
    ({"Host": "attacker.example"}, 403),
    ({"Origin": "http://attacker.example"}, 403),
], ids=["no-token", "wrong-token", "foreign-host", "foreign-origin"])
def test_the_guard_refuses(daemon: LiveDaemon, headers: dict[str, str], status: int) -> None:
    sent = {**MCP_HEADERS, **({} if "Authorization" in headers or status == 401
                              else daemon.auth), **headers}
    response = httpx.post(daemon.url + "/api/mcp", content=json.dumps(INIT), headers=sent,
                          timeout=10)
    assert response.status_code == status, response.text
    assert "serverInfo" not in response.text


def test_an_oversized_body_is_refused(daemon: LiveDaemon) -> None:
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "memory_search", "arguments": {"query": "x" * 3_000_000}}}
    response = httpx.post(daemon.url + "/api/mcp", content=json.dumps(call),
                          headers={**MCP_HEADERS, **daemon.auth}, timeout=30)
    assert response.status_code == 413
    assert httpx.get(daemon.url + "/health", timeout=5).status_code == 200
