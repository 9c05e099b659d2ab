"""Helpers shared by CLI commands: JSON output, the progress bar, and how log records reach
the terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from localgpt_ls.errors import LocalGPTError

# LOCALGPT_LOG=debug|info: every record, with its level and logger (the documented switch).
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Commands that run a server and set up their own logging (format, level) when it starts.
SERVER_COMMANDS = frozenset({"daemon", "lsp", "mcp"})


def not_implemented(args: argparse.Namespace) -> int:
    raise LocalGPTError(f"'{args.command}' is not implemented yet in this version")


def count_at_least_one(text: str) -> int:
    """argparse type for counts like -n: a whole number from 1, so `-n -1` or `-n 0` is a
    usage error naming the option instead of an empty answer that looks like no data."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


class ProgressBar:
    """A one-line bar on stderr, drawn only on a terminal and at most ~20 times a second.

    The bar being drawn is `ProgressBar.active`, so a message printed meanwhile (a warning from
    the core) can wipe it first instead of landing in the middle of it.
    """

    active: ClassVar[ProgressBar | None] = None

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0
        self._drawn = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.05:
            return
        self._last = now
        width = 30
        filled = int(width * done / total)
        label = {"index": "indexing", "embed": "embedding", "scan": "scanning"}.get(phase, phase)
        sys.stderr.write(f"\r{label:<9} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done}/{total}   ")
        sys.stderr.flush()
        self._drawn = True
        ProgressBar.active = self

    def clear(self) -> None:
        """Wipe the bar's line; the next update draws it again."""
        if self._drawn:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()
            self._drawn = False

    def finish(self) -> None:
        self.clear()
        if ProgressBar.active is self:
            ProgressBar.active = None


class _TerminalHandler(logging.Handler):
    """Writes records to the current stderr (looked up per record, so a test's captured stream
    works), after wiping a progress bar that is on the line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if ProgressBar.active is not None:
                ProgressBar.active.clear()
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


class _UserFormatter(logging.Formatter):
    """`warning: ...`, the way the CLI words problems that do not stop a command."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _log_level(value: str) -> int:
    level = logging.getLevelName(value.strip().upper())
    if not isinstance(level, int):
        raise LocalGPTError(f"LOCALGPT_LOG={value!r} is not a log level; use debug, info, "
                            "warning or error, or unset it")
    return level


@contextlib.contextmanager
def cli_logging(command: str | None) -> Iterator[None]:
    """Route log records to the terminal for one command, and undo it afterwards.

    Without a handler, Python prints a warning bare on stderr (over a progress bar, and again
    when a command repeats it), so every warning from the core is shown here, once, as
    `warning: ...`. LOCALGPT_LOG=debug|info shows every record at that level instead. Servers
    (daemon, lsp) keep their own set-up unless LOCALGPT_LOG asks for a level.
    """
    root = logging.getLogger()
    setting = os.environ.get("LOCALGPT_LOG", "").strip()
    if setting:
        level = _log_level(setting)
        handler: logging.Handler = _TerminalHandler(level)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    elif command in SERVER_COMMANDS:
        yield
        return
    else:
        level = logging.WARNING
        handler = _TerminalHandler(level)
        handler.setFormatter(_UserFormatter())
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous, level))  # never hide records another handler already takes
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
