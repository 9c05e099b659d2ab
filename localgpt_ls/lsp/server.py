"""The LocalGPT language server: shared state, helpers, and the one place features register.

Each feature lives in its own module with a `register(server)` function; `FEATURES` below lists
them in order. Part 2 (code actions, chat commands) adds its modules to that tuple.

Threading rule: request handlers run on the asyncio loop and must stay quick. Anything that may
block (SQLite, embedding, reading many files) goes through `server.run_blocking` (a thread) or
the scan's process pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from localgpt_ls import __version__
from localgpt_ls.lsp.notes import (
    MAX_PARSE_BYTES,
    NoteIndex,
    NoteInfo,
    empty_note,
    load_note,
    parse_note,
    relative,
)
from localgpt_ls.lsp.options import InitializationOptions
from localgpt_ls.lsp.positions import split_lines

log = logging.getLogger("localgpt.lsp")
T = TypeVar("T")

# The workDoneToken of the workspace/executeCommand request being handled (see below).
COMMAND_WORK_DONE_TOKEN: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "localgpt_command_work_done_token", default=None)


class InvalidArguments(JsonRpcException):
    """A request's arguments are wrong (answered as InvalidParams); the message tells the user
    what the request needs."""

    CODE = -32602

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


class RequestFailed(JsonRpcException):
    """A valid request that cannot be done now (LSP RequestFailed), e.g. the document is not
    open or an answer is already streaming into it."""

    CODE = -32803

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


class LocalGPTProtocol(LanguageServerProtocol):
    """Answers a request whose params do not match the LSP types with InvalidParams.

    pygls would log the failure and never answer, leaving the editor waiting; we reply with a
    JSON-RPC error and swallow the message, so the rest of the session carries on.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" in data:
            self._server.last_message = time.monotonic()  # type: ignore[attr-defined]
        try:
            return super().structure_message(data)
        except Exception as exc:
            if "id" in data and "method" in data:
                self._send_data(types.ResponseErrorMessage(
                    id=data["id"],
                    error=types.ResponseError(
                        code=types.ErrorCodes.InvalidParams,
                        message=f"invalid params for {data.get('method')}: {exc.__cause__ or exc}",
                    ),
                ))
            log.warning("ignored a malformed message: %s", data.get("method"))
            return _Ignored()

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        # A user-facing refusal is an answer, not a server fault: no traceback in the log.
        exc = None if future.cancelled() else future.exception()
        if isinstance(exc, InvalidArguments | RequestFailed):
            self._request_futures.pop(msg_id, None)
            log.info("request %s refused: %s", msg_id, exc.message)
            self._send_response(msg_id, error=exc.to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        # pygls hands a command only its arguments; keep the request's workDoneToken where the
        # command's task (created inside this call, so it copies the context) can read it.
        if method_name == types.WORKSPACE_EXECUTE_COMMAND:
            COMMAND_WORK_DONE_TOKEN.set(getattr(params, "work_done_token", None))
        super()._handle_request(msg_id, method_name, params)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        # Leave now. pygls closes stdout and raises SystemExit through asyncio.run, whose
        # cleanup cancels every task and waits for worker threads: tasks that report on the
        # way out (status, progress) then fail on the closed pipe, each failure logged, which
        # kept a stopped server alive for seconds. SQLite rolls back an unfinished write on
        # the next open and file writes are atomic, so nothing is lost.
        del args
        code = 0 if self._shutdown else 1
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
        yield  # a generator, as pygls runs its built-in handlers; never reached

    @lsp_method(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def lsp_work_done_progress_cancel(self, params: types.WorkDoneProgressCancelParams) -> None:
        # pygls only forgets the token; also cancel the request behind it (a streaming answer)
        # as $/cancelRequest would, so it stops and is answered as cancelled.
        request = self._server.progress_tasks.pop(  # type: ignore[attr-defined]
            params.token, None)
        if request is not None:
            self._handle_cancel_notification(request)
        with contextlib.suppress(Exception):
            super().lsp_work_done_progress_cancel(params)

    # pygls cancels only requests that have not started; a command that is already running
    # (a chat streaming from a provider) registers its task here so $/cancelRequest reaches it.
    running: dict[Any, asyncio.Task[Any]]

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        task = getattr(self, "running", {}).pop(msg_id, None)
        super()._handle_cancel_notification(msg_id)
        if task is not None:
            task.cancel()


class _Ignored:
    """Stands in for a message already answered with an error: its `jsonrpc` is not "2.0",
    so pygls's dispatcher drops it."""

    jsonrpc = "ignored"


class Debouncer:
    """Run the latest scheduled coroutine per key after a quiet period."""

    def __init__(self) -> None:
        self._tasks: dict[Any, asyncio.Task[Any]] = {}

    def schedule(self, key: Any, delay: float, make: Callable[[], Awaitable[Any]]) -> None:
        old = self._tasks.get(key)
        if old is not None and not old.done():
            old.cancel()

        async def runner() -> None:
            try:
                await asyncio.sleep(delay)
                await make()
            except asyncio.CancelledError:
                pass
            except Exception:  # a failing background job must not kill the server
                log.exception("background job %r failed", key)
            finally:
                if self._tasks.get(key) is task:
                    del self._tasks[key]

        task = asyncio.get_running_loop().create_task(runner())
        self._tasks[key] = task

    def cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()


class LocalGPTServer(LanguageServer):
    """pygls server plus the state every feature shares."""

    def __init__(self) -> None:
        super().__init__("localgpt-ls", __version__, protocol_cls=LocalGPTProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.options = InitializationOptions()
        self.raw_options: dict[str, Any] = {}  # initializationOptions as sent
        self.engine: Any = None  # localgpt_ls.engine.Engine once initialized
        self.workspace_root: Path = Path.cwd()
        self.index = NoteIndex(Path.cwd())
        self.scan_done: asyncio.Event | None = None
        self.debounce = Debouncer()
        self.blocking = ThreadPoolExecutor(max_workers=2, thread_name_prefix="localgpt-block")
        self._open_versions: dict[str, int | None] = {}
        self._lines_cache: dict[str, tuple[int | None, list[str]]] = {}
        self._result_cache: dict[tuple[str, str], tuple[int | None, Any]] = {}
        self.last_message = 0.0  # monotonic time of the last message from the client
        self._memory: Any = None
        self._memory_failed = False
        self.background: set[asyncio.Task[Any]] = set()
        self.in_flight: set[concurrent.futures.Future[Any]] = set()  # run_blocking, still running
        # Set once the startup reindex has finished (or failed): memory commands wait for it so
        # a search right after start answers from the whole workspace.
        self.memory_synced = asyncio.Event()
        # Called with the server at the end of `initialized`, once the engine and workspace are
        # known (features that start background work, e.g. the heartbeat, append here).
        self.startup_hooks: list[Callable[[LocalGPTServer], None]] = []
        # Called with the server and the uri on every didChange, after the notes model has it
        # (e.g. inline completion drops a suggestion the user typed past).
        self.change_listeners: list[Callable[[LocalGPTServer, str], None]] = []
        # Requests behind cancellable work-done progress, by token: the editor's "cancel"
        # button (window/workDoneProgress/cancel) cancels the request (`cancellable_progress`).
        self.progress_tasks: dict[Any, Any] = {}
        # Per-feature caches, set by the feature modules' register().
        self.candidates: Any = None
        self.meaning: Any = None
        self.symbols: Any = None
        self.profiler: Any = None  # (cProfile.Profile, path) under LOCALGPT_LSP_PROFILE

    # -- positions and documents ----------------------------------------------------------

    @property
    def encoding(self) -> str:
        try:
            enc = self.workspace.position_encoding
        except Exception:
            enc = None
        if enc is None:
            return "utf-16"
        return str(getattr(enc, "value", enc))

    def is_open(self, uri: str) -> bool:
        return uri in self._open_versions

    def doc_text(self, uri: str) -> str | None:
        """Current text: the editor's copy when open, else the file on disk."""
        if uri in self._open_versions:
            return self.workspace.get_text_document(uri).source
        path = self.uri_path(uri)
        if path is None:
            return None
        note_uri = self.index.by_path.get(str(path))
        if note_uri is None and not path.is_file():
            return None
        try:
            return path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return None

    def doc_lines(self, uri: str) -> list[str]:
        """Lines of the current text (cached per version for open documents)."""
        if uri in self._open_versions:
            doc = self.workspace.get_text_document(uri)
            cached = self._lines_cache.get(uri)
            if cached is not None and cached[0] == doc.version:
                return cached[1]
            lines = split_lines(doc.source)
            self._lines_cache[uri] = (doc.version, lines)
            return lines
        text = self.doc_text(uri)
        return split_lines(text) if text is not None else []

    def cached(self, uri: str, name: str, compute: Callable[[], T]) -> T:
        """`compute()` once per open document version (e.g. its symbols), else every time."""
        if uri not in self._open_versions:
            return compute()
        version = self.workspace.get_text_document(uri).version
        key = (uri, name)
        hit = self._result_cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = compute()
        self._result_cache[key] = (version, value)
        return value

    @staticmethod
    def uri_path(uri: str) -> Path | None:
        try:
            fs = to_fs_path(uri)
        except Exception:
            return None
        return Path(fs) if fs else None

    def path_uri(self, path: Path) -> str:
        return from_fs_path(str(path)) or path.as_uri()

    def rel_of(self, path: Path) -> str:
        return relative(self.workspace_root, path)

    def note_for(self, uri: str) -> NoteInfo | None:
        """The note for a document, parsed from the editor's text when it is open (the parse is
        cached per document version and fed back into the index)."""
        if uri in self._open_versions:
            doc = self.workspace.get_text_document(uri)
            cached = self.index.get(uri)
            if cached is not None and self._open_versions[uri] == doc.version and \
                    cached.mtime_ns == -1:
                return cached
            path = self.uri_path(uri) or Path(uri)
            source = doc.source
            if len(source) > MAX_PARSE_BYTES:
                # A huge paste or log: serve it as a note without structure rather than
                # stall every request behind a multi-second parse.
                parsed = empty_note(path, self.rel_of(path), uri, -1, len(source))
            else:
                parsed = parse_note(source, path, self.rel_of(path), uri, mtime_ns=-1)
            self._open_versions[uri] = doc.version
            self.index.put(parsed)
            return parsed
        known = self.index.get(uri)
        if known is not None:
            return known
        disk = self.uri_path(uri)
        if disk is None or not disk.is_file():
            return None
        return load_note(disk, self.rel_of(disk))

    def mark_open(self, uri: str, version: int | None) -> None:
        self._open_versions[uri] = None  # forces a parse of the editor text on next use
        del version

    def mark_closed(self, uri: str) -> None:
        self._open_versions.pop(uri, None)
        self._lines_cache.pop(uri, None)
        for key in [k for k in self._result_cache if k[0] == uri]:
            del self._result_cache[key]
        path = self.uri_path(uri)
        if path is None:
            return
        if path.is_file():
            self.index.put(load_note(path, self.rel_of(path)))
        else:
            self.index.remove(uri)

    def placeholder(self, path: Path) -> NoteInfo:
        return empty_note(path, self.rel_of(path), self.path_uri(path))

    # -- engine parts ----------------------------------------------------------------------

    @property
    def memory(self) -> Any:
        """`Engine.memory` (the index), or None while it is unavailable."""
        if self._memory is not None or self._memory_failed or self.engine is None:
            return self._memory
        try:
            self._memory = self.engine.memory
        except Exception as exc:  # no memory engine (yet), or a corrupt index: degrade
            self._memory_failed = True
            log.warning("memory index unavailable: %s", exc)
        return self._memory

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (SQLite, embedding, disk walks) off the event loop."""
        # The thread's own future is kept, not asyncio's wrapper: cancelling the awaiting task
        # marks the wrapper done while the thread is still running, and shutdown must know.
        future = self.blocking.submit(fn, *args)
        self.in_flight.add(future)
        future.add_done_callback(self.in_flight.discard)
        return await asyncio.wrap_future(future)

    async def drain_blocking(self, timeout: float) -> bool:
        """Wait up to `timeout` s for blocking work already running (a thread cannot be
        interrupted); True when none is left. Shutdown closes the SQLite connections only
        then: closing one while another thread is inside it can crash the process."""
        pending = [asyncio.wrap_future(f) for f in list(self.in_flight)]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        return not any(not f.done() for f in list(self.in_flight))

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """Start a background task and keep a reference so it is not garbage collected."""
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    @property
    def scan_ready(self) -> bool:
        return self.scan_done is None or self.scan_done.is_set()

    def until_scanned(self, timeout: float = 30.0) -> Any:
        """For generator handlers: `yield from ls.until_scanned()` waits for the first scan
        only while it runs. Generator handlers answer synchronously otherwise, which saves a
        task hop per request compared with `async def` handlers."""
        if not self.scan_ready:
            yield _wait_scan, (self, timeout), None

    async def wait_scan(self, timeout: float = 30.0) -> None:
        """Wait for the first workspace scan (features needing every note call this)."""
        if self.scan_done is None or self.scan_done.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.scan_done.wait(), timeout)

    @contextlib.asynccontextmanager
    async def cancellable_request(self) -> AsyncIterator[None]:
        """Let `$/cancelRequest` cancel the current request's task while inside the block."""
        protocol: Any = self.protocol
        msg_id = getattr(protocol, "_ctx_msg_id", None)
        request = msg_id.get(None) if msg_id is not None else None
        task = asyncio.current_task()
        if request is None or task is None:
            yield
            return
        running = protocol.__dict__.setdefault("running", {})
        running[request] = task
        try:
            yield
        finally:
            running.pop(request, None)

    @contextlib.contextmanager
    def cancellable_progress(self, token: Any) -> Any:
        """Let the client's progress cancel button cancel the current request inside the block
        (use inside `cancellable_request`, so the request is answered as cancelled)."""
        protocol: Any = self.protocol
        msg_id = getattr(protocol, "_ctx_msg_id", None)
        request = msg_id.get(None) if msg_id is not None else None
        if token is None or request is None:
            yield
            return
        self.progress_tasks[token] = request
        try:
            yield
        finally:
            self.progress_tasks.pop(token, None)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A fault outside a request (a notification handler, an unreadable frame) goes to the
        editor's log, not a popup as pygls does: the user cannot act on it, and the server
        carries on. (A failed request is already answered with its error.)"""
        if source is FeatureRequestError:
            return
        log.warning("internal error (%s): %s", getattr(source, "__name__", source), error)
        with contextlib.suppress(Exception):
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error, message=f"LocalGPT internal error: {error}"))

    def show(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))


async def _wait_scan(ls: LocalGPTServer, timeout: float) -> None:
    await ls.wait_scan(timeout)


def command_object(name: str, arguments: tuple[Any, ...]) -> dict[str, Any]:
    """A command's one JSON object argument (`arguments: [{...}]`); absent or null is `{}`."""
    args = arguments[0] if arguments else {}
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InvalidArguments(f"{name} takes one JSON object argument, e.g. {{}}")
    return args


def require_engine(ls: LocalGPTServer) -> Any:
    """The engine, or the error a command answers with when the workspace failed to open."""
    if ls.engine is None:
        raise RequestFailed("the LocalGPT workspace could not be opened; see the first message")
    return ls.engine


def create_server() -> LocalGPTServer:
    """Build the server and let every feature module register its handlers."""
    from localgpt_ls.lsp import (
        assist,
        assistant,
        chatdoc,
        codeactions,
        completion,
        diagnostics,
        heartbeat,
        hover,
        inline,
        lenses,
        lifecycle,
        navigation,
        rename,
        status,
    )

    features = (lifecycle, status, completion, hover, navigation, rename, diagnostics,
                codeactions, lenses, heartbeat, assistant, assist, chatdoc, inline)
    server = LocalGPTServer()
    for module in features:
        module.register(server)
    return server


def start(tcp: str | None = None) -> None:
    """Serve over stdio, or over TCP when given HOST:PORT."""
    logging.basicConfig(level=logging.WARNING, format="localgpt-ls %(levelname)s %(message)s")
    # Background threads (scan, memory index) hand the GIL back to the request loop sooner:
    # a request waits at most ~1 ms for a busy worker instead of the default 5 ms per switch.
    sys.setswitchinterval(0.001)
    server = create_server()
    profile = os.environ.get("LOCALGPT_LSP_PROFILE")
    if profile:  # developer aid: `LOCALGPT_LSP_PROFILE=out.prof localgpt lsp`
        import cProfile

        profiler = cProfile.Profile()
        server.profiler = (profiler, profile)
        profiler.enable()
    code = _serve(server, tcp)
    # The editor said `exit`: leave now. A worker thread may be mid-way through a long
    # reindex; joining it at interpreter exit would keep a dead server around for seconds
    # (SQLite rolls an unfinished transaction back on the next open, so nothing is lost).
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _serve(server: LocalGPTServer, tcp: str | None) -> int:
    """Serve until the client exits; returns the process exit code."""
    code = 0
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
        return code
    try:
        asyncio.run(_serve_stdio(server))
    except _PipeUnsupported:
        server.start_io()  # stdin is a file or the platform's loop cannot watch pipes
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        server.shutdown()
    return code


class _PipeUnsupported(Exception):
    pass


async def _serve_stdio(server: LocalGPTServer) -> None:
    """Read stdin with an asyncio pipe reader on the event loop.

    pygls's own stdio reader hands every line to a worker thread and back; reading on the
    loop saves that hop on each message (measurable at the benchmark's sub-millisecond
    requests). Responses are written the same way pygls writes them.
    """
    from pygls.io_ import StdoutWriter, run_async

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or sys.stdin.isatty()):
        # A file or /dev/null: epoll refuses it (EPERM, raised later inside the loop).
        raise _PipeUnsupported("stdin is not a pipe")
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     sys.stdin.buffer)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise _PipeUnsupported(str(exc)) from None
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    await run_async(stop_event=server._stop_event, reader=reader, protocol=server.protocol,
                    logger=log, error_handler=server.report_server_error)
