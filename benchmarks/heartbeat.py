"""What an idle heartbeat costs: the work done on every tick when there is nothing to do.

- empty_rule: the empty-file check of HEARTBEAT.md (the shipped template, and 200 KB of
  headings, empty items and comments: the worst case, every line is read).
- token_rule: the HEARTBEAT_OK rule on a short reply and on a 20 KB reply.
- skipped_tick: one `run_once` on the comment-only template (run lock, read, rule, status
  written to disk): the whole cost of a tick in a workspace without tasks.
- status: `status()` (status file read plus the owner-lock probe), what the code lens and
  `localgpt heartbeat status` pay.
- cli_once: wall time of a cold `localgpt heartbeat once --json` on the template (process start
  included), what a user or a cron job waits for.

    python benchmarks/heartbeat.py [--runs 2000]

Prints a table and writes benchmarks/results/heartbeat.json. The machine is shared while the
team works, so figures are noisy: compare orders of magnitude, rerun before quoting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from localgpt_ls.config import HeartbeatConfig  # noqa: E402
from localgpt_ls.heartbeat import HeartbeatRunner  # noqa: E402
from localgpt_ls.heartbeat.rules import is_effectively_empty, strip_token  # noqa: E402
from localgpt_ls.workspace import init_workspace, template_text  # noqa: E402


def per_call_us(fn: Callable[[], Any], runs: int) -> float:
    """Median of 5 batches, in microseconds per call."""
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(runs):
            fn()
        batches.append((time.perf_counter() - t0) / runs * 1e6)
    return statistics.median(batches)


async def never(prompt: str) -> str:
    raise AssertionError("an empty HEARTBEAT.md must not call the model")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    runs = args.runs
    results: dict[str, Any] = {}

    template = template_text("HEARTBEAT.md")
    # Worst case: 200 KB of structure only, so every line must be read before skipping.
    big = "# Tasks\n" + "## A heading\n- [ ]\n<!-- a comment about the tasks -->\n\n" * 3500
    results["empty_rule_template_us"] = per_call_us(lambda: is_effectively_empty(template), runs)
    results["empty_rule_200kb_us"] = per_call_us(lambda: is_effectively_empty(big),
                                                 max(1, runs // 100))
    long_reply = "The deadline is close. " * 900 + "HEARTBEAT_OK"
    results["token_rule_short_us"] = per_call_us(lambda: strip_token("**HEARTBEAT_OK**"), runs)
    results["token_rule_20kb_us"] = per_call_us(lambda: strip_token(long_reply), runs // 10)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LOCALGPT_HOME"] = str(Path(tmp) / "home")
        workspace = Path(tmp) / "workspace"
        init_workspace(workspace)
        runner = HeartbeatRunner(workspace, HeartbeatConfig(), never)
        tick_runs = max(1, runs // 10)

        async def ticks() -> float:
            t0 = time.perf_counter()
            for _ in range(tick_runs):
                result = await runner.run_once()
                assert result.label == "skipped:empty-file"
            return (time.perf_counter() - t0) / tick_runs * 1e6

        results["skipped_tick_us"] = asyncio.run(ticks())
        results["status_us"] = per_call_us(runner.status, tick_runs)

        env = {**os.environ, "LOCALGPT_WORKSPACE": str(workspace)}
        walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "localgpt_ls", "heartbeat", "once",
                                  "--json"], capture_output=True, text=True, env=env, check=True)
            walls.append(time.perf_counter() - t0)
            assert json.loads(out.stdout)["outcome"] == "skipped:empty-file"
        results["cli_once_ms"] = statistics.median(walls) * 1000

    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}
    for key, value in results.items():
        if isinstance(value, float):
            print(f"{key:<28} {value:10.1f}")
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "heartbeat.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out_dir / 'heartbeat.json'}")


if __name__ == "__main__":
    main()
