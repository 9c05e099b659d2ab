"""The workspace as a link graph: notes as nodes, their links as edges, broken links included.

For doors that have no editor-side notes index (the daemon's note viewer and graph view). The
notes are exactly the memory's (`memory.scan`, over `notefiles`: one rule for what a note is);
each is read with `notefiles.read_note`, parsed with `markdown.parse` and kept until its
(mtime, size) changes, so a refresh after the first costs one directory walk.

Where a link leads is `link_targets.py`'s rule, the one the language server calls too: by
path, by relative path, by file name, by slug (`[[Project Alpha]]` finds project-alpha.md), the
nearest of several notes sharing a name.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from localgpt_ls import link_targets, markdown
from localgpt_ls.link_targets import loose_name, target_name
from localgpt_ls.markdown import Heading, Link

MAX_NEIGHBOURHOOD = 10_000


@dataclass(frozen=True)
class Note:
    key: str  # workspace-relative POSIX path
    title: str
    mtime: float
    size: int
    links: tuple[Link, ...]
    headings: tuple[Heading, ...]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str | None  # None: the link leads nowhere
    link: Link


def missing_id(link: Link) -> str:
    """The node id of a link target that does not exist: '?' and the name as written."""
    return "?" + target_name(link.target).strip().lower()


@dataclass
class _Tables:
    """One consistent build of the graph. A refresh builds a new one beside the old and swaps
    it in, so readers never wait for a refresh and never see half of one."""

    notes: dict[str, Note] = field(default_factory=dict)
    edges: dict[str, list[Edge]] = field(default_factory=dict)  # source -> its links
    backlinks: dict[str, list[Edge]] = field(default_factory=dict)  # target -> links to it
    by_rel: dict[str, str] = field(default_factory=dict)
    by_stem: dict[str, list[str]] = field(default_factory=dict)
    by_loose: dict[str, list[str]] = field(default_factory=dict)

    # the lookups link_targets.resolve asks for (a note is its key)
    def at_path(self, rel: str) -> str | None:
        return self.by_rel.get(rel)

    def named(self, stem: str) -> Sequence[str]:
        return self.by_stem.get(stem, ())

    def loosely_named(self, slug: str) -> Sequence[str]:
        return self.by_loose.get(slug, ())

    @staticmethod
    def rel_of(note: str) -> str:
        return note


@dataclass
class LinkGraph:
    """Notes, edges and backlinks of one workspace; `refresh()` brings it up to date."""

    workspace: Path
    extra_paths: list[str] = field(default_factory=list)
    generation: int = 0
    _tables: _Tables = field(default_factory=_Tables)
    _refreshing: threading.Lock = field(default_factory=threading.Lock)

    @property
    def notes(self) -> dict[str, Note]:
        return self._tables.notes

    @property
    def edges(self) -> dict[str, list[Edge]]:
        return self._tables.edges

    @property
    def backlinks(self) -> dict[str, list[Edge]]:
        return self._tables.backlinks

    # -- building ------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Re-read notes that changed, drop those that went away; True when anything changed.
        Blocking (a walk of the workspace); one refresh runs at a time."""
        from localgpt_ls.memory.scan import scan
        from localgpt_ls.notefiles import read_note

        with self._refreshing:
            found = [f for f in scan(self.workspace, self.extra_paths)
                     if not f.skip and not f.key.startswith("/")]
            notes = dict(self._tables.notes)
            seen = {f.key for f in found}
            changed = False
            for gone in set(notes) - seen:
                del notes[gone]
                changed = True
            for f in found:
                old = notes.get(f.key)
                if old is not None and old.mtime == f.mtime and old.size == f.size:
                    continue
                read = read_note(f.path, f.key)
                doc = markdown.parse(read.text) if read.text is not None else None
                title = next((h.text for h in doc.headings if h.level == 1), None) if doc else None
                notes[f.key] = Note(f.key, title or PurePosixPath(f.key).stem, f.mtime, f.size,
                                    tuple(doc.links) if doc else (),
                                    tuple(doc.headings) if doc else ())
                changed = True
            if changed or not self.generation:
                self._tables = self._link(notes)
                self.generation += 1
            return changed

    @staticmethod
    def _link(notes: dict[str, Note]) -> _Tables:
        t = _Tables(notes=notes, by_rel={k.lower(): k for k in notes})
        for key in notes:
            stem = PurePosixPath(key).stem
            t.by_stem.setdefault(stem.lower(), []).append(key)
            t.by_loose.setdefault(loose_name(stem), []).append(key)
        for key, note in notes.items():
            out = t.edges.setdefault(key, [])
            for link in note.links:
                if not link.target.strip():
                    continue  # a link into the same note is no edge
                edge = Edge(key, _resolve(t, link, key), link)
                out.append(edge)
                if edge.target is not None and edge.target != key:
                    t.backlinks.setdefault(edge.target, []).append(edge)
        return t

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self, link: Link, source: str | None) -> str | None:
        """The key of the note `link` (written in note `source`) points at, or None."""
        return _resolve(self._tables, link, source)

    # -- views (each reads one build of the tables, whatever a refresh does meanwhile) ------

    def to_dict(self, center: str | None = None, depth: int = 2,
                limit: int = MAX_NEIGHBOURHOOD) -> dict[str, Any]:
        """The graph as nodes and links. With `center`: that note's neighbourhood up to
        `depth` links away, nearest rings first, at most `limit` nodes; without it, every note
        (the best-linked first when there are more than `limit`)."""
        t = self._tables
        if center is not None:
            keep, truncated = _rings(t, center, depth, limit)
        else:
            truncated = len(t.notes) > limit
            ranked = sorted(t.notes, key=lambda k: (-_degree(t, k), k))
            keep = dict.fromkeys(ranked[:limit], 0)
            for key in list(keep):
                for e in t.edges.get(key, ()):
                    if e.target is None and len(keep) < limit:
                        keep.setdefault(missing_id(e.link), 1)
        nodes, links = _subgraph(t, keep)
        return {"center": center, "depth": depth if center is not None else None,
                "total_notes": len(t.notes),
                "total_links": sum(len(v) for v in t.edges.values()),
                "truncated": truncated, "nodes": nodes, "links": links}

    def outgoing(self, key: str) -> list[Edge]:
        return list(self._tables.edges.get(key, ()))

    def incoming(self, key: str) -> list[Edge]:
        return sorted(self._tables.backlinks.get(key, ()),
                      key=lambda e: (e.source, e.link.line))


def _neighbours(t: _Tables, key: str) -> set[str]:
    """Notes and missing targets one link away, either direction."""
    out = {e.target if e.target is not None else missing_id(e.link)
           for e in t.edges.get(key, ())}
    out.update(e.source for e in t.backlinks.get(key, ()))
    out.discard(key)
    return out


def _degree(t: _Tables, key: str) -> int:
    return len(t.edges.get(key, ())) + len(t.backlinks.get(key, ()))


def _rings(t: _Tables, center: str, depth: int, limit: int) -> tuple[dict[str, int], bool]:
    keep = {center: 0}
    ring = [center]
    for distance in range(1, depth + 1):
        nxt: set[str] = set()
        for key in ring:
            if not key.startswith("?"):
                nxt.update(_neighbours(t, key))
        fresh = sorted(nxt - set(keep), key=lambda k: (-_degree(t, k), k))
        for key in fresh:
            if len(keep) >= limit:
                return keep, True
            keep[key] = distance
        ring = fresh
    return keep, False


def _subgraph(t: _Tables, keep: dict[str, int]
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = []
    for key, distance in keep.items():
        if key.startswith("?"):
            nodes.append({"id": key, "title": key[1:], "missing": True,
                          "distance": distance, "degree": 0})
        elif key in t.notes:
            nodes.append({"id": key, "title": t.notes[key].title, "missing": False,
                          "distance": distance, "degree": _degree(t, key)})
    links = []
    seen: set[tuple[str, str]] = set()
    for key in keep:
        for e in t.edges.get(key, ()):
            target = e.target if e.target is not None else missing_id(e.link)
            if target in keep and target != key and (key, target) not in seen:
                seen.add((key, target))
                links.append({"source": key, "target": target, "broken": e.target is None})
    return nodes, links


def _resolve(t: _Tables, link: Link, source: str | None) -> str | None:
    """The key of the note `link` (written in note `source`) points at, or None."""
    return link_targets.resolve(t, link, source)
