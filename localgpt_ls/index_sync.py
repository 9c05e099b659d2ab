"""Keeping the memory index in step with the disk: the one watch loop and the one rule for what
a file event does to the index. `Follower` runs the loop (`follow`) in a thread of its own;
`IndexFollower` is the follower the daemon (`http/background.py`) and `localgpt mcp` run: a
full (incremental) sync once the watch is in place, then each batch. The language server
(`lsp/lifecycle.py`, when the editor cannot watch files for it) runs a plain `Follower` whose
batches go back to its event loop; every batch of events, from a follower or from the editor,
goes through `apply_changes`.

- A note that changed is re-indexed (keywords at once; vectors by `embed_pending` after the
  batch), one that went away is dropped. The index applies its own rule for which files are
  memory (notefiles plus `[memory] paths`), so a path outside the workspace is passed on.
- An event on a folder (moved, removed, created with files in it), where single events do not
  name every file, brings the index up to date with an incremental reindex instead.
- Events inside hidden folders below the workspace (`.git`, `.obsidian`) are ignored; the
  workspace itself may sit under a dotted folder (`~/.localgpt/workspace`).

`follow` and `apply_changes` block; callers run them in a thread (a `Follower` is that thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, Self

from localgpt_ls.notefiles import SKIP_DIRS, is_note_name

log = logging.getLogger("localgpt_ls.index_sync")

Change = tuple[Path, bool]  # (path, deleted)
DEBOUNCE_MS = 400
WAKE_MS = 500  # how often an idle loop wakes (to notice a stop request)


class Index(Protocol):
    def reindex(self) -> Any: ...
    def index_file(self, path: Path, embed: bool = ...) -> Any: ...
    def remove_file(self, path: Path) -> bool: ...
    def embed_pending(self) -> Any: ...


def _below_hidden(workspace: Path, path: Path) -> bool:
    """True for a path in a hidden or skipped folder below the workspace (or outside it)."""
    try:
        parts = path.relative_to(workspace).parts
    except ValueError:
        return True
    return any(p.startswith(".") or p in SKIP_DIRS for p in parts)


def wanted(workspace: Path, path: Path) -> bool:
    """Is an event on this path worth reading? Notes and folders (a folder that is gone is
    told by its name having no suffix), outside hidden folders of the workspace."""
    if _below_hidden(workspace, path):
        return False
    return is_note_name(path.name) or not path.suffix or path.is_dir()


def apply_changes(memory: Index, workspace: Path, changes: Iterable[Change],
                  embed: bool = True) -> None:
    """Tell the index what changed (see the module docstring); vectors follow when `embed`."""
    batch = list(changes)
    folders = [p for p, _d in batch if not is_note_name(p.name) and wanted(workspace, p)]
    if folders:
        memory.reindex()
    else:
        for path, deleted in batch:
            if not is_note_name(path.name):
                continue
            if deleted or not path.exists():
                memory.remove_file(path)
            else:
                memory.index_file(path, embed=False)  # vectors for the whole batch, below
    if embed:
        memory.embed_pending()


def follow(workspace: Path, stop: threading.Event, on_batch: Callable[[list[Change]], None],
           on_ready: Callable[[], None] | None = None, debounce_ms: int = DEBOUNCE_MS) -> None:
    """Watch the workspace until `stop` is set, handing each debounced batch of wanted events
    to `on_batch`. `on_ready` runs once the OS watch is in place, so a change made while it
    runs (the first full sync) is buffered and arrives as the next batch. Blocks; raises when
    the folder cannot be watched."""
    from watchfiles import Change as Kind
    from watchfiles import watch

    root = workspace.resolve()
    ready = on_ready is None

    def keep(_kind: Any, raw: str) -> bool:
        return wanted(root, Path(raw))

    for events in watch(root, watch_filter=keep, stop_event=stop, debounce=debounce_ms,
                        step=50, rust_timeout=WAKE_MS, yield_on_timeout=True, recursive=True,
                        raise_interrupt=False):
        if not ready and on_ready is not None:
            ready = True
            on_ready()
        if events:
            on_batch([(Path(raw), kind == Kind.deleted) for kind, raw in events])


class Follower:
    """`follow` in a daemon thread of its own, from `start` until `stop`. Each callback runs
    guarded: an error is logged and kept for `status` (one bad file or a busy index must not
    end the loop); a watch that cannot start or dies is logged and ends the thread, while the
    rest of the program keeps working from the index as it is."""

    def __init__(self, workspace: Path, on_batch: Callable[[list[Change]], None],
                 on_ready: Callable[[], None] | None = None, *,
                 debounce_ms: int = DEBOUNCE_MS, name: str = "localgpt-follow") -> None:
        self.workspace = workspace.resolve()
        self.debounce_ms = debounce_ms
        self._on_batch = on_batch
        self._on_ready = on_ready
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.ready = threading.Event()  # the first sync is done (or the watch gave up)
        self.batches = 0
        self.last_sync: float | None = None
        self.last_error: str | None = None

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end (it notices within WAKE_MS) and wait up to `timeout` for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return {"running": self._thread.is_alive(), "ready": self.ready.is_set(),
                "batches": self.batches, "last_sync": self.last_sync,
                "last_error": self.last_error}

    def _run(self) -> None:
        def ready() -> None:
            if self._on_ready is not None:
                self._guarded(self._on_ready)
            self.ready.set()

        def batch(changes: list[Change]) -> None:
            self.batches += 1
            self._guarded(lambda: self._on_batch(changes))

        try:
            follow(self.workspace, self._stop, batch, ready, self.debounce_ms)
        except Exception as exc:
            self.last_error = f"watcher stopped: {exc}"
            log.error("watching %s stopped: %s", self.workspace, exc)
        finally:
            self.ready.set()

    def _guarded(self, job: Callable[[], Any]) -> None:
        try:
            job()
            self.last_error = None
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("memory index update failed: %s", exc)
        self.last_sync = time.time()


class IndexFollower(Follower):
    """The index in step with the workspace while a door runs: once the OS watch is in place,
    a full (incremental) sync with its vectors, so a change made meanwhile arrives as the next
    batch; then each batch through `apply_changes`. `open_index` is called in the follower's
    thread, so a door can hand over an index that opens (and loads its model) on first use."""

    def __init__(self, workspace: Path, open_index: Callable[[], Index], *,
                 debounce_ms: int = DEBOUNCE_MS, name: str = "localgpt-index") -> None:
        self._open_index = open_index
        super().__init__(workspace, self._apply, self._full_sync, debounce_ms=debounce_ms,
                         name=name)

    def _full_sync(self) -> None:
        memory = self._open_index()
        memory.reindex()
        memory.embed_pending()

    def _apply(self, changes: list[Change]) -> None:
        apply_changes(self._open_index(), self.workspace, changes)
