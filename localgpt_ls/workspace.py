"""The workspace folder: first-run templates and the one path-safety rule every file access uses."""

from __future__ import annotations

import errno
import functools
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path

from localgpt_ls.errors import LocalGPTError, PathSafetyError

TEMPLATE_FILES = (
    "AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "TOOLS.md", "HEARTBEAT.md", "MEMORY.md",
)
TEMPLATE_DIRS = ("memory", "knowledge", "skills")
# Read into the system prompt, in this order (DESIGN.md "Context").
BOOTSTRAP_FILES = (
    "AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md", "MEMORY.md",
)


@functools.cache
def template_text(name: str) -> str:
    return resources.files("localgpt_ls.templates").joinpath(name).read_text(encoding="utf-8")


def initial_texts() -> list[str]:
    """Every text `init` writes, as it writes it: a file still equal to one of these is
    boilerplate the user never touched (memory search ranks it below the user's words)."""
    from localgpt_ls.agent.skills import EXAMPLE

    return [*(template_text(name) for name in TEMPLATE_FILES), EXAMPLE]


def is_untouched_template(workspace: Path, rel: str) -> bool:
    """A first-run file (SOUL.md, AGENTS.md, the example skill, ...) still exactly as `init`
    wrote it (`initial_texts`): it says nothing about the user yet, so suggestions put the
    user's own notes before it. Only files init writes are read, so this costs no I/O for
    the user's notes."""
    if rel not in TEMPLATE_FILES and not (rel.startswith("skills/") and rel.endswith("/SKILL.md")):
        return False
    try:
        data = (workspace / rel).read_bytes()
    except OSError:
        return False
    return any(data == text.encode("utf-8") for text in initial_texts())


def init_workspace(workspace: Path, force: bool = False) -> list[Path]:
    """Create the OpenClaw classic layout; returns the files written. Existing files are kept
    unless `force`, because they are the user's memory."""
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        for folder in TEMPLATE_DIRS:
            (workspace / folder).mkdir(exist_ok=True)
    except OSError as exc:
        raise LocalGPTError(f"cannot create the workspace at {workspace}: {exc.strerror}; "
                            "set LOCALGPT_WORKSPACE or [memory] workspace to a writable folder"
                            ) from None
    written = []
    for name in TEMPLATE_FILES:
        target = workspace / name
        if target.exists() and not force:
            continue
        atomic_write(target, template_text(name))
        written.append(target)
    from localgpt_ls.agent.skills import write_example

    example = write_example(workspace)
    if example is not None:
        written.append(example)
    return written


def ensure_workspace(workspace: Path) -> Path:
    """Create the workspace on first use (commands that need it call this).

    A folder that already holds any of the bootstrap files is someone's workspace (an OpenClaw
    one may have no HEARTBEAT.md, TOOLS.md or MEMORY.md, on purpose) and is used as it is;
    templates are written only into a new or empty folder."""
    if any((workspace / name).exists() for name in TEMPLATE_FILES):
        return workspace
    init_workspace(workspace)
    return workspace


def resolve_link(path: Path) -> Path | None:
    """Where `path` finally leads, symlinks followed, or None for a symlink loop
    (`a.md -> b.md -> a.md`) or a path that cannot be resolved.

    Python 3.11 raises RuntimeError for a loop (not OSError), later versions raise OSError or
    stop at the looping link; all three mean "leads nowhere". Every scan and path check uses
    this, so they agree on what a loop is.
    """
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    return None if resolved.is_symlink() else resolved


def is_within(root: Path, resolved: Path) -> bool:
    """True when the resolved path is `root` (resolved too) or lies under it."""
    return resolved == root or root in resolved.parents


def safe_path(workspace: Path, given: str | os.PathLike[str], *, must_exist: bool = False) -> Path:
    """Resolve a user- or model-given path inside the workspace, or raise PathSafetyError.

    Refuses absolute paths, `..` that climbs out, symlinks (at any level) that lead out, and
    symlink loops: the check is on the fully resolved path, so a link inside the workspace
    pointing elsewhere is caught too.
    """
    text = os.fspath(given)
    if not text or "\x00" in text:
        raise PathSafetyError(f"invalid path {text!r}: give a path relative to the workspace")
    candidate = Path(text)
    if candidate.is_absolute() or candidate.drive:
        raise PathSafetyError(f"'{text}' is absolute; give a path relative to the workspace "
                              f"({workspace})")
    root = workspace.resolve()
    resolved = resolve_link(root / candidate)
    if resolved is None:
        raise PathSafetyError(f"'{text}' is a symlink loop (it leads back to itself); point "
                              "the link at a real file or remove it")
    if not is_within(root, resolved):
        raise PathSafetyError(f"'{text}' leads outside the workspace ({root}); "
                              "only files inside it can be used")
    if must_exist and not resolved.exists():
        raise PathSafetyError(f"'{text}' does not exist in the workspace")
    return resolved


def relative_to_workspace(workspace: Path, path: Path) -> str:
    """Workspace-relative POSIX path, the form every result shape uses."""
    return path.resolve().relative_to(workspace.resolve()).as_posix()


def atomic_write(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- opening files without trusting names twice ----------------------------------------------
#
# safe_path checks a name; opening it by name later would follow whatever the name leads to by
# then, so a folder swapped for a link to the outside in between was followed (a race the
# model's own shell tool, a sync client or a hostile checkout can win). The file tools instead
# walk the checked, resolved path one folder at a time from the workspace root, each step
# opened relative to the last with O_NOFOLLOW: a link that appeared meanwhile fails the open.
# Temporary files are made inside the folder that was opened, never by name.

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Windows has no dir_fd: there the name is checked again after opening (narrower, not closed).
# (os.replace takes dir_fd like os.rename but is missing from supports_dir_fd.)
HAVE_DIR_FD = bool(_NOFOLLOW) and {os.open, os.mkdir, os.rename, os.stat, os.unlink} <= \
    os.supports_dir_fd


class PathChangedError(PathSafetyError):
    """A folder or file on a checked path was replaced (by a link) while it was being opened."""


def _changed(shown: str) -> PathChangedError:
    return PathChangedError(f"'{shown}' changed while it was being opened (a folder or file "
                            "on its path was replaced by a link); nothing was read or written "
                            "there: check the workspace and try again")


def _parts(workspace: Path, resolved: Path) -> tuple[Path, tuple[str, ...]]:
    root = workspace.resolve()
    try:
        parts = resolved.relative_to(root).parts
    except ValueError:
        raise PathSafetyError(f"'{resolved}' is outside the workspace ({root})") from None
    if not parts:
        raise PathSafetyError("give a file inside the workspace, not the workspace itself")
    return root, parts


@contextmanager
def _folder(root: Path, parts: tuple[str, ...], shown: str, create: bool) -> Iterator[int]:
    """An fd of root/parts, each folder opened from its parent without following links."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            try:
                try:
                    nxt = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                    nxt = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _changed(shown) from None
                raise
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def open_in_workspace(workspace: Path, resolved: Path, flags: int, mode: int = 0o644, *,
                      create_dirs: bool = False) -> int:
    """os.open for a path `safe_path` returned, without following a link put on it since.

    Returns an fd; raises PathChangedError when a folder or the file itself is now a link,
    and OSError as os.open does otherwise. A FIFO or device opens without blocking (the
    caller checks it is a regular file with fstat)."""
    root, parts = _parts(workspace, resolved)
    shown = "/".join(parts)
    flags |= _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
    if not HAVE_DIR_FD:
        if create_dirs:
            resolved.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(resolved, flags, mode)
        if resolve_link(resolved) != resolved:
            os.close(fd)
            raise _changed(shown)
        return fd
    with _folder(root, parts[:-1], shown, create_dirs) as dir_fd:
        try:
            return os.open(parts[-1], flags | _NOFOLLOW, mode, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _changed(shown) from None
            raise


def read_workspace_file(workspace: Path, resolved: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file inside the workspace, read through an fd opened without
    following links. Raises LocalGPTError when it is not a regular file or over `max_bytes`."""
    shown = _parts(workspace, resolved)[1]
    fd = open_in_workspace(workspace, resolved, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LocalGPTError(f"'{'/'.join(shown)}' is not a regular file")
        if st.st_size > max_bytes:
            raise LocalGPTError(f"'{'/'.join(shown)}' is {st.st_size / 1e6:.1f} MB, over the "
                                f"{max_bytes / 1e6:.1f} MB that can be read here")
        chunks, total = [], 0
        while total <= max_bytes:
            try:
                piece = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            except BlockingIOError:  # O_NONBLOCK on a regular file never says this
                continue
            if not piece:
                break
            chunks.append(piece)
            total += len(piece)
        if total > max_bytes:  # it grew while being read
            raise LocalGPTError(f"'{'/'.join(shown)}' is over the {max_bytes / 1e6:.1f} MB "
                                "that can be read here")
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_workspace_file(workspace: Path, resolved: Path, text: str) -> None:
    """atomic_write for a path `safe_path` returned: the temporary file is created inside the
    folder opened without following links, and renamed within that same folder."""
    if not HAVE_DIR_FD:
        atomic_write(resolved, text)
        if resolve_link(resolved) != resolved:
            raise _changed(_parts(workspace, resolved)[1][-1])
        return
    root, parts = _parts(workspace, resolved)
    shown, name = "/".join(parts), parts[-1]
    data = text.encode("utf-8")
    with _folder(root, parts[:-1], shown, True) as dir_fd:
        tmp = f".{name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600,
                     dir_fd=dir_fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
                try:
                    old = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    old = None
                if old is not None and stat.S_ISREG(old.st_mode):
                    os.fchmod(fd, old.st_mode & 0o777)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise


def create_workspace_file(workspace: Path, resolved: Path, text: str) -> bool:
    """Create a file `safe_path` returned, holding `text`, only when nothing has that name yet:
    True when this call made it, False when something was there (it is left untouched).

    Checking that a name is free and then writing it lets two editors both "create" a note
    (the second one's text replaced the first's) and follows a folder swapped for a link in
    between. Here the text is written to a temporary file in the folder opened without
    following links, then hard-linked to its name, which fails if the name is taken: the note
    appears whole or not at all. Where hard links are not available the name is opened with
    O_CREAT | O_EXCL instead (never through a link either)."""
    data = text.encode("utf-8")
    if not HAVE_DIR_FD:
        resolved.parent.mkdir(parents=True, exist_ok=True)
        if not _create_exclusive(str(resolved), None, data):
            return False
        if resolve_link(resolved) != resolved:
            raise _changed(_parts(workspace, resolved)[1][-1])
        return True
    root, parts = _parts(workspace, resolved)
    shown, name = "/".join(parts), parts[-1]
    exclusive = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    with _folder(root, parts[:-1], shown, True) as dir_fd:
        if os.link not in os.supports_dir_fd:
            return _create_exclusive(name, dir_fd, data)
        tmp = f".{name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, exclusive, 0o644, dir_fd=dir_fd)
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            try:
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            except FileExistsError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP,
                                     errno.EMLINK, errno.EXDEV):
                    raise
                return _create_exclusive(name, dir_fd, data)  # no hard links here
            return True
        finally:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)


def _create_exclusive(name: str, dir_fd: int | None, data: bytes) -> bool:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    try:
        fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
    except FileExistsError:
        return False
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)
