"""Chat as a document: a markdown file under `chats/` holds a conversation.

    # Chat 2026-11-24

    ## You

    What did I decide about the garden?

    ## LocalGPT

    You decided to grow tomatoes (memory/2026-11-20.md).

    ## You

The action "Send to LocalGPT" (a code action anywhere in the document and a code lens on the
last `## You` heading) sends the last `## You` section, with the turns above it as history, and
streams the reply into the document through workspace/applyEdit, then opens a new `## You`
section for the next question. It works in any client that applies edits, with no glue. The
document is the conversation: nothing is recorded elsewhere, and editing an earlier turn changes
what the model sees next time.

`localgpt.sendChat {uri}` -> `{response, model}`; `localgpt.openChatDocument {}` -> `{file, path}`
(today's chat, created when missing, shown with window/showDocument).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.agent.events import AgentEvent, TextDelta
from localgpt_ls.llm.types import Message
from localgpt_ls.lsp import codeactions
from localgpt_ls.lsp.assistant_commands import answering, make_approver, progress_token
from localgpt_ls.lsp.edits import (
    append_text,
    apply_edit,
    blank_line_before,
    content_end,
    version_of,
    wait_for_sync,
    workspace_edit,
)
from localgpt_ls.lsp.errors import InvalidArguments, RequestFailed, command_object
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.positions import units
from localgpt_ls.workspace import create_workspace_file, safe_path

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

SEND_CHAT = "localgpt.sendChat"
OPEN_CHAT = "localgpt.openChatDocument"
CHAT_DIR = "chats"
YOU, ASSISTANT = "You", "LocalGPT"
SEND_TITLE = "Send to LocalGPT"
# The reply goes into the document in pieces at most this often: each piece is an edit the
# editor applies and reports back, so a piece per token would flood it.
FLUSH_INTERVAL = 0.15


@dataclass
class Turn:
    role: str  # YOU or ASSISTANT
    text: str
    line: int  # 0-based line of its heading


def is_chat(ls: LocalGPTServer, uri: str) -> bool:
    """A markdown file in the workspace's `chats/` folder."""
    path = ls.uri_path(uri)
    if path is None or path.suffix.lower() != ".md":
        return False
    return ls.rel_of(path).split("/")[0] == CHAT_DIR


def turns(ls: LocalGPTServer, uri: str) -> list[Turn]:
    """The `## You` / `## LocalGPT` sections of a chat document, in order (headings inside
    code blocks do not count: the markdown parser knows them)."""
    note = ls.note_for(uri)
    lines = ls.doc_lines(uri)
    if note is None:
        return []
    marks = [h for h in note.headings if h.level == 2 and h.text.strip() in (YOU, ASSISTANT)]
    out = []
    for i, heading in enumerate(marks):
        end = marks[i + 1].line - 1 if i + 1 < len(marks) else len(lines)
        body = "\n".join(lines[heading.line:end]).strip()
        out.append(Turn(heading.text.strip(), body, heading.line - 1))
    return out


def pending(ls: LocalGPTServer, uri: str) -> Turn | None:
    """The last `## You` section when it has text and no reply yet."""
    found = turns(ls, uri)
    if found and found[-1].role == YOU and found[-1].text:
        return found[-1]
    return None


_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def pasted_code(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """Runs of lines[first:last] (0-based, end exclusive) that read as a pasted snippet: lines
    with no blank between them, outside any fence, where a `#` line (a shell or Python
    comment, which markdown takes for a heading) sits against another line. A heading a person
    writes stands apart, with blank lines around it."""
    out: list[tuple[int, int]] = []
    i, fenced = first, False
    while i < last:
        if _FENCE.match(lines[i]):
            fenced = not fenced
            i += 1
            continue
        if fenced or not lines[i].strip():
            i += 1
            continue
        j = i
        while j < last and lines[j].strip() and not _FENCE.match(lines[j]):
            j += 1
        if j - i >= 2 and any(_ATX.match(line) for line in lines[i:j]):
            out.append((i, j))
        i = j
    return out


async def fence_pasted_code(ls: LocalGPTServer, uri: str, question: Turn) -> bool:
    """Put a snippet pasted under the last `## You` in a code fence, in the editor (one edit,
    undone with one undo), so its `#` lines stay code: in the document, in its outline and in
    what the model reads. True when something was fenced."""
    lines = ls.doc_lines(uri)
    blocks = pasted_code(lines, question.line + 1, len(lines))
    if not blocks:
        return False
    edits = []
    for start, end in blocks:
        last = end - 1
        edits.append(types.TextEdit(
            range=types.Range(start=types.Position(line=start, character=0),
                              end=types.Position(line=start, character=0)), new_text="```\n"))
        tail = types.Position(line=last, character=units(lines[last], ls.encoding))
        edits.append(types.TextEdit(range=types.Range(start=tail, end=tail), new_text="\n```"))
    before = version_of(ls, uri)
    if not await apply_edit(ls, workspace_edit(ls, {uri: edits}), "LocalGPT"):
        return False
    await wait_for_sync(ls, uri, before)
    return True


def history(found: list[Turn]) -> list[Message]:
    """Earlier turns as model messages (empty sections are skipped)."""
    out = []
    for turn in found:
        if turn.text:
            out.append(Message("user" if turn.role == YOU else "assistant", turn.text))
    return out


class DocumentStream:
    """Appends a turn's text to the chat document in batches, one applyEdit at a time."""

    def __init__(self, ls: LocalGPTServer, uri: str, token: Any) -> None:
        self.ls, self.uri, self.token = ls, uri, token
        self.pending = ""
        self.written = ""
        self.failed = False
        self._wake = asyncio.Event()
        self._done = False
        self._task: asyncio.Task[None] | None = None

    def __call__(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta) and event.text:
            self.pending += event.text
            self._wake.set()

    async def __aenter__(self) -> DocumentStream:
        self._task = asyncio.create_task(self._pump())
        return self

    async def _pump(self) -> None:
        while not self._done or self.pending:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()
            if not self._done:
                await asyncio.sleep(FLUSH_INTERVAL)

    async def _flush(self) -> None:
        text, self.pending = self.pending, ""
        if not text or self.failed:
            return
        if not await append_text(self.ls, self.uri, text, "LocalGPT"):
            self.failed = True  # the editor refused (closed the document?): stop writing
            return
        self.written += text
        if self.token is not None:
            self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(
                message=f"{len(self.written)} characters"))

    async def __aexit__(self, *exc: object) -> None:
        self._done = True
        self._wake.set()
        if self._task is not None:
            # Shielded: a cancelled turn still writes out what had streamed.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)


async def send(ls: LocalGPTServer, uri: str, busy: set[str]) -> dict[str, Any]:
    """Answer the document's last `## You` into it; `busy` holds the documents being
    answered (one answer at a time per document)."""
    engine = ls.require_engine()
    if not ls.is_open(uri):
        raise RequestFailed(f"{SEND_CHAT}: open the chat document in the editor first")
    found = turns(ls, uri)
    question = pending(ls, uri)
    if question is None:
        raise RequestFailed(f"{SEND_CHAT}: nothing to send; write your message under the "
                            f"last '## {YOU}' heading")
    if uri in busy:
        raise RequestFailed(f"{SEND_CHAT}: LocalGPT is already answering in this document")
    if await fence_pasted_code(ls, uri, question):
        found = turns(ls, uri)
        question = pending(ls, uri) or question
    busy.add(uri)
    try:
        return await _answer(ls, engine, uri, question, history(found[:-1]))
    finally:
        busy.discard(uri)


def _content(ls: LocalGPTServer, uri: str) -> str:
    """The document's text up to a final line break (where `append_text` writes)."""
    text = ls.doc_text(uri) or ""
    return text[:content_end(text)]


async def _answer(ls: LocalGPTServer, engine: Any, uri: str, question: Turn,
                  earlier: list[Message]) -> dict[str, Any]:
    if not await append_text(ls, uri, blank_line_before(_content(ls, uri)) +
                             f"## {ASSISTANT}\n\n", "LocalGPT"):
        raise RequestFailed(f"{SEND_CHAT}: the editor refused the edit; is the document "
                            "read-only?")
    token = await progress_token(ls, "chatdoc")
    path = ls.uri_path(uri)
    where = ls.rel_of(path) if path is not None else uri
    async with answering(ls, token, "LocalGPT"):
        ending = ""
        try:
            async with DocumentStream(ls, uri, token) as stream, ls.cancellable_request():
                with ls.cancellable_progress(token):
                    result = await engine.agent.run_turn(
                        question.text, on_event=stream, history=earlier,
                        approver=make_approver(ls), exclude_files=(where,),
                        system_extra=f"This conversation is the document {where} in the "
                                     "user's editor; answer in markdown.")
            return {"response": result.response, "model": result.model}
        except asyncio.CancelledError:
            ending = "\n\n*(stopped)*"
            raise
        except Exception as exc:
            ending = f"\n\n> LocalGPT failed: {exc}"
            raise
        finally:
            # Always leave the next `## You` ready: the document is the whole interface.
            tail = ending + blank_line_before(_content(ls, uri) + ending) + f"## {YOU}\n"
            with contextlib.suppress(Exception):
                await asyncio.shield(append_text(ls, uri, tail, "LocalGPT"))


def send_actions(ls: LocalGPTServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """"Send to LocalGPT" anywhere in a chat document whose last `## You` awaits a reply."""
    uri = params.text_document.uri
    if ls.engine is None or not is_chat(ls, uri) or pending(ls, uri) is None:
        return []
    if not codeactions.wanted(types.CodeActionKind.QuickFix.value, params.context.only):
        return []
    return [types.CodeAction(
        title=SEND_TITLE, kind=types.CodeActionKind.QuickFix, is_preferred=True,
        command=types.Command(title=SEND_TITLE, command=SEND_CHAT, arguments=[{"uri": uri}]))]


async def send_lens(ls: LocalGPTServer, uri: str) -> list[types.CodeLens]:
    if ls.engine is None or not is_chat(ls, uri):
        return []
    question = pending(ls, uri)
    if question is None:
        return []
    here = types.Range(start=types.Position(line=question.line, character=0),
                       end=types.Position(line=question.line, character=0))
    return [types.CodeLens(range=here, command=types.Command(
        title=f"▶ {SEND_TITLE}", command=SEND_CHAT, arguments=[{"uri": uri}]))]


class ChatDocuments(Feature):
    """Chat documents under chats/: "Send to LocalGPT" (code action and lens), open one."""

    code_action_kinds = (types.CodeActionKind.QuickFix,)

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        return send_actions(self.server, params)

    async def code_lenses(self, uri: str) -> list[types.CodeLens]:
        return await send_lens(self.server, uri)

    def __init__(self, server: LocalGPTServer) -> None:
        super().__init__(server)
        self.busy: set[str] = set()  # documents an answer is streaming into

    def commands(self) -> dict[str, Any]:
        busy = self.busy

        async def send_chat(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            args = command_object(SEND_CHAT, arguments)
            uri = args.get("uri")
            if not isinstance(uri, str) or not is_chat(ls, uri):
                raise InvalidArguments(
                    f"{SEND_CHAT} needs 'uri': a markdown file under {CHAT_DIR}/")
            return await send(ls, uri, busy)

        async def open_chat(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            command_object(OPEN_CHAT, arguments)
            engine = ls.require_engine()
            today = datetime.now().astimezone().date().isoformat()
            path = engine.workspace / CHAT_DIR / f"{today}.md"

            # Exclusive and never through a link: a chat another editor began is kept.
            await ls.run_blocking(create_workspace_file, engine.workspace, safe_path(
                engine.workspace, f"{CHAT_DIR}/{today}.md"), f"# Chat {today}\n\n## {YOU}\n\n")
            window = ls.client_capabilities.window
            if window and window.show_document and window.show_document.support:
                await ls.window_show_document_async(types.ShowDocumentParams(
                    uri=ls.path_uri(path), take_focus=True))
            return {"file": f"{CHAT_DIR}/{today}.md", "path": str(path)}

        return {SEND_CHAT: send_chat, OPEN_CHAT: open_chat}
