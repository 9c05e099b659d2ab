"""A debouncer: run the latest scheduled job per key after a quiet period (diagnostics after
typing pauses, memory index updates after a save)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("localgpt.lsp")


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
