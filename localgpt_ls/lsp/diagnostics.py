"""Diagnostics, published per document after typing pauses (~300 ms, `diagnosticsDebounceMs`).

- Broken links (`broken-link`) and links to missing headings (`broken-heading`); the quick fixes
  live in `codeactions.py` and read the `data` attached here.
- HEARTBEAT.md: malformed task items, and `[heartbeat] active_hours` that can never match.
- Bootstrap files (AGENTS.md, SOUL.md, ...) longer than the 20,000-character injection cap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from localgpt_ls.heartbeat.schedule import active_hours_problem
from localgpt_ls.lsp import skills
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.links import link_parts, resolve
from localgpt_ls.lsp.notes import NoteInfo
from localgpt_ls.lsp.positions import make_range, split_lines
from localgpt_ls.markdown import task_item
from localgpt_ls.workspace import BOOTSTRAP_FILES

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

SOURCE = "localgpt"
INJECTION_CAP = 20_000  # chars per bootstrap file in the system prompt (DESIGN.md "Context")
# Problems reported per document: a 1 MB line of 40,000 broken links made 40,000 of them,
# built and sent on the event loop (200 ms); the first thousand say as much.
MAX_DIAGNOSTICS = 1000

_LIST_TASKISH = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])?[ \t]*\[([^\]]{0,3})\](?![(\[])")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")


def link_diagnostics(ls: LocalGPTServer, note: NoteInfo, lines: list[str]) -> list[
        types.Diagnostic]:
    out: list[types.Diagnostic] = []
    enc = ls.encoding
    for link in note.links:
        if len(out) >= MAX_DIAGNOSTICS:
            break
        found = resolve(ls.index, link, note)
        row = link.line - 1
        if found.note is None:
            span = link_parts(link).target
            out.append(types.Diagnostic(
                range=make_range(lines, row, span[0], span[1], enc) if span[1] > span[0]
                else make_range(lines, row, link.start, link.end, enc),
                message=f"No note named '{link.target}' in the workspace",
                severity=types.DiagnosticSeverity.Warning, source=SOURCE, code="broken-link",
                data={"target": link.target, "kind": link.kind, "heading": link.heading},
            ))
        elif found.heading_missing:
            span = link_parts(link).heading or (link.start, link.end)
            where = "this note" if found.note.uri == note.uri else f"'{found.note.rel}'"
            out.append(types.Diagnostic(
                range=make_range(lines, row, span[0], span[1], enc),
                message=f"No heading '{link.heading}' in {where}",
                severity=types.DiagnosticSeverity.Warning, source=SOURCE,
                code="broken-heading",
                data={"uri": found.note.uri, "heading": link.heading},
            ))
    return out


def heartbeat_diagnostics(ls: LocalGPTServer, lines: list[str]) -> list[types.Diagnostic]:
    out: list[types.Diagnostic] = []
    enc = ls.encoding
    in_fence = False
    for row, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        # Something shaped like a checkbox item that is not a task (markdown.task_item), or a
        # task with no text.
        task = task_item(line)
        if _LIST_TASKISH.match(line) is None or (task is not None and task.text):
            continue
        stripped = line.lstrip()
        if not stripped.startswith(("-", "*", "+", "[")) and not stripped[:1].isdigit():
            continue
        if task is not None:
            message = "Empty task: write what the heartbeat should check after '- [ ] '"
        else:
            message = "Malformed task item: write '- [ ] what to check' (or '- [x] ...' when done)"
        out.append(types.Diagnostic(
            range=make_range(lines, row, len(line) - len(stripped), len(line), enc),
            message=message, severity=types.DiagnosticSeverity.Warning, source=SOURCE,
            code="heartbeat-task",
        ))
    out.extend(active_hours_diagnostics(ls, lines))
    return out


def active_hours_diagnostics(ls: LocalGPTServer, lines: list[str]) -> list[types.Diagnostic]:
    config = getattr(ls.engine, "config", None)
    heartbeat = getattr(config, "heartbeat", None)
    problem = active_hours_problem(getattr(heartbeat, "active_hours", None))
    if problem is None:
        return []
    where = getattr(config, "source", None) or "config.toml"
    return [types.Diagnostic(
        range=make_range(lines, 0, 0, len(lines[0]) if lines else 0, ls.encoding),
        message=f"{problem} ({where}, [heartbeat])",
        severity=types.DiagnosticSeverity.Warning, source=SOURCE, code="heartbeat-active-hours",
    )]


def size_diagnostics(ls: LocalGPTServer, text: str, lines: list[str]) -> list[types.Diagnostic]:
    if len(text) <= INJECTION_CAP:
        return []
    # Find the line/column of character INJECTION_CAP.
    remaining = INJECTION_CAP
    row = 0
    for row, line in enumerate(lines):  # noqa: B007 - row is used after the loop
        # line breaks count as one char each ("\r\n" as two, but this is a hint, not a cut)
        if remaining <= len(line):
            break
        remaining -= len(line) + 1
    col = max(0, min(remaining, len(lines[row]) if lines else 0))
    last = len(lines) - 1
    return [types.Diagnostic(
        range=make_range(lines, row, col, len(lines[last]), ls.encoding, end_line=last),
        message=(f"This file has {len(text):,} characters; only the first {INJECTION_CAP:,} "
                 "reach the assistant's context (the rest is cut). Move detail into "
                 "knowledge/ notes, which memory search finds."),
        severity=types.DiagnosticSeverity.Information, source=SOURCE, code="injection-cap",
    )]


async def compute(ls: LocalGPTServer, uri: str) -> list[types.Diagnostic]:
    await ls.wait_scan()
    await ls.parsed(uri)
    text = ls.doc_text(uri)
    note = ls.note_for(uri)
    if text is None or note is None:
        return []
    lines = ls.doc_lines(uri) if ls.is_open(uri) else split_lines(text)
    out = link_diagnostics(ls, note, lines)
    path = ls.uri_path(uri)
    if path is not None and path.parent == ls.workspace_root:
        if path.name == "HEARTBEAT.md":
            out.extend(heartbeat_diagnostics(ls, lines))
        if path.name in BOOTSTRAP_FILES:
            out.extend(size_diagnostics(ls, text, lines))
    if path is not None and skills.is_skill_file(ls, path):
        out.extend(skills.diagnostics(ls, path, text, lines))
    return out[:MAX_DIAGNOSTICS]


async def publish(ls: LocalGPTServer, uri: str) -> None:
    if not ls.is_open(uri):
        return
    diagnostics = await compute(ls, uri)
    if ls.is_open(uri):
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, diagnostics=diagnostics))


def schedule(ls: LocalGPTServer, uri: str, delay: float | None = None) -> None:
    """Re-parse (lazily) and re-check a document once typing pauses."""
    wait = ls.options.diagnostics_debounce_ms / 1000 if delay is None else delay
    ls.debounce.schedule(("diagnostics", uri), wait, lambda: publish(ls, uri))


def refresh_open_documents(ls: LocalGPTServer) -> None:
    """Links in open documents may have changed meaning (a note appeared or went away)."""
    for uri in ls.open_uris:
        schedule(ls, uri)


async def _new_note_opened(ls: LocalGPTServer, uri: str) -> None:
    await ls.parsed(uri)  # in the parse thread when the text is big
    if ls.is_open(uri):
        ls.note_for(uri)
        refresh_open_documents(ls)


class Diagnostics(Feature):
    """Diagnostics are pushed: on open at once, on change after the debounce, and again for
    every open document when notes come or go (`refresh_open_documents`)."""

    def document_opened(self, uri: str) -> None:
        ls = self.server
        new = ls.index.get(uri) is None
        schedule(ls, uri, delay=0.0)
        if new and ls.scan_done is not None and ls.scan_done.is_set():
            # A note the workspace did not have (Create note opens it before it is saved, so
            # no file event adds it): links elsewhere that pointed nowhere may resolve now.
            ls.spawn(_new_note_opened(ls, uri))

    def document_changed(self, uri: str) -> None:
        schedule(self.server, uri)

    def document_closed(self, uri: str) -> None:
        # Clear this document's problems; the file on disk is what counts now.
        self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, diagnostics=[]))
