"""`localgpt heartbeat once|status` (built by "Heartbeat")."""

from __future__ import annotations

from typing import Any

from localgpt_ls.cli.common import not_implemented


def register(sub: Any) -> None:
    p = sub.add_parser("heartbeat", help="the background check of HEARTBEAT.md")
    hs = p.add_subparsers(dest="heartbeat_command", metavar="ACTION", required=True)
    once = hs.add_parser("once", help="run one heartbeat now")
    once.add_argument("--json", action="store_true")
    once.set_defaults(handler=not_implemented)
    status = hs.add_parser("status", help="last run, outcome and next run")
    status.set_defaults(handler=not_implemented)
