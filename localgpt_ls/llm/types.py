"""The one message and stream-event model every provider translates to and from.

The agent, sessions and doors only ever see these classes; each provider module owns the
mapping to its wire format, so adding a dialect never touches the turn loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "tool"]


def clean_text(text: str) -> str:
    """`text` with lone surrogates (U+D800..U+DFFF) replaced by U+FFFD.

    JSON may spell them ("\\ud800") and LSP/HTTP clients or a model's stream do send them,
    but no UTF-8 encoder takes them: a session write or an HTTP body would fail and the text
    be lost. A valid surrogate pair that arrived split is joined into its character.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


# Kept here, beside ToolCall and free of httpx, so the tool runner can read it without
# loading the network stack (the language server starts faster).
INVALID_ARGUMENTS = "__invalid_json__"


def parse_arguments(text: str) -> dict[str, Any]:
    """Tool-call arguments as a dict. Malformed JSON is not fatal: it comes back under
    INVALID_ARGUMENTS so the tool runner can tell the model and it can try again."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {INVALID_ARGUMENTS: text[:500]}
    if not isinstance(value, dict):
        return {INVALID_ARGUMENTS: text[:500]}
    return value


@dataclass
class ToolCall:
    """A tool call the model asked for; `arguments` is already parsed JSON."""

    id: str
    name: str
    arguments: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(id=str(data["id"]), name=str(data["name"]),
                   arguments=dict(data.get("arguments") or {}))


@dataclass
class Message:
    """One conversation message.

    user: `content`. assistant: `content` plus optional `tool_calls`. tool: the result of one
    call, `tool_call_id` and `name` say which, `is_error` marks a failed call. The system
    prompt is not a message: it is rebuilt every turn and passed to providers separately.
    """

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    def __post_init__(self) -> None:
        # Every message is stored and sent; a lone surrogate would make either fail. (Session
        # records and request bodies are cleaned once more as a whole, for tool arguments.)
        self.content = clean_text(self.content)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.role == "tool":
            data["tool_call_id"] = self.tool_call_id
            data["name"] = self.name
            data["is_error"] = self.is_error
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        role = data.get("role")
        if role not in ("user", "assistant", "tool"):
            raise ValueError(f"unknown message role {role!r}")
        return cls(role=role, content=str(data.get("content") or ""),
                   tool_calls=[ToolCall.from_dict(c) for c in data.get("tool_calls") or []],
                   tool_call_id=data.get("tool_call_id"), name=data.get("name"),
                   is_error=bool(data.get("is_error", False)))


@dataclass
class ToolSpec:
    """A tool as the model sees it: name, what it does, JSON Schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


# Stream events: what a provider yields while a reply streams in.

@dataclass
class TextChunk:
    text: str

    def __post_init__(self) -> None:
        # Doors print or forward this at once (a terminal cannot write a lone surrogate).
        self.text = clean_text(self.text)


@dataclass
class ToolCallReady:
    """A tool call whose arguments have fully arrived (deltas are assembled by the provider)."""

    call: ToolCall


@dataclass
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass
class Stop:
    """The reply is complete. reason: "end", "tool_use", "max_tokens" or the provider's word."""

    reason: str


StreamEvent = TextChunk | ToolCallReady | Usage | Stop


@dataclass
class Request:
    """Everything a provider needs for one completion."""

    system: str
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 4096
    # True on the last allowed round: the model must answer in text now.
    forbid_tools: bool = False
