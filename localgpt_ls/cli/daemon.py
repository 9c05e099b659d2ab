"""`localgpt daemon`: the localhost HTTP API and web UI, in the foreground; `localgpt desktop`:
the same UI in a native window over an in-process daemon."""

from __future__ import annotations

import argparse
from typing import Any

from localgpt_ls.config import load_config


def register(sub: Any) -> None:
    p = sub.add_parser("daemon", help="run the localhost HTTP API and web UI")
    p.add_argument("--bind", default=None,
                   help="address to bind (default [server] bind, else 127.0.0.1)")
    p.add_argument("--port", type=int, default=None,
                   help="port (default [server] port, else 31327; 0 picks a free one)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow binding a non-loopback address (reachable from other machines)")
    p.add_argument("--no-watch", action="store_true",
                   help="do not follow workspace changes into the memory index")
    p.add_argument("--no-heartbeat", action="store_true", help="do not run the heartbeat")
    p.set_defaults(handler=run)

    d = sub.add_parser("desktop", help="open the web UI in a native window "
                                       "(optional extra: pip install -e '.[desktop]' "
                                       "from your LocalGPT-LS folder)")
    d.add_argument("--no-watch", action="store_true",
                   help="do not follow workspace changes into the memory index")
    d.add_argument("--no-heartbeat", action="store_true", help="do not run the heartbeat")
    d.set_defaults(handler=run_desktop)


def run(args: argparse.Namespace) -> int:
    # Imported here so `localgpt --version` never pays for Starlette and uvicorn.
    from localgpt_ls.engine import Engine
    from localgpt_ls.http.server import ServeOptions, check_bind, serve

    config = load_config()
    bind = args.bind or config.server.bind
    check_bind(bind, args.allow_remote)  # before the engine opens anything
    options = ServeOptions(bind=bind, port=config.server.port if args.port is None else args.port,
                           allow_remote=args.allow_remote, watch=not args.no_watch,
                           heartbeat=not args.no_heartbeat)
    return serve(options, Engine(config=config))


def run_desktop(args: argparse.Namespace) -> int:
    from localgpt_ls.engine import Engine
    from localgpt_ls.http.desktop import run_desktop as open_window

    return open_window(lambda: Engine(config=load_config()), watch=not args.no_watch,
                       heartbeat=not args.no_heartbeat)
