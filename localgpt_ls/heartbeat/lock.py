"""One heartbeat per workspace across processes, with OS file locks.

Two locks, both under `paths.state_dir(workspace)`:
- the owner lock, held for as long as a process runs the schedule (an editor session, the
  daemon). Other processes stay idle and poll it; when the holder exits (or crashes: the OS
  drops the lock with the process) the next poll takes over.
- the run lock, held only while one heartbeat runs, so a manual `heartbeat once` (or the
  editor's "Run now") never runs at the same time as the scheduled one in another process.

The locks are `flock`/`LockFileEx` locks through the `filelock` package: they need no cleanup
and never go stale, unlike pid files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from localgpt_ls import paths


def lock_dir(workspace: Path) -> Path:
    """Where the locks live (created on first acquire, so building a runner touches nothing)."""
    return paths.state_dir(workspace)


class ProcessLock:
    """A non-blocking, non-reentrant OS lock on one file.

    Each instance opens its own file descriptor, so two instances conflict even inside one
    process (two language servers in one test process behave like two editors).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # thread_local=False: the event loop may acquire and a worker thread release.
        self._lock = FileLock(str(path), timeout=0, thread_local=False, is_singleton=False)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def try_acquire(self) -> bool:
        """Take the lock if free; never waits. Returns whether this instance holds it."""
        if self._lock.is_locked:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    def is_free(self) -> bool:
        """Whether nobody (in any process, this instance included) holds the lock now."""
        if self.held:
            return False
        probe = FileLock(str(self.path), timeout=0, thread_local=False, is_singleton=False)
        try:
            probe.acquire(timeout=0)
        except Timeout:
            return False
        except OSError:  # cannot even open the lock file: nobody can be holding it here
            return True
        probe.release(force=True)
        return True


class OwnerLock(ProcessLock):
    """The schedule owner's lock plus a small JSON note saying who holds it (for `status`)."""

    def __init__(self, workspace: Path) -> None:
        folder = lock_dir(workspace)
        super().__init__(folder / "heartbeat.owner.lock")
        self.note = folder / "heartbeat.owner.json"

    def try_acquire(self) -> bool:
        was_held = self.held
        got = super().try_acquire()
        if got and not was_held:
            self.note.write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
        return got

    def owner(self) -> dict[str, Any] | None:
        """{"pid": int, "this_process": bool} of the live owner, or None when nobody runs it."""
        if self.held:
            return {"pid": os.getpid(), "this_process": True}
        if self.is_free():
            return None
        try:
            pid = int(json.loads(self.note.read_text(encoding="utf-8"))["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            pid = None
        return {"pid": pid, "this_process": False}


def run_lock(workspace: Path) -> ProcessLock:
    return ProcessLock(lock_dir(workspace) / "heartbeat.run.lock")
