"""Completion: notes after `[[` and `](`, headings after `#` in a link, and `#tags`.

Notes are ranked by a fuzzy match on name and path. With an empty or short query, notes that
the memory index finds for the current paragraph come first ("the notes that belong here").
Those suggestions are computed in a worker thread and cached per paragraph. The request that
starts a lookup waits for it up to MEANING_WAIT (with the model warm it takes tens of
milliseconds), so the popup that opens on `[[` is already ranked by meaning: editors ask again
only on the next keystroke, and someone who types `[[` and waits saw an alphabetical list
(new-user walk). A lookup that takes longer (the model still loading) answers with fuzzy
ranking, marked incomplete so the editor asks again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lsprotocol import types

from localgpt_ls.lsp.feature import Feature, Handler
from localgpt_ls.lsp.links import resolve_note
from localgpt_ls.lsp.notes import NoteIndex, NoteInfo
from localgpt_ls.lsp.positions import to_index, to_units
from localgpt_ls.markdown import Link
from localgpt_ls.workspace import is_untouched_template

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")

WIKI_HEADING = re.compile(r"\[\[([^\[\]|#]*)#([^\[\]|]*)$")
WIKI_NOTE = re.compile(r"\[\[([^\[\]|#]*)$")
MD_HEADING = re.compile(r"\]\(<?([^()\s#<>]*)#([^()\s]*)$")
MD_PATH = re.compile(r"\]\(<?([^()\s#<>]*)$")
TAG = re.compile(r"(?:^|(?<=[\s(,;]))#([\w\-/]*)$")
SHORT_QUERY = 2  # queries this short still get the meaning-ranked notes first
MEANING_WAIT = 0.3  # seconds a completion request waits for the lookup it started


@dataclass(frozen=True)
class Candidate:
    key: str  # lower-cased "stem\x00rel"
    note: NoteInfo  # as of the last rebuild: name and path are current, content may not be


class Candidates:
    """A flat, cached list of notes for fast ranking, rebuilt only when notes appear or go
    away (edits to a note's text do not change its name or path)."""

    def __init__(self) -> None:
        self.generation = -1
        self.items: list[Candidate] = []

    def get(self, index: NoteIndex) -> list[Candidate]:
        if self.generation != index.files_generation:
            # The user's notes before the first-run files nobody has edited yet: those come
            # first by path (AGENTS.md, HEARTBEAT.md, ...) and would fill the first popup.
            self.items = sorted(
                (Candidate(f"{n.stem.lower()}\x00{n.rel.lower()}", n)
                 for n in index.notes.values()),
                key=lambda c: (is_untouched_template(index.workspace, c.note.rel), c.note.rel))
            self.generation = index.files_generation
        return self.items


def fuzzy_rank(cands: list[Candidate], query: str, limit: int) -> tuple[list[NoteInfo], bool]:
    """Notes matching `query`, best first; the flag says the list was cut at `limit`."""
    q = query.lower()
    if not q:
        return [c.note for c in cands[:limit]], len(cands) > limit
    scored: list[tuple[float, str, NoteInfo]] = []
    rest: list[Candidate] = []
    for c in cands:
        pos = c.key.find(q)
        if pos < 0:
            rest.append(c)
            continue
        stem_len = c.key.index("\x00")
        if pos == 0:
            score = 0.0 + len(c.key) / 1000
        elif pos < stem_len:
            score = 1.0 + pos / 100
        else:
            score = 2.0 + pos / 1000
        scored.append((score, c.note.rel, c.note))
    if len(scored) < limit:
        pattern = re.compile(".*?".join(re.escape(ch) for ch in q))
        for c in rest:
            m = pattern.search(c.key)
            if m is not None:
                scored.append((3.0 + (m.end() - m.start()) / 100, c.note.rel, c.note))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [n for _s, _r, n in scored[:limit]], len(scored) > limit


class MeaningCache:
    """Paragraph -> notes the memory index relates to it (filled in the background)."""

    def __init__(self) -> None:
        self.results: dict[str, list[str]] = {}
        self.pending: set[str] = set()
        self.running: asyncio.Task[Any] | None = None

    @staticmethod
    def key(uri: str, paragraph: str) -> str:
        return hashlib.sha1(f"{uri}\x00{paragraph}".encode("utf-8", "surrogatepass")).hexdigest()

    def lookup(self, ls: LocalGPTServer, uri: str, paragraph: str, here: str | None = None
               ) -> list[str] | None:
        """Cached related files (workspace-relative), or None after scheduling a lookup."""
        key = self.key(uri, paragraph)
        if key in self.results:
            return self.results[key]
        # One lookup at a time: typing fast must not pile searches up behind each other.
        if not self.pending and ls.memory is not None and paragraph.strip():
            self.pending.add(key)
            self.running = ls.spawn(self._fill(ls, key, paragraph, here))
        return None

    async def settle(self, timeout: float) -> bool:
        """Wait up to `timeout` for the running lookup; True when one finished meanwhile."""
        task = self.running
        if task is None or task.done():
            return False
        await asyncio.wait({task}, timeout=timeout)
        return task.done()

    async def _fill(self, ls: LocalGPTServer, key: str, paragraph: str,
                    here: str | None) -> None:
        try:
            memory = ls.memory
            if memory is None:
                return
            # Nearest notes by vector; [] while the model or the vectors are not ready (then
            # the list stays fuzzy-ranked). Never a keyword search: that is not "meaning".
            similar = await ls.run_blocking(memory.similar_files, paragraph[:2000], 20, here)
            files = [file for file, _score in similar]
            if len(self.results) > 256:
                self.results.clear()
            self.results[key] = files
        except Exception as exc:
            log.warning("memory suggestions unavailable: %s", exc)
            self.results[key] = []
        finally:
            self.pending.discard(key)


def paragraph_around(lines: list[str], row: int, skip: tuple[int, int]) -> str:
    """The paragraph holding `row`, without the link being typed (str span `skip` on row)."""
    start = row
    while start > 0 and lines[start - 1].strip() and row - start < 20:
        start -= 1
    end = row
    while end + 1 < len(lines) and lines[end + 1].strip() and end - row < 20:
        end += 1
    out = []
    for i in range(start, end + 1):
        line = lines[i]
        if i == row:
            line = line[:skip[0]] + line[skip[1]:]
        out.append(line)
    return "\n".join(out).strip()


def _edit_range(line: str, row: int, start: int, end: int, enc: str) -> types.Range:
    return types.Range(start=types.Position(line=row, character=to_units(line, start, enc)),
                       end=types.Position(line=row, character=to_units(line, end, enc)))


_URL_SAFE = re.compile(r"[A-Za-z0-9/._~-]*")


def relative_path(target: str, base: str) -> str:
    """`target` relative to folder `base` (both workspace-relative POSIX paths); a plain
    string walk, much cheaper than posixpath.relpath for 50 items per keystroke."""
    if not base:
        return target
    t, b = target.split("/"), base.split("/")
    i = 0
    while i < len(b) and i < len(t) - 1 and t[i] == b[i]:
        i += 1
    return "../" * (len(b) - i) + "/".join(t[i:])


def md_path(source_rel: str, note: NoteInfo) -> str:
    """Relative path from the source note's folder, URL-encoded the way links are written."""
    base = posixpath.dirname(source_rel) if not source_rel.startswith("/") else ""
    rel = note.rel if note.rel.startswith("/") else relative_path(note.rel, base)
    return rel if _URL_SAFE.fullmatch(rel) else quote(rel, safe="/._-~")


def wiki_name(index: NoteIndex, note: NoteInfo) -> str:
    """The shortest wiki name that finds this note: its stem, or its path when ambiguous."""
    if len(index.by_stem.get(note.stem.lower(), ())) > 1:
        return note.rel[:-3] if note.rel.lower().endswith(".md") else note.rel
    return note.stem


def note_items(ls: LocalGPTServer, caches: Completion, uri: str, lines: list[str], row: int,
               line: str, q_start: int, cursor: int, kind: str) -> types.CompletionList:
    query = line[q_start:cursor]
    # The document's own path (it may not be parsed yet: completion must not wait for that).
    source_rel = ls.rel_of(ls.uri_path(uri) or ls.workspace_root / "_")
    limit = max(1, ls.options.completion_limit)
    cands = caches.candidates.get(ls.index)
    ranked, cut = fuzzy_rank(cands, query.split("/")[-1] if kind == "md" else query, limit * 2)
    incomplete = cut
    if len(query) <= SHORT_QUERY and ls.options.memory.suggest_by_meaning:
        paragraph = paragraph_around(lines, row, (q_start - 2, cursor))
        related = caches.meaning.lookup(ls, uri, paragraph, source_rel)
        # Always ask again: past SHORT_QUERY letters the order is by name, not by meaning, so
        # an editor filtering this list itself would keep the meaning order ("gard" under a
        # paragraph about shade put balcony-shade above gardening in Neovim).
        incomplete = True
        if related:
            boost = {rel: i for i, rel in enumerate(related)}
            if not query:
                extra = [ls.index.notes.get(ls.index.by_rel.get(r.lower(), "")) for r in related]
                ranked = [n for n in extra if n is not None] + ranked
            ranked.sort(key=lambda n: boost.get(n.rel, len(boost)))
    seen: set[str] = set()
    items: list[types.CompletionItem] = []
    after = line[cursor:]
    enc = ls.encoding
    rng = _edit_range(line, row, q_start, cursor, enc)
    for listed in ranked:
        note = ls.index.notes.get(listed.uri, listed)
        if note.uri in seen or note.uri == uri:
            continue
        seen.add(note.uri)
        if kind == "wiki":
            text = wiki_name(ls.index, note)
            label = text
            closing = "" if after.startswith(("]]", "|", "#")) else "]]"
        else:
            text = md_path(source_rel, note)
            label = text
            closing = "" if after.startswith((")", "#")) else ")"
        items.append(types.CompletionItem(
            label=label, kind=types.CompletionItemKind.File,
            detail=note.title if note.title != note.stem else note.rel,
            sort_text=f"{len(items):05d}", filter_text=label,
            text_edit=types.TextEdit(range=rng, new_text=text + closing)))
        if len(items) >= limit:
            incomplete = True
            break
    return types.CompletionList(is_incomplete=incomplete, items=items)


def heading_items(ls: LocalGPTServer, uri: str, line: str, row: int, target: str, kind: str,
                  h_start: int, cursor: int) -> types.CompletionList:
    source = ls.note_for(uri)
    link = Link(kind if kind in ("wiki", "md") else "wiki", target, None, None, row + 1, 0, 0,  # type: ignore[arg-type]
                "")
    note = resolve_note(ls.index, link, source) if target else source
    if note is None:
        return types.CompletionList(is_incomplete=False, items=[])
    if note.mtime_ns != -1 and not note.headings and note.size:
        note = ls.note_for(note.uri) or note
    rng = _edit_range(line, row, h_start, cursor, ls.encoding)
    after = line[cursor:]
    items = []
    for i, h in enumerate(note.headings):
        text = h.text if kind == "wiki" else h.slug
        closing = ""
        if kind == "wiki" and not after.startswith(("]]", "|")):
            closing = "]]"
        elif kind == "md" and not after.startswith(")"):
            closing = ")"
        items.append(types.CompletionItem(
            label=h.text, kind=types.CompletionItemKind.Reference,
            detail=f"{'#' * h.level} in {note.rel}", sort_text=f"{i:05d}",
            filter_text=text, text_edit=types.TextEdit(range=rng, new_text=text + closing)))
    return types.CompletionList(is_incomplete=False, items=items)


def tag_items(ls: LocalGPTServer, line: str, row: int, start: int, cursor: int
              ) -> types.CompletionList:
    query = line[start:cursor].lower()
    tags = ls.index.tag_names()
    matches = sorted(((display, count) for key, (display, count) in tags.items()
                      if query in key), key=lambda t: (not t[0].lower().startswith(query),
                                                       -t[1], t[0]))
    limit = max(1, ls.options.completion_limit)
    rng = _edit_range(line, row, start, cursor, ls.encoding)
    items = [types.CompletionItem(
        label=f"#{display}", kind=types.CompletionItemKind.Keyword,
        detail=f"{count} note{'s' if count != 1 else ''}", sort_text=f"{i:05d}",
        filter_text=display, text_edit=types.TextEdit(range=rng, new_text=display))
        for i, (display, count) in enumerate(matches[:limit])]
    return types.CompletionList(is_incomplete=len(matches) > limit, items=items)


def complete(ls: LocalGPTServer, caches: Completion,
             params: types.CompletionParams) -> types.CompletionList | None:
    uri = params.text_document.uri
    row = params.position.line
    lines = ls.doc_lines(uri)
    if not lines:
        return None
    if not 0 <= row < len(lines):
        return None
    line = lines[row]
    cursor = to_index(line, params.position.character, ls.encoding)
    before = line[:cursor]
    if m := WIKI_HEADING.search(before):
        return heading_items(ls, uri, line, row, m.group(1).strip(), "wiki", m.start(2), cursor)
    if m := WIKI_NOTE.search(before):
        return note_items(ls, caches, uri, lines, row, line, m.start(1), cursor, "wiki")
    if m := MD_HEADING.search(before):
        return heading_items(ls, uri, line, row, m.group(1), "md", m.start(2), cursor)
    if m := MD_PATH.search(before):
        return note_items(ls, caches, uri, lines, row, line, m.start(1), cursor, "md")
    if (m := TAG.search(before)) and (m.group(1) or m.start() > 0):
        return tag_items(ls, line, row, m.start(1), cursor)
    from localgpt_ls.lsp import skills

    return skills.complete(ls, line, row, cursor)


class Completion(Feature):
    """`[[` notes and headings, `](` paths, `#tags`; its caches are its own."""

    def __init__(self, server: LocalGPTServer) -> None:
        super().__init__(server)
        self.candidates = Candidates()
        self.meaning = MeaningCache()

    def handlers(self) -> list[Handler]:
        caches = self

        async def completion(ls: LocalGPTServer, params: types.CompletionParams) -> Any:
            await ls.parsed(params.text_document.uri)  # a big note parses in its thread
            lines = ls.doc_lines(params.text_document.uri)
            result = complete(ls, caches, params)
            if (result is None or not result.is_incomplete
                    or not await caches.meaning.settle(MEANING_WAIT)):
                return result
            if ls.doc_lines(params.text_document.uri) != lines:
                return result  # typed meanwhile: the position belongs to the old text
            return complete(ls, caches, params)

        return [Handler(types.TEXT_DOCUMENT_COMPLETION, completion, types.CompletionOptions(
            trigger_characters=["[", "(", "#", "/"], resolve_provider=False))]
