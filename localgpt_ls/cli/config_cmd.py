"""`localgpt config show|path|init`."""

from __future__ import annotations

import argparse
from typing import Any

from localgpt_ls import paths
from localgpt_ls.config import Config, load_config, to_dict, to_toml
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.workspace import atomic_write


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="show, locate or create config.toml")
    cs = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = cs.add_parser("show", help="print the effective configuration (secrets masked)")
    show.set_defaults(handler=run_show)
    path = cs.add_parser("path", help="print where config.toml lives")
    path.set_defaults(handler=run_path)
    init = cs.add_parser("init", help="write a config.toml with every default")
    init.add_argument("--force", action="store_true", help="overwrite an existing config.toml")
    init.set_defaults(handler=run_init)


def run_show(args: argparse.Namespace) -> int:
    config = load_config()
    print(f"# {config.source or paths.config_path()} (workspace: {config.workspace()})")
    print(to_toml(to_dict(config)), end="")
    return 0


def run_path(args: argparse.Namespace) -> int:
    print(paths.config_path())
    return 0


def run_init(args: argparse.Namespace) -> int:
    target = paths.config_path()
    if target.exists() and not args.force:
        raise LocalGPTError(f"{target} already exists; use --force to replace it with defaults")
    header = ("# LocalGPT configuration. Every key is optional; these are the defaults.\n"
              "# Secrets may say ${VAR} to read an environment variable.\n\n")
    try:
        atomic_write(target, header + to_toml(to_dict(Config(), redact=False)))
    except OSError as exc:
        why = paths.home_problem() or (f"{exc.strerror}; check that LOCALGPT_HOME "
                                       f"({paths.home()}) is a writable folder")
        raise LocalGPTError(f"cannot write {target}: {why}") from None
    print(f"wrote {target}")
    return 0
