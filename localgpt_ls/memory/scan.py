"""Which files are memory, and reading them safely.

Every `*.md` under the workspace, plus the configured `[memory] paths`, except: hidden folders
(`.git`, `.obsidian`, ...), `node_modules`, symlinks that lead out of their root, symlink loops
(warned), files over 5 MB (warned), and binary files (a NUL byte; warned). Invalid UTF-8 is
decoded with replacement characters and warned about, so one bad byte never hides the rest of
a note.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from localgpt_ls.textsafety import decode_text, looks_binary
from localgpt_ls.workspace import is_within, resolve_link

MAX_FILE_BYTES = 5 * 1024 * 1024
SKIP_DIRS = {"node_modules", "__pycache__"}


@dataclass(frozen=True)
class ScannedFile:
    key: str  # workspace-relative POSIX path (absolute for extra paths outside the workspace)
    path: Path
    mtime: float
    size: int
    # Why the scan already knows this file cannot be indexed (a symlink loop); None: read it.
    skip: str | None = None


@dataclass
class ReadResult:
    text: str | None  # None: skipped
    sha256: str
    warning: str | None
    # A skip that lasts until the file changes (binary, too big), unlike a failed read, which
    # may work next time (permissions fixed) without the file's mtime or size changing.
    lasting: bool = False


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
    """Depth-first with os.scandir: one stat per file (DirEntry caches type and stat)."""
    found: list[ScannedFile] = []
    real_root = root.resolve()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable folder: skip it, index the rest
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name not in SKIP_DIRS:
                        stack.append(entry.path)
                    continue
                if not name.lower().endswith(".md"):
                    continue
                path = Path(entry.path)
                if entry.is_symlink():
                    resolved = resolve_link(path)
                    if resolved is None:
                        # Reported, not dropped silently: the user meant this link to be a note.
                        key = file_key(workspace, path)
                        st = entry.stat(follow_symlinks=False)
                        found.append(ScannedFile(key, path, st.st_mtime, st.st_size,
                                                 skip=loop_warning(key)))
                        continue
                    if not is_within(real_root, resolved) or not resolved.is_file():
                        continue
                    st = path.stat()
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                else:
                    continue
            except OSError:
                continue  # vanished while walking, or a dangling link
            found.append(ScannedFile(file_key(workspace, path), path, st.st_mtime, st.st_size))
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


def read_note(path: Path, key: str) -> ReadResult:
    """Read a note as text, or say why not (too big, binary)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return ReadResult(None, "", f"{key}: skipped, {size / 1e6:.1f} MB is over the "
                                        f"{MAX_FILE_BYTES // (1024 * 1024)} MB limit",
                              lasting=True)
        data = path.read_bytes()
    except OSError as exc:
        return ReadResult(None, "", f"{key}: cannot be read ({exc.strerror})")
    digest = hashlib.sha256(data).hexdigest()
    if looks_binary(data):
        return ReadResult(None, digest, f"{key}: skipped, looks binary (NUL bytes)",
                          lasting=True)
    warning = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        warning = (f"{key}: not valid UTF-8 (byte {exc.start}); indexed with replacement "
                   "characters")
    text = decode_text(data)  # a stray NUL becomes U+FFFD: SQLite text would end at it
    return ReadResult(text.removeprefix("\ufeff"), digest, warning)
