"""Heartbeat state on disk: the last run's status and the 24 h delivery de-duplication.

Both are small JSON files under `paths.state_dir(workspace)`, written atomically, so
`localgpt heartbeat status` in another process (or another editor) sees what the runner did, and
a restart never re-delivers an alert the user already saw today.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock

from localgpt_ls import paths
from localgpt_ls.workspace import atomic_write

log = logging.getLogger(__name__)

DEDUPE_WINDOW = timedelta(hours=24)


def _read_json(path: Path) -> dict[str, Any]:
    """The file's object, or {} when it is missing or damaged (state is never worth a crash)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable heartbeat state %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


class StatusStore:
    """`heartbeat.status.json`: last run time, outcome, duration, next run."""

    def __init__(self, workspace: Path) -> None:
        self.path = paths.state_dir(workspace) / "heartbeat.status.json"

    def read(self) -> dict[str, Any]:
        return _read_json(self.path)

    def update(self, **fields: Any) -> dict[str, Any]:
        """Merge `fields` into the stored status. The schedule's owner (next_run) and a
        `heartbeat once` in another process (last run) both write it: the file lock keeps one
        from dropping the other's fields."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock", timeout=10):
            data = self.read()
            data.update(fields)
            _write_json(self.path, data)
        return data


def fingerprint(text: str) -> str:
    """Identity of an alert for de-duplication: whitespace and case do not make it new."""
    normal = " ".join(text.split()).casefold()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


class DedupeStore:
    """`heartbeat.delivered.json`: fingerprint -> ISO time of delivery, pruned after 24 h."""

    def __init__(self, workspace: Path) -> None:
        self.path = paths.state_dir(workspace) / "heartbeat.delivered.json"

    def _load(self, now: datetime) -> dict[str, str]:
        fresh = {}
        for key, when in _read_json(self.path).items():
            try:
                at = datetime.fromisoformat(str(when))
            except ValueError:
                continue
            if at.tzinfo is not None and now - at < DEDUPE_WINDOW:
                fresh[key] = at.isoformat()
        return fresh

    def seen_recently(self, text: str, now: datetime) -> bool:
        return fingerprint(text) in self._load(now)

    def remember(self, text: str, now: datetime) -> None:
        entries = self._load(now)
        entries[fingerprint(text)] = now.isoformat()
        _write_json(self.path, entries)
