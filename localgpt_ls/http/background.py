"""The daemon's background jobs: the workspace watcher and the heartbeat.

The watcher keeps the memory index fresh while the daemon runs: it brings the index up to date
once at start, then follows file changes in its own thread (indexing and embedding block). It
is `index_sync.IndexFollower`, the same follower `localgpt mcp` runs; the watch loop and what an
event does to the index are `localgpt_ls/index_sync.py`, which the language server runs too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from localgpt_ls.engine import Engine
from localgpt_ls.index_sync import IndexFollower

log = logging.getLogger("localgpt_ls.http")


def start_watcher(engine: Engine) -> IndexFollower:
    """The watcher: the engine's follower (index_sync.IndexFollower), which `localgpt mcp`
    runs too; its status() is the `watcher` of /api/status."""
    return engine.follow_index("localgpt-watcher")


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
