"""Initialization options: what an editor may send in `initializationOptions`.

Typed classes structured by cattrs (the same approach as the config file). Keys arrive in the
editor's camelCase; unknown keys are reported back to the user (a typo must not silently turn a
setting off) but never stop the server: a bad option falls back to its default.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import cattrs
from attrs import define, field


@define
class MemoryOptions:
    # Bring the memory index up to date when the server starts (work-done progress shows it).
    index_on_startup: bool = True
    # Rank `[[`/`](` suggestions by the meaning of the current paragraph (needs vectors).
    suggest_by_meaning: bool = True
    # Show memory snippets on hover over plain words when they score at least this much.
    hover_min_score: float = 0.35
    # Seconds a hover may wait for a memory lookup before answering without it.
    hover_timeout: float = 1.5


@define
class InlineCompletionOptions:
    # Continue the paragraph with the model (textDocument/inlineCompletion, LSP 3.18); only
    # where the client asks for it and a model is configured.
    enabled: bool = True
    # Quiet time after the last keystroke before the model is asked.
    debounce_ms: int = 400
    # Longest suggestion offered, in characters.
    max_chars: int = 400


@define
class InitializationOptions:
    # Workspace folder; beats the editor's root folder and the configured workspace.
    workspace: str | None = None
    diagnostics_debounce_ms: int = 300
    index_debounce_ms: int = 1000
    completion_limit: int = 50
    memory: MemoryOptions = field(factory=MemoryOptions)
    inline_completion: InlineCompletionOptions = field(factory=InlineCompletionOptions)


# Keys an editor plugin keeps for itself under the same `localgpt` settings section (how to
# start the server, protocol tracing): VS Code sends the whole section, so they are not ours.
CLIENT_SIDE_KEYS = frozenset({"server", "trace"})

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _known(cls: type) -> dict[str, Any]:
    return {a.name: a.type for a in attrs.fields(cls)}


def _normalise(data: Any, cls: type, where: str, unknown: list[str]) -> Any:
    """camelCase -> snake_case, dropping (and recording) keys the class does not have."""
    if not isinstance(data, dict):
        return data
    known = _known(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = _snake(str(key))
        if name not in known:
            unknown.append(f"{where}{key}")
            continue
        inner = known[name]
        if isinstance(inner, type) and attrs.has(inner):
            value = _normalise(value, inner, f"{where}{key}.", unknown)
        out[name] = value
    return out


for _cls in (MemoryOptions, InlineCompletionOptions, InitializationOptions):
    attrs.resolve_types(_cls)

_converter = cattrs.Converter()


def parse_options(raw: Any) -> tuple[InitializationOptions, list[str]]:
    """Structure `initializationOptions`; returns the options and human-readable problems."""
    problems: list[str] = []
    if raw is None:
        return InitializationOptions(), problems
    if not isinstance(raw, dict):
        return InitializationOptions(), ["initializationOptions must be an object; ignored"]
    unknown: list[str] = []
    data = _normalise(raw, InitializationOptions, "", unknown)
    if unknown:
        problems.append(f"unknown initializationOptions ignored: {', '.join(unknown)}")
    try:
        return _converter.structure(data, InitializationOptions), problems
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        details = "; ".join(cattrs.transform_error(exc, path="initializationOptions"))
        problems.append(f"invalid initializationOptions, using defaults: {details}")
        return InitializationOptions(), problems
