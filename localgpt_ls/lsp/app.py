"""Building the language server: the features, in order, and the one place each LSP method is
registered.

A method several features take part in (initialize/initialized/shutdown, document sync, code
actions and their resolve, code lenses) has one handler here that calls every feature's hook,
so a feature that fails is logged and the rest still answer. A method one feature answers
alone (hover, completion, ...) or a command is registered from that feature's `handlers()` /
`commands()`; pygls refuses a second registration, so two features can never both claim one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from lsprotocol import types

from localgpt_ls.lsp.assistant_actions import AssistantActions
from localgpt_ls.lsp.assistant_commands import AssistantCommands
from localgpt_ls.lsp.chatdoc import ChatDocuments
from localgpt_ls.lsp.codeactions import LinkFixes
from localgpt_ls.lsp.completion import Completion
from localgpt_ls.lsp.diagnostics import Diagnostics
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.heartbeat import Heartbeat
from localgpt_ls.lsp.hover import Hover
from localgpt_ls.lsp.inline import InlineCompletion
from localgpt_ls.lsp.lifecycle import Lifecycle, after_startup_burst
from localgpt_ls.lsp.navigation import Navigation
from localgpt_ls.lsp.rename import Rename
from localgpt_ls.lsp.server import LocalGPTServer
from localgpt_ls.lsp.skills import Skills

log = logging.getLogger("localgpt.lsp")

# Lifecycle first: its `initialize` opens the engine the others use, and it shuts down last.
FEATURES: tuple[type[Feature], ...] = (
    Lifecycle, Completion, Hover, Navigation, Rename, Diagnostics, LinkFixes, Heartbeat,
    AssistantCommands, AssistantActions, ChatDocuments, InlineCompletion, Skills,
)


def create_server(features: tuple[type[Feature], ...] = FEATURES) -> LocalGPTServer:
    """A server with a fresh instance of every feature (nothing is shared between two)."""
    server = LocalGPTServer()
    built = tuple(cls(server) for cls in features)
    server.features = built
    _register(server, built)
    return server


def _guard(feature: Feature, hook: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception:  # one failing feature must not take the others down
        log.exception("%s failed in %s", hook, feature.name)
        return None


async def _guard_async(feature: Feature, hook: str, call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await call()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s failed in %s", hook, feature.name)
        return None


def _command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A command handler pygls can introspect: `ls` first, then the raw arguments."""
    if asyncio.iscoroutinefunction(fn):
        async def run_async(ls: LocalGPTServer, *arguments: Any) -> Any:
            return await fn(ls, *arguments)

        return run_async

    def run(ls: LocalGPTServer, *arguments: Any) -> Any:
        return fn(ls, *arguments)

    return run


def _register(server: LocalGPTServer, features: tuple[Feature, ...]) -> None:
    for feature in features:
        for handler in feature.handlers():
            if handler.options is None:
                server.feature(handler.method)(handler.fn)
            else:
                server.feature(handler.method, handler.options)(handler.fn)
        for name, fn in feature.commands().items():
            server.command(name)(_command(fn))

    @server.feature(types.INITIALIZE)
    def initialize(ls: LocalGPTServer, params: types.InitializeParams) -> None:
        for f in features:
            _guard(f, "initialize", partial(f.initialize, params))

    @server.feature(types.INITIALIZED)
    def initialized(ls: LocalGPTServer, params: types.InitializedParams) -> None:
        for f in features:
            _guard(f, "initialized", f.initialized)
        ls.spawn(_start(ls, features))

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: LocalGPTServer, params: Any = None) -> None:
        for f in reversed(features):
            await _guard_async(f, "shutdown", f.shutdown)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LocalGPTServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.mark_open(uri, params.text_document.version)
        ls.parse_soon(uri)  # a big text starts parsing in its thread now
        for f in features:
            _guard(f, "didOpen", partial(f.document_opened, uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LocalGPTServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.parse_soon(uri)
        for f in features:
            _guard(f, "didChange", partial(f.document_changed, uri))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LocalGPTServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.mark_closed(uri)
        for f in features:
            _guard(f, "didClose", partial(f.document_closed, uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: LocalGPTServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        for f in features:
            _guard(f, "didSave", partial(f.document_saved, uri))

    kinds: list[types.CodeActionKind] = []
    for f in features:
        kinds.extend(k for k in f.code_action_kinds if k not in kinds)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=kinds, resolve_provider=True))
    def code_action(ls: LocalGPTServer, params: types.CodeActionParams) -> list[
            types.CodeAction] | None:
        out: list[types.CodeAction] = []
        for f in features:
            out.extend(_guard(f, "codeAction", partial(f.code_actions, params)) or [])
        return out or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: LocalGPTServer, action: types.CodeAction) -> types.CodeAction:
        for f in features:
            action = _guard(f, "codeAction/resolve",
                            partial(f.resolve_code_action, action)) or action
        return action

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls: LocalGPTServer,
                        params: types.CodeLensParams) -> list[types.CodeLens] | None:
        out: list[types.CodeLens] = []
        for f in features:
            out.extend(await _guard_async(
                f, "codeLens", partial(f.code_lenses, params.text_document.uri)) or [])
        return out or None


async def _start(ls: LocalGPTServer, features: tuple[Feature, ...]) -> None:
    """Background work starts after the editor's first requests (see after_startup_burst)."""
    await after_startup_burst(ls)
    for f in features:
        _guard(f, "start", f.start)
