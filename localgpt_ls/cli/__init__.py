"""`localgpt`: the command-line door. Each command group lives in its own module and registers
its subcommands here; this module parses, dispatches and turns LocalGPTError into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from localgpt_ls import __version__
from localgpt_ls.cli import (
    chat,
    config_cmd,
    daemon,
    heartbeat,
    lsp,
    mcp_cmd,
    memory,
    workspace_cmd,
)
from localgpt_ls.cli.common import cli_logging
from localgpt_ls.errors import LocalGPTError

GROUPS = (workspace_cmd, chat, memory, heartbeat, daemon, lsp, mcp_cmd, config_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localgpt",
        description="A local-first assistant with markdown memory, for the terminal and editors.",
    )
    parser.add_argument("--version", action="version", version=f"localgpt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        with cli_logging(args.command):
            return int(handler(args) or 0)
    except LocalGPTError as exc:
        print(f"localgpt: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def lsp_main() -> int:
    """The `localgpt-ls` script: the language server over stdio."""
    return main(["lsp", *sys.argv[1:]])
