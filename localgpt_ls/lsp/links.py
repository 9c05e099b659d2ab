"""Link resolution: `[[note]]`, `[[note#heading]]`, `[[note|alias]]` and `[text](path.md#h)`.

A target resolves, in order, by workspace-relative path, by path relative to the linking note,
then by file stem (case-insensitive); when several notes share a stem the one nearest to the
linking note wins. A heading resolves by GitHub slug or by its text, case-insensitively.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath

from localgpt_ls.lsp.notes import NoteIndex, NoteInfo, link_key
from localgpt_ls.markdown import Heading, Link, slugify


@dataclass(frozen=True)
class Resolved:
    note: NoteInfo | None  # None: the target note does not exist
    heading: Heading | None
    heading_missing: bool  # the link names a heading the note does not have


def _with_md(path: str) -> str:
    return path if path.lower().endswith(".md") else path + ".md"


def _norm(path: str) -> str | None:
    joined = posixpath.normpath(path)
    if joined.startswith("../") or joined == "..":
        return None
    return "" if joined == "." else joined


def resolve_note(index: NoteIndex, link: Link, source: NoteInfo | None) -> NoteInfo | None:
    """The note a link points at, or None."""
    target = link.target.replace("\\", "/").strip()
    if not target:
        return source
    source_dir = posixpath.dirname(source.rel) if source is not None else ""
    candidates: list[str] = []
    if link.kind == "md":
        if target.startswith("/"):
            candidates.append(target.lstrip("/"))
        else:
            candidates.append(posixpath.join(source_dir, target))
            candidates.append(target)
    else:
        candidates.append(target.lstrip("/"))
        candidates.append(posixpath.join(source_dir, target))
    for cand in candidates:
        norm = _norm(cand)
        if norm is None:
            continue
        for variant in (norm, _with_md(norm)):
            uri = index.by_rel.get(variant.lower())
            if uri is not None:
                return index.notes.get(uri)
    name = target.rsplit("/", 1)[-1]
    if name.lower().endswith(".md"):
        name = name[:-3]
    return (nearest(index, index.by_stem.get(name.lower()), source)
            or nearest(index, index.by_key.get(link_key(link)), source))


def nearest(index: NoteIndex, uris: set[str] | None, source: NoteInfo | None) -> NoteInfo | None:
    """Of several notes sharing a name, the one closest to the linking note."""
    if not uris:
        return None
    notes = [index.notes[u] for u in uris if u in index.notes]
    if not notes:
        return None
    if len(notes) == 1:
        return notes[0]
    here = PurePosixPath(source.rel).parent.parts if source is not None else ()

    def distance(note: NoteInfo) -> tuple[int, int, str]:
        parts = PurePosixPath(note.rel).parent.parts
        common = 0
        for a, b in zip(here, parts, strict=False):
            if a != b:
                break
            common += 1
        return (len(here) + len(parts) - 2 * common, len(parts), note.rel)

    return min(notes, key=distance)


def find_heading(note: NoteInfo, name: str) -> Heading | None:
    """A heading of `note` by slug or text (case-insensitive)."""
    wanted_slug = slugify(name)
    lowered = name.strip().lower()
    for heading in note.headings:
        if heading.slug == wanted_slug or heading.slug == name or heading.text.lower() == lowered:
            return heading
    return None


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
