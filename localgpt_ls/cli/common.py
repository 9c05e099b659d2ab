"""Helpers shared by CLI commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from localgpt_ls.errors import LocalGPTError


def not_implemented(args: argparse.Namespace) -> int:
    raise LocalGPTError(f"'{args.command}' is not implemented yet in this version")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
