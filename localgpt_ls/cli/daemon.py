"""`localgpt daemon` (built by "Daemon")."""

from __future__ import annotations

from typing import Any

from localgpt_ls.cli.common import not_implemented


def register(sub: Any) -> None:
    p = sub.add_parser("daemon", help="run the localhost HTTP API and web UI")
    p.add_argument("--bind", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 31327)")
    p.set_defaults(handler=not_implemented)
