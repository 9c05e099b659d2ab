"""`localgpt mcp` driven by the MCP SDK's own stdio client, the way Claude Code, Cursor or
Codex start it: a real subprocess, a real workspace, a real index."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

TOOLS = {"memory_search", "memory_get", "memory_append", "ask"}


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(lg_env: Any) -> dict[str, str]:
    # No provider: `ask` answers in memory-only mode; Ollama's probe hits a closed port.
    return {"LOCALGPT_HOME": str(lg_env.home), "LOCALGPT_WORKSPACE": str(lg_env.workspace),
            "OLLAMA_HOST": f"http://127.0.0.1:{_dead_port()}", "PYTHONPATH": os.pathsep.join(
                p for p in sys.path if p)}


@pytest.fixture
def notes(lg_env: Any) -> Any:
    # Keyword search: these tests are about the protocol, and the model would load per server.
    (lg_env.home / "config.toml").write_text('[memory]\nembedding_provider = "none"\n',
                                             encoding="utf-8")
    ws = lg_env.workspace
    (ws / "knowledge").mkdir(parents=True)
    (ws / "knowledge" / "house.md").write_text(
        "# House\n\n## Heating\n\nThe boiler is a Vaillant ecoTEC; its annual service is "
        "booked with Kessler Heating for the third of March.\n", encoding="utf-8")
    return lg_env


def _text(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def _session(lg_env: Any, body: Any) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "localgpt_ls", "mcp"],
                                   env=_env(lg_env))
    with anyio.fail_after(120):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await body(s)


async def test_a_client_searches_reads_appends_and_asks(notes: Any) -> None:
    async def body(s: ClientSession) -> None:
        init = await s.initialize()
        assert init.server_info.name == "localgpt"
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert set(tools) == TOOLS
        assert tools["memory_get"].input_schema["properties"].keys() >= {"path", "from"}

        found = await s.call_tool("memory_search", {"query": "when is the boiler serviced"})
        assert not found.is_error, _text(found)
        data = found.structured_content
        assert data is not None and data["query"] == "when is the boiler serviced"
        top = data["results"][0]
        assert set(top) == {"file", "line_start", "line_end", "content", "score"}
        assert top["file"] == "knowledge/house.md" and "Kessler" in top["content"]
        assert json.loads(_text(found)) == data  # the text form says the same

        got = await s.call_tool("memory_get", {"path": "knowledge/house.md", "from": 5,
                                               "lines": 1})
        assert not got.is_error and "Vaillant" in _text(got)

        wrote = await s.call_tool("memory_append", {
            "text": "The plumber said the expansion vessel needs replacing next year.",
            "target": "memory"})
        assert not wrote.is_error and "MEMORY.md" in _text(wrote)
        assert "expansion vessel" in (notes.workspace / "MEMORY.md").read_text()
        again = await s.call_tool("memory_search", {"query": "expansion vessel plumber"})
        assert again.structured_content["results"][0]["file"] == "MEMORY.md"

        asked = await s.call_tool("ask", {"question": "Who services the boiler?"})
        assert not asked.is_error, _text(asked)
        answer = asked.structured_content
        assert answer["model"] == "memory-only" and answer["session_id"]
        assert "Kessler" in answer["response"]

    await _session(notes, body)


async def test_bad_arguments_are_tool_errors_and_the_server_goes_on(notes: Any) -> None:
    async def body(s: ClientSession) -> None:
        await s.initialize()
        cases = [
            ("memory_search", {}),
            ("memory_search", {"query": 42}),
            ("memory_search", {"query": "x" * 1_000_000}),  # a megabyte of argument
            ("memory_get", {"path": "../../../etc/passwd"}),
            ("memory_get", {"path": "knowledge/nothing-here.md"}),
            ("memory_append", {"text": "hello", "target": "weekly"}),
            ("memory_append", {"text": ""}),
        ]
        for name, args in cases:
            result = await s.call_tool(name, args)
            assert result.is_error, (name, args, _text(result))
            assert _text(result).strip(), (name, args)
        outside = await s.call_tool("memory_get", {"path": "../../../etc/passwd"})
        assert "root:" not in _text(outside)
        try:
            unknown = await s.call_tool("rm_rf", {})
        except Exception as exc:  # an MCP error response is fine too
            assert "rm_rf" in str(exc) or "Unknown" in str(exc) or "unknown" in str(exc)
        else:
            assert unknown.is_error and "rm_rf" in _text(unknown)
        still = await s.call_tool("memory_search", {"query": "boiler"})
        assert not still.is_error and still.structured_content["results"]

    await _session(notes, body)


async def test_notes_are_resources(notes: Any) -> None:
    async def body(s: ClientSession) -> None:
        await s.initialize()
        listed = {str(r.uri): r for r in (await s.list_resources()).resources}
        uri = "localgpt://notes/knowledge/house.md"
        assert uri in listed and listed[uri].mime_type == "text/markdown"
        read = await s.read_resource(uri)
        assert "Vaillant" in read.contents[0].text
        for bad in ("localgpt://notes/..%2F..%2Fhome%2Fconfig.toml", "file:///etc/passwd",
                    "localgpt://notes/missing.md"):
            with pytest.raises(Exception) as info:
                await s.read_resource(bad)
            assert "root:" not in str(info.value)

    await _session(notes, body)


async def test_the_index_follows_the_workspace_while_serving(notes: Any) -> None:
    async def body(s: ClientSession) -> None:
        await s.initialize()
        (notes.workspace / "knowledge" / "greenhouse.md").write_text(
            "# Greenhouse\n\nThe tomato seedlings need potting on when the second true leaves "
            "appear.\n", encoding="utf-8")
        deadline = time.monotonic() + 30
        files: list[str] = []
        while time.monotonic() < deadline:
            found = await s.call_tool("memory_search", {"query": "tomato seedlings potting"})
            files = [r["file"] for r in found.structured_content["results"]]
            if "knowledge/greenhouse.md" in files:
                break
            await anyio.sleep(0.3)
        assert "knowledge/greenhouse.md" in files

    await _session(notes, body)


def test_malformed_json_rpc_gets_an_error_and_the_server_goes_on(notes: Any) -> None:
    env = {**os.environ, **_env(notes)}
    proc = subprocess.Popen([sys.executable, "-m", "localgpt_ls", "mcp", "--no-watch"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}}
    lines = [b"{this is not json\n", b"[1, 2\n", b'{"jsonrpc": "2.0", "method": 5}\n',
             json.dumps(init).encode() + b"\n",
             json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()
             + b"\n",
             json.dumps({"jsonrpc": "2.0", "id": 2, "method": "no/such/method"}).encode()
             + b"\n",
             json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}).encode() + b"\n"]
    try:
        proc.stdin.write(b"".join(lines))
        proc.stdin.flush()
        answers: dict[Any, dict[str, Any]] = {}
        errors = []
        deadline = time.monotonic() + 60
        while 3 not in answers and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            message = json.loads(line)
            if "id" in message and message["id"] is not None:
                answers[message["id"]] = message
            elif "error" in message:
                errors.append(message)
        assert answers[1]["result"]["serverInfo"]["name"] == "localgpt"
        assert answers[2]["error"]["code"] == -32601
        assert {t["name"] for t in answers[3]["result"]["tools"]} == TOOLS
        assert proc.poll() is None  # still serving
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
