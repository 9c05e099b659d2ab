"""`localgpt init`."""

from __future__ import annotations

import argparse
from typing import Any

from localgpt_ls.config import load_config
from localgpt_ls.workspace import init_workspace


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create the workspace (SOUL.md, MEMORY.md, HEARTBEAT.md, ...)")
    p.add_argument("--force", action="store_true", help="overwrite existing template files")
    p.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    workspace = load_config().workspace()
    written = init_workspace(workspace, force=args.force)
    print(f"Workspace: {workspace}")
    for path in written:
        print(f"  created {path.relative_to(workspace)}")
    if not written:
        print("  all files already exist (use --force to overwrite them with the templates)")
    return 0
