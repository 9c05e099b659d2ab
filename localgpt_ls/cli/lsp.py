"""`localgpt lsp` (built by "Language server, part 1")."""

from __future__ import annotations

from typing import Any

from localgpt_ls.cli.common import not_implemented


def register(sub: Any) -> None:
    p = sub.add_parser("lsp", help="run the language server (stdio by default)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.set_defaults(handler=not_implemented)
