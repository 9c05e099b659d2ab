"""Where LocalGPT keeps things: LOCALGPT_HOME for config and state, the workspace for memory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def home() -> Path:
    """`$LOCALGPT_HOME`, default `~/.localgpt`: config.toml, sessions, index, locks, token."""
    env = os.environ.get("LOCALGPT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".localgpt"


def home_problem() -> str | None:
    """Why LOCALGPT_HOME cannot hold config and state, when the reason is that it is not a
    folder (a file of that name); None otherwise. For error messages that say what to do."""
    where = home()
    if where.exists() and not where.is_dir():
        return (f"LOCALGPT_HOME ({where}) is a file, not a folder; point LOCALGPT_HOME at a "
                "folder or move that file away")
    return None


def config_path() -> Path:
    return home() / "config.toml"


def resolve_workspace(configured: str | None) -> Path:
    """`$LOCALGPT_WORKSPACE`, else `[memory] workspace`, else `$LOCALGPT_HOME/workspace`."""
    env = os.environ.get("LOCALGPT_WORKSPACE")
    if env:
        return Path(env).expanduser().resolve()
    if configured:
        return Path(os.path.expandvars(configured)).expanduser().resolve()
    return (home() / "workspace").resolve()


def workspace_key(workspace: Path) -> str:
    """A short stable name for per-workspace state, so two workspaces never share an index."""
    resolved = str(workspace.resolve())
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{workspace.name or 'root'}-{digest}"


def state_dir(workspace: Path) -> Path:
    """Per-workspace state under LOCALGPT_HOME (index, locks, heartbeat status)."""
    return home() / "state" / workspace_key(workspace)


def index_path(workspace: Path) -> Path:
    return state_dir(workspace) / "memory.sqlite"


def sessions_dir() -> Path:
    return home() / "sessions"


def token_path() -> Path:
    return home() / "daemon.token"
