"""The Lifecycle feature: initialize (options, engine), settings, the workspace scan, file
watching and keeping the memory index in step. Document sync itself is `app.py`'s (the server
keeps the open documents); this feature only saves them to the index.

Workspace resolution: `initializationOptions.workspace` > the editor's root folder when it holds
SOUL.md, MEMORY.md, HEARTBEAT.md or AGENTS.md > the configured workspace (LOCALGPT_WORKSPACE,
`[memory] workspace`, `$LOCALGPT_HOME/workspace`).

File changes reach us through `workspace/didChangeWatchedFiles` (registered dynamically when the
client can) or, for clients that cannot, through the watch loop the daemon runs too
(index_sync.Follower). Either way the notes model updates at once and the memory index updates
debounced, in a worker thread (index_sync.apply_changes).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from localgpt_ls.config import Config, load_config
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.index_sync import Follower, apply_changes
from localgpt_ls.lsp.diagnostics import refresh_open_documents
from localgpt_ls.lsp.feature import Feature, Handler
from localgpt_ls.lsp.notes import is_note_path, load_note, lower_priority, scan
from localgpt_ls.lsp.options import CLIENT_SIDE_KEYS, parse_options
from localgpt_ls.lsp.status import Progress, send_status
from localgpt_ls.paths import state_dir

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")

MARKERS = ("SOUL.md", "MEMORY.md", "HEARTBEAT.md", "AGENTS.md")
# Past this many files to parse, the first scan uses worker processes.
POOL_THRESHOLD = 1500
SHUTDOWN_DRAIN = 2.0  # seconds shutdown waits for running index work before answering


def root_folder(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    if uri:
        try:
            fs = to_fs_path(uri)
        except Exception:
            return None
        return Path(fs) if fs else None
    if params.root_path:
        return Path(params.root_path)
    return None


def choose_workspace(option: str | None, root: Path | None, config: Config) -> Path:
    if option:
        return Path(os.path.expandvars(option)).expanduser().resolve()
    if root is not None and any((root / name).is_file() for name in MARKERS):
        return root.resolve()
    return config.workspace()


class Lifecycle(Feature):
    """Opens the workspace (engine, options) at initialize, reads the notes, follows file
    changes and keeps the memory index in step; shuts it all down at the end."""

    def __init__(self, server: LocalGPTServer) -> None:
        super().__init__(server)
        self.problems: list[str] = []  # said once `initialized` allows messages
        self.memory = MemorySync(server)

    def handlers(self) -> list[Handler]:
        memory = self.memory

        async def did_change_configuration(ls: LocalGPTServer,
                                           params: types.DidChangeConfigurationParams) -> None:
            settings = params.settings.get("localgpt") if isinstance(params.settings,
                                                                     dict) else None
            await pull_settings(ls, pushed=settings if isinstance(settings, dict) else None)

        def did_change_watched(ls: LocalGPTServer,
                               params: types.DidChangeWatchedFilesParams) -> None:
            changes = []
            for change in params.changes:
                path = ls.uri_path(change.uri)
                if path is not None:
                    changes.append((path, change.type == types.FileChangeType.Deleted))
            ls.spawn(apply_file_changes(ls, memory, changes))

        return [Handler(types.WORKSPACE_DID_CHANGE_CONFIGURATION, did_change_configuration),
                Handler(types.WORKSPACE_DID_CHANGE_WATCHED_FILES, did_change_watched)]

    def initialize(self, params: types.InitializeParams) -> None:
        from localgpt_ls.engine import Engine
        from localgpt_ls.lsp.editor_bridge import editor_bridge

        ls = self.server
        ls.options, found = parse_options(params.initialization_options)
        ls.raw_options = params.initialization_options if isinstance(
            params.initialization_options, dict) else {}
        self.problems.extend(found)
        try:
            config = load_config()
        except LocalGPTError as exc:
            self.problems.append(f"{exc} (using the default configuration)")
            config = Config()
        workspace = choose_workspace(ls.options.workspace, root_folder(params), config)
        try:
            # The editor door's bridge is given once: the engine's writes to documents open
            # in the editor go through it (workspace/applyEdit), never behind the editor.
            ls.engine = Engine(config=config, workspace=workspace, editor=editor_bridge(ls))
            workspace = ls.engine.workspace
        except LocalGPTError as exc:
            self.problems.append(str(exc))
        ls.workspace_root = workspace
        ls.index.workspace = workspace

    def initialized(self) -> None:
        ls = self.server
        for problem in self.problems:
            ls.show(f"LocalGPT: {problem}")
        ls.scan_done = asyncio.Event()
        send_status(ls, "starting", f"workspace {ls.workspace_root}")
        # A client slow to answer workspace/configuration delays nothing.
        ls.spawn(pull_settings(ls))

    def start(self) -> None:
        self.server.spawn(self._background())

    async def _background(self) -> None:
        ls = self.server
        # Watch first, then scan: a file changed meanwhile is either in the scan or in an event.
        await _watch(ls, self.memory)
        await _scan(ls)
        if ls.options.memory.index_on_startup:
            ls.spawn(self.memory.index_all())

    def document_saved(self, uri: str) -> None:
        path = self.server.uri_path(uri)
        if path is not None:
            self.memory.schedule_update(path)

    async def shutdown(self) -> None:
        ls = self.server
        if ls.profiler is not None:
            ls.profiler[0].disable()
            ls.profiler[0].dump_stats(ls.profiler[1])
        ls.debounce.cancel_all()
        for task in list(ls.background):
            task.cancel()
        if ls.engine is None:
            return
        ls.engine.stop()  # reindex, embedding and vector loading end at their next step
        if not await ls.drain_blocking(SHUTDOWN_DRAIN):
            # Still inside one long step: leave the connections to the process exit (SQLite
            # rolls an unfinished transaction back on the next open).
            log.info("shutdown: background work still running; not closing the index")
            return
        try:
            ls.engine.close()
        except Exception:
            log.exception("engine close failed")


async def pull_settings(ls: LocalGPTServer, pushed: dict[str, Any] | None = None) -> None:
    """Editor settings (section `localgpt`, same keys as initializationOptions) override the
    initialization options. Pulled with workspace/configuration when the client supports it,
    else taken from didChangeConfiguration. `workspace` is fixed once the server started."""
    settings = pushed
    caps = ls.client_capabilities.workspace
    if settings is None and caps is not None and caps.configuration:
        try:
            answer = await asyncio.wait_for(ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="localgpt")])),
                5)
        except Exception as exc:  # the client refused or never answered: keep what we have
            log.info("workspace/configuration unavailable: %s", exc)
            return
        settings = answer[0] if answer and isinstance(answer[0], dict) else {}
    if settings is None:
        return
    ours = {k: v for k, v in settings.items()
            if k != "workspace" and k not in CLIENT_SIDE_KEYS}
    merged = {**ls.raw_options, **ours}
    options, problems = parse_options(merged)
    options.workspace = ls.options.workspace
    ls.options = options
    for problem in problems:
        ls.show(f"LocalGPT settings: {problem}")


async def after_startup_burst(ls: LocalGPTServer, quiet: float = 0.1,
                               limit: float = 1.0) -> None:
    """Editors open documents and ask for symbols, links and folding right after
    `initialized`; serve that burst before the CPU-heavy scan starts (at most `limit` s)."""
    start = time.monotonic()
    while time.monotonic() - start < limit and time.monotonic() - ls.last_message < quiet:
        await asyncio.sleep(quiet / 2)


async def _scan(ls: LocalGPTServer) -> None:
    """First scan of the workspace (cache + worker processes), then ready."""
    assert ls.scan_done is not None
    loop = asyncio.get_running_loop()
    open_paths = {str(p) for uri in ls.open_uris if (p := ls.uri_path(uri)) is not None}
    cache_file = state_dir(ls.workspace_root) / "lsp-notes.pickle"
    pool: ProcessPoolExecutor | None = None
    try:
        def work() -> tuple[list[Any], int]:
            nonlocal pool
            from localgpt_ls.lsp.notes import iter_markdown_files

            count = sum(1 for _ in iter_markdown_files(ls.workspace_root))
            if count > POOL_THRESHOLD and (os.cpu_count() or 1) > 1:
                # Spawned (not forked) workers: the server has threads, fork would copy locks.
                pool = ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1),
                                           mp_context=multiprocessing.get_context("spawn"),
                                           initializer=lower_priority)
            return scan(ls.workspace_root, cache_file, pool, skip=open_paths)

        started = time.perf_counter()
        async with Progress(ls, "LocalGPT: reading notes") as progress:
            progress.report(f"scanning {ls.workspace_root}")
            notes, parsed = await loop.run_in_executor(ls.blocking, work)
        opened_now = set(ls.open_uris)
        for note in notes:
            if note.uri not in opened_now:
                ls.index.put(note)
        send_status(ls, "ready", f"{len(ls.index.notes)} notes ({parsed} parsed) in "
                                 f"{time.perf_counter() - started:.1f} s")
    except Exception as exc:
        log.exception("workspace scan failed")
        send_status(ls, "error", f"workspace scan failed: {exc}")
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        ls.scan_done.set()
        refresh_open_documents(ls)


async def _watch(ls: LocalGPTServer, memory: MemorySync) -> None:
    """Ask the client to watch markdown files, or watch the folder ourselves."""
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps else None
    if watched and watched.dynamic_registration:
        base = ls.path_uri(ls.workspace_root)
        pattern: types.GlobPattern = (
            types.RelativePattern(base_uri=base, pattern="**/*.md")
            if watched.relative_pattern_support else f"{ls.workspace_root.as_posix()}/**/*.md")
        try:
            await asyncio.wait_for(ls.client_register_capability_async(types.RegistrationParams(
                registrations=[types.Registration(
                    id="localgpt-watch-md",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[types.FileSystemWatcher(glob_pattern=pattern)]),
                )])), 10)
            return
        except Exception as exc:
            log.warning("client refused file watching (%s); watching the folder myself", exc)
    ls.spawn(_own_watcher(ls, memory))


async def _own_watcher(ls: LocalGPTServer, memory: MemorySync) -> None:
    """The watch loop the daemon runs too (index_sync.Follower), in its own thread; each batch
    comes back to the event loop. Stops with the server (shutdown cancels this task)."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        log.warning("watchfiles is not installed; file changes outside the editor are missed")
        return
    loop = asyncio.get_running_loop()

    def on_batch(changes: list[tuple[Path, bool]]) -> None:
        loop.call_soon_threadsafe(lambda: ls.spawn(apply_file_changes(ls, memory, changes)))

    # The editor keeps working if the watch stops: the follower logs why.
    follower = Follower(ls.workspace_root, on_batch, debounce_ms=300,
                        name="localgpt-watch").start()
    try:
        await asyncio.Event().wait()  # until cancelled
    finally:
        follower.stop(timeout=0)  # never block the event loop; the thread ends on its own


async def apply_file_changes(ls: LocalGPTServer, memory: MemorySync,
                             changes: list[tuple[Path, bool]]) -> None:
    """Update the notes model and schedule memory updates for changed markdown files."""
    touched = False
    for path, deleted in changes:
        # The index applies its own rules (configured paths; a folder event reindexes).
        memory.schedule_update(path, deleted)
        if not is_note_path(ls.workspace_root, path):
            continue  # outside the workspace or in a hidden folder: not a note
        uri = ls.path_uri(path)
        if deleted or not path.is_file():
            if not ls.is_open(uri):
                ls.index.remove(uri)
                touched = True
        elif not ls.is_open(uri):
            note = await ls.run_blocking(load_note, path, ls.rel_of(path))
            ls.index.put(note)
            touched = True
    if touched:
        refresh_open_documents(ls)


class MemorySync:
    """The memory index in step with the editor: per-file updates (debounced, in a worker
    thread, by index_sync.apply_changes), the startup reindex, and vectors filled in behind."""

    def __init__(self, ls: LocalGPTServer) -> None:
        self.ls = ls
        self._embedding = asyncio.Lock()

    def schedule_update(self, path: Path, deleted: bool = False) -> None:
        ls = self.ls
        if ls.memory is None:
            return

        async def update() -> None:
            memory = ls.memory
            if memory is None:
                return
            await ls.run_long(lambda: apply_changes(memory, ls.workspace_root,
                                                    [(path, deleted)], embed=False))
            ls.spawn(self.embed_pending())

        ls.debounce.schedule(("memory", str(path)), ls.options.index_debounce_ms / 1000, update)

    async def index_all(self) -> None:
        """Bring the memory index up to date in a worker thread, with progress and status."""
        ls = self.ls
        memory = ls.memory
        if memory is None:
            return
        send_status(ls, "indexing", "indexing memory")
        try:
            async with Progress(ls, "LocalGPT: indexing memory") as progress:
                last = [-1]

                def on_progress(*args: Any, **kwargs: Any) -> None:
                    # Called per file from the worker thread: forward whole-percent steps only.
                    numbers = [a for a in args if isinstance(a, int)]
                    if len(numbers) >= 2 and numbers[1] > 0:
                        percent = int(100 * numbers[0] / numbers[1])
                        if percent != last[0]:
                            last[0] = percent
                            progress.report(f"{numbers[0]}/{numbers[1]} files", percent)

                report = await ls.run_long(lambda: memory.reindex(progress=on_progress))
            send_status(ls, "ready", f"memory indexed: {_describe(report)}")
        except Exception as exc:
            log.exception("memory indexing failed")
            send_status(ls, "error", f"memory indexing failed: {exc}")
            return
        finally:
            ls.memory_synced.set()
        await self.embed_pending()
        # Load the model and the vector copy now, so meaning-ranked completion answers from
        # the first keystroke instead of after the first lookup.
        await ls.run_long(memory.warm)

    async def embed_pending(self) -> None:
        """Fill in vectors behind the keyword index, a batch at a time, in a worker thread."""
        memory = self.ls.memory
        if memory is None or self._embedding.locked():
            return
        async with self._embedding:
            while True:
                try:
                    done = await self.ls.run_long(memory.embed_pending, 64)
                except Exception as exc:
                    log.warning("embedding paused: %s", exc)
                    return
                if not done:
                    return


def _describe(report: Any) -> str:
    """What an index run did, in words for a status line ("12 notes, 3 updated")."""
    if report is None:
        return "done"
    data = report.to_dict() if hasattr(report, "to_dict") else report
    if not isinstance(data, dict):
        return str(report)

    def count(key: str) -> int:
        value = data.get(key)
        return value if isinstance(value, int) else 0

    def plural(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    seen = count("files_seen")
    parts = [plural(seen, "note")]
    changes = [(count("files_indexed"), "updated"), (count("files_removed"), "removed"),
               (count("files_skipped"), "skipped")]
    parts += [f"{n} {what}" for n, what in changes if n]
    if not any(n for n, _ in changes) and seen:
        parts.append("all up to date")
    if data.get("rebuilt"):
        parts.append(f"rebuilt ({data['rebuilt']})")
    if data.get("interrupted"):
        parts.append("stopped early; the rest follows next time")
    return ", ".join(parts)
