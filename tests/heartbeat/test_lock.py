"""One heartbeat per workspace across processes: two real processes, one runs, the other stays
idle and takes over when the first exits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from localgpt_ls.config import HeartbeatConfig
from localgpt_ls.heartbeat import HeartbeatRunner
from tests.heartbeat.conftest import TASKS
from tests.waiting import wait_for

HOLDER = Path(__file__).with_name("lock_holder.py")


def runs_by(marks: Path, pid: int) -> int:
    return sum(1 for p in marks.iterdir() if p.name.startswith(f"{pid}-"))


async def unused_turn(prompt: str) -> str:
    raise AssertionError("status must not call the model")


def test_second_process_idles_then_takes_over(ws: Path, tmp_path: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    marks = tmp_path / "marks"
    marks.mkdir()

    def spawn() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(HOLDER), str(ws), str(marks)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = spawn()
    second = None
    try:
        assert wait_for(lambda: runs_by(marks, first.pid) >= 1, 15), first.stderr
        second = spawn()
        assert second.stdout is not None and second.stdout.readline() == "started\n"
        before = runs_by(marks, first.pid)
        time.sleep(1.5)  # the second process polls every 0.2 s and would run every 1 s
        assert runs_by(marks, second.pid) == 0
        assert runs_by(marks, first.pid) > before  # the first one kept running

        status = HeartbeatRunner(ws, HeartbeatConfig(), unused_turn).status()
        assert status["runner"] == {"pid": first.pid, "this_process": False}
        assert status["next_run"] is not None

        first.terminate()
        first.wait(10)
        assert wait_for(lambda: runs_by(marks, second.pid) >= 1, 10)
        status = HeartbeatRunner(ws, HeartbeatConfig(), unused_turn).status()
        assert status["runner"]["pid"] == second.pid
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
