"""`localgpt heartbeat once|status`: the background check of HEARTBEAT.md from the terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from typing import Any

from localgpt_ls.cli.common import print_json
from localgpt_ls.engine import Engine


def register(sub: Any) -> None:
    p = sub.add_parser("heartbeat", help="the background check of HEARTBEAT.md")
    hs = p.add_subparsers(dest="heartbeat_command", metavar="ACTION", required=True)
    once = hs.add_parser("once", help="run one heartbeat now (ignores interval and active hours)")
    once.add_argument("--json", action="store_true")
    once.set_defaults(handler=run_once)
    status = hs.add_parser("status", help="last run, outcome and next run")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=show_status)


SKIP_TEXT = {
    "empty-file": "HEARTBEAT.md has no tasks (only headings, comments or empty items), so the "
                  "model was not called; add a task to wake the heartbeat",
    "no-model": "no model is configured, so the heartbeat cannot run; set ANTHROPIC_API_KEY or "
                "OPENAI_API_KEY, start Ollama, or set [agent] default_model in config.toml",
    "busy": "another heartbeat is running for this workspace right now; try again shortly",
}


def run_once(args: argparse.Namespace) -> int:
    """One heartbeat now. Exit 0 for ok/alert/skipped, 1 when the run failed."""
    engine = Engine()
    try:
        result = asyncio.run(engine.heartbeat.run_once())
    finally:
        engine.close()
    if args.json:
        print_json(result.to_dict())
        return 1 if result.outcome == "failed" else 0
    seconds = result.duration_ms / 1000
    if result.outcome == "ok":
        print(f"HEARTBEAT_OK: nothing needs attention ({seconds:.1f} s)")
    elif result.outcome == "alert":
        print(result.text)
        if result.duplicate:
            print("(the same alert was delivered within the last 24 h; not logged again)",
                  file=sys.stderr)
        elif result.daily_log:
            print(f"(logged in {result.daily_log})", file=sys.stderr)
    elif result.outcome == "skipped":
        print(f"skipped: {SKIP_TEXT.get(result.reason or '', result.reason)}")
    else:
        print(f"localgpt: heartbeat failed: {result.reason}", file=sys.stderr)
        return 1
    return 0


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def show_status(args: argparse.Namespace) -> int:
    engine = Engine()
    try:
        status = engine.heartbeat.status()
    finally:
        engine.close()
    if args.json:
        print_json(status)
        return 0
    print(f"Heartbeat for {status['workspace']}")
    if status["config_error"]:
        print(f"  config:    {status['config_error']}")
    if status["enabled"]:
        schedule = f"every {status['interval']}"
        hours = status["active_hours"]
        if hours:
            now = "active now" if status["active_now"] else "outside them now"
            schedule += f", active {hours['start']}-{hours['end']} {hours['timezone']} ({now})"
    elif status["config_error"]:
        schedule = "off until the config problem above is fixed"
    else:
        schedule = "off ([heartbeat] enabled = false or interval = \"0m\")"
    print(f"  schedule:  {schedule}")
    if status["last_run"]:
        duration = status.get("duration_ms") or 0
        outcome = status["outcome"]
        if outcome == "alert" and status.get("duplicate"):
            outcome += ", not shown again (the same alert was delivered within 24 h)"
        print(f"  last run:  {_when(status['last_run'])}  {outcome}  "
              f"({duration / 1000:.1f} s)")
    else:
        print("  last run:  never")
    runner = status["runner"]
    if runner:
        print(f"  next run:  {_when(status['next_run'])}  (run by process {runner['pid']})")
    else:
        print("  next run:  - (runs while an editor or `localgpt daemon` is open; "
              "`localgpt heartbeat once` runs one now)")
    return 0
