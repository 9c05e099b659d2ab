"""Initialize, document sync, the workspace scan, file watching and memory index updates.

Workspace resolution: `initializationOptions.workspace` > the editor's root folder when it holds
SOUL.md, MEMORY.md, HEARTBEAT.md or AGENTS.md > the configured workspace (LOCALGPT_WORKSPACE,
`[memory] workspace`, `$LOCALGPT_HOME/workspace`).

File changes reach us through `workspace/didChangeWatchedFiles` (registered dynamically when the
client can) or, for clients that cannot, through our own watcher (watchfiles). Either way the
notes model updates at once and the memory index updates debounced, in a worker thread.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from lsprotocol import types

from localgpt_ls.config import Config, load_config
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.lsp.notes import is_note_path, load_note, lower_priority, scan
from localgpt_ls.lsp.options import CLIENT_SIDE_KEYS, parse_options
from localgpt_ls.lsp.server import LocalGPTServer, log
from localgpt_ls.lsp.status import Progress, send_status
from localgpt_ls.paths import state_dir

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
        return LocalGPTServer.uri_path(uri)
    if params.root_path:
        return Path(params.root_path)
    return None


def choose_workspace(option: str | None, root: Path | None, config: Config) -> Path:
    if option:
        return Path(os.path.expandvars(option)).expanduser().resolve()
    if root is not None and any((root / name).is_file() for name in MARKERS):
        return root.resolve()
    return config.workspace()


def register(server: LocalGPTServer) -> None:
    problems: list[str] = []

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: LocalGPTServer, params: types.InitializeParams) -> None:
        from localgpt_ls.engine import Engine

        ls.options, found = parse_options(params.initialization_options)
        ls.raw_options = params.initialization_options if isinstance(
            params.initialization_options, dict) else {}
        problems.extend(found)
        try:
            config = load_config()
        except LocalGPTError as exc:
            problems.append(f"{exc} (using the default configuration)")
            config = Config()
        workspace = choose_workspace(ls.options.workspace, root_folder(params), config)
        try:
            ls.engine = Engine(config=config, workspace=workspace)
            workspace = ls.engine.workspace
        except LocalGPTError as exc:
            problems.append(str(exc))
        ls.workspace_root = workspace
        ls.index.workspace = workspace

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: LocalGPTServer, params: types.InitializedParams) -> None:
        for problem in problems:
            ls.show(f"LocalGPT: {problem}")
        ls.scan_done = asyncio.Event()
        send_status(ls, "starting", f"workspace {ls.workspace_root}")
        ls.spawn(_start_background(ls))
        # After the spawn: a client slow to answer workspace/configuration delays nothing.
        await pull_settings(ls)

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: LocalGPTServer, params: Any = None) -> None:
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

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: LocalGPTServer,
                                       params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings.get("localgpt") if isinstance(params.settings, dict) else None
        await pull_settings(ls, pushed=settings if isinstance(settings, dict) else None)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LocalGPTServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        new = ls.index.get(uri) is None
        ls.mark_open(uri, params.text_document.version)
        _after_edit(ls, uri, delay=0.0)
        if new and ls.scan_done is not None and ls.scan_done.is_set():
            # A note the workspace did not have (Create note opens it before it is saved, so
            # no file event adds it): links elsewhere that pointed nowhere may resolve now.
            ls.note_for(uri)
            refresh_open_documents(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LocalGPTServer, params: types.DidChangeTextDocumentParams) -> None:
        _after_edit(ls, params.text_document.uri)
        for listener in ls.change_listeners:
            listener(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LocalGPTServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.mark_closed(params.text_document.uri)
        # Clear this document's problems; the file on disk is what counts now.
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: LocalGPTServer, params: types.DidSaveTextDocumentParams) -> None:
        path = ls.uri_path(params.text_document.uri)
        if path is not None:
            schedule_memory_update(ls, path)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(ls: LocalGPTServer,
                           params: types.DidChangeWatchedFilesParams) -> None:
        changes = []
        for change in params.changes:
            path = ls.uri_path(change.uri)
            if path is not None:
                changes.append((path, change.type == types.FileChangeType.Deleted))
        ls.spawn(apply_file_changes(ls, changes))


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


def _after_edit(ls: LocalGPTServer, uri: str, delay: float | None = None) -> None:
    """Re-parse (lazily) and re-check a document once typing pauses."""
    from localgpt_ls.lsp.diagnostics import publish

    wait = ls.options.diagnostics_debounce_ms / 1000 if delay is None else delay
    ls.debounce.schedule(("diagnostics", uri), wait, lambda: publish(ls, uri))


def refresh_open_documents(ls: LocalGPTServer) -> None:
    """Links in open documents may have changed meaning (a note appeared or went away)."""
    for uri in list(ls._open_versions):
        _after_edit(ls, uri)


async def _after_startup_burst(ls: LocalGPTServer, quiet: float = 0.1,
                               limit: float = 1.0) -> None:
    """Editors open documents and ask for symbols, links and folding right after
    `initialized`; serve that burst before the CPU-heavy scan starts (at most `limit` s)."""
    start = time.monotonic()
    while time.monotonic() - start < limit and time.monotonic() - ls.last_message < quiet:
        await asyncio.sleep(quiet / 2)


async def _start_background(ls: LocalGPTServer) -> None:
    await _after_startup_burst(ls)
    # Features' background work (e.g. the heartbeat schedule, lsp/heartbeat.py) starts here,
    # after the editor's first requests: importing and starting it costs ~0.2 s.
    for hook in ls.startup_hooks:
        try:
            hook(ls)
        except Exception:
            log.exception("startup hook %r failed", hook)
    # Watch first, then scan: a file changed meanwhile is either in the scan or in an event.
    await _watch(ls)
    await _scan(ls)
    if ls.options.memory.index_on_startup:
        ls.spawn(index_memory(ls))


async def _scan(ls: LocalGPTServer) -> None:
    """First scan of the workspace (cache + worker processes), then ready."""
    assert ls.scan_done is not None
    loop = asyncio.get_running_loop()
    open_paths = {str(p) for uri in ls._open_versions if (p := ls.uri_path(uri)) is not None}
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
        opened_now = set(ls._open_versions)
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


async def _watch(ls: LocalGPTServer) -> None:
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
    ls.spawn(_own_watcher(ls))


async def _own_watcher(ls: LocalGPTServer) -> None:
    try:
        from watchfiles import Change, awatch
    except ImportError:
        log.warning("watchfiles is not installed; file changes outside the editor are missed")
        return

    root = ls.workspace_root

    def only_markdown(_change: Any, path: str) -> bool:
        return path.lower().endswith(".md") and not hidden_within(root, Path(path))

    async for batch in awatch(root, watch_filter=only_markdown, debounce=300,
                              recursive=True):
        changes = [(Path(p), kind == Change.deleted) for kind, p in batch]
        await apply_file_changes(ls, changes)


def hidden_within(root: Path, path: Path) -> bool:
    """True when the part of `path` inside `root` has a hidden folder or file (or `path` is
    not inside `root` at all). Only that part counts: the default workspace,
    `~/.localgpt/workspace`, itself lies under a dotted folder."""
    for base in (root, root.resolve()):
        try:
            parts = path.relative_to(base).parts
        except ValueError:
            continue
        return any(part.startswith(".") for part in parts)
    return True


async def apply_file_changes(ls: LocalGPTServer, changes: list[tuple[Path, bool]]) -> None:
    """Update the notes model and schedule memory updates for changed markdown files."""
    touched = False
    for path, deleted in changes:
        if not path.name.lower().endswith(".md"):
            continue
        schedule_memory_update(ls, path)  # the index applies its own rules (configured paths)
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


def schedule_memory_update(ls: LocalGPTServer, path: Path) -> None:
    """Index (or drop) one file in the memory index, debounced, in a worker thread."""
    if ls.memory is None:
        return

    async def update() -> None:
        memory = ls.memory
        if memory is None:
            return
        if path.is_file():
            await ls.run_blocking(lambda: memory.index_file(path, embed=False))
        else:
            await ls.run_blocking(memory.remove_file, path)
        ls.spawn(_embed_pending(ls))

    ls.debounce.schedule(("memory", str(path)), ls.options.index_debounce_ms / 1000, update)


async def index_memory(ls: LocalGPTServer) -> None:
    """Bring the memory index up to date in a worker thread, with progress and status."""
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

            report = await ls.run_blocking(lambda: memory.reindex(progress=on_progress))
        send_status(ls, "ready", f"memory indexed: {_describe(report)}")
    except Exception as exc:
        log.exception("memory indexing failed")
        send_status(ls, "error", f"memory indexing failed: {exc}")
        return
    finally:
        ls.memory_synced.set()
    await _embed_pending(ls)
    if getattr(memory, "warm", None) is not None:
        # Load the model and the vector copy now, so meaning-ranked completion answers from
        # the first keystroke instead of after the first lookup.
        await ls.run_blocking(memory.warm)


_embedding = asyncio.Lock()


async def _embed_pending(ls: LocalGPTServer) -> None:
    """Fill in vectors behind the keyword index, a batch at a time, in a worker thread."""
    memory = ls.memory
    if memory is None or not hasattr(memory, "embed_pending") or _embedding.locked():
        return
    async with _embedding:
        while True:
            try:
                done = await ls.run_blocking(memory.embed_pending, 64)
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
