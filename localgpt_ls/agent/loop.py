"""The turn loop: context, provider stream, tool rounds, session records, compaction.

`Agent.chat` is the session-backed turn every door uses; `Agent.run_turn` is the same loop
without a session (heartbeat, code actions). The user's message is written to the session
before the provider is called, so a failed or cancelled turn never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import httpx

from localgpt_ls.agent import tools as toolbox
from localgpt_ls.agent.context import build_system_prompt
from localgpt_ls.agent.events import (
    Approver,
    ChatResult,
    EventSink,
    TextDelta,
    ToolEnd,
    ToolStart,
    TurnError,
)
from localgpt_ls.agent.memory_only import memory_only_reply
from localgpt_ls.agent.sessions import Session, SessionStore
from localgpt_ls.config import Config
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.llm.base import Provider
from localgpt_ls.llm.models import ModelChoice, build_provider, resolve_model
from localgpt_ls.llm.transport import RetryPolicy, Timeouts
from localgpt_ls.llm.types import (
    Message,
    Request,
    Stop,
    TextChunk,
    ToolCall,
    ToolCallReady,
    clean_text,
)

log = logging.getLogger("localgpt_ls.agent")

INTERRUPTED = "[interrupted]"
COMPACT_AT = 0.8  # share of the context window that triggers compaction
KEEP_MESSAGES = 6
AUTO_CACHE_SECONDS = 60.0
FLUSH_PROMPT = (
    "The conversation so far is about to be compacted and older turns will be replaced by a "
    "summary. If it contains durable facts, decisions or to-dos worth keeping, append them now "
    "to today's daily log with memory_append (target \"daily\"). If there is nothing, reply "
    "NO_FLUSH.")
SUMMARY_SYSTEM = ("You summarise conversations for a personal assistant. Keep facts, decisions, "
                  "open questions and the user's preferences; drop chit-chat. Be concise.")


def _noop(event: Any) -> None:
    return None


def estimate_tokens(system: str, messages: list[Message]) -> int:
    """A cheap size estimate (4 chars per token) to decide when to compact."""
    chars = len(system)
    for m in messages:
        chars += len(m.content) + sum(len(json.dumps(c.arguments)) + len(c.name)
                                      for c in m.tool_calls)
    return chars // 4


def repair(messages: list[Message]) -> list[Message]:
    """Make a history the providers accept: every tool call answered right after its assistant
    message, no orphan tool results. A cancelled turn can leave either behind."""
    out: list[Message] = []
    i = 0
    while i < len(messages):
        m = messages[i]
        i += 1
        if m.role == "tool":
            continue  # orphan: its call was not in the preceding assistant message
        out.append(m)
        if m.role != "assistant" or not m.tool_calls:
            continue
        results: dict[str, Message] = {}
        while i < len(messages) and messages[i].role == "tool":
            results[messages[i].tool_call_id or ""] = messages[i]
            i += 1
        for call in m.tool_calls:
            out.append(results.get(call.id) or Message(
                "tool", "error: not run, the turn was interrupted", tool_call_id=call.id,
                name=call.name, is_error=True))
    return out


def transcript(messages: list[Message]) -> str:
    """Plain text of a conversation, for the summariser (no tool blocks to validate)."""
    lines = []
    for m in messages:
        if m.role == "tool":
            lines.append(f"[tool {m.name} result] {m.content[:1500]}")
            continue
        if m.content:
            lines.append(f"{m.role}: {m.content}")
        for c in m.tool_calls:
            lines.append(f"[assistant called {c.name} {json.dumps(c.arguments)[:300]}]")
    return "\n".join(lines)


class Agent:
    """The assistant. Built by Engine.agent; safe to share across tasks of one event loop."""

    def __init__(self, config: Config, workspace: Path, memory: Callable[[], Any] | None = None,
                 *, store: SessionStore | None = None, retry: RetryPolicy | None = None,
                 timeouts: Timeouts | None = None, line_editor: toolbox.LineEditor | None = None,
                 refresh_memory: Callable[[], bool] = lambda: True) -> None:
        self.config = config
        self.workspace = workspace
        # Answers False while a door keeps the index fresh itself (the language server
        # watches files, the daemon and `localgpt mcp` follow them): a turn never waits for
        # a reindex. Asked each turn (Engine.index_kept_fresh), never reassigned.
        self.refresh_memory = refresh_memory
        # From an editor door (Engine.editor): tools edit open documents through the editor.
        self.line_editor = line_editor
        self.memory = _refresh_once(memory, refresh_memory) if memory else None
        self.sessions = store or SessionStore()
        self.retry = retry
        self.timeouts = timeouts or Timeouts(read=config.agent.request_timeout)
        self._auto: tuple[float, ModelChoice] | None = None

    # -- model -------------------------------------------------------------------------------

    async def resolve_model(self, model: str | None = None) -> ModelChoice:
        """The model a turn would use; "auto" is probed at most once a minute."""
        name = model or self.config.agent.default_model or "auto"
        if name != "auto":
            return await resolve_model(name, self.config)
        if self._auto and time.monotonic() - self._auto[0] < AUTO_CACHE_SECONDS:
            return self._auto[1]
        choice = await resolve_model("auto", self.config)
        self._auto = (time.monotonic(), choice)
        return choice

    def _provider(self, choice: ModelChoice) -> Provider:
        return build_provider(choice, self.config, self.retry)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.timeouts.httpx())

    # -- public turns ------------------------------------------------------------------------

    async def chat(self, message: str, session_id: str | None = None, model: str | None = None,
                   *, on_event: EventSink | None = None, approver: Approver | None = None,
                   context: str | None = None, system_extra: str | None = None) -> ChatResult:
        """One turn in a session (created when session_id is None or unknown).

        Raises LocalGPTError (after a TurnError event) when the provider fails; the user's
        message stays in the session either way. Cancel the task to stop the turn: the stream
        is closed and what had streamed is kept, marked [interrupted].
        """
        emit = on_event or _noop
        # A door may pass what a JSON client sent verbatim: memory-only mode searches the bare
        # message, so it is cleaned here; Message cleans what is stored and sent (context too).
        message = clean_text(message)
        user = Message("user", _with_context(message, context))
        try:
            choice = await self.resolve_model(model or None)
        except LocalGPTError as exc:
            # No turn can start (an unknown model name, a broken endpoint); the message is
            # still recorded, so fixing the name and resuming the session loses nothing.
            self._keep(session_id, model or self.config.agent.default_model, user, str(exc))
            emit(TurnError(str(exc)))
            raise
        try:
            session = self.sessions.open_or_create(session_id, choice.label, self.workspace)
        except LocalGPTError as exc:
            emit(TurnError(str(exc)))
            raise
        # Recorded first: whatever fails from here on, the user's text is not lost.
        session.append(user)
        if choice.memory_only:
            first = not any(m.role == "assistant" for m in session.messages)
            reply = await asyncio.to_thread(memory_only_reply, message, self.memory, 3, first)
            emit(TextDelta(reply))
            session.append(Message("assistant", reply))
            return ChatResult(reply, session.id, choice.label)
        ctx = self._tool_context(approver)
        try:
            provider = self._provider(choice)
            system = self._system(system_extra)
            async with self._client() as client:
                if estimate_tokens(system, session.messages) > (
                        COMPACT_AT * self.config.agent.context_window):
                    await self._compact_quietly(client, provider, session, ctx)
                text = await self._loop(client, provider, system, list(session.messages[:-1]),
                                        user, ctx, emit, session.append)
        except LocalGPTError as exc:
            _record_error(session, str(exc))
            emit(TurnError(str(exc)))
            raise
        return ChatResult(text, session.id, choice.label)

    def _keep(self, session_id: str | None, model: str, user: Message, error: str) -> None:
        try:
            session = self.sessions.open_or_create(session_id, model, self.workspace)
            session.append(user)
        except (LocalGPTError, OSError) as exc:  # the turn's own error is the one to report
            log.warning("could not record the message: %s", exc)
            return
        _record_error(session, error)

    async def run_turn(self, message: str, model: str | None = None, *,
                       on_event: EventSink | None = None, approver: Approver | None = None,
                       context: str | None = None, system_extra: str | None = None,
                       history: list[Message] | None = None,
                       tools: list[str] | None = None,
                       exclude_files: Collection[str] = ()) -> ChatResult:
        """A turn with no session (heartbeat, editor code actions): nothing is recorded.

        `tools` limits the tools offered (None = all, [] = none). `exclude_files` are never
        cited from memory in this turn (the chat document the question is typed in). Returns
        ChatResult with session_id "" and model "memory-only" when no model is configured (the
        response is then the memory-only text)."""
        emit = on_event or _noop
        # A door may pass what a JSON client sent verbatim: memory-only mode searches the bare
        # message, so it is cleaned here; Message cleans what is stored and sent (context too).
        message = clean_text(message)
        ctx = self._tool_context(approver, exclude_files)
        user = Message("user", _with_context(message, context))
        try:
            choice = await self.resolve_model(model or None)
            if choice.memory_only:
                reply = await asyncio.to_thread(memory_only_reply, message, self.memory, 3,
                                                True, exclude_files)
                emit(TextDelta(reply))
                return ChatResult(reply, "", choice.label)
            provider = self._provider(choice)
            system = self._system(system_extra, tools)
            async with self._client() as client:
                text = await self._loop(client, provider, system, list(history or []), user,
                                        ctx, emit, lambda m: None, tools)
        except LocalGPTError as exc:
            emit(TurnError(str(exc)))
            raise
        return ChatResult(text, "", choice.label)

    async def compact(self, session_id: str, model: str | None = None) -> str:
        """Compact a session now (memory flush, then summary); returns the summary."""
        session = self.sessions.open(session_id)
        choice = await self.resolve_model(model or None)
        if choice.memory_only:
            raise LocalGPTError("compaction needs a model; none is configured")
        ctx = self._tool_context(None)
        async with self._client() as client:
            return await self._compact(client, self._provider(choice), session, ctx)

    # -- internals ---------------------------------------------------------------------------

    def _tool_context(self, approver: Approver | None,
                      exclude_files: Collection[str] = ()) -> toolbox.ToolContext:
        """What this turn's tools work with. Where a door keeps the index fresh (the editor's
        background embedding, the daemon's and `localgpt mcp`'s follower), a note a tool
        writes is indexed by keywords at once and its vectors follow behind: embedding it in
        the turn waited for the model and the whole backlog while a reindex ran."""
        return toolbox.ToolContext(self.workspace, self.memory, approver,
                                   line_editor=self.line_editor, settings=self.config.tools,
                                   exclude_files=frozenset(exclude_files),
                                   embed_behind=not self.refresh_memory())

    def _system(self, extra: str | None, tools: list[str] | None = None) -> str:
        return build_system_prompt(self.workspace, toolbox.specs(tools, self.config.tools),
                                   extra=extra)

    async def _loop(self, client: httpx.AsyncClient, provider: Provider, system: str,
                    history: list[Message], user: Message, ctx: toolbox.ToolContext,
                    emit: EventSink, record: Callable[[Message], None],
                    allowed: list[str] | None = None) -> str:
        """Stream rounds until the model answers without tool calls (or the round limit)."""
        messages = [*repair(history), user]
        specs = toolbox.specs(allowed, self.config.tools)
        max_rounds = max(0, self.config.agent.max_tool_rounds)
        said: list[str] = []
        for round_no in range(max_rounds + 1):
            request = Request(system, messages, specs, self.config.agent.max_tokens,
                              forbid_tools=round_no == max_rounds)
            text, calls = await self._stream_round(client, provider, request, emit, record,
                                                   separator=bool(said))
            assistant = Message("assistant", text, calls)
            record(assistant)
            messages.append(assistant)
            if text.strip():
                said.append(text)
            if not calls:
                break
            limit_hit = round_no == max_rounds
            for call in calls:
                if limit_hit:
                    result, is_error = ("error: not run, the tool round limit "
                                        f"({max_rounds}) was reached", True)
                else:
                    emit(ToolStart(call.name, call.arguments))
                    result, is_error = await toolbox.run_tool(call, ctx, allowed)
                    emit(ToolEnd(call.name, result, is_error))
                tool_msg = Message("tool", result, tool_call_id=call.id, name=call.name,
                                   is_error=is_error)
                record(tool_msg)
                messages.append(tool_msg)
            if limit_hit:
                said.append(f"(stopped after {max_rounds} tool rounds)")
        return "\n\n".join(said)

    async def _stream_round(self, client: httpx.AsyncClient, provider: Provider,
                            request: Request, emit: EventSink,
                            record: Callable[[Message], None],
                            separator: bool) -> tuple[str, list[ToolCall]]:
        parts: list[str] = []
        calls: list[ToolCall] = []
        try:
            async with contextlib.aclosing(provider.stream(client, request)) as events:
                async for event in events:
                    if isinstance(event, TextChunk):
                        if separator and not parts:
                            emit(TextDelta("\n\n"))
                        parts.append(event.text)
                        emit(TextDelta(event.text))
                    elif isinstance(event, ToolCallReady):
                        calls.append(event.call)
                    elif isinstance(event, Stop):
                        log.debug("%s stopped: %s", provider.name, event.reason)
        except BaseException:
            # Failed or cancelled mid-reply: keep what the user already saw.
            if parts:
                record(Message("assistant", "".join(parts) + f"\n{INTERRUPTED}"))
            raise
        return "".join(parts), calls

    async def _compact_quietly(self, client: httpx.AsyncClient, provider: Provider,
                               session: Session, ctx: toolbox.ToolContext) -> None:
        """Automatic compaction: a failure is logged and the turn goes on uncompacted (the
        provider will say so if the context really is too long)."""
        try:
            await self._compact(client, provider, session, ctx)
        except LocalGPTError as exc:
            log.warning("compaction failed, continuing without it: %s", exc)

    async def _compact(self, client: httpx.AsyncClient, provider: Provider, session: Session,
                       ctx: toolbox.ToolContext) -> str:
        """Memory flush, then summarise all but the recent messages; the system prompt is
        rebuilt every turn, so it is never part of what gets summarised."""
        messages = session.messages
        split = max(0, len(messages) - KEEP_MESSAGES)
        while split > 0 and messages[split].role != "user":
            split -= 1
        if split <= 0:
            return ""
        flush_system = self._system(None, ["memory_append"])
        try:
            await self._loop(client, provider, flush_system, list(messages),
                             Message("user", FLUSH_PROMPT), ctx, _noop, lambda m: None,
                             ["memory_append"])
        except LocalGPTError as exc:
            log.warning("memory flush before compaction failed: %s", exc)
        old = transcript(messages[:split])
        request = Request(SUMMARY_SYSTEM, [Message("user", "Summarise this conversation:\n\n"
                                                   + old)], [], self.config.agent.max_tokens)
        summary, _ = await self._stream_round(client, provider, request, _noop, lambda m: None,
                                              separator=False)
        session.compact(summary.strip() or "(no summary)", len(messages) - split)
        return summary


def _record_error(session: Session, error: str) -> None:
    try:
        session.record_error(error)
    except OSError as exc:  # the turn's own error is the one to report
        log.warning("could not record the error in session %s: %s", session.id, exc)


def _refresh_once(memory: Callable[[], Any], wanted: Callable[[], bool]) -> Callable[[], Any]:
    """The memory index, brought up to date (incrementally) the first time a turn uses it, so
    a one-shot `localgpt ask` sees notes written since the last index run. Called from worker
    threads only (tools use asyncio.to_thread)."""
    lock = threading.Lock()
    done = False

    def get() -> Any:
        nonlocal done
        index = memory()
        with lock:
            if not done and wanted():
                done = True
                try:
                    index.reindex()
                except Exception as exc:  # a stale index still answers; say why in the log
                    log.warning("memory reindex before search failed: %s", exc)
        return index

    return get


def _with_context(message: str, context: str | None) -> str:
    if not context:
        return message
    return f"{message}\n\n{toolbox.wrap('editor', context)}"
