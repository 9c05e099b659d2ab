"""Keeping the memory index in step with the disk: the one watch loop and the one rule for what
a file event does to the index. The daemon (`http/background.py`) and the language server
(`lsp/lifecycle.py`, when the editor cannot watch files for it) both run `follow`; every
batch of events, from it or from the editor, goes through `apply_changes`.

- A note that changed is re-indexed (keywords at once; vectors by `embed_pending` after the
  batch), one that went away is dropped. The index applies its own rule for which files are
  memory (notefiles plus `[memory] paths`), so a path outside the workspace is passed on.
- An event on a folder (moved, removed, created with files in it), where single events do not
  name every file, brings the index up to date with an incremental reindex instead.
- Events inside hidden folders below the workspace (`.git`, `.obsidian`) are ignored; the
  workspace itself may sit under a dotted folder (`~/.localgpt/workspace`).

Everything here blocks; callers run it in a thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from localgpt_ls.notefiles import SKIP_DIRS, is_note_name

log = logging.getLogger("localgpt_ls.index_sync")

Change = tuple[Path, bool]  # (path, deleted)
DEBOUNCE_MS = 400
WAKE_MS = 500  # how often an idle loop wakes (to notice a stop request)


class Index(Protocol):
    def reindex(self) -> Any: ...
    def index_file(self, path: Path, embed: bool = ...) -> Any: ...
    def remove_file(self, path: Path) -> bool: ...
    def embed_pending(self) -> Any: ...


def _below_hidden(workspace: Path, path: Path) -> bool:
    """True for a path in a hidden or skipped folder below the workspace (or outside it)."""
    try:
        parts = path.relative_to(workspace).parts
    except ValueError:
        return True
    return any(p.startswith(".") or p in SKIP_DIRS for p in parts)


def wanted(workspace: Path, path: Path) -> bool:
    """Is an event on this path worth reading? Notes and folders (a folder that is gone is
    told by its name having no suffix), outside hidden folders of the workspace."""
    if _below_hidden(workspace, path):
        return False
    return is_note_name(path.name) or not path.suffix or path.is_dir()


def apply_changes(memory: Index, workspace: Path, changes: Iterable[Change],
                  embed: bool = True) -> None:
    """Tell the index what changed (see the module docstring); vectors follow when `embed`."""
    batch = list(changes)
    folders = [p for p, _d in batch if not is_note_name(p.name) and wanted(workspace, p)]
    if folders:
        memory.reindex()
    else:
        for path, deleted in batch:
            if not is_note_name(path.name):
                continue
            if deleted or not path.exists():
                memory.remove_file(path)
            else:
                memory.index_file(path, embed=False)  # vectors for the whole batch, below
    if embed:
        memory.embed_pending()


def follow(workspace: Path, stop: threading.Event, on_batch: Callable[[list[Change]], None],
           on_ready: Callable[[], None] | None = None, debounce_ms: int = DEBOUNCE_MS) -> None:
    """Watch the workspace until `stop` is set, handing each debounced batch of wanted events
    to `on_batch`. `on_ready` runs once the OS watch is in place, so a change made while it
    runs (the first full sync) is buffered and arrives as the next batch. Blocks; raises when
    the folder cannot be watched."""
    from watchfiles import Change as Kind
    from watchfiles import watch

    root = workspace.resolve()
    ready = on_ready is None

    def keep(_kind: Any, raw: str) -> bool:
        return wanted(root, Path(raw))

    for events in watch(root, watch_filter=keep, stop_event=stop, debounce=debounce_ms,
                        step=50, rust_timeout=WAKE_MS, yield_on_timeout=True, recursive=True,
                        raise_interrupt=False):
        if not ready and on_ready is not None:
            ready = True
            on_ready()
        if events:
            on_batch([(Path(raw), kind == Kind.deleted) for kind, raw in events])
