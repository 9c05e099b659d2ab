"""Writing a heartbeat alert into the daily log, memory/YYYY-MM-DD.md, without losing user text.

The file may be open in an editor or hold bytes that are not UTF-8: the entry is appended to the
existing bytes exactly as they are, written through a temporary file and a rename (a crash never
leaves half a file), and the write is retried if the file changed while we composed it (so a save
from the editor in that moment is kept, not overwritten).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from localgpt_ls.workspace import safe_path

_ATTEMPTS = 5


def entry_text(text: str, local_now: datetime) -> str:
    """`## Heartbeat HH:MM` followed by the alert, as appended to the daily log."""
    return f"## Heartbeat {local_now:%H:%M}\n\n{text.strip()}\n"


def daily_log_path(workspace: Path, local_now: datetime) -> Path:
    """memory/YYYY-MM-DD.md for the user's local date; refuses a symlink that leads outside."""
    return safe_path(workspace, f"memory/{local_now:%Y-%m-%d}.md")


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _replace_if_unchanged(path: Path, data: bytes, mode: int | None,
                          expected: tuple[int, int] | None) -> bool:
    """Write `data` to a temporary file, then rename it over `path` only if `path` still has the
    signature it had when we read it (the window for a lost editor save is the rename alone)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if _signature(path) != expected:
            Path(tmp).unlink(missing_ok=True)
            return False
        os.replace(tmp, path)
        return True
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_to_daily_log(workspace: Path, text: str, local_now: datetime) -> Path:
    """Append the entry to today's log (creating it with an H1 if new); returns the file."""
    path = daily_log_path(workspace, local_now)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = entry_text(text, local_now).encode("utf-8", "surrogatepass")
    for _ in range(_ATTEMPTS):
        before = _signature(path)
        if before is None:
            old = f"# {local_now:%Y-%m-%d}\n".encode()
            mode = None
        else:
            try:
                old = path.read_bytes()
                mode = path.stat().st_mode & 0o777
            except FileNotFoundError:
                continue
        # Exactly one blank line between the user's text and the entry.
        trailing_newlines = len(old) - len(old.rstrip(b"\n"))
        sep = b"\n" * max(0, 2 - trailing_newlines) if old else b""
        if _replace_if_unchanged(path, old + sep + entry, mode, before):
            return path
    # The file keeps changing under us (an editor autosaving): append in place, which can never
    # overwrite what the editor wrote.
    with path.open("ab") as handle:
        handle.write(b"\n" + entry)
    return path
