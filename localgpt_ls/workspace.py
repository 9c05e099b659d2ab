"""The workspace folder: first-run templates and the one path-safety rule every file access uses."""

from __future__ import annotations

import functools
import os
import tempfile
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
