"""Hover: a preview of a link's target section, the notes that use a tag, and elsewhere the
memory's strongest snippets for the word (or selection) under the cursor."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.lsp.feature import Feature, Handler
from localgpt_ls.lsp.links import link_at, resolve
from localgpt_ls.lsp.notes import NoteInfo
from localgpt_ls.lsp.positions import make_range, split_lines, to_index

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")

PREVIEW_LINES = 24
PREVIEW_CHARS = 2000
TAG_NOTES = 12
_WORD = re.compile(r"[\w][\w\-']*")
STOPWORDS = frozenset((
    "the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "had", "her", "was",
    "one", "our", "out", "day", "get", "has", "him", "his", "how", "man", "new", "now", "old",
    "see", "two", "way", "who", "boy", "did", "its", "let", "put", "say", "she", "too", "use",
    "that", "with", "have", "this", "will", "your", "from", "they", "know", "want", "been",
    "good", "much", "some", "time", "very", "when", "come", "here", "just", "like", "long",
    "make", "many", "more", "only", "over", "such", "take", "than", "them", "well", "were",
    "what", "about", "into",
))


def section_text(ls: LocalGPTServer, note: NoteInfo, start_line: int, end_line: int) -> str:
    text = ls.doc_text(note.uri) or ""
    lines = split_lines(text)[start_line - 1:end_line]
    cut = len(lines) > PREVIEW_LINES
    body = "\n".join(lines[:PREVIEW_LINES]).strip()
    if len(body) > PREVIEW_CHARS:
        body, cut = body[:PREVIEW_CHARS], True
    return body + ("\n\n…" if cut else "")


def link_hover(ls: LocalGPTServer, note: NoteInfo, lines: list[str], link: Any) -> types.Hover:
    found = resolve(ls.index, link, note)
    rng = make_range(lines, link.line - 1, link.start, link.end, ls.encoding)
    if found.note is None:
        msg = f"**No note named `{link.target}`** — the quick fix can create it."
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value=msg), range=rng)
    target = found.note
    if found.heading is not None:
        start, end = found.heading.line, found.heading.end_line
    else:
        start, end = 1, max(1, target.line_count or PREVIEW_LINES)
    header = f"`{target.rel}`" + (f" › {found.heading.text}" if found.heading else "")
    if found.heading_missing:
        header += f" — *no heading `{link.heading}`*"
    body = section_text(ls, target, start, end)
    value = f"{header}\n\n---\n\n{body}" if body else header
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=value),
                       range=rng)


def tag_hover(ls: LocalGPTServer, lines: list[str], tag: Any) -> types.Hover:
    counts = ls.index.tag_notes.get(tag.name.lower(), {})
    notes = sorted((ls.index.notes[u] for u in counts if u in ls.index.notes),
                   key=lambda n: n.rel)
    rows = []
    for note in notes[:TAG_NOTES]:
        first = next((t.line for t in note.tags if t.name.lower() == tag.name.lower()), 1)
        rows.append(f"- [{note.rel}]({note.uri}#L{first}) ({counts[note.uri]}×)")
    more = f"\n- … and {len(notes) - TAG_NOTES} more" if len(notes) > TAG_NOTES else ""
    value = (f"**#{tag.name}** — used in {len(notes)} note{'s' if len(notes) != 1 else ''}\n\n"
             + "\n".join(rows) + more)
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=value),
                       range=make_range(lines, tag.line - 1, tag.start, tag.end, ls.encoding))


async def memory_hover(ls: LocalGPTServer, uri: str, lines: list[str], row: int,
                       col: int) -> types.Hover | None:
    memory = ls.memory
    if memory is None:
        return None
    line = lines[row]
    word = next((m for m in _WORD.finditer(line) if m.start() <= col <= m.end()), None)
    if word is None or len(word.group()) < 3 or word.group().lower() in STOPWORDS:
        return None
    opts = ls.options.memory
    try:
        response = await asyncio.wait_for(
            ls.run_blocking(memory.search, word.group(), 4, opts.hover_min_score),
            opts.hover_timeout)
    except Exception as exc:  # slow or failing memory: answer without it
        log.info("hover memory lookup skipped: %s", exc)
        return None
    here = ls.rel_of(ls.uri_path(uri) or ls.workspace_root)
    hits = [h for h in getattr(response, "results", [])
            if not (h.file == here and h.line_start <= row + 1 <= h.line_end)][:3]
    if not hits:
        return None
    parts = [f"**Memory** for `{word.group()}`"]
    for hit in hits:
        target = ls.path_uri(ls.workspace_root / hit.file)
        snippet = " ".join(hit.content.split())
        if len(snippet) > 280:
            snippet = snippet[:280] + "…"
        parts.append(f"[{hit.file}:{hit.line_start}]({target}#L{hit.line_start}) "
                     f"({hit.score:.2f})\n> {snippet}")
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n".join(parts)),
        range=make_range(lines, row, word.start(), word.end(), ls.encoding))


def hover(ls: LocalGPTServer, params: types.HoverParams) -> Any:
    """Generator handler: synchronous for links and tags once the scan is done; yields to
    the async memory lookup only for plain words."""
    uri = params.text_document.uri
    yield from ls.until_parsed(uri)
    note = ls.note_for(uri)
    lines = ls.doc_lines(uri)
    if note is None or not lines:
        return None
    row = params.position.line
    if not 0 <= row < len(lines):
        return None
    col = to_index(lines[row], params.position.character, ls.encoding)
    link = link_at(note.links, row + 1, col)
    if link is not None and col < link.end:
        yield from ls.until_scanned(5)
        return link_hover(ls, note, lines, link)
    tag = next((t for t in note.tags if t.line == row + 1 and t.start <= col < t.end), None)
    if tag is not None:
        yield from ls.until_scanned(5)
        return tag_hover(ls, lines, tag)
    if ls.memory is None:
        return None
    found = yield memory_hover, (ls, uri, lines, row, col), None
    return found


class Hover(Feature):
    def handlers(self) -> list[Handler]:
        return [Handler(types.TEXT_DOCUMENT_HOVER, hover)]
