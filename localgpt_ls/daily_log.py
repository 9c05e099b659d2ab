"""The daily log, `memory/YYYY-MM-DD.md`: where it is, how it starts, what an entry looks like,
and the one way anything is appended to it (or to MEMORY.md).

Every writer calls here: the `memory_append` tool (agent, CLI, daemon, MCP), the heartbeat's
delivery, the editor's "remember" and "open today's log". A door that has the file open in an
editor appends the same entry text through the editor instead (never behind its back).

The append is atomic with respect to other writers: under a per-workspace file lock, with
O_APPEND, so two processes (an editor and the daemon, the heartbeat and a chat) interleave
whole entries and no byte already in the file is rewritten; bytes that are not UTF-8 stay as
they are. Exactly one blank line separates an entry from what came before.
"""

from __future__ import annotations

import os
import stat
from datetime import date, datetime
from pathlib import Path

from filelock import FileLock

from localgpt_ls import paths
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.textsafety import clean_input
from localgpt_ls.workspace import create_workspace_file, open_in_workspace, safe_path

LOCK_TIMEOUT = 10.0  # seconds; another writer holds the lock for one write only


def rel_path(day: date) -> str:
    """The daily log of a (local) day, workspace-relative."""
    return f"memory/{day.isoformat()}.md"


def is_memory_log(rel: str) -> bool:
    """MEMORY.md and the files under memory/: logs of separate entries (a fact, an event),
    which search indexes one entry at a time (`markdown.entry_chunks`)."""
    rel = rel.replace("\\", "/")
    return rel == "MEMORY.md" or (rel.startswith("memory/") and rel.count("/") == 1)


def header(day: date) -> str:
    """How a new daily log starts: its date as the H1, then a blank line."""
    return f"# {day.isoformat()}\n\n"


def path(workspace: Path, day: date) -> Path:
    """The daily log's file; refuses a symlink that leads out of the workspace."""
    return safe_path(workspace, rel_path(day))


def note_entry(text: str, now: datetime) -> str:
    """Something written down today: `- HH:MM text`, or a `## HH:MM` section for several
    lines."""
    text = text.strip()
    return f"- {now:%H:%M} {text}" if "\n" not in text else f"## {now:%H:%M}\n\n{text}"


def heartbeat_entry(text: str, now: datetime) -> str:
    """A heartbeat result: `## Heartbeat HH:MM` followed by the alert."""
    return f"## Heartbeat {now:%H:%M}\n\n{text.strip()}\n"


def append(workspace: Path, file: Path, entry: str, start: str) -> None:
    """Append `entry` to `file` (creating it with `start`, e.g. `header(day)`), atomically
    with respect to every other writer (see the module docstring). Blocking."""
    state = paths.state_dir(workspace)
    state.mkdir(parents=True, exist_ok=True)
    entry = clean_input(entry)
    with FileLock(str(state / "append.lock")).acquire(timeout=LOCK_TIMEOUT):
        # Opened once, through folders opened without following links (a folder swapped for
        # a link meanwhile fails the open), and size, tail and write all go through that fd.
        fd = open_in_workspace(workspace, file, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644,
                               create_dirs=True)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise LocalGPTError(f"'{file.name}' is not a regular file; move it aside")
            if st.st_size == 0:
                prefix = start
            else:
                os.lseek(fd, max(0, st.st_size - 2), os.SEEK_SET)
                tail = os.read(fd, 2)
                prefix = "" if tail.endswith(b"\n\n") else (
                    "\n" if tail.endswith(b"\n") else "\n\n")
            data = (prefix + entry.strip() + "\n").encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)


def create(workspace: Path, day: date) -> Path:
    """Today's log exists afterwards; an existing one is never touched. Blocking."""
    file = path(workspace, day)
    # Exclusive, through folders opened without following links: another editor making it
    # meanwhile keeps its log, and a `memory/` swapped for a link leads nowhere.
    create_workspace_file(workspace, file, header(day))
    return file
