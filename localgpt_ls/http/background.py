"""The daemon's background jobs: the workspace watcher and the heartbeat.

The watcher keeps the memory index fresh while the daemon runs: it brings the index up to date
once at start, then follows file changes in its own thread (indexing and embedding block). The
watch loop and what an event does to the index are `localgpt_ls/index_sync.py`, which the
language server runs too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from typing import Any

from localgpt_ls.engine import Engine
from localgpt_ls.index_sync import DEBOUNCE_MS, Change, apply_changes, follow
from localgpt_ls.memory import MemoryIndex

log = logging.getLogger("localgpt_ls.http")


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
        memory = self.engine.memory

        def ready() -> None:
            self._guarded(lambda: self._full_sync(memory))
            self.ready.set()

        def batch(changes: list[Change]) -> None:
            self.batches += 1
            self._guarded(lambda: apply_changes(memory, self.workspace, changes))

        try:
            follow(self.workspace, self._stop, batch, ready, self.debounce_ms)
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
        memory.embed_pending()


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
