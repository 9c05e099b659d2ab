"""Inline completion (textDocument/inlineCompletion, LSP 3.18): the model continues the paragraph.

Ghost text is a suggestion the user may ignore, so this feature stays out of the way: it answers
None at once when the client did not ask for it, it is turned off, or no model is configured; it
waits for a quiet moment (`inlineCompletion.debounceMs`) before asking the model, and a newer
request or a keystroke in that document drops the pending one and cancels a model call already
running (the provider stream closes). Failures are logged, never shown: a popup for a suggestion
nobody asked to see would be worse than no suggestion. The handler is async and the model call
awaits network I/O only, so normal completion and hover keep answering meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.lsp.feature import Feature, Handler
from localgpt_ls.lsp.positions import offset_of

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")

BEFORE_CHARS = 3000  # text before the cursor sent to the model
AFTER_CHARS = 1000  # text after it, so the continuation can lead into what follows

INSTRUCTIONS = (
    "You are an inline writing assistant inside a markdown editor. Reply with ONLY the text "
    "that continues the current paragraph at the cursor: no preamble, no explanation, no "
    "quotes, no markdown code fences, and do not repeat any text that comes before the cursor. "
    "Write at most a sentence or two, in the voice and language of the note. If nothing "
    "sensible follows, reply with nothing.")

_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}


def build_prompt(before: str, after: str, rel: str) -> str:
    """The user message: where the cursor is, with the text around it."""
    return (f"Note: {rel}\n\n"
            f"<before_cursor>\n{before[-BEFORE_CHARS:]}</before_cursor>\n"
            f"<after_cursor>{after[:AFTER_CHARS]}\n</after_cursor>\n\n"
            "Continue the paragraph at the cursor.")


def _unquote(text: str) -> str:
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    return text


def clean_answer(answer: str, before: str, max_chars: int) -> str:
    """What the model said, trimmed to one paragraph that fits after `before`."""
    text = _unquote(_FENCE.sub("", answer.replace("\r\n", "\n")).strip())
    text = _BLANK_LINE.split(text, maxsplit=1)[0].strip()
    text = _unquote(text)
    # A model that repeats the current line despite being told not to: keep only the new part.
    line = before.rsplit("\n", 1)[-1].strip()
    if len(line) >= 8 and text.startswith(line):
        text = text[len(line):].lstrip()
    if len(text) > max_chars:
        cut = text[:max_chars + 1]
        space = max(cut.rfind(" "), cut.rfind("\n"))
        text = (cut[:space] if space > 0 else text[:max_chars]).rstrip()
    if text and before and not before[-1].isspace() and text[0].isalnum():
        text = " " + text
    return text


class InlineState:
    """Per document: a ticket that every request and edit advances (a request whose ticket is
    no longer the latest is stale) and the model call in flight, so an edit can cancel it."""

    def __init__(self) -> None:
        self.tickets: dict[str, int] = {}
        self.running: dict[str, asyncio.Task[Any]] = {}

    def advance(self, uri: str) -> int:
        self.tickets[uri] = self.tickets.get(uri, 0) + 1
        running = self.running.pop(uri, None)
        if running is not None:
            running.cancel()
        return self.tickets[uri]

    def current(self, uri: str, ticket: int) -> bool:
        return self.tickets.get(uri) == ticket


def _wanted(ls: LocalGPTServer, uri: str) -> bool:
    """The quick checks: the client asked for inline completion, it is on, the note is open."""
    caps = ls.client_capabilities.text_document
    return bool(caps is not None and caps.inline_completion is not None
                and ls.options.inline_completion.enabled and ls.engine is not None
                and ls.is_open(uri))


def _version(ls: LocalGPTServer, uri: str) -> int | None:
    return ls.workspace.get_text_document(uri).version


async def suggest(ls: LocalGPTServer, state: InlineState,
                  params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
    uri, position = params.text_document.uri, params.position
    if not _wanted(ls, uri):
        return None
    ticket = state.advance(uri)
    version = _version(ls, uri)
    agent = ls.require_engine().agent
    try:
        if (await agent.resolve_model()).memory_only:
            return None
    except Exception as exc:  # a broken model setting: chat reports it, ghost text stays quiet
        log.info("inline completion: no model: %s", exc)
        return None
    await asyncio.sleep(max(0, ls.options.inline_completion.debounce_ms) / 1000)
    if not state.current(uri, ticket) or not ls.is_open(uri) or _version(ls, uri) != version:
        return None
    text = ls.doc_text(uri) or ""
    offset = offset_of(text, position, ls.encoding)
    before, after = text[:offset], text[offset:]
    path = ls.uri_path(uri)
    rel = ls.rel_of(path) if path is not None else uri
    call = asyncio.ensure_future(agent.run_turn(build_prompt(before, after, rel), tools=[],
                                                system_extra=INSTRUCTIONS))
    state.running[uri] = call
    try:
        # Awaiting the call from the request's task: $/cancelRequest cancels both.
        result = await call
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # the client cancelled the request: pygls answers it as cancelled
        return None  # an edit or a newer request cancelled the model call
    except Exception as exc:  # timeouts, HTTP errors, a provider refusing: no suggestion
        log.info("inline completion failed: %s", exc)
        return None
    finally:
        if state.running.get(uri) is call:
            del state.running[uri]
    if not state.current(uri, ticket) or _version(ls, uri) != version:
        return None
    insert = clean_answer(result.response, before, ls.options.inline_completion.max_chars)
    if not insert:
        return None
    return types.InlineCompletionList(items=[types.InlineCompletionItem(
        insert_text=insert, range=types.Range(start=position, end=position))])


def structure_context(converter: Any, obj: Any) -> types.InlineCompletionContext:
    """The request's context as real clients send it, not only as LSP spells it.

    vscode-languageclient 9 passes VS Code's own context through unconverted: its trigger
    kind counts from 0 (Invoke 0, Automatic 1, where LSP has Invoked 1, Automatic 2) and the
    selected item's range is VS Code's JSON for a Range, `[start, end]`. Refusing that as
    invalid params made every keystroke an error in VS Code, so both spellings are accepted;
    what cannot be read falls back to "automatic, nothing selected" (this feature reads
    neither)."""
    obj = obj if isinstance(obj, dict) else {}
    info, selected = obj.get("selectedCompletionInfo"), None
    from_vscode = False
    if isinstance(info, dict) and isinstance(info.get("text"), str):
        raw = info.get("range")
        if isinstance(raw, list) and len(raw) == 2:
            from_vscode = True
            raw = {"start": raw[0], "end": raw[1]}
        try:
            selected = types.SelectedCompletionInfo(
                range=converter.structure(raw, types.Range), text=info["text"])
        except Exception:  # a range we cannot read: as if nothing were selected
            selected = None
    kind = obj.get("triggerKind")
    if kind == 0 or (kind == 1 and from_vscode):
        kind += 1  # VS Code's numbering
    try:
        trigger = types.InlineCompletionTriggerKind(kind)
    except ValueError:
        trigger = types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionContext(trigger_kind=trigger, selected_completion_info=selected)


class InlineCompletion(Feature):
    """Ghost-text continuations from the model, where the client supports inline completion."""

    def __init__(self, server: LocalGPTServer) -> None:
        super().__init__(server)
        self.state = InlineState()
        converter = server.protocol._converter  # pygls keeps its cattrs converter here
        converter.register_structure_hook(types.InlineCompletionContext,
                                          lambda obj, _type: structure_context(converter, obj))

    def document_changed(self, uri: str) -> None:
        self.state.advance(uri)  # the pending suggestion no longer fits what the user typed

    def handlers(self) -> list[Handler]:
        state = self.state

        async def inline_completion(ls: LocalGPTServer, params: types.InlineCompletionParams
                                    ) -> types.InlineCompletionList | None:
            async with ls.cancellable_request():
                return await suggest(ls, state, params)

        return [Handler(types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_completion,
                        types.InlineCompletionOptions())]
