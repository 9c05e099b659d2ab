"""Where a link leads: the one rule for `[[note]]`, `[[note#heading]]`, `[[note|alias]]` and
`[text](path.md#heading)`, called by the link graph (daemon's note viewer and graph view) and by
the language server (definition, hover, diagnostics, rename, completion) alike.

A target resolves, in order, by workspace-relative path, by path relative to the linking note
(a standard link tries the relative path first, a wiki link the workspace path first), then by
file name (case-insensitive), then by its slug (`[[Project Alpha]]` finds project-alpha.md);
when several notes share a name the one nearest to the linking note wins (fewest folders
apart, then the shallower, then by path). An empty target is the linking note itself. A
heading resolves by its GitHub slug or by its text, case-insensitively.

Each caller keeps notes its own way (the graph by path, the editor by URI): it hands its
lookups over as a `NoteLookup`, and gets back one of its own notes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Protocol, TypeVar

from localgpt_ls.markdown import Heading, Link, slugify

N = TypeVar("N")


class NoteLookup(Protocol[N]):
    """A caller's notes, as the rule asks for them. Names and paths come lower-cased."""

    def at_path(self, rel: str) -> N | None:
        """The note at this workspace-relative path, if any."""

    def named(self, stem: str) -> Sequence[N]:
        """Notes whose file name (without .md) is `stem`."""

    def loosely_named(self, slug: str) -> Sequence[N]:
        """Notes whose file name slugifies to `slug`."""

    def rel_of(self, note: N) -> str:
        """The note's workspace-relative path (the distance between notes is measured on it)."""


def target_name(target: str) -> str:
    """The note name a target spells: its last path part, without `.md`."""
    name = target.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name[:-3] if name.lower().endswith(".md") else name


def loose_name(name: str) -> str:
    """The spelling-blind form of a note name (`Project Alpha` ~ `project-alpha`)."""
    return slugify(name)


def _norm(path: str) -> str | None:
    joined = posixpath.normpath(path)
    if joined.startswith("../") or joined == "..":
        return None
    return "" if joined == "." else joined


def resolve(notes: NoteLookup[N], link: Link, source: N | None) -> N | None:
    """The note `link`, written in note `source` (None: from outside any note), points at."""
    target = link.target.replace("\\", "/").strip()
    if not target:
        return source
    source_rel = notes.rel_of(source) if source is not None else None
    source_dir = posixpath.dirname(source_rel) if source_rel else ""
    if link.kind == "md":
        candidates = ([target.lstrip("/")] if target.startswith("/")
                      else [posixpath.join(source_dir, target), target])
    else:
        candidates = [target.lstrip("/"), posixpath.join(source_dir, target)]
    for cand in candidates:
        norm = _norm(cand)
        if norm is None:
            continue
        for variant in (norm, norm if norm.lower().endswith(".md") else norm + ".md"):
            hit = notes.at_path(variant.lower())
            if hit is not None:
                return hit
    name = target_name(target)
    return (nearest(notes, notes.named(name.lower()), source_rel)
            or (nearest(notes, notes.loosely_named(loose_name(name)), source_rel)
                if name else None))


def nearest(notes: NoteLookup[N], among: Sequence[N], source_rel: str | None) -> N | None:
    """Of several notes sharing a name, the one closest to the linking note."""
    if not among:
        return None
    if len(among) == 1:
        return among[0]
    here = PurePosixPath(source_rel).parent.parts if source_rel else ()

    def distance(note: N) -> tuple[int, int, str]:
        rel = notes.rel_of(note)
        parts = PurePosixPath(rel).parent.parts
        common = 0
        for a, b in zip(here, parts, strict=False):
            if a != b:
                break
            common += 1
        return (len(here) + len(parts) - 2 * common, len(parts), rel)

    return min(among, key=distance)


def find_heading(headings: Iterable[Heading], name: str) -> Heading | None:
    """The heading a link's `#name` means: by slug or by text (case-insensitive)."""
    wanted_slug = slugify(name)
    lowered = name.strip().lower()
    for heading in headings:
        if heading.slug == wanted_slug or heading.slug == name or heading.text.lower() == lowered:
            return heading
    return None
