"""Which files are notes, and reading one: the rule every door and the memory index share.

A note is a `*.md` file under a root (the workspace, or a configured `[memory] paths` folder)
that the walk below reaches:

- hidden folders and files (`.git`, `.obsidian`, `.draft.md`) and `node_modules` /
  `__pycache__` are skipped;
- a folder symlink is not followed: its notes are already found under their real folder, and a
  second copy would make `[[name]]` ambiguous in the editor while search sees one note;
- a file symlink is kept when it leads to a file inside the root; one that leads out is
  skipped, and a symlink loop is reported (`FoundNote.loop`) so the index can say why it is
  not searchable.

Reading: files over `MAX_NOTE_BYTES`, binary files (`looks_binary`) and anything but a regular
file are not read; invalid UTF-8
is decoded with replacement characters and warned about, so one bad byte never hides the rest
of a note; a leading byte-order mark is dropped, as editors do.

`walk` is for scans, `is_note` answers the same question for one path (a file event, a save),
`read_note` reads one. The memory index (`memory/scan.py`), the language server's notes model
(`lsp/notes.py`) and the watchers (`index_sync.py`) all call these, so search and the editor
see the same notes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from localgpt_ls.textsafety import decode_text
from localgpt_ls.workspace import is_within, resolve_link

NOTE_SUFFIX = ".md"
SKIP_DIRS = frozenset({"node_modules", "__pycache__"})
MAX_NOTE_BYTES = 5 * 1024 * 1024
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux; longer names exist nowhere


@dataclass(frozen=True, slots=True)
class FoundNote:
    path: Path  # as reached from the root (a kept symlink is not resolved)
    stat: os.stat_result  # of the file it leads to (of the link itself for a loop)
    loop: bool = False  # a symlink loop: listed so it can be reported, never readable


@dataclass
class ReadResult:
    text: str | None  # None: not readable as a note (see `warning`)
    sha256: str
    warning: str | None
    # A skip that lasts until the file changes (binary, too big), unlike a failed read, which
    # may work next time (permissions fixed) without the file's mtime or size changing.
    lasting: bool = False


def is_note_name(name: str) -> bool:
    return name.lower().endswith(NOTE_SUFFIX)


def _skipped_part(name: str) -> bool:
    return name.startswith(".") or name in SKIP_DIRS


# A note is binary when NUL bytes are more than this share of it (UTF-16 text, zeroed
# blocks), or when it holds any NUL and is not UTF-8. One stray NUL in a UTF-8 note (a paste,
# a "\\u0000" an older version appended) is not: it used to drop the whole note from search.
BINARY_NUL_SHARE = 0.10


def looks_binary(data: bytes) -> bool:
    """The one binary test: many NUL bytes, or NULs among bytes that are not UTF-8. Decides
    on the whole of `data`; a sniffed prefix may end in a cut character (that is forgiven)."""
    nul = data.count(b"\x00")
    if not nul:
        return False
    if nul > len(data) * BINARY_NUL_SHARE:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data) - 3
    return False


def is_regular(path: Path) -> bool:
    """True for a regular file (links followed); False for anything else, including a path
    no file can have (a NUL or a lone surrogate in it, a name too long)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path` if it is a regular file of at most `max_bytes`. Opened without
    blocking and checked with fstat, so a FIFO, a device (`/dev/zero`) or a file swapped for
    one is refused (OSError) instead of hanging or filling memory."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if st.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"{st.st_size / 1e6:.1f} MB is over the "
                                       f"{max_bytes / 1e6:.1f} MB limit")
        chunks, total = [], 0
        while total <= max_bytes:
            piece = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not piece:
                break
            chunks.append(piece)
            total += len(piece)
        if total > max_bytes:
            raise OSError(errno.EFBIG, "the file grew past the limit while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def walk(root: Path) -> Iterator[FoundNote]:
    """Every note under `root`, depth-first, each folder's entries in name order.

    One stat per file (os.scandir caches type and stat); unreadable folders and files that
    vanish while walking are left out.
    """
    real_root = root.resolve()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable folder: skip it, keep the rest
        subfolders = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name not in SKIP_DIRS:
                        subfolders.append(entry.path)
                    continue
                if not is_note_name(name):
                    continue
                path = Path(entry.path)
                if entry.is_symlink():
                    resolved = resolve_link(path)
                    if resolved is None:
                        yield FoundNote(path, entry.stat(follow_symlinks=False), loop=True)
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
            yield FoundNote(path, st)
        stack.extend(reversed(subfolders))


def is_note(root: Path, path: Path) -> bool:
    """Would `walk(root)` list this path as a readable note? For one file event or save; the
    file need not exist (a deletion), but if it does, it must be one the walk keeps."""
    if not is_note_name(path.name) or _skipped_part(path.name):
        return False
    real_root = root.resolve()
    given = Path(os.path.abspath(path))
    try:
        if len(os.fsencode(str(given))) > MAX_PATH_BYTES or "\x00" in str(given):
            return False  # no file can have that name; and climbing it was quadratic (below)
    except UnicodeError:
        return False  # a lone surrogate: no file name either
    # Climb to the folder that is the root (however the path spells it), then check each
    # folder below it as the walk does: no hidden or skipped name, no folder symlink. A path
    # that names the root as it is spelled skips the climb: resolving every ancestor of a
    # 2,000-level path took 9 s on the editor's event loop.
    below: list[str] = []
    folder = given.parent
    for spelled in (Path(os.path.abspath(root)), real_root):
        if spelled in folder.parents or folder == spelled:
            below = list(reversed(folder.relative_to(spelled).parts))
            folder = spelled
            break
    while resolve_link(folder) != real_root:
        if folder.parent == folder:
            return False  # never inside the root
        below.append(folder.name)
        folder = folder.parent
    if folder.is_symlink():
        outer = resolve_link(folder.parent)
        if outer is not None and is_within(real_root, outer):
            return False  # a link inside the root back to it: the walk does not follow it
    current = folder
    for name in reversed(below):
        current = current / name
        if _skipped_part(name) or current.is_symlink():
            return False
    if given.is_symlink():
        resolved = resolve_link(given)
        return resolved is not None and is_within(real_root, resolved) and resolved.is_file()
    return True


def read_note(path: Path, name: str) -> ReadResult:
    """Read a note as text, or say why not (too big, binary, unreadable); `name` is how the
    messages call the file."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTE_BYTES:
            return ReadResult(None, "", f"{name}: skipped, {size / 1e6:.1f} MB is over the "
                                        f"{MAX_NOTE_BYTES // (1024 * 1024)} MB limit",
                              lasting=True)
        data = read_regular(path, MAX_NOTE_BYTES)
    except OSError as exc:
        return ReadResult(None, "", f"{name}: cannot be read ({exc.strerror})")
    digest = hashlib.sha256(data).hexdigest()
    if looks_binary(data):
        return ReadResult(None, digest, f"{name}: skipped, looks binary (NUL bytes)",
                          lasting=True)
    warning = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        warning = (f"{name}: not valid UTF-8 (byte {exc.start}); indexed with replacement "
                   "characters")
    # A stray NUL becomes U+FFFD: SQLite text would end at it.
    return ReadResult(decode_text(data).removeprefix("\ufeff"), digest, warning)
