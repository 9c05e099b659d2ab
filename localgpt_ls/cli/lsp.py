"""`localgpt lsp [--tcp HOST:PORT]`: the language server (stdio by default)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from localgpt_ls.errors import LocalGPTError


def run(args: argparse.Namespace) -> int:
    # Imported here: `localgpt --version` must not pay for pygls.
    from localgpt_ls.lsp.serve import start

    if args.tcp is not None and not re.fullmatch(r"[^\s:]*:\d{1,5}", args.tcp):
        raise LocalGPTError(f"--tcp wants HOST:PORT (e.g. 127.0.0.1:2087), got '{args.tcp}'")
    if args.tcp is None and sys.stdin.isatty():
        # Typed in a terminal, the server would wait for LSP messages in silence.
        print("localgpt lsp is a language server: your editor starts it and talks LSP over "
              "stdin/stdout (set up VS Code or Neovim as the README says; `localgpt chat` "
              "chats in a terminal). Waiting for LSP messages; Ctrl-D quits.", file=sys.stderr)
    start(args.tcp)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("lsp", help="run the language server (stdio by default)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--stdio", action="store_true", help="use stdio (the default; for editors "
                   "that always pass it)")
    p.set_defaults(handler=run)
