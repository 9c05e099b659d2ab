"""A process that runs the heartbeat schedule of one workspace (for the cross-process lock test).

Usage: python lock_holder.py WORKSPACE MARKS_DIR. Every model call leaves a file named after this
process's pid in MARKS_DIR, so the test sees which process ran the heartbeat.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from localgpt_ls.config import HeartbeatConfig
from localgpt_ls.heartbeat import HeartbeatRunner


def main() -> None:
    workspace, marks = Path(sys.argv[1]), Path(sys.argv[2])

    async def turn(prompt: str) -> str:
        (marks / f"{os.getpid()}-{time.monotonic_ns()}").touch()
        return "HEARTBEAT_OK"

    runner = HeartbeatRunner(workspace, HeartbeatConfig(interval="1s"), turn,
                             lock_poll_seconds=0.2)
    print("started", flush=True)
    asyncio.run(runner.run_forever())


if __name__ == "__main__":
    main()
