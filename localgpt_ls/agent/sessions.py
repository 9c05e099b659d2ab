"""Chat sessions as JSONL files under $LOCALGPT_HOME/sessions.

Line 1 is a header {"type": "session", "id", "created", "model", "workspace", "version"}; every
later line is {"type": "message", "ts", "message": {...Message.to_dict()}} or, after compaction,
{"type": "compaction", "ts", "summary", "keep"} (the summary replaces everything before the last
`keep` messages), or {"type": "title", "ts", "title"} (a rename; the last one counts, "" clears
it), or {"type": "error", "ts", "message", "after"} (a turn that failed after `after` messages:
shown where it happened when the session is read back, never sent to a model). Lines are
only ever appended, with O_APPEND, so a crash loses at most the line being written and a
reader skips a torn last line. Files are private (0600): they hold the user's conversations.
No secret is ever written: messages carry only conversation text.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from localgpt_ls import paths
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.llm.types import Message, clean_text

log = logging.getLogger("localgpt_ls.agent")

SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")
SUMMARY_PREFIX = "[Summary of the earlier conversation]\n"


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_session_id() -> str:
    """Sortable by creation time, unique enough across processes."""
    return f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def check_session_id(session_id: str) -> str:
    if not SESSION_ID.fullmatch(session_id) or session_id.endswith(".jsonl"):
        raise LocalGPTError(f"invalid session id {session_id!r}: use letters, digits, '-', '_' "
                            "and '.'; `localgpt chat` then /sessions lists existing ones")
    return session_id


@dataclass
class SessionInfo:
    id: str
    created: str
    model: str
    updated: float
    messages: int
    preview: str
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created": self.created,
                "model": self.model,
                "updated": datetime.fromtimestamp(self.updated).astimezone().isoformat(
                    timespec="seconds"),
                "messages": self.messages, "preview": self.preview}


@dataclass
class Session:
    id: str
    path: Path
    header: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    # Failed turns, {"after": number of messages before it, "message": what went wrong}.
    errors: list[dict[str, Any]] = field(default_factory=list)

    def _write(self, record: dict[str, Any]) -> None:
        # clean_text: a lone surrogate anywhere (a tool call's arguments, a summary) would
        # make the UTF-8 encoding fail and the record be lost.
        line = clean_text(json.dumps(record, ensure_ascii=False)) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def append(self, message: Message) -> None:
        self._write({"type": "message", "ts": _now(), "message": message.to_dict()})
        self.messages.append(message)

    def record_error(self, message: str) -> None:
        """Note that the turn after the last message failed, so a reader of the session sees
        the question's outcome instead of a question nobody answered."""
        entry = {"after": len(self.messages), "message": clean_text(message)}
        self._write({"type": "error", "ts": _now(), **entry})
        self.errors.append(entry)

    def compact(self, summary: str, keep: int) -> None:
        """Replace all but the last `keep` messages by a summary (kept in the file too)."""
        self._write({"type": "compaction", "ts": _now(), "summary": summary, "keep": keep})
        self.messages = _apply_compaction(self.messages, summary, keep)
        self.errors = []  # they were about turns the summary now stands for

    @property
    def model(self) -> str:
        return str(self.header.get("model") or "")

    @property
    def title(self) -> str:
        return str(self.header.get("title") or "")

    @property
    def preview(self) -> str:
        """The first question, on one line: what names a session that was never renamed."""
        first = next((m.content for m in self.messages if m.role == "user"), "")
        return " ".join(first.split())[:80]


def _apply_compaction(messages: list[Message], summary: str, keep: int) -> list[Message]:
    tail = messages[len(messages) - keep:] if keep > 0 else []
    return [Message("user", SUMMARY_PREFIX + summary), *tail]


class SessionStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.sessions_dir()

    def path(self, session_id: str) -> Path:
        return self.root / f"{check_session_id(session_id)}.jsonl"

    def exists(self, session_id: str) -> bool:
        return self.path(session_id).is_file()

    def delete(self, session_id: str) -> bool:
        """Forget a session (its JSONL file); False when there was none. Every door deletes
        through here, so the id check and the layout stay in one place."""
        try:
            self.path(session_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def create(self, model: str, workspace: Path, session_id: str | None = None) -> Session:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        sid = check_session_id(session_id) if session_id else new_session_id()
        header = {"type": "session", "version": 1, "id": sid, "created": _now(),
                  "model": model, "workspace": str(workspace)}
        session = Session(sid, self.path(sid), header)
        if session.path.exists():
            raise LocalGPTError(f"session {sid} already exists")
        session._write(header)
        return session

    def open(self, session_id: str) -> Session:
        path = self.path(session_id)
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise LocalGPTError(f"no session '{session_id}' in {self.root}; /sessions lists "
                                "them") from None
        header: dict[str, Any] = {}
        messages: list[Message] = []
        errors: list[dict[str, Any]] = []
        # Only "\n" ends a record: json.dumps leaves U+2028/U+0085 unescaped inside strings,
        # and str.splitlines() would cut a message there and drop it.
        for number, line in enumerate(raw.split("\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                kind = record.get("type")
                if kind == "session":
                    header = record
                elif kind == "message":
                    messages.append(Message.from_dict(record["message"]))
                elif kind == "title":
                    header = {**header, "title": " ".join(str(record["title"]).split())}
                elif kind == "error":
                    errors.append({"after": int(record["after"]),
                                   "message": str(record["message"])})
                elif kind == "compaction":
                    messages = _apply_compaction(messages, str(record["summary"]),
                                                 int(record.get("keep", 0)))
                    errors = []
            except (ValueError, KeyError, TypeError, AttributeError):
                # A torn last line after a crash, or a hand edit: skip it, keep the rest.
                log.warning("%s:%d: unreadable session line skipped", path, number)
        return Session(session_id, path, header or {"id": session_id}, messages, errors)

    def open_or_create(self, session_id: str | None, model: str, workspace: Path) -> Session:
        if session_id and self.exists(session_id):
            return self.open(session_id)
        return self.create(model, workspace, session_id)

    def rename(self, session_id: str, title: str) -> str:
        """Give a session a title (shown instead of its first message); returns it as kept."""
        session = self.open(session_id)
        clean = " ".join(clean_text(title).split())[:200]
        session._write({"type": "title", "ts": _now(), "title": clean})
        return clean

    def list(self) -> list[SessionInfo]:
        """Sessions, most recently used first."""
        if not self.root.is_dir():
            return []
        infos = []
        for path in self.root.glob("*.jsonl"):
            try:
                session = self.open(path.stem)
                updated = path.stat().st_mtime
            except (LocalGPTError, OSError):
                continue
            infos.append(SessionInfo(
                id=session.id, created=str(session.header.get("created", "")),
                model=session.model, updated=updated, messages=len(session.messages),
                preview=session.preview, title=session.title))
        return sorted(infos, key=lambda i: i.updated, reverse=True)

    def latest(self) -> str | None:
        sessions = self.list()
        return sessions[0].id if sessions else None
