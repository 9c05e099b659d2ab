"""The language server object: the state every feature shares, typed, and nothing else.

What is here: the engine (`engine: Engine | None`, None when the workspace failed to open),
the options, the notes model (`index`) and the open documents, the worker threads for blocking
work (`run_blocking`), background tasks (`spawn`), the first-scan gate (`until_scanned`,
`wait_scan`) and request cancellation. What is not: features (`features.py` and the modules
it lists), registration (`app.py`), protocol changes (`protocol.py`), errors (`errors.py`),
serving (`serve.py`).

Threading rule: request handlers run on the asyncio loop and must stay quick. Anything that may
block (SQLite, embedding, reading many files) goes through `server.run_blocking` (a thread),
long work (reindexing, embedding) through `server.run_long` (its own thread, so short work
never queues behind it), and the scan through its process pool. An open document too big to
parse between two requests is parsed in the parse thread (`parse_soon`); handlers that serve
it wait with `yield from ls.until_parsed(uri)` / `await ls.parsed(uri)`, and every other
document answers meanwhile.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import FeatureRequestError
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from localgpt_ls import __version__
from localgpt_ls.lsp.debounce import Debouncer
from localgpt_ls.lsp.errors import InvalidArguments, RequestFailed, command_object
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
from localgpt_ls.lsp.protocol import COMMAND_WORK_DONE_TOKEN, LocalGPTProtocol
from localgpt_ls.notefiles import MAX_NOTE_BYTES, is_regular, read_regular
from localgpt_ls.textsafety import decode_text

if TYPE_CHECKING:
    import cProfile

    from localgpt_ls.engine import Engine
    from localgpt_ls.memory import MemoryIndex

log = logging.getLogger("localgpt.lsp")
T = TypeVar("T")

# An open document longer than this is parsed in the parse thread, not on the event loop
# (a typical note parses in a few milliseconds; 1 MB of setext headings took 1.9 s).
INLINE_PARSE_CHARS = 100_000

# Names features imported from here before the split; they live in their own modules now.
__all__ = ["COMMAND_WORK_DONE_TOKEN", "Debouncer", "InvalidArguments", "LocalGPTServer",
           "RequestFailed", "command_object", "log", "require_engine"]


def doc_key(uri: str) -> str:
    """How pygls keys an open document (its URI unquoted): `file:///dev/z%65ro` and
    `file:///dev/zero` are one document, and our table must say so too."""
    return unquote(uri)


class LocalGPTServer(LanguageServer):
    """pygls server plus the state every feature shares (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__("localgpt-ls", __version__, protocol_cls=LocalGPTProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.options = InitializationOptions()
        self.raw_options: dict[str, Any] = {}  # initializationOptions as sent
        self.engine: Engine | None = None  # set by `initialize` (lifecycle.py)
        self.workspace_root: Path = Path.cwd()
        self.index = NoteIndex(Path.cwd())
        self.scan_done: asyncio.Event | None = None
        self.scan_wanted = False  # a request is waiting for the first scan: start it now
        self.debounce = Debouncer()
        self.blocking = ThreadPoolExecutor(max_workers=2, thread_name_prefix="localgpt-block")
        # Indexing and embedding get their own thread: on the shared pool a forced reindex
        # made `localgpt.heartbeatStatus` wait 11.7 s and hovers time out (`run_long`).
        self.long_jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localgpt-long")
        # Open documents too big to parse between two requests are parsed here (`parse_soon`).
        self.parsing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localgpt-parse")
        self._parse_tasks: dict[str, asyncio.Task[None]] = {}
        # Open documents by `doc_key` (pygls's key for its own table), with the URI each was
        # opened with: one table that cannot disagree with pygls's about what is open.
        # For each, the text object its index entry was parsed from (None: not yet). Caches
        # compare text objects, not version numbers: a client may reopen a document or send a
        # change with a version it used before (the fuzzer's seed 3 did), and a cache keyed
        # by version then paired lines of one text with headings of another (IndexError).
        self._open_versions: dict[str, str | None] = {}
        self._open_uris: dict[str, str] = {}
        self._lines_cache: dict[str, tuple[str, list[str]]] = {}
        self._result_cache: dict[tuple[str, str], tuple[str, Any]] = {}
        self.last_message = 0.0  # monotonic time of the last message from the client
        self._memory: MemoryIndex | None = None
        self._memory_failed = False
        self.background: set[asyncio.Task[Any]] = set()
        self.in_flight: set[concurrent.futures.Future[Any]] = set()  # run_blocking, still running
        # Set once the startup reindex has finished (or failed): memory commands wait for it so
        # a search right after start answers from the whole workspace.
        self.memory_synced = asyncio.Event()
        # Requests behind cancellable work-done progress, by token: the editor's "cancel"
        # button (window/workDoneProgress/cancel) cancels the request (`cancellable_progress`).
        self.progress_tasks: dict[Any, Any] = {}
        # The lsp.feature.Feature objects serving this server, in order (set by
        # app.create_server; typed loosely so the server never depends on the features).
        self.features: tuple[object, ...] = ()
        self.profiler: tuple[cProfile.Profile, str] | None = None  # LOCALGPT_LSP_PROFILE

    @property
    def lsp(self) -> LocalGPTProtocol:
        """The protocol, typed as ours."""
        return cast(LocalGPTProtocol, self.protocol)

    def require_engine(self) -> Engine:
        """The engine, or the error a command answers with when the workspace failed to open."""
        if self.engine is None:
            raise RequestFailed("the LocalGPT workspace could not be opened; see the first "
                                "message")
        return self.engine

    @property
    def open_uris(self) -> list[str]:
        """The documents open in the editor (as the editor spelled their URIs)."""
        return list(self._open_uris.values())

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
        return self._open_doc(uri) is not None

    def _open_doc(self, uri: str) -> TextDocument | None:
        """The editor's copy of an open document, else None. Never pygls's
        `get_text_document` for a closed one: that reads the file on disk from the event
        loop, whatever it is (`/dev/zero` filled memory until the process died)."""
        key = doc_key(uri)
        if key not in self._open_versions:
            return None
        return cast("TextDocument | None", self.workspace.text_documents.get(key))

    def doc_text(self, uri: str) -> str | None:
        """Current text: the editor's copy when open, else the file on disk if it is a
        regular file under the note size cap (a FIFO, a device or a folder is None)."""
        doc = self._open_doc(uri)
        if doc is not None:
            return doc.source
        path = self.uri_path(uri)
        if path is None:
            return None
        try:
            data = read_regular(path, MAX_NOTE_BYTES)
        except (OSError, ValueError):
            return None
        return decode_text(data)

    def doc_lines(self, uri: str) -> list[str]:
        """Lines of the current text (cached per text for open documents)."""
        doc = self._open_doc(uri)
        if doc is not None:
            key = doc_key(uri)
            cached = self._lines_cache.get(key)
            if cached is not None and cached[0] is doc.source:
                return cached[1]
            lines = split_lines(doc.source)
            self._lines_cache[key] = (doc.source, lines)
            return lines
        text = self.doc_text(uri)
        return split_lines(text) if text is not None else []

    def cached(self, uri: str, name: str, compute: Callable[[], T]) -> T:
        """`compute()` once per open document text (e.g. its symbols), else every time."""
        doc = self._open_doc(uri)
        if doc is None:
            return compute()
        text = doc.source
        key = (doc_key(uri), name)
        hit = self._result_cache.get(key)
        if hit is not None and hit[0] is text:
            return hit[1]
        value = compute()
        self._result_cache[key] = (text, value)
        return value

    @staticmethod
    def uri_path(uri: str) -> Path | None:
        """The file a `file:` URI names, or None (another scheme, a NUL or a lone surrogate
        in it: no file can have that name)."""
        try:
            fs = to_fs_path(uri)
        except Exception:
            return None
        if not fs or "\x00" in fs:
            return None
        try:
            os.fsencode(fs)
        except UnicodeError:
            return None
        return Path(fs)

    def path_uri(self, path: Path) -> str:
        return from_fs_path(str(path)) or path.as_uri()

    def rel_of(self, path: Path) -> str:
        return relative(self.workspace_root, path)

    def note_for(self, uri: str) -> NoteInfo | None:
        """The note for a document, parsed from the editor's text when it is open (the parse is
        cached per document text and fed back into the index).

        An open document is kept in the index under the URI it was opened with, whatever
        spelling a request uses: `M%45MORY.md` once got its own entry, parsed from an older
        version, and its stale heading lines made documentSymbol fail (InternalError)."""
        doc = self._open_doc(uri)
        if doc is not None:
            key = doc_key(uri)
            fresh = self._fresh_parse(key, doc)
            if fresh is not None:
                return fresh
            # Handlers that serve open documents wait for `parsed(uri)` first, so a big
            # text reaches this line only from a rare caller; it is parsed here then.
            parsed = self._parse_text(key, doc.source)
            self._store_parse(key, doc.source, parsed)
            return parsed
        known = self.index.get(uri)
        if known is not None:
            return known
        disk = self.uri_path(uri)
        if disk is None or not is_regular(disk):
            return None
        return load_note(disk, self.rel_of(disk))

    def _fresh_parse(self, key: str, doc: TextDocument) -> NoteInfo | None:
        cached = self.index.get(self._open_uris.get(key, key))
        if cached is not None and self._open_versions.get(key) is doc.source and \
                cached.mtime_ns == -1:
            return cached
        return None

    def _parse_text(self, key: str, source: str) -> NoteInfo:
        opened = self._open_uris.get(key, key)
        path = self.uri_path(opened) or Path(opened)
        return parse_open_text(source, path, self.rel_of(path), opened)

    def _store_parse(self, key: str, source: str, note: NoteInfo) -> None:
        if key not in self._open_versions:
            return  # closed meanwhile: the file on disk is what counts now
        self._open_versions[key] = source
        self.index.put(note)

    def parse_soon(self, uri: str) -> asyncio.Task[None] | None:
        """Start parsing an open document's text in the parse thread when it is big and not
        parsed yet; the task to wait for, or None when `note_for` answers at once."""
        doc = self._open_doc(uri)
        if doc is None or len(doc.source) <= INLINE_PARSE_CHARS:
            return None
        key = doc_key(uri)
        if self._fresh_parse(key, doc) is not None:
            return None
        task = self._parse_tasks.get(key)
        if task is None or task.done():
            task = self.spawn(self._parse_latest(key))
            self._parse_tasks[key] = task
        return task

    async def _parse_latest(self, key: str) -> None:
        """Parse the document's latest text until the parse matches it (a user
        typing into a huge note gets one parse at a time, each of the newest text)."""
        loop = asyncio.get_running_loop()
        for _ in range(100):
            doc = self.workspace.text_documents.get(key) if key in self._open_versions \
                else None
            if doc is None or self._fresh_parse(key, doc) is not None:
                return
            source = doc.source
            opened = self._open_uris.get(key, key)
            path = self.uri_path(opened) or Path(opened)
            note = await loop.run_in_executor(self.parsing, parse_open_text, source, path,
                                              self.rel_of(path), opened)
            if self.workspace.text_documents.get(key) is not doc:
                return  # closed (and maybe opened again) meanwhile
            self._store_parse(key, source, note)

    async def parsed(self, uri: str, rounds: int = 3) -> None:
        """Wait until an open document's current text is parsed (in a thread when it is big,
        so requests for other documents go on meanwhile)."""
        for _ in range(rounds):
            task = self.parse_soon(uri)
            if task is None:
                return
            # Shielded: a cancelled request must not stop the parse others wait for.
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    def until_parsed(self, uri: str) -> Any:
        """For generator handlers: `yield from ls.until_parsed(uri)` waits for `parsed(uri)`
        only when the document is big and its text changed since its last parse."""
        if self.parse_soon(uri) is not None:
            yield _wait_parsed, (self, uri), None

    def mark_open(self, uri: str, version: int | None) -> None:
        key = doc_key(uri)
        self._open_versions[key] = None  # forces a parse of the editor text on next use
        self._lines_cache.pop(key, None)  # opened again without a close: a new text
        for cache_key in [k for k in self._result_cache if k[0] == key]:
            del self._result_cache[cache_key]
        self._open_uris[key] = uri
        del version

    def mark_closed(self, uri: str) -> None:
        key = doc_key(uri)
        self._open_versions.pop(key, None)
        opened_as = self._open_uris.pop(key, uri)
        self._lines_cache.pop(key, None)
        self._parse_tasks.pop(key, None)
        for cache_key in [k for k in self._result_cache if k[0] == key]:
            del self._result_cache[cache_key]
        path = self.uri_path(uri)
        if path is None:
            return
        if is_regular(path):
            note = load_note(path, self.rel_of(path))
            if opened_as != note.uri:  # opened under another spelling: one entry per file
                self.index.remove(opened_as)
            self.index.put(note)
        else:
            self.index.remove(opened_as)
            self.index.remove(uri)

    def placeholder(self, path: Path) -> NoteInfo:
        return empty_note(path, self.rel_of(path), self.path_uri(path))

    # -- engine parts ----------------------------------------------------------------------

    @property
    def memory(self) -> MemoryIndex | None:
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
        """Run short blocking work (a search, a status read, one file) off the event loop."""
        return await self._run_in(self.blocking, fn, *args)

    async def run_long(self, fn: Callable[..., T], *args: Any) -> T:
        """Run long work (reindexing, embedding, loading the model) on its own thread, so
        what the user is waiting for never queues behind it."""
        return await self._run_in(self.long_jobs, fn, *args)

    async def _run_in(self, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        # The thread's own future is kept, not asyncio's wrapper: cancelling the awaiting task
        # marks the wrapper done while the thread is still running, and shutdown must know.
        future = pool.submit(fn, *args)
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
            self.scan_wanted = True  # a request waits on it (diagnostics only wait_scan)
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
        protocol = self.lsp
        request = protocol.current_request()
        task = asyncio.current_task()
        if request is None or task is None:
            yield
            return
        running = protocol.running
        running[request] = task
        try:
            yield
        finally:
            running.pop(request, None)

    @contextlib.contextmanager
    def cancellable_progress(self, token: Any) -> Any:
        """Let the client's progress cancel button cancel the current request inside the block
        (use inside `cancellable_request`, so the request is answered as cancelled)."""
        request = self.lsp.current_request()
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


async def _wait_parsed(ls: LocalGPTServer, uri: str) -> None:
    await ls.parsed(uri)


def parse_open_text(source: str, path: Path, rel: str, uri: str) -> NoteInfo:
    """An open document's note (pure; runs in the parse thread for big texts)."""
    if len(source) > MAX_PARSE_BYTES:
        # A huge paste or log: serve it as a note without structure rather than stall
        # every request behind a multi-second parse.
        return empty_note(path, rel, uri, -1, len(source))
    return parse_note(source, path, rel, uri, mtime_ns=-1)


def require_engine(ls: LocalGPTServer) -> Engine:
    """`ls.require_engine()`, for callers of the old name."""
    return ls.require_engine()
