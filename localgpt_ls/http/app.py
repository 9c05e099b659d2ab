"""The HTTP door: routes that translate requests into Engine calls and results into JSON.

No business logic lives here. Blocking engine work (SQLite, embedding, file reads) runs in a
worker thread so one slow search never stalls a streaming chat. Errors become JSON
`{"error": sentence}`: 400 for what the caller can fix, 502 when a model provider failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp

from localgpt_ls import __version__
from localgpt_ls.agent.sessions import SessionStore, new_session_id
from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError, PathSafetyError
from localgpt_ls.http import notes_api
from localgpt_ls.http.security import (
    Guard,
    cookie_name,
    cookie_value,
    server_port,
    token_matches,
)

log = logging.getLogger("localgpt_ls.http")

MAX_SEARCH_LIMIT = 50
# An SSE comment this often keeps proxies from timing out and notices a client that left while
# a tool runs (a disconnect is only seen when we write).
KEEPALIVE_SECONDS = 15.0
# Agent event type -> SSE event name (the stream's vocabulary, see schemas/openapi.json).
SSE_NAMES = {"text_delta": "delta", "tool_start": "tool_start", "tool_end": "tool_end",
             "turn_error": "error"}
# Session ids as schemas/openapi.json states them (the agent's own check applies as well).
SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")
INTERNAL_ERROR = ("internal error: the daemon could not handle this request; the details are "
                  "in its log (the terminal running `localgpt daemon`)")
# URL name -> (file under static/, media type). The vendored libraries are the packages' own
# built files, unchanged (static/vendor/THIRD_PARTY.md names each package, version, licence).
STATIC_FILES = {"app.js": ("app.js", "text/javascript"),
                "style.css": ("style.css", "text/css"),
                "marked.js": ("vendor/marked.umd.js", "text/javascript"),
                "purify.js": ("vendor/purify.min.js", "text/javascript"),
                "force-graph.js": ("vendor/force-graph.min.js", "text/javascript"),
                "icon.svg": ("icon.svg", "image/svg+xml")}
PAGE_HEADERS = {
    # The three hashes are the <style> elements force-graph adds (empty, then its canvas and
    # tooltip rules): allowed by content, so no other inline style can apply.
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self' "
                                "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
                                "'sha256-jtRRMYY2VbEXuBKbHvqM1/fPT8vazFrEooXdvwUK4y8=' "
                                "'sha256-9xjtvxMT1ApHlgn9ohbh2FNfvK5Tqtzy94BjfXBeMSY='; "
                                "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class DaemonState:
    """What the routes share: the engine, the token, and what the background jobs report."""

    engine: Engine
    token: str
    started: float = field(default_factory=time.time)
    watcher: Any = None
    heartbeat_task: asyncio.Task[Any] | None = None
    alerts: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=20))


@dataclass
class Options:
    """Background jobs the lifespan starts (tests turn them off to stay quiet and fast)."""

    watch: bool = True
    heartbeat: bool = True
    allowed_hosts: list[str] = field(default_factory=list)


# --- helpers ---------------------------------------------------------------------------------

def _state(request: Request) -> DaemonState:
    state: DaemonState = request.app.state.daemon
    return state


def _plain(value: Any) -> Any:
    """Engine results as JSON-ready data: `to_dict()` when the object has one."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    return value


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 400 with a reason for anything else (empty body = {}).
    Whatever a client sends, a body problem is the client's to fix, never a 500."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        # Decoded here, strictly: json.loads(bytes) would guess UTF-16/32 and let encoded
        # surrogates (ED A0 80) through 'surrogatepass' into the session files.
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"the body is not UTF-8 (invalid byte 0x{raw[exc.start]:02x} "
                                 f"at offset {exc.start}): send the JSON encoded as UTF-8"
                            ) from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise HTTPException(400, "the body is not valid JSON: it is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc}") from None
    except ValueError:  # an integer past Python's digit limit; its message speaks of sys.*
        raise HTTPException(400, "the body is not valid JSON: a number in it is too long"
                            ) from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return data


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HTTPException(400, f"'{key}' must be a string")
    return value or None


def _chat_args(data: dict[str, Any]) -> tuple[str, str | None, str | None]:
    message = data.get("message")
    if not isinstance(message, str) or not message.strip():
        raise HTTPException(400, "'message' is required: a non-empty string")
    unknown = set(data) - {"message", "session_id", "model"}
    if unknown:
        raise HTTPException(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    session_id = data.get("session_id")
    if session_id is not None:
        _check_session_id(session_id)
    return message, session_id, _optional_str(data, "model")


def _check_session_id(session_id: Any) -> str:
    """The spec's pattern for session ids, matched whole (a trailing newline is no id)."""
    if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
        raise HTTPException(400, "'session_id' must be a session id as listed by "
                                 "GET /api/sessions (letters, digits, '-', '_', '.'), or null "
                                 "for a new session")
    return session_id


def _sessions() -> SessionStore:
    """The agent's session store (the door only lists, shows and deletes)."""
    return SessionStore()


# --- routes ----------------------------------------------------------------------------------

async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


async def index(request: Request) -> Response:
    """The web UI. `?token=` is traded for the cookie, then the URL is cleaned by a redirect so
    the token does not stay in the address bar or the history."""
    state = _state(request)
    given = request.query_params.get("token")
    if given is not None:
        if not token_matches(given, state.token):
            return HTMLResponse("<!doctype html><title>LocalGPT</title><p>Wrong token. Open the "
                                "URL that <code>localgpt daemon</code> printed at start.</p>",
                                status_code=401, headers=PAGE_HEADERS)
        response = RedirectResponse("/", status_code=303, headers=PAGE_HEADERS)
        port = server_port(request.scope)
        response.set_cookie(cookie_name(port), cookie_value(state.token, port), httponly=True,
                            samesite="strict", path="/")
        return response
    page = resources.files("localgpt_ls.http").joinpath("static/index.html")
    return HTMLResponse(page.read_text(encoding="utf-8"), headers=PAGE_HEADERS)


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise HTTPException(404, "no such file")
    file, media_type = STATIC_FILES[name]
    path = resources.files("localgpt_ls.http").joinpath(f"static/{file}")
    return FileResponse(str(path), media_type=media_type, headers=PAGE_HEADERS)


async def chat(request: Request) -> JSONResponse:
    message, session_id, model = _chat_args(await _json_body(request))
    agent = _state(request).engine.agent
    result = await agent.chat(message, session_id, model)
    return JSONResponse(_plain(result))


async def chat_stream(request: Request) -> Response:
    """The turn as Server-Sent Events: session, delta*, tool_start/tool_end*, then done or
    error. The turn runs as its own task; a client that leaves cancels it, which the agent
    handles by keeping the user's message in the session."""
    message, session_id, model = _chat_args(await _json_body(request))
    agent = _state(request).engine.agent
    if session_id is None:
        # Named up front so the client learns it before the first token (and can resume).
        session_id = new_session_id()
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def on_event(event: Any) -> None:
        data = dict(event.to_dict())
        kind = str(data.pop("type", ""))
        # Called on the loop by the agent; call_soon_threadsafe also covers a worker thread.
        loop.call_soon_threadsafe(queue.put_nowait, (SSE_NAMES.get(kind, kind), data))

    async def events() -> AsyncIterator[str]:
        error_sent = False
        yield _sse("session", {"session_id": session_id})
        turn = asyncio.ensure_future(agent.chat(message, session_id, model, on_event=on_event))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, turn}, timeout=KEEPALIVE_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    name, data = getter.result()
                    error_sent = error_sent or name == "error"
                    yield _sse(name, data)
                    continue
                getter.cancel()
                if turn in done:
                    break
                yield ": keepalive\n\n"
            while not queue.empty():
                name, data = queue.get_nowait()
                error_sent = error_sent or name == "error"
                yield _sse(name, data)
            try:
                result = turn.result()
            except LocalGPTError as exc:
                # The agent announces a failed turn with a TurnError event before raising.
                if not error_sent:
                    yield _sse("error", {"message": str(exc)})
                return
            except Exception:  # the stream must end with a word, not a cut
                log.exception("chat turn failed")
                yield _sse("error", {"message": INTERNAL_ERROR})
                return
            yield _sse("done", _plain(result))
        finally:
            if not turn.done():
                turn.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await turn

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def memory_search(request: Request) -> JSONResponse:
    query = request.query_params.get("q", "")
    if not query.strip():
        raise HTTPException(400, "'q' is required: the text to search for")
    raw_limit = request.query_params.get("limit", "6")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise HTTPException(400, f"'limit' must be an integer, got {raw_limit!r}") from None
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise HTTPException(400, f"'limit' must be between 1 and {MAX_SEARCH_LIMIT}")
    memory = _state(request).engine.memory
    result = await run_in_threadpool(lambda: _plain(memory.search(query, limit)))
    return JSONResponse(result)


async def memory_stats(request: Request) -> JSONResponse:
    memory = _state(request).engine.memory
    return JSONResponse(await run_in_threadpool(lambda: _plain(memory.stats())))


async def memory_reindex(request: Request) -> JSONResponse:
    data = await _json_body(request)
    force = data.get("force", False)
    background = data.get("background", False)
    if not isinstance(force, bool) or not isinstance(background, bool) or \
            set(data) - {"force", "background"}:
        raise HTTPException(400, "the body is {\"force\": true|false, \"background\": "
                                 "true|false} or empty")
    if background:
        # The web UI's way: answer at once, then poll /api/memory/reindex/progress.
        return notes_api.start_background_reindex(request, force)
    memory = _state(request).engine.memory
    report = await run_in_threadpool(lambda: _plain(memory.reindex(force=force)))
    return JSONResponse(report if isinstance(report, dict) else {"report": report})


async def heartbeat_status(request: Request) -> JSONResponse:
    state = _state(request)
    heartbeat = state.engine.heartbeat
    status = await run_in_threadpool(lambda: _plain(heartbeat.status()))
    return JSONResponse(status)


async def status(request: Request) -> JSONResponse:
    """One look at the daemon: version, workspace, index, heartbeat, watcher, recent alerts.
    A part that is missing or failing shows as null with a reason, never as a 500."""
    state = _state(request)
    engine = state.engine
    model: dict[str, Any] = {"configured": engine.config.agent.default_model}
    try:
        choice = await engine.agent.resolve_model(None)
        model.update(name=choice.label, memory_only=choice.memory_only, error=None)
    except LocalGPTError as exc:
        model.update(name=None, memory_only=False, error=str(exc))

    def gather() -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": "ok", "version": __version__, "workspace": str(engine.workspace),
            "uptime_seconds": round(time.time() - state.started, 1),
            "default_model": engine.config.agent.default_model, "model": model,
            "watcher": state.watcher.status() if state.watcher is not None else None,
            "heartbeat_running": state.heartbeat_task is not None
            and not state.heartbeat_task.done(),
            "alerts": list(state.alerts), "errors": {},
        }
        parts: dict[str, Callable[[], Any]] = {"memory": lambda: engine.memory.stats(),
                                               "heartbeat": lambda: engine.heartbeat.status()}
        for key, read in parts.items():
            try:
                out[key] = _plain(read())
            except LocalGPTError as exc:
                out[key] = None
                out["errors"][key] = str(exc)
        return out

    return JSONResponse(await run_in_threadpool(gather))


async def sessions_list(request: Request) -> JSONResponse:
    store = _sessions()
    infos = await run_in_threadpool(store.list)
    return JSONResponse({"sessions": [_plain(i) for i in infos]})


async def session_item(request: Request) -> JSONResponse:
    """GET, PATCH (rename) or DELETE one session (one route, so a 405 lists every method in
    Allow)."""
    _check_session_id(request.path_params["session_id"])
    if request.method == "DELETE":
        return await session_delete(request)
    if request.method == "PATCH":
        return await session_rename(request)
    return await session_get(request)


async def session_get(request: Request) -> JSONResponse:
    session_id = request.path_params["session_id"]
    store = _sessions()

    def load() -> dict[str, Any]:
        if not store.exists(session_id):
            raise HTTPException(404, f"no session '{session_id}'")
        session = store.open(session_id)
        return {"id": session.id, "header": session.header,
                "title": session.title or session.preview,
                "messages": [m.to_dict() for m in session.messages],
                "errors": session.errors}

    return JSONResponse(await run_in_threadpool(load))


async def session_rename(request: Request) -> JSONResponse:
    session_id = request.path_params["session_id"]
    data = await _json_body(request)
    title = data.get("title")
    if not isinstance(title, str) or set(data) - {"title"}:
        raise HTTPException(400, "the body is {\"title\": \"a name for the session\"} (an "
                                 "empty title clears it)")
    store = _sessions()

    def rename() -> dict[str, Any]:
        if not store.exists(session_id):
            raise HTTPException(404, f"no session '{session_id}'")
        return {"id": session_id, "title": store.rename(session_id, title)}

    return JSONResponse(await run_in_threadpool(rename))


async def session_delete(request: Request) -> JSONResponse:
    session_id = request.path_params["session_id"]
    store = _sessions()

    def delete() -> None:
        if not store.delete(session_id):
            raise HTTPException(404, f"no session '{session_id}'")

    await run_in_threadpool(delete)
    return JSONResponse({"deleted": session_id})


# --- errors ----------------------------------------------------------------------------------

def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Keeps Starlette's own headers, e.g. Allow on a 405.
    return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def _user_error(request: Request, exc: Exception) -> Response:
    """A LocalGPTError is the user's to fix (400), unless a model provider failed (502)."""
    status_code = 502 if isinstance(exc, _provider_errors()) else 400
    if isinstance(exc, PathSafetyError):
        status_code = 400
    return _error(status_code, str(exc))


def _provider_errors() -> tuple[type[BaseException], ...]:
    try:
        from localgpt_ls.llm.errors import ProviderError
    except ImportError:  # pragma: no cover - the llm package ships with the assistant
        return ()
    return (ProviderError,)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug, not the caller's doing: the traceback goes to the daemon's log, and the answer
    says where to look without handing Python internals (exception names, paths) to a client."""
    log.error("request %s %s failed", request.method, request.url.path, exc_info=exc)
    return _error(500, INTERNAL_ERROR)


# --- the app ---------------------------------------------------------------------------------

ROUTES = [
    Route("/", index, methods=["GET"]),
    Route("/static/{name}", static_file, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/api/status", status, methods=["GET"]),
    Route("/api/chat", chat, methods=["POST"]),
    Route("/api/chat/stream", chat_stream, methods=["POST"]),
    Route("/api/memory/search", memory_search, methods=["GET"]),
    Route("/api/memory/stats", memory_stats, methods=["GET"]),
    Route("/api/memory/reindex", memory_reindex, methods=["POST"]),
    Route("/api/heartbeat/status", heartbeat_status, methods=["GET"]),
    Route("/api/sessions", sessions_list, methods=["GET"]),
    Route("/api/sessions/{session_id}", session_item, methods=["GET", "PATCH", "DELETE"]),
    *notes_api.ROUTES,
]


def build_starlette(engine: Engine, token: str, options: Options | None = None) -> Starlette:
    """The routes without the Guard (tests that compare routes with the OpenAPI spec use it)."""
    from localgpt_ls.mcp.http import PATH as MCP_PATH
    from localgpt_ls.mcp.http import MCPEndpoint

    options = options or Options()
    state = DaemonState(engine=engine, token=token)
    mcp = MCPEndpoint(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from localgpt_ls.http.background import start_heartbeat, start_watcher
        if options.watch:
            state.watcher = start_watcher(engine)
        if options.heartbeat:
            state.heartbeat_task = start_heartbeat(engine, state.alerts)
        if options.watch:
            # The graph view's first answer should not wait for every note to be parsed.
            threading.Thread(target=notes_api.warm_graph, args=(app,), daemon=True,
                             name="localgpt-linkgraph").start()
        try:
            async with mcp.running(state.watcher.ready if state.watcher else None):
                yield
        finally:
            if state.heartbeat_task is not None:
                state.heartbeat_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await state.heartbeat_task
            if state.watcher is not None:
                await run_in_threadpool(state.watcher.stop)

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _http_error, LocalGPTError: _user_error,
        Exception: _internal_error,
    }
    routes = [*ROUTES, Route(MCP_PATH, mcp, methods=["GET", "POST", "DELETE"])]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.state.daemon = state
    return app


def create_app(engine: Engine, token: str, options: Options | None = None) -> ASGIApp:
    """The daemon's ASGI app: the routes behind the Guard (token, Host, Origin, body cap)."""
    options = options or Options()
    inner = build_starlette(engine, token, options)
    guard = Guard(inner, token, allowed_hosts=options.allowed_hosts)
    guard.starlette = inner  # type: ignore[attr-defined]
    return guard
