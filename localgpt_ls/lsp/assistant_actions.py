"""Code actions that run the assistant on a selection, or on the section under the cursor.

Listing costs nothing: an action carries its title, kind and `data` ({action, uri, range});
`codeAction/resolve` adds the command (or, for "Create note from selection", the edit). A client
that cannot resolve the property an action needs gets it at listing time: it is only arguments,
never a model call. Every action runs `localgpt.assist {action, uri, range, question?}` ->
`{action, response, model, applied}`:

- ask: the answer is shown (window/showMessageRequest) and offered for insertion below;
- summarize / rewrite / continue: the model's text lands through workspace/applyEdit (a summary
  as a quote below, a rewrite in place, a continuation after the passage);
- remember / remember_long: the passage goes to today's daily log / MEMORY.md, with where it
  came from (as `localgpt.remember`);
- extract: a new note holds the passage, which becomes a `[[link]]` to it.

Edits never go behind the editor. If the passage changed while the model was answering, nothing
is replaced: the answer goes to the log and the user is told.
"""

from __future__ import annotations

import logging
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.lsp import codeactions
from localgpt_ls.lsp.assistant_commands import ChatStream, answering, progress_token, remember_text
from localgpt_ls.lsp.edits import (
    replace_text,
    supports_document_changes,
    version_of,
)
from localgpt_ls.lsp.errors import InvalidArguments, RequestFailed, command_object
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.positions import line_starts, offset_of, position_of
from localgpt_ls.workspace import create_workspace_file, safe_path

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")

ASSIST = "localgpt.assist"
INSERT, DISMISS = "Insert below", "Dismiss"
# Longest passage an action works on: the per-file cap of the assistant's context. A bigger
# one would be cut before the model sees it, and a rewrite would then replace text it never saw.
MAX_PASSAGE_CHARS = 20_000
NEEDS_MODEL = ("LocalGPT needs a model to {verb}. Set ANTHROPIC_API_KEY or OPENAI_API_KEY, run "
               "Ollama, or set [agent] default_model in config.toml (`localgpt config path`).")


@dataclass(frozen=True)
class Action:
    name: str
    title: str
    kind: str
    verb: str
    prompt: str = ""
    tools: tuple[str, ...] = ()


ACTIONS = {a.name: a for a in (
    Action("ask", "Ask LocalGPT about this", "refactor.localgpt.ask", "answer",
           "Here is a passage from my notes. Explain it, answer any question it asks, and connect "
           "it to what my memory holds (search memory when useful). Be concise.",
           ("memory_search", "memory_get")),
    Action("summarize", "Summarize with LocalGPT", "refactor.localgpt.summarize", "summarize",
           "Summarize this passage from my notes in a few sentences, in its language. Reply with "
           "the summary only: no preamble, no heading, no quotes."),
    Action("rewrite", "Rewrite with LocalGPT", "refactor.rewrite.localgpt", "rewrite",
           "Rewrite this passage from my notes so it reads clearly and well. Keep its meaning, "
           "language, markdown structure, links and tags. Reply with the rewritten passage only: "
           "no preamble, no code fences."),
    Action("continue", "Continue writing with LocalGPT", "refactor.localgpt.continue",
           "continue writing",
           "Continue writing from where this passage of my notes ends, in the same voice, "
           "language and format: one or two paragraphs. Reply with the new text only: do not "
           "repeat the passage, no preamble."),
    Action("remember", "Remember this (today's log)", "refactor.localgpt.remember", "remember"),
    Action("remember_long", "Remember this in MEMORY.md", "refactor.localgpt.remember",
           "remember"),
    Action("extract", "Create note from selection", types.CodeActionKind.RefactorExtract.value,
           "create a note"),
)}


@dataclass
class Passage:
    """The text an action works on: `str` offsets into the document, and where it is."""

    uri: str
    start: int
    end: int
    text: str
    where: str  # "knowledge/beta.md:3-5", for the model and the daily log
    section: str | None  # heading text when the cursor picked a whole section


def _range_arg(args: dict[str, Any]) -> types.Range:
    try:
        start, end = args["range"]["start"], args["range"]["end"]
        return types.Range(
            start=types.Position(line=int(start["line"]), character=int(start["character"])),
            end=types.Position(line=int(end["line"]), character=int(end["character"])))
    except (KeyError, TypeError, ValueError):
        raise InvalidArguments(f"{ASSIST} needs 'range' as an LSP range "
                               "{start: {line, character}, end: {line, character}}") from None


def find_passage(ls: LocalGPTServer, uri: str, rng: types.Range) -> Passage | None:
    """The selected text, or with an empty selection the section under the cursor (its body
    without the heading; the text before the first heading when there is none)."""
    text = ls.doc_text(uri)
    if text is None:
        return None
    starts = line_starts(text)
    start = offset_of(text, rng.start, ls.encoding, starts)
    end = offset_of(text, rng.end, ls.encoding, starts)
    start, end = min(start, end), max(start, end)
    section = None
    if not text[start:end].strip():
        note = ls.note_for(uri)
        headings = note.headings if note is not None else ()
        line = rng.start.line + 1
        around = [h for h in headings if h.line <= line <= h.end_line]
        if around:
            heading = max(around, key=lambda h: h.line)
            first, last, section = heading.line + 1, heading.end_line, heading.text
        else:
            first = 1
            last = min((h.line for h in headings), default=len(starts) + 1) - 1
            if headings and line >= min(h.line for h in headings):
                return None
        if first > last or first > len(starts):
            return None
        start = starts[first - 1]
        end = starts[last] if last < len(starts) else len(text)
        end = start + len(text[start:end].rstrip())
    body = text[start:end]
    if not body.strip():
        return None
    # Leading and trailing whitespace stays where it is: a rewrite replaces the words only.
    lead = len(body) - len(body.lstrip())
    start, end = start + lead, start + len(body.rstrip())
    first_line = position_of(text, start, ls.encoding, starts).line + 1
    last_line = position_of(text, end, ls.encoding, starts).line + 1
    path = ls.uri_path(uri)
    name = ls.rel_of(path) if path is not None else uri
    return Passage(uri, start, end, text[start:end], f"{name}:{first_line}-{last_line}", section)


# -- listing and resolving --------------------------------------------------------------------


def _resolvable(ls: LocalGPTServer, prop: str) -> bool:
    ca = ls.client_capabilities.text_document
    action = ca.code_action if ca else None
    support = action.resolve_support if action else None
    return bool(action and action.data_support and support and prop in support.properties)


def _can_create(ls: LocalGPTServer) -> bool:
    return supports_document_changes(ls, "create")


def list_actions(ls: LocalGPTServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """The assistant's actions for the selection or section (no work beyond finding it)."""
    uri = params.text_document.uri
    if not uri.lower().endswith(".md") or ls.engine is None:
        return []
    passage = find_passage(ls, uri, params.range)
    if passage is None:
        return []
    out = []
    for action in ACTIONS.values():
        if not codeactions.wanted(action.kind, params.context.only):
            continue
        title = action.title
        if passage.section is not None:
            title = title.replace("this", "this section").replace("selection", "section")
        data = {"feature": "assist", "action": action.name, "uri": uri,
                "range": _range_json(params.range)}
        code_action = types.CodeAction(title=title, kind=action.kind, data=data)
        uses_edit = action.name == "extract" and _can_create(ls)
        if not _resolvable(ls, "edit" if uses_edit else "command"):
            code_action = resolve(ls, code_action)
        out.append(code_action)
    return out


def _range_json(rng: types.Range) -> dict[str, Any]:
    return {"start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character}}


def resolve(ls: LocalGPTServer, action: types.CodeAction) -> types.CodeAction:
    """Fill in what the action does: the `localgpt.assist` command, or for a note extracted by
    a client that creates files itself, the workspace edit."""
    data = action.data if isinstance(action.data, dict) else {}
    if data.get("feature") != "assist" or action.edit or action.command:
        return action  # not ours, or already complete
    if data.get("action") == "extract" and _can_create(ls):
        edit = extract_edit(ls, data)
        if edit is not None:
            action.edit = edit
            return action
    action.command = types.Command(title=action.title, command=ASSIST, arguments=[data])
    return action


# -- extracting a note ------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\\/:*?"<>|#^\[\]`]+')


def note_title(passage: str) -> str:
    """A file-safe title: the passage's first heading, else its first words."""
    first = next((line.strip() for line in passage.splitlines() if line.strip()), "note")
    first = re.sub(r"^(#{1,6}\s+|[-*+]\s+(\[[ xX]\]\s+)?|>\s*)", "", first)
    first = re.sub(r"[*_~]+|\[\[|\]\]|\(.*?\)", "", first)
    words = _UNSAFE.sub(" ", first).split()
    title = " ".join(words[:8])[:60].strip(" .")
    return title or "note"


def _extract_plan(ls: LocalGPTServer, data: dict[str, Any]) -> tuple[Passage, str, str] | None:
    """(passage, new note's workspace-relative path, its text)."""
    passage = find_passage(ls, str(data.get("uri")), _range_arg(data))
    if passage is None:
        return None
    title = note_title(passage.section or passage.text)
    source = ls.uri_path(passage.uri)
    folder = posixpath.dirname(ls.rel_of(source)) if source is not None else ""
    if folder.startswith("/"):
        folder = ""
    rel = posixpath.join(folder, f"{title}.md")
    n = 2
    while (ls.workspace_root / rel).exists() or ls.index.get(ls.path_uri(
            ls.workspace_root / rel)) is not None:
        rel = posixpath.join(folder, f"{title} {n}.md")
        n += 1
    safe_path(ls.workspace_root, rel)
    body = passage.text
    if re.match(r"#{1,6}\s", body):
        body = re.sub(r"^#{1,6}\s+", "# ", body, count=1)
    else:
        body = f"# {title}\n\n{body}"
    return passage, rel, body.rstrip() + "\n"


def _link_to(rel: str) -> str:
    return f"[[{posixpath.basename(rel)[:-3]}]]"


def extract_edit(ls: LocalGPTServer, data: dict[str, Any]) -> types.WorkspaceEdit | None:
    plan = _extract_plan(ls, data)
    if plan is None:
        return None
    passage, rel, body = plan
    new_uri = ls.path_uri(ls.workspace_root / rel)
    text = ls.doc_text(passage.uri) or ""
    start = types.Position(line=0, character=0)
    return types.WorkspaceEdit(document_changes=[
        types.CreateFile(uri=new_uri, options=types.CreateFileOptions(overwrite=False,
                                                                      ignore_if_exists=False)),
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=new_uri, version=None),
            edits=[types.TextEdit(range=types.Range(start=start, end=start), new_text=body)]),
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(
                uri=passage.uri, version=version_of(ls, passage.uri)),
            edits=[types.TextEdit(range=types.Range(
                start=position_of(text, passage.start, ls.encoding),
                end=position_of(text, passage.end, ls.encoding)), new_text=_link_to(rel))]),
    ])


async def _extract(ls: LocalGPTServer, data: dict[str, Any]) -> dict[str, Any]:
    """For clients that cannot create files through an edit: create the note here (never
    overwriting), then replace the passage with the link through the editor."""
    plan = _extract_plan(ls, data)
    if plan is None:
        raise RequestFailed(f"{ASSIST}: nothing to extract here; select some text first")
    passage, rel, body = plan
    path = safe_path(ls.workspace_root, rel)
    if not await ls.run_blocking(create_workspace_file, ls.workspace_root, path, body):
        raise RequestFailed(f"{ASSIST}: '{rel}' was created meanwhile (by another editor?); "
                            "nothing was changed: try again")
    applied = await replace_text(ls, passage.uri, passage.start, passage.end, _link_to(rel),
                                 "LocalGPT: create note", wait=False)
    return {"action": "extract", "response": rel, "model": "", "applied": applied}


# -- running the model ------------------------------------------------------------------------


def clean_answer(text: str) -> str:
    """The model's text without a wrapping code fence or surrounding blank lines."""
    text = text.strip()
    fenced = re.fullmatch(r"```[\w-]*\n(.*?)\n?```", text, re.S)
    return (fenced.group(1) if fenced else text).strip()


def quote(label: str, text: str) -> str:
    lines = f"**{label}:** {text}".splitlines()
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def _placement(action: str, passage: Passage, answer: str) -> tuple[int, int, str]:
    """Where the answer goes: (start, end, new text) in the passage's document."""
    if action == "rewrite":
        return passage.start, passage.end, answer
    if action == "continue":
        ends_sentence = passage.text.rstrip()[-1:] in ".!?:;" or "\n" in answer.strip()
        sep = "\n\n" if ends_sentence or re.match(r"[#>*-]|\d+\.", answer) else " "
        return passage.end, passage.end, sep + answer
    label = "Summary" if action == "summarize" else "LocalGPT"
    return passage.end, passage.end, "\n\n" + quote(label, answer)


def _relocate(ls: LocalGPTServer, passage: Passage) -> Passage | None:
    """The passage in the document as it is now (the user may have typed meanwhile)."""
    text = ls.doc_text(passage.uri) or ""
    if text[passage.start:passage.end] == passage.text:
        return passage
    if text.count(passage.text) == 1:
        start = text.index(passage.text)
        return Passage(passage.uri, start, start + len(passage.text), passage.text,
                       passage.where, passage.section)
    return None


async def _offer(ls: LocalGPTServer, answer: str) -> bool:
    """Show the answer; True when the user wants it inserted."""
    window = ls.client_capabilities.window
    if not (window and window.show_message is not None):
        ls.show(f"LocalGPT: {answer}", types.MessageType.Info)
        return False
    choice = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
        type=types.MessageType.Info, message=f"LocalGPT: {answer}",
        actions=[types.MessageActionItem(title=INSERT), types.MessageActionItem(title=DISMISS)]))
    return choice is not None and choice.title == INSERT


def remembered(text: str, where: str, target: str) -> str:
    """A passage as it is remembered, from every editor's Remember (code action or command):
    with where it came from; one line stays one line, and in MEMORY.md it is a list item like
    the file's own entries (today's log bullets it with the time itself)."""
    text = text.strip()
    if "\n" in text:
        return f"{text}\n\n(from {where})"
    line = f"{text} (from {where})"
    if target == "memory" and not re.match(r"[-*+] |\d+[.)] ", text):
        return f"- {line}"
    return line


async def run_assist(ls: LocalGPTServer, args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("action")
    if name not in ACTIONS:
        raise InvalidArguments(f"{ASSIST}: 'action' must be one of {', '.join(ACTIONS)}")
    uri = args.get("uri")
    if not isinstance(uri, str):
        raise InvalidArguments(f"{ASSIST} needs 'uri' (the document) as a string")
    if name == "extract":
        return await _extract(ls, args)
    engine = ls.require_engine()
    passage = find_passage(ls, uri, _range_arg(args))
    if passage is None:
        raise RequestFailed(f"{ASSIST}: nothing to work on here; select some text first")
    if len(passage.text) > MAX_PASSAGE_CHARS:
        raise RequestFailed(
            f"{ASSIST}: {passage.where} is {len(passage.text):,} characters; select at most "
            f"{MAX_PASSAGE_CHARS:,} (a paragraph or a section) and try again")
    if name in ("remember", "remember_long"):
        target = "daily" if name == "remember" else "memory"
        return {"action": name, **await remember_text(
            ls, remembered(passage.text, passage.where, target), target),
            "response": passage.text, "model": "", "applied": True}
    action = ACTIONS[name]
    choice = await engine.agent.resolve_model()
    if choice.memory_only and name != "ask":
        message = NEEDS_MODEL.format(verb=action.verb)
        ls.show(message, types.MessageType.Warning)
        return {"action": name, "response": message, "model": choice.label, "applied": False}
    prompt = action.prompt
    question = args.get("question")
    if isinstance(question, str) and question.strip():
        prompt = f"About this passage from my notes: {question.strip()}"
    token = await progress_token(ls, name)
    stream = ChatStream(ls, "", token, deltas=False)
    async with answering(ls, token, f"LocalGPT: {action.title}", stream), \
            ls.cancellable_request():
        with ls.cancellable_progress(token):
            result = await engine.agent.run_turn(
                f"{prompt}\n\nPassage ({passage.where}):\n\n{passage.text}",
                on_event=stream, tools=list(action.tools))
    answer = clean_answer(result.response)
    reply = {"action": name, "response": answer, "model": result.model, "applied": False}
    if not answer:
        ls.show(f"LocalGPT returned nothing to {action.verb}.")
        return reply
    if name == "ask" and not await _offer(ls, answer):
        return reply
    here = _relocate(ls, passage)
    if here is None:
        log.info("LocalGPT %s, not applied: %s", name, answer)
        ls.window_log_message(types.LogMessageParams(
            type=types.MessageType.Info, message=f"LocalGPT ({action.title}):\n{answer}"))
        ls.show("The text changed while LocalGPT was answering, so nothing was changed; the "
                "answer is in the LocalGPT output log.")
        return reply
    start, end, new_text = _placement(name, here, answer)
    reply["applied"] = await replace_text(ls, uri, start, end, new_text,
                                          f"LocalGPT: {action.title}", wait=False)
    return reply


class AssistantActions(Feature):
    """The assistant on a selection or section: ask, summarize, rewrite, continue, remember,
    extract a note (code actions, resolved lazily, run by `localgpt.assist`)."""

    code_action_kinds = (types.CodeActionKind.Refactor, types.CodeActionKind.RefactorExtract,
                         types.CodeActionKind.RefactorRewrite)

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        return list_actions(self.server, params)

    def resolve_code_action(self, action: types.CodeAction) -> types.CodeAction:
        return resolve(self.server, action)

    def commands(self) -> dict[str, Any]:

        async def assist(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            return await run_assist(ls, command_object(ASSIST, arguments))

        return {ASSIST: assist}
