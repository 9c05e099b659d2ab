"""The Feature base class: one job of the language server, as an object that owns its state.

A feature overrides the hooks it needs; `app.py` registers every LSP method once and calls the
features in order, so a feature never registers anything itself and two servers in one
process never share a feature's state. A feature failing in a shared hook (a code action
provider raising, a lens failing) is logged and skipped; the other features still answer.

Hooks:
- `handlers()`: LSP methods this feature alone answers, as `Handler(method, fn, options)`;
  `fn(ls, params)` may be a plain function, a coroutine function or a generator function
  (`yield from ls.until_scanned()`, `yield from ls.until_parsed(uri)` before reading an open
  document's note), as pygls runs them.
- `commands()`: `{name: fn(ls, *arguments)}` for workspace/executeCommand.
- `initialize(params)`, `initialized()`, `start()` (background work, once the editor's first
  burst of requests is served), `shutdown()` (async; called in reverse order).
- `document_opened/changed/closed/saved(uri)`: after the server's document state has it.
- `code_actions(params)`, `resolve_code_action(action)` (return it unchanged when it is not
  yours), `code_lenses(uri)` (async).

Features import the server for typing only (`if TYPE_CHECKING:`); what they use of it at run
time is the object they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer


@dataclass(frozen=True)
class Handler:
    method: str
    fn: Callable[..., Any]
    options: Any = None


class Feature:
    """Override what you need; every hook's default does nothing."""

    # Kinds of the code actions this feature offers (announced in the server's capabilities).
    code_action_kinds: tuple[types.CodeActionKind, ...] = ()

    def __init__(self, server: LocalGPTServer) -> None:
        self.server = server

    @property
    def name(self) -> str:
        return type(self).__name__

    def handlers(self) -> Iterable[Handler]:
        return ()

    def commands(self) -> Mapping[str, Callable[..., Any]]:
        return {}

    def initialize(self, params: types.InitializeParams) -> None:
        del params

    def initialized(self) -> None:
        pass

    def start(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def document_opened(self, uri: str) -> None:
        del uri

    def document_changed(self, uri: str) -> None:
        del uri

    def document_closed(self, uri: str) -> None:
        del uri

    def document_saved(self, uri: str) -> None:
        del uri

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        del params
        return []

    def resolve_code_action(self, action: types.CodeAction) -> types.CodeAction:
        return action

    async def code_lenses(self, uri: str) -> list[types.CodeLens]:
        del uri
        return []
