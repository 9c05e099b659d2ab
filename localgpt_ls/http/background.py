"""The daemon's background jobs: the workspace watcher and the heartbeat.

The watcher keeps the memory index fresh while the daemon runs: it brings the index up to date
once at start, then follows file changes (debounced by watchfiles, deletions included) in its
own thread, because indexing and embedding are blocking work that must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from localgpt_ls.engine import Engine
from localgpt_ls.memory import MemoryIndex

log = logging.getLogger("localgpt_ls.http")

DEBOUNCE_MS = 400
WAKE_MS = 500  # how often the idle watcher wakes (first sync, stop requests)


def _is_memory_file(workspace: Path, path: Path) -> bool:
    """A markdown file the index cares about: under the workspace, in no hidden folder."""
    try:
        parts = path.relative_to(workspace).parts
    except ValueError:
        return False
    return bool(parts) and not any(p.startswith(".") for p in parts) and path.suffix == ".md"


class WorkspaceWatcher:
    """Follows the workspace in a thread and tells the memory index what changed."""

    def __init__(self, engine: Engine, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.engine = engine
        self.workspace = engine.workspace.resolve()
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="localgpt-watcher", daemon=True)
        self.ready = threading.Event()
        self.batches = 0
        self.last_sync: float | None = None
        self.last_error: str | None = None

    def start(self) -> WorkspaceWatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return {"running": self._thread.is_alive(), "ready": self.ready.is_set(),
                "batches": self.batches, "last_sync": self.last_sync,
                "last_error": self.last_error}

    def _run(self) -> None:
        from watchfiles import Change, watch

        memory = self.engine.memory
        try:
            # The first (empty) yield comes once the OS watch is in place; the full sync runs
            # after it, so a change made while the sync runs is buffered and applied next.
            for changes in watch(self.workspace, stop_event=self._stop, debounce=self.debounce_ms,
                                 step=50, rust_timeout=WAKE_MS, yield_on_timeout=True,
                                 recursive=True, raise_interrupt=False):
                if not self.ready.is_set():
                    self._guarded(lambda: self._full_sync(memory))
                    self.ready.set()
                if not changes:
                    continue
                batch = [(change, Path(raw)) for change, raw in changes]
                self._guarded(lambda b=batch: self._apply(memory, b, Change.deleted))
        except Exception as exc:  # the daemon keeps serving without the watcher
            self.last_error = f"watcher stopped: {exc}"
            log.error("workspace watcher stopped: %s", exc)
        finally:
            self.ready.set()

    def _guarded(self, job: Any) -> None:
        try:
            job()
            self.last_error = None
        except Exception as exc:  # one bad file or a busy index must not end the watcher
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("memory index update failed: %s", exc)
        self.last_sync = time.time()

    def _full_sync(self, memory: MemoryIndex) -> None:
        memory.reindex()
        self._embed(memory)

    def _apply(self, memory: MemoryIndex, batch: list[tuple[Any, Path]], deleted: Any) -> None:
        """Per-file updates when every change is a markdown file; otherwise (a folder moved or
        removed, where single events do not name every file) an incremental reindex."""
        self.batches += 1
        relevant = [(c, p) for c, p in batch if _is_memory_file(self.workspace, p)]
        others = [p for _c, p in batch if not _is_memory_file(self.workspace, p)
                  and not _hidden(self.workspace, p) and (p.is_dir() or not p.suffix)]
        if others:
            memory.reindex()
        else:
            for change, path in relevant:
                if change == deleted or not path.exists():
                    memory.remove_file(path)
                else:
                    memory.index_file(path, embed=False)  # vectors for the batch, below
        self._embed(memory)

    def _embed(self, memory: MemoryIndex) -> None:
        memory.embed_pending()


def _hidden(workspace: Path, path: Path) -> bool:
    try:
        return any(p.startswith(".") for p in path.relative_to(workspace).parts)
    except ValueError:
        return True


def start_watcher(engine: Engine) -> WorkspaceWatcher:
    return WorkspaceWatcher(engine).start()


def start_heartbeat(engine: Engine, alerts: deque[dict[str, Any]]) -> asyncio.Task[Any]:
    """Run the heartbeat for as long as the daemon runs; its alerts are logged and kept for
    /api/status and the web UI."""
    async def deliver(text: str) -> None:
        alerts.append({"time": time.time(), "text": text})
        log.warning("heartbeat: %s", text)

    async def run() -> None:
        try:
            await engine.heartbeat.run_forever(deliver)
        except asyncio.CancelledError:
            raise
        except Exception:  # the API stays up; /api/status shows the heartbeat stopped
            log.exception("the heartbeat stopped")

    return asyncio.create_task(run(), name="localgpt-heartbeat")
