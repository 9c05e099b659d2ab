"""What a turn tells the door while it runs, and what it returns.

Every event has `to_dict()` with a "type" key, so the LSP ($/progress) and the daemon (SSE) can
forward events as JSON without knowing the classes:

    {"type": "text_delta", "text": str}
    {"type": "tool_start", "name": str, "arguments": {...}}
    {"type": "tool_end", "name": str, "result": str, "is_error": bool}
    {"type": "turn_error", "message": str}

ChatResult.to_dict() == {"response": str, "session_id": str, "model": str}.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class TextDelta:
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text_delta", "text": self.text}


@dataclass
class ToolStart:
    name: str
    arguments: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_start", "name": self.name, "arguments": self.arguments}


@dataclass
class ToolEnd:
    name: str
    result: str
    is_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_end", "name": self.name, "result": self.result,
                "is_error": self.is_error}


@dataclass
class TurnError:
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "turn_error", "message": self.message}


AgentEvent = TextDelta | ToolStart | ToolEnd | TurnError
EventSink = Callable[[AgentEvent], None]
# The door asks the user: (tool name, one-line summary of the change) -> allowed?
Approver = Callable[[str, str], Awaitable[bool]]


@dataclass
class ChatResult:
    """The answer of one turn. session_id is "" for session-less turns (run_turn); model is
    "provider/model" or "memory-only"."""

    response: str
    session_id: str
    model: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
