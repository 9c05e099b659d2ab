"""The assistant in the editor: chat, memory search, reindex, remember, daily log, sessions.

Every command takes one JSON object (`arguments: [{...}]`) and answers in the shapes of
DESIGN.md (schemas in `schemas/lsp/`):

- `localgpt.chat {message, session_id?, context?, model?}` -> `{response, session_id, model}`.
  Text streams as `localgpt/chatDelta {session_id, text}` notifications and, when the client
  supports work-done progress, as `$/progress` reports. `$/cancelRequest` stops the provider
  stream; the session keeps the user's message. File tools ask with window/showMessageRequest
  (Allow / Deny) where the client supports it, and are refused otherwise.
- `localgpt.memorySearch {query, limit?}` -> `{query, results, mode, workspace}`.
- `localgpt.reindex {force?}` -> the `memory stats --json` object.
- `localgpt.remember {text, target?}` -> `{file, target}`; through applyEdit when that file is
  open in the editor, else appended to the file.
- `localgpt.openDailyLog {}` -> `{file}`; creates today's log and shows it (window/showDocument).
- `localgpt.sessions {}` -> `{sessions: [...]}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls import daily_log
from localgpt_ls.agent.events import AgentEvent, TextDelta
from localgpt_ls.agent.sessions import SessionStore, new_session_id
from localgpt_ls.agent.tools import ToolContext, append_plan, memory_append
from localgpt_ls.lsp.editor_bridge import append_in_editor
from localgpt_ls.lsp.errors import InvalidArguments, command_object
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.protocol import COMMAND_WORK_DONE_TOKEN
from localgpt_ls.lsp.status import Progress, send_status

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")

CHAT = "localgpt.chat"
CHAT_DELTA = "localgpt/chatDelta"
MEMORY_SEARCH = "localgpt.memorySearch"
REINDEX = "localgpt.reindex"
REMEMBER = "localgpt.remember"
OPEN_DAILY_LOG = "localgpt.openDailyLog"
SESSIONS = "localgpt.sessions"

# Deltas are batched into one `$/progress` report at most this often: a report per token would
# flood slow clients, and editors redraw progress no faster anyway.
PROGRESS_INTERVAL = 0.1


def _text(args: dict[str, Any], key: str, name: str, required: bool = True) -> str | None:
    value = args.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidArguments(f"{name} needs '{key}' as a non-empty string")
    return value


def _can_ask(ls: LocalGPTServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window and window.show_message is not None)


def make_approver(ls: LocalGPTServer) -> Any:
    """File tools ask the user in the editor; with no way to ask, the answer is no."""
    if not _can_ask(ls):
        return None

    async def approve(tool_name: str, summary: str) -> bool:
        allow, deny = types.MessageActionItem(title="Allow"), types.MessageActionItem(title="Deny")
        answer = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
            type=types.MessageType.Warning,
            message=f"LocalGPT wants to run {tool_name}: {summary}",
            actions=[allow, deny]))
        return answer is not None and answer.title == allow.title

    return approve


class ChatStream:
    """Forwards a turn's text to the editor: every delta as `localgpt/chatDelta`, and batched
    `$/progress` reports on the given token."""

    def __init__(self, ls: LocalGPTServer, session_id: str, token: Any,
                 deltas: bool = True) -> None:
        self.ls = ls
        self.session_id = session_id
        self.deltas = deltas  # code actions stream as progress only: no chat window shows them
        self.token = token
        self.pending = ""
        self.last_report = 0.0

    def __call__(self, event: AgentEvent) -> None:
        if not isinstance(event, TextDelta) or not event.text:
            return
        if self.deltas:
            self.ls.protocol.notify(CHAT_DELTA,
                                    {"session_id": self.session_id, "text": event.text})
        if self.token is None:
            return
        self.pending += event.text
        now = asyncio.get_running_loop().time()
        if now - self.last_report >= PROGRESS_INTERVAL:
            self.flush()
            self.last_report = now

    def flush(self) -> None:
        if self.token is not None and self.pending:
            self.ls.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=self.pending))
            self.pending = ""


@contextlib.asynccontextmanager
async def answering(ls: LocalGPTServer, token: Any, title: str,
                    stream: ChatStream | None = None) -> AsyncIterator[None]:
    """While the model answers: progress begun on `token` (with a cancel button) and status
    "thinking"; afterwards what streamed is flushed, the progress ends and the status says how
    it went. A provider error also goes to the client's log (window/logMessage)."""
    if token is not None:
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title=title, message="thinking…", cancellable=True))
    send_status(ls, "thinking", f"{title} is answering")
    state, note = "ready", "LocalGPT is ready"
    try:
        yield
    except asyncio.CancelledError:
        note = f"{title}: cancelled"
        raise
    except Exception as exc:
        state, note = "error", str(exc)
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Error,
                                                     message=f"{title} failed: {exc}"))
        raise
    finally:
        if stream is not None:
            stream.flush()
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=note))
        send_status(ls, state, note)  # type: ignore[arg-type]


async def run_chat(ls: LocalGPTServer, args: dict[str, Any], token: Any) -> dict[str, Any]:
    """One chat turn; the caller's task is what `$/cancelRequest` cancels."""
    engine = ls.require_engine()
    message = _text(args, "message", CHAT) or ""
    session_id = _text(args, "session_id", CHAT, required=False) or new_session_id()
    context = _text(args, "context", CHAT, required=False)
    model = _text(args, "model", CHAT, required=False)
    # A question asked right after startup must see the notes the startup reindex is adding.
    await _memory_synced(ls)
    stream = ChatStream(ls, session_id, token)
    async with answering(ls, token, "LocalGPT", stream):
        result = await engine.agent.chat(message, session_id, model, on_event=stream,
                                         approver=make_approver(ls), context=context)
    data: dict[str, Any] = result.to_dict()
    return data


async def remember_text(ls: LocalGPTServer, text: str, target: str) -> dict[str, Any]:
    """Append to today's log or MEMORY.md: through the editor when that file is open there
    (it may hold unsaved text that a file write would clobber), else to the file."""
    engine = ls.require_engine()
    rel, header, entry = append_plan(text, target, datetime.now().astimezone())
    path = engine.workspace / rel
    if ls.is_open(ls.path_uri(path)):
        empty = not (ls.doc_text(ls.path_uri(path)) or "").strip()
        if await append_in_editor(ls, path, (header if empty else "") + entry + "\n"):
            return {"file": rel, "target": target}
    # Keywords at once; the vectors follow from the file change, in the background (lifecycle
    # MemorySync), never while the user waits for "Remember this".
    ctx = ToolContext(engine.workspace, memory=lambda: engine.memory, embed_behind=True)
    await memory_append({"text": text, "target": target}, ctx)
    return {"file": rel, "target": target}


async def progress_token(ls: LocalGPTServer, prefix: str) -> Any:
    """The request's workDoneToken, else one the server creates where the client supports
    work-done progress, else None."""
    token = COMMAND_WORK_DONE_TOKEN.get()
    window = ls.client_capabilities.window
    if token is None and window and window.work_done_progress:
        token = f"localgpt-{prefix}-{new_session_id()}"
        try:
            async with asyncio.timeout(5):
                await ls.work_done_progress.create_async(token)
        except Exception:  # the client refused or never answered: no progress UI
            token = None
    return token


async def _memory_synced(ls: LocalGPTServer, timeout: float = 60.0) -> None:
    """Wait for the startup reindex (when it runs), then answer from whatever is indexed."""
    if not ls.options.memory.index_on_startup:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await ls.memory_synced.wait()


class AssistantCommands(Feature):
    """The assistant's commands: chat, memory search, reindex, remember, today's log,
    sessions."""

    def commands(self) -> dict[str, Any]:
        async def chat(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            args = command_object(CHAT, arguments)
            token = await progress_token(ls, "chat")
            async with ls.cancellable_request():
                with ls.cancellable_progress(token):
                    return await run_chat(ls, args, token)

        async def memory_search(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            args = command_object(MEMORY_SEARCH, arguments)
            query = _text(args, "query", MEMORY_SEARCH) or ""
            limit = args.get("limit", 6)
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
                raise InvalidArguments(f"{MEMORY_SEARCH}: 'limit' must be an integer from 1 to 100")
            engine = ls.require_engine()
            await _memory_synced(ls)
            response = await ls.run_blocking(engine.memory.search, query, limit)
            data: dict[str, Any] = response.to_dict()
            data["workspace"] = str(engine.workspace)
            return data

        async def reindex(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            args = command_object(REINDEX, arguments)
            force = args.get("force", False)
            if not isinstance(force, bool):
                raise InvalidArguments(f"{REINDEX}: 'force' must be true or false")
            engine = ls.require_engine()
            send_status(ls, "indexing", "reindexing memory")
            try:
                async with Progress(ls, "LocalGPT: reindexing memory",
                                    COMMAND_WORK_DONE_TOKEN.get()) as progress:
                    def report(phase: str, done: int, total: int) -> None:
                        percent = int(100 * done / total) if total else None
                        progress.report(f"{phase} {done}/{total}", percent)

                    await ls.run_long(
                        lambda: engine.memory.reindex(force=force, progress=report))
            finally:
                send_status(ls, "ready", "memory index up to date")
            stats: dict[str, Any] = await ls.run_blocking(engine.memory.stats)
            return stats

        async def remember(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            args = command_object(REMEMBER, arguments)
            text = (_text(args, "text", REMEMBER) or "").strip()
            target = args.get("target") or "daily"
            if target not in ("daily", "memory"):
                raise InvalidArguments(f"{REMEMBER}: 'target' must be \"daily\" or \"memory\"")
            return await remember_text(ls, text, target)

        async def open_daily_log(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            command_object(OPEN_DAILY_LOG, arguments)
            workspace = ls.require_engine().workspace
            today = datetime.now().astimezone().date()
            path = await ls.run_blocking(daily_log.create, workspace, today)
            rel = daily_log.rel_path(today)
            window = ls.client_capabilities.window
            if window and window.show_document and window.show_document.support:
                await ls.window_show_document_async(types.ShowDocumentParams(
                    uri=ls.path_uri(path), take_focus=True))
            else:
                log.info("client cannot show documents; today's log is %s", path)
            return {"file": rel, "path": str(path)}

        async def sessions(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            command_object(SESSIONS, arguments)
            found = await ls.run_blocking(SessionStore().list)
            return {"sessions": [info.to_dict() for info in found]}

        return {CHAT: chat, MEMORY_SEARCH: memory_search, REINDEX: reindex, REMEMBER: remember,
                OPEN_DAILY_LOG: open_daily_log, SESSIONS: sessions}
