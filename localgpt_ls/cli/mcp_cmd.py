"""`localgpt mcp`: the MCP server over stdio, for Claude Code, Claude Desktop, Cursor, Codex."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("mcp", help="serve memory and the assistant to MCP clients over stdio")
    p.add_argument("--no-watch", action="store_true",
                   help="do not follow workspace changes into the memory index")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: `localgpt --version` must not pay for the MCP SDK.
    from localgpt_ls.engine import Engine
    from localgpt_ls.mcp.server import serve_stdio

    return serve_stdio(Engine(), watch=not args.no_watch)
