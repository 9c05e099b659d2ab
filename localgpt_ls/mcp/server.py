"""An MCP server (the official `mcp` SDK) on one Engine.

Tools: memory_search (DESIGN.md's result shape), memory_get, memory_append and ask (one
assistant turn; memory-only mode answers too). Resources: the workspace's markdown notes as
`localgpt://notes/<path>`. The door translates: every rule (path safety, where an append goes,
what a turn may do) is the agent's, reached through the same tool handlers the model uses.
A tool failure is an MCP tool error the client can show, never a crash of the server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote

from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import Resource as MCPResource
from pydantic import AnyUrl, BaseModel, Field

from localgpt_ls import __version__
from localgpt_ls.agent import tools as toolbox
from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError

log = logging.getLogger("localgpt_ls.mcp")

NOTE_SCHEME = "localgpt://notes/"
MAX_QUERY = 2_000
MAX_TEXT = 50_000
MAX_QUESTION = 20_000
RESOURCE_LIMIT = 2_000  # notes listed; a larger workspace is still searchable
NOTE_MAX_BYTES = 2_000_000
SYNC_WAIT = 120.0  # seconds a first search waits for the index to catch up at start

INSTRUCTIONS = (
    "LocalGPT is the user's personal memory: a folder of markdown notes. Use memory_search "
    "before answering about the user, their projects or earlier decisions, and memory_get to "
    "read the lines it points at; cite path:line. memory_append writes a note down (\"daily\" "
    "for today's log, \"memory\" for a lasting fact). ask puts one question to the user's own "
    "assistant, which answers from the same memory.")


class SearchHit(BaseModel):
    file: str
    line_start: int
    line_end: int
    content: str
    score: float


class SearchResult(BaseModel):
    query: str
    results: list[SearchHit]


class AskResult(BaseModel):
    response: str
    session_id: str
    model: str


class NotesServer(MCPServer[Any]):
    """MCPServer whose resources are the workspace's notes as they are now (read per request,
    so a note written a moment ago is listed)."""

    def __init__(self, engine: Engine, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = engine

    async def list_resources(self) -> list[MCPResource]:
        def gather() -> list[MCPResource]:
            from localgpt_ls.memory.scan import scan

            notes = [f for f in scan(self.engine.workspace) if not Path(f.key).is_absolute()]
            return [MCPResource(uri=NOTE_SCHEME + quote(f.key), name=f.key,
                                mime_type="text/markdown", size=f.size)
                    for f in notes[:RESOURCE_LIMIT]]

        return await asyncio.to_thread(gather)

    async def read_resource(self, uri: AnyUrl | str,
                            context: Context[Any, Any] | None = None
                            ) -> Iterable[ReadResourceContents]:
        text = str(uri)
        if not text.startswith(NOTE_SCHEME):
            raise ResourceNotFoundError(f"unknown resource {text!r}; notes are "
                                        f"{NOTE_SCHEME}<path relative to the workspace>")
        rel = unquote(text[len(NOTE_SCHEME):])
        try:
            body = await asyncio.to_thread(_read_note, self.engine.workspace, rel)
        except toolbox.ToolError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except OSError as exc:
            raise ResourceError(f"cannot read {rel}: {exc.strerror or exc}") from None
        return [ReadResourceContents(content=body, mime_type="text/markdown")]


def _read_note(workspace: Path, rel: str) -> str:
    from localgpt_ls.workspace import safe_path

    try:
        path = safe_path(workspace, rel)
    except LocalGPTError as exc:
        raise toolbox.ToolError(str(exc)) from None
    if path.suffix.lower() != ".md":
        raise toolbox.ToolError(f"'{rel}' is not a markdown note")
    if not path.is_file():
        raise toolbox.ToolError(f"'{rel}' does not exist in the workspace")
    if path.stat().st_size > NOTE_MAX_BYTES:
        raise toolbox.ToolError(f"'{rel}' is too large to read here")
    return path.read_bytes().decode("utf-8", errors="replace")


def build_server(engine: Engine, ready: threading.Event | None = None) -> NotesServer:
    """The server; `ready` is set once the index has caught up with the workspace (the
    watcher's first sync). Without one, the first use brings the index up to date itself."""
    server = NotesServer(engine, name="localgpt", version=__version__,
                         instructions=INSTRUCTIONS, log_level="WARNING")
    synced = threading.Lock()
    state = {"fresh": False}

    def memory() -> Any:
        """The index, up to date: runs in worker threads only."""
        if ready is not None:
            ready.wait(SYNC_WAIT)
            return engine.memory
        with synced:
            if not state["fresh"]:
                state["fresh"] = True
                try:
                    engine.memory.reindex()
                except Exception as exc:  # a stale index still answers
                    log.warning("memory reindex failed: %s", exc)
        return engine.memory

    def context() -> toolbox.ToolContext:
        # Nobody can approve an edit from here: tools that need approval refuse and say so.
        return toolbox.ToolContext(engine.workspace, memory, None,
                                   settings=engine.config.tools)

    async def run(handler: toolbox.Handler, args: dict[str, Any]) -> str:
        try:
            return await handler(args, context())
        except toolbox.ToolError as exc:
            raise ToolError(str(exc)) from None
        except LocalGPTError as exc:
            raise ToolError(str(exc)) from None
        except OSError as exc:
            raise ToolError(f"{exc.strerror or exc}") from None

    @server.tool(description="Search the user's memory (markdown notes) by keywords and "
                 "meaning. Returns {query, results: [{file, line_start, line_end, content, "
                 "score}]}, best first; file is relative to the workspace.")
    async def memory_search(
            query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY)],
            max_results: Annotated[int, Field(ge=1, le=50)] = 6) -> SearchResult:
        if not query.strip():
            raise ToolError("the query is empty")

        def search() -> Any:
            return memory().search(query, limit=max_results)

        try:
            response = await asyncio.to_thread(search)
        except LocalGPTError as exc:
            raise ToolError(f"memory search failed: {exc}") from None
        return SearchResult(query=response.query, results=[
            SearchHit(file=h.file, line_start=h.line_start, line_end=h.line_end,
                      content=h.content, score=float(h.score)) for h in response.results])

    @server.tool(description="Read lines of a markdown note in the user's memory: path "
                 "relative to the workspace (as memory_search returns it), from is 1-based, "
                 "lines is how many (default 200).")
    async def memory_get(
            path: Annotated[str, Field(min_length=1, max_length=1_000)],
            from_: Annotated[int, Field(validation_alias="from", ge=1)] = 1,
            lines: Annotated[int, Field(ge=1, le=toolbox.READ_LINES_MAX)] = 200) -> str:
        return await run(toolbox.memory_get, {"path": path, "from": from_, "lines": lines})

    @server.tool(description="Write something down in the user's memory: target \"daily\" "
                 "appends to today's log (memory/YYYY-MM-DD.md), \"memory\" appends a lasting "
                 "fact to MEMORY.md.")
    async def memory_append(
            text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)],
            target: Literal["daily", "memory"] = "daily") -> str:
        return await run(toolbox.memory_append, {"text": text, "target": target})

    @server.tool(description="Ask the user's own assistant one question; it answers from "
                 "the same memory (with no model configured it shows what memory holds). "
                 "Pass session_id to continue a conversation.")
    async def ask(question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION)],
                  session_id: Annotated[str | None, Field(max_length=100)] = None
                  ) -> AskResult:
        try:
            result = await engine.agent.chat(question, session_id or None)
        except LocalGPTError as exc:
            raise ToolError(str(exc)) from None
        return AskResult(response=result.response, session_id=result.session_id,
                         model=result.model)

    return server


def serve_stdio(engine: Engine, watch: bool = True) -> int:
    """`localgpt mcp`: serve one client on stdin/stdout until it closes them. The index follows
    workspace changes meanwhile, so a note written by hand or by another tool is searchable
    at once."""
    import anyio

    # The daemon's follower (index_sync), in a thread of its own: indexing blocks.
    follower = engine.follow_index("localgpt-mcp-index") if watch else None
    try:
        server = build_server(engine, follower.ready if follower is not None else None)
        anyio.run(server.run_stdio_async)
    finally:
        engine.stop()
        engine.close()
    return 0
