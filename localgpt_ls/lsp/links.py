"""Links as the editor sees them: where a link leads (the core rule, `link_targets.py`, which
the link graph calls too, asked over the editor's notes index) and where a link's target and
heading sit in its text (offsets for rename, diagnostics and the cursor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from localgpt_ls import link_targets
from localgpt_ls.lsp.notes import NoteIndex, NoteInfo
from localgpt_ls.markdown import Heading, Link


@dataclass(frozen=True)
class Resolved:
    note: NoteInfo | None  # None: the target note does not exist
    heading: Heading | None
    heading_missing: bool  # the link names a heading the note does not have


@dataclass(frozen=True)
class _EditorNotes:
    """The editor's notes index (by URI) as link_targets asks for notes."""

    index: NoteIndex

    def at_path(self, rel: str) -> NoteInfo | None:
        uri = self.index.by_rel.get(rel)
        return self.index.notes.get(uri) if uri is not None else None

    def _notes(self, uris: set[str] | None) -> Sequence[NoteInfo]:
        notes = self.index.notes
        return [notes[u] for u in uris if u in notes] if uris else ()

    def named(self, stem: str) -> Sequence[NoteInfo]:
        return self._notes(self.index.by_stem.get(stem))

    def loosely_named(self, slug: str) -> Sequence[NoteInfo]:
        return self._notes(self.index.by_key.get(slug))

    @staticmethod
    def rel_of(note: NoteInfo) -> str:
        return note.rel


def resolve_note(index: NoteIndex, link: Link, source: NoteInfo | None) -> NoteInfo | None:
    """The note a link points at, or None."""
    return link_targets.resolve(_EditorNotes(index), link, source)


def find_heading(note: NoteInfo, name: str) -> Heading | None:
    """A heading of `note` by slug or text (case-insensitive)."""
    return link_targets.find_heading(note.headings, name)


def resolve(index: NoteIndex, link: Link, source: NoteInfo | None) -> Resolved:
    note = resolve_note(index, link, source)
    if note is None:
        return Resolved(None, None, False)
    if not link.heading:
        return Resolved(note, None, False)
    heading = find_heading(note, link.heading)
    return Resolved(note, heading, heading is None)


@dataclass(frozen=True)
class LinkParts:
    """`str` offsets (within the line) of a link's editable parts; end exclusive."""

    target: tuple[int, int]
    heading: tuple[int, int] | None


def link_parts(link: Link) -> LinkParts:
    """Where the target and the heading sit inside the link text."""
    raw = link.raw
    if link.kind == "wiki":
        inner_start = 2
        inner = raw[2:-2]
        body = inner.split("|", 1)[0]
        name, hash_, heading = body.partition("#")
        t0 = inner_start + (len(name) - len(name.lstrip()))
        t1 = inner_start + len(name.rstrip())
        h: tuple[int, int] | None = None
        if hash_:
            h0 = inner_start + len(name) + 1
            h = (link.start + h0 + (len(heading) - len(heading.lstrip())),
                 link.start + h0 + len(heading.rstrip()))
        return LinkParts((link.start + t0, link.start + max(t0, t1)), h)
    close = raw.find("](")
    dest_start = close + 2
    if raw[dest_start:dest_start + 1] == "<":
        dest_start += 1
        dest_end = raw.find(">", dest_start)
    else:
        dest_end = dest_start
        while dest_end < len(raw) and raw[dest_end] not in " \t)":
            dest_end += 1
    dest = raw[dest_start:dest_end]
    path, hash_, _frag = dest.partition("#")
    target = (link.start + dest_start, link.start + dest_start + len(path))
    heading_span = None
    if hash_:
        heading_span = (link.start + dest_start + len(path) + 1, link.start + dest_end)
    return LinkParts(target, heading_span)


def link_at(links: tuple[Link, ...] | list[Link], line: int, index: int) -> Link | None:
    """The link covering `str` offset `index` on 1-based `line` (end inclusive for the cursor
    sitting right after the closing bracket)."""
    for link in links:
        if link.line == line and link.start <= index <= link.end:
            return link
    return None
