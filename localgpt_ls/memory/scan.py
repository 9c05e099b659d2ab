"""Which files are memory: the notes of the workspace and of the configured `[memory] paths`.

What a note is, and how one is read, is `localgpt_ls/notefiles.py` (the rule the editor shares:
hidden folders, node_modules/__pycache__, symlinks, the 5 MB cap, the binary test). This module
adds the memory-only part: the configured extra paths, and the keys files have in the index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from localgpt_ls.notefiles import MAX_NOTE_BYTES, SKIP_DIRS, ReadResult, read_note, walk

MAX_FILE_BYTES = MAX_NOTE_BYTES
__all__ = ["MAX_FILE_BYTES", "SKIP_DIRS", "ReadResult", "ScannedFile", "file_key",
           "loop_warning", "read_note", "scan"]


@dataclass(frozen=True)
class ScannedFile:
    key: str  # workspace-relative POSIX path (absolute for extra paths outside the workspace)
    path: Path
    mtime: float
    size: int
    # Why the scan already knows this file cannot be indexed (a symlink loop); None: read it.
    skip: str | None = None


def file_key(workspace: Path, path: Path) -> str:
    """The name a file has in the index and in results: relative to the workspace if inside."""
    absolute = os.path.abspath(path)
    root = str(workspace)
    if absolute.startswith(root + os.sep):
        return absolute[len(root) + 1:].replace(os.sep, "/")
    return Path(absolute).as_posix()


def loop_warning(key: str) -> str:
    return (f"{key}: skipped, a symlink loop (it leads back to itself); point it at a real "
            "note or remove it")


def _walk(root: Path, workspace: Path) -> list[ScannedFile]:
    found: list[ScannedFile] = []
    for note in walk(root):
        key = file_key(workspace, note.path)
        # A loop is reported, not dropped silently: the user meant this link to be a note.
        found.append(ScannedFile(key, note.path, note.stat.st_mtime, note.stat.st_size,
                                 skip=loop_warning(key) if note.loop else None))
    return found


def scan(workspace: Path, extra_paths: list[str] | None = None) -> list[ScannedFile]:
    """All memory files, sorted by key, each once."""
    files = {f.key: f for f in _walk(workspace, workspace)}
    for extra in extra_paths or []:
        p = Path(os.path.expandvars(extra)).expanduser()
        if not p.is_absolute():
            p = workspace / p
        if p.is_dir():
            files.update((f.key, f) for f in _walk(p, workspace))
        elif p.is_file() and p.name.lower().endswith(".md"):
            st = p.stat()
            key = file_key(workspace, p)
            files[key] = ScannedFile(key, p, st.st_mtime, st.st_size)
    return [files[k] for k in sorted(files)]
