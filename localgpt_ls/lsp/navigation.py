"""Definition, references (backlinks, resolved or not), document and workspace symbols,
document links and folding ranges for sections."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.lsp.feature import Feature, Handler
from localgpt_ls.lsp.links import link_at, resolve
from localgpt_ls.lsp.notes import NoteIndex, NoteInfo, link_key, stem_key
from localgpt_ls.lsp.positions import make_range, to_index, to_units
from localgpt_ls.markdown import Heading, Link

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

WORKSPACE_SYMBOL_LIMIT = 128  # best matches first; editors re-query as the user types
# Per-document lists (outline, links, folds) stop here: nobody reads a 60,000-entry outline,
# and building and sending one held the event loop for a second (1 MB of setext headings).
DOCUMENT_LIST_LIMIT = 5000


def note_range(note: NoteInfo, line: int, start: int, end: int, enc: str) -> types.Range:
    """Range on a 1-based line of any note (open or not) from `str` offsets."""
    text = note.line_text(line)
    if text is None:
        s, e = start, end
    else:
        s, e = to_units(text, start, enc), to_units(text, end, enc)
    return types.Range(start=types.Position(line=line - 1, character=s),
                       end=types.Position(line=line - 1, character=e))


def heading_location(note: NoteInfo, heading: Heading | None, enc: str) -> types.Location:
    if heading is None:
        zero = types.Position(line=0, character=0)
        return types.Location(uri=note.uri, range=types.Range(start=zero, end=zero))
    text = note.line_text(heading.line)
    width = 0 if text is None else to_units(text, len(text), enc)
    end = types.Position(line=heading.line - 1, character=width)
    return types.Location(uri=note.uri, range=types.Range(
        start=types.Position(line=heading.line - 1, character=0), end=end))


def links_to(index: NoteIndex, target: NoteInfo | None, key: str, heading_slug: str | None
             ) -> list[tuple[NoteInfo, Link]]:
    """Every link that resolves to `target` (and to its heading `heading_slug` when given),
    or, when `target` is None, every unresolved link whose target stem is `key`."""
    sources = set(index.link_sources.get(key, ()))
    if target is not None and heading_slug is not None:
        sources |= index.link_sources.get("", set()) & {target.uri}
    out: list[tuple[NoteInfo, Link]] = []
    for uri in sorted(sources):
        source = index.notes.get(uri)
        if source is None:
            continue
        for link in source.links:
            lk = link_key(link)
            if lk != key and not (lk == "" and target is not None and source.uri == target.uri):
                continue
            found = resolve(index, link, source)
            if target is None:
                if found.note is None:
                    out.append((source, link))
                continue
            if found.note is None or found.note.uri != target.uri:
                continue
            if heading_slug is not None and (found.heading is None
                                             or found.heading.slug != heading_slug):
                continue
            if heading_slug is None and link.target == "":
                continue  # `[x](#h)` inside the note is not a backlink to the note
            out.append((source, link))
    return out


def note_position(ls: LocalGPTServer, uri: str, pos: types.Position
              ) -> tuple[NoteInfo, list[str], int, int] | None:
    """The note, its lines, and the position as (row, str index); None when out of range."""
    note = ls.note_for(uri)
    lines = ls.doc_lines(uri)
    if note is None or not lines:
        return None
    if not 0 <= pos.line < len(lines):
        return None
    return note, lines, pos.line, to_index(lines[pos.line], pos.character, ls.encoding)


def definition(ls: LocalGPTServer, params: types.DefinitionParams) -> Any:
    yield from ls.until_scanned(10)
    yield from ls.until_parsed(params.text_document.uri)
    found = note_position(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    note, _lines, row, col = found
    link = link_at(note.links, row + 1, col)
    if link is None:
        return None
    target = resolve(ls.index, link, note)
    if target.note is None:
        return None
    if target.note.uri != note.uri and target.note.mtime_ns != -1 and not target.note.headings \
            and target.note.size:
        fresh = ls.note_for(target.note.uri)
        if fresh is not None:
            target = resolve(ls.index, link, note)
    assert target.note is not None
    return [heading_location(target.note, target.heading, ls.encoding)]


def references(ls: LocalGPTServer, params: types.ReferenceParams) -> Any:
    yield from ls.until_scanned(30)
    yield from ls.until_parsed(params.text_document.uri)
    found = note_position(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    note, _lines, row, col = found
    enc = ls.encoding
    declaration: types.Location | None = None
    heading = next((h for h in note.headings if h.line == row + 1), None)
    link = link_at(note.links, row + 1, col)
    if heading is not None:
        refs = links_to(ls.index, note, stem_key(note.stem), heading.slug)
        declaration = heading_location(note, heading, enc)
    elif link is not None:
        target = resolve(ls.index, link, note)
        if target.note is None:
            refs = links_to(ls.index, None, link_key(link), None)
        else:
            slug = target.heading.slug if target.heading is not None else None
            refs = links_to(ls.index, target.note, stem_key(target.note.stem), slug)
            declaration = heading_location(target.note, target.heading, enc)
    else:
        refs = links_to(ls.index, note, stem_key(note.stem), None)
        declaration = heading_location(note, None, enc)
    out = [types.Location(uri=src.uri, range=note_range(src, lk.line, lk.start, lk.end, enc))
           for src, lk in refs]
    if params.context.include_declaration and declaration is not None:
        out.insert(0, declaration)
    return out


def document_symbols(ls: LocalGPTServer, params: types.DocumentSymbolParams) -> Any:
    uri = params.text_document.uri
    yield from ls.until_parsed(uri)
    return ls.cached(uri, "documentSymbol", lambda: _document_symbols(ls, uri))


def _document_symbols(ls: LocalGPTServer, uri: str) -> Any:
    note = ls.note_for(uri)
    lines = ls.doc_lines(uri)
    if note is None or not lines:
        return None
    enc = ls.encoding
    caps = ls.client_capabilities.text_document
    hierarchical = bool(caps and caps.document_symbol
                        and caps.document_symbol.hierarchical_document_symbol_support)
    if not hierarchical:
        return [types.SymbolInformation(
            name=h.text or "(untitled)", kind=types.SymbolKind.String,
            location=types.Location(uri=uri, range=make_range(
                lines, h.line - 1, 0, len(lines[h.line - 1]), enc)),
            container_name=" › ".join(h.path[:-1]) or None)
            for h in note.headings[:DOCUMENT_LIST_LIMIT]]
    roots: list[types.DocumentSymbol] = []
    stack: list[tuple[int, list[types.DocumentSymbol]]] = [(0, roots)]
    for h in note.headings[:DOCUMENT_LIST_LIMIT]:
        last = min(h.end_line, len(lines)) - 1
        sym = types.DocumentSymbol(
            name=h.text or "(untitled)", kind=types.SymbolKind.String, detail="#" * h.level,
            range=make_range(lines, h.line - 1, 0, len(lines[last]), enc, end_line=last),
            selection_range=make_range(lines, h.line - 1, 0, len(lines[h.line - 1]), enc),
            children=[])
        while len(stack) > 1 and stack[-1][0] >= h.level:
            stack.pop()
        stack[-1][1].append(sym)
        kids: list[types.DocumentSymbol] = []
        sym.children = kids
        stack.append((h.level, kids))
    return roots


@dataclass(frozen=True)
class _Entry:
    key: str
    name: str
    kind: types.SymbolKind
    uri: str
    line: int
    container: str


_KIND_RANK = {types.SymbolKind.File: 0, types.SymbolKind.String: 1, types.SymbolKind.Key: 2}


def _entries(note: NoteInfo) -> list[_Entry]:
    out = [_Entry(note.stem.lower(), note.stem, types.SymbolKind.File, note.uri, 0, note.rel)]
    for h in note.headings:
        out.append(_Entry(h.text.lower(), h.text, types.SymbolKind.String, note.uri,
                          h.line - 1, note.rel))
    seen: set[str] = set()
    for t in note.tags:
        if t.name.lower() not in seen:
            seen.add(t.name.lower())
            out.append(_Entry("#" + t.name.lower(), "#" + t.name, types.SymbolKind.Key,
                              note.uri, t.line - 1, note.rel))
    return out


class SymbolTable:
    """Notes, headings and tags for workspace/symbol.

    The bulk lives in one newline-joined string of lower-cased names (substring search there
    is a C loop, not 35,000 Python comparisons), ordered by kind and length so the first hits
    are the best. Notes changed since that base was built are read from the index directly
    (an overlay), and the base is rebuilt once the overlay grows: editing one note never
    rebuilds the table.
    """

    REBUILD_AFTER = 200

    def __init__(self) -> None:
        self.base_pos = -1
        self.entries: list[_Entry] = []
        self.starts: list[int] = []
        self.joined = ""

    def _rebuild(self, index: NoteIndex) -> None:
        entries = [e for note in index.notes.values() for e in _entries(note)]
        entries.sort(key=lambda e: (_KIND_RANK.get(e.kind, 3), len(e.key), e.key))
        starts, pos = [], 0
        for e in entries:
            starts.append(pos)
            pos += len(e.key) + 1
        self.entries, self.starts = entries, starts
        self.joined = "\n".join(e.key for e in entries)
        self.base_pos = len(index.journal)

    def search(self, index: NoteIndex, query: str, limit: int) -> list[_Entry]:
        """Up to `limit` entries containing `query`; prefix matches first."""
        if self.base_pos < 0 or len(index.journal) - self.base_pos > self.REBUILD_AFTER:
            self._rebuild(index)
        changed = set(index.journal[self.base_pos:])
        prefix: list[_Entry] = []
        inner: list[_Entry] = []
        if "\n" not in query:
            joined, starts, entries = self.joined, self.starts, self.entries
            pos = joined.find(query) if query else -1
            while pos >= 0 and len(prefix) < limit:
                i = bisect.bisect_right(starts, pos) - 1
                entry = entries[i]
                if entry.uri not in changed:
                    if pos == starts[i]:
                        prefix.append(entry)
                    elif len(inner) < limit:
                        inner.append(entry)
                nxt = starts[i + 1] if i + 1 < len(starts) else len(joined)
                pos = joined.find(query, nxt)
        for uri in changed:
            note = index.notes.get(uri)
            if note is None:
                continue
            for e in _entries(note):
                if query in e.key:
                    (prefix if e.key.startswith(query) else inner).append(e)
        rank = _KIND_RANK.get
        prefix.sort(key=lambda e: (rank(e.kind, 3), len(e.key)))
        inner.sort(key=lambda e: (rank(e.kind, 3), len(e.key)))
        return (prefix + inner)[:limit]

    def files(self, index: NoteIndex, limit: int) -> list[_Entry]:
        notes = sorted(index.notes.values(), key=lambda n: n.rel)[:limit]
        return [_entries(n)[0] for n in notes]


def workspace_symbols(ls: LocalGPTServer, symbols: SymbolTable,
                      params: types.WorkspaceSymbolParams) -> Any:
    yield from ls.until_scanned(30)
    query = params.query.strip().lower()
    if query:
        hits = symbols.search(ls.index, query, WORKSPACE_SYMBOL_LIMIT)
    else:
        hits = symbols.files(ls.index, WORKSPACE_SYMBOL_LIMIT)
    out = []
    for e in hits:
        pos = types.Position(line=e.line, character=0)
        out.append(types.SymbolInformation(
            name=e.name, kind=e.kind, container_name=e.container,
            location=types.Location(uri=e.uri, range=types.Range(start=pos, end=pos))))
    return out


def document_links(ls: LocalGPTServer, params: types.DocumentLinkParams) -> Any:
    uri = params.text_document.uri
    yield from ls.until_parsed(uri)
    note = ls.note_for(uri)
    lines = ls.doc_lines(uri)
    if note is None or not lines:
        return None
    caps = ls.client_capabilities.text_document
    tooltips = bool(caps and caps.document_link and caps.document_link.tooltip_support)
    out = []
    for link in note.links[:DOCUMENT_LIST_LIMIT]:
        found = resolve(ls.index, link, note)
        if found.note is None:
            continue
        target = found.note.uri
        if found.heading is not None:
            target += f"#L{found.heading.line}"
        out.append(types.DocumentLink(
            range=make_range(lines, link.line - 1, link.start, link.end, ls.encoding),
            target=target, tooltip=found.note.rel if tooltips else None))
    return out


def folding_ranges(ls: LocalGPTServer, params: types.FoldingRangeParams) -> Any:
    yield from ls.until_parsed(params.text_document.uri)
    note = ls.note_for(params.text_document.uri)
    if note is None:
        return None
    return [types.FoldingRange(start_line=h.line - 1, end_line=h.end_line - 1,
                               kind=types.FoldingRangeKind.Region)
            for h in note.headings[:DOCUMENT_LIST_LIMIT] if h.end_line > h.line]


class Navigation(Feature):
    """Definition, references, document and workspace symbols, document links, folding."""

    def __init__(self, server: LocalGPTServer) -> None:
        super().__init__(server)
        self.symbols = SymbolTable()

    def handlers(self) -> list[Handler]:
        symbols = self.symbols

        def workspace_symbol(ls: LocalGPTServer, params: types.WorkspaceSymbolParams) -> Any:
            return (yield from workspace_symbols(ls, symbols, params))

        return [
            Handler(types.TEXT_DOCUMENT_DEFINITION, definition),
            Handler(types.TEXT_DOCUMENT_REFERENCES, references),
            Handler(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, document_symbols),
            Handler(types.WORKSPACE_SYMBOL, workspace_symbol),
            Handler(types.TEXT_DOCUMENT_DOCUMENT_LINK, document_links,
                    types.DocumentLinkOptions(resolve_provider=False)),
            Handler(types.TEXT_DOCUMENT_FOLDING_RANGE, folding_ranges),
        ]
