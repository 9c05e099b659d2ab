"""The workspace as a link graph: notes as nodes, their links as edges, broken links included.

For doors that have no editor-side notes index (the daemon's note viewer and graph view). The
notes are exactly the memory's (`memory.scan`: one rule for what a note is); each is parsed with
`markdown.parse` and kept until its (mtime, size) changes, so a refresh after the first costs
one directory walk.

Link resolution follows the language server's rule (lsp/links.py; a test keeps the two in
agreement): a target resolves by workspace-relative path, then by path relative to the linking
note, then by file name (case-insensitive), then by its slug (`[[Project Alpha]]` finds
project-alpha.md); when several notes share a name, the one nearest to the linking note wins.
"""

from __future__ import annotations

import posixpath
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from localgpt_ls import markdown
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


def _loose(name: str) -> str:
    return markdown.slugify(name)


def _name_of(target: str) -> str:
    name = target.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name[:-3] if name.lower().endswith(".md") else name


def _norm(path: str) -> str | None:
    joined = posixpath.normpath(path)
    if joined.startswith("../") or joined == "..":
        return None
    return "" if joined == "." else joined


def missing_id(link: Link) -> str:
    """The node id of a link target that does not exist: '?' and the name as written."""
    return "?" + _name_of(link.target).strip().lower()


@dataclass
class LinkGraph:
    """Notes, edges and backlinks of one workspace; `refresh()` brings it up to date."""

    workspace: Path
    extra_paths: list[str] = field(default_factory=list)
    notes: dict[str, Note] = field(default_factory=dict)
    edges: dict[str, list[Edge]] = field(default_factory=dict)  # source -> its links
    backlinks: dict[str, list[Edge]] = field(default_factory=dict)  # target -> links to it
    generation: int = 0
    _by_rel: dict[str, str] = field(default_factory=dict)
    _by_stem: dict[str, list[str]] = field(default_factory=dict)
    _by_loose: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- building ------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Re-read notes that changed, drop those that went away; True when anything changed."""
        from localgpt_ls.memory.scan import read_note, scan

        with self._lock:
            found = [f for f in scan(self.workspace, self.extra_paths)
                     if not f.skip and not f.key.startswith("/")]
            seen = {f.key for f in found}
            changed = False
            for gone in set(self.notes) - seen:
                del self.notes[gone]
                changed = True
            for f in found:
                old = self.notes.get(f.key)
                if old is not None and old.mtime == f.mtime and old.size == f.size:
                    continue
                read = read_note(f.path, f.key)
                doc = markdown.parse(read.text) if read.text is not None else None
                title = next((h.text for h in doc.headings if h.level == 1), None) if doc else None
                self.notes[f.key] = Note(f.key, title or PurePosixPath(f.key).stem, f.mtime,
                                         f.size, tuple(doc.links) if doc else (),
                                         tuple(doc.headings) if doc else ())
                changed = True
            if changed or not self.generation:
                self._relink()
                self.generation += 1
            return changed

    def _relink(self) -> None:
        self._by_rel = {k.lower(): k for k in self.notes}
        self._by_stem, self._by_loose = {}, {}
        for key in self.notes:
            stem = PurePosixPath(key).stem
            self._by_stem.setdefault(stem.lower(), []).append(key)
            self._by_loose.setdefault(_loose(stem), []).append(key)
        self.edges, self.backlinks = {}, {}
        for key, note in self.notes.items():
            out = self.edges.setdefault(key, [])
            for link in note.links:
                if not link.target.strip():
                    continue  # a link into the same note is no edge
                edge = Edge(key, self.resolve(link, key), link)
                out.append(edge)
                if edge.target is not None and edge.target != key:
                    self.backlinks.setdefault(edge.target, []).append(edge)

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self, link: Link, source: str | None) -> str | None:
        """The key of the note `link` (written in note `source`) points at, or None."""
        target = link.target.replace("\\", "/").strip()
        if not target:
            return source
        source_dir = posixpath.dirname(source) if source else ""
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
                hit = self._by_rel.get(variant.lower())
                if hit is not None:
                    return hit
        name = _name_of(target)
        return (self._nearest(self._by_stem.get(name.lower()), source)
                or self._nearest(self._by_loose.get(_loose(name)) if name else None, source))

    @staticmethod
    def _nearest(keys: list[str] | None, source: str | None) -> str | None:
        if not keys:
            return None
        if len(keys) == 1:
            return keys[0]
        here = PurePosixPath(source).parent.parts if source else ()

        def distance(key: str) -> tuple[int, int, str]:
            parts = PurePosixPath(key).parent.parts
            common = 0
            for a, b in zip(here, parts, strict=False):
                if a != b:
                    break
                common += 1
            return (len(here) + len(parts) - 2 * common, len(parts), key)

        return min(keys, key=distance)

    # -- views ---------------------------------------------------------------------------------

    def neighbours(self, key: str) -> set[str]:
        """Notes and missing targets one link away, either direction."""
        out = {e.target if e.target is not None else missing_id(e.link)
               for e in self.edges.get(key, ())}
        out.update(e.source for e in self.backlinks.get(key, ()))
        out.discard(key)
        return out

    def degree(self, key: str) -> int:
        return len(self.edges.get(key, ())) + len(self.backlinks.get(key, ()))

    def to_dict(self, center: str | None = None, depth: int = 2,
                limit: int = MAX_NEIGHBOURHOOD) -> dict[str, Any]:
        """The graph as nodes and links. With `center`: that note's neighbourhood up to
        `depth` links away, nearest rings first, at most `limit` nodes; without it, every note
        (the best-linked first when there are more than `limit`)."""
        with self._lock:
            if center is not None:
                keep, truncated = self._rings(center, depth, limit)
            else:
                truncated = len(self.notes) > limit
                ranked = sorted(self.notes, key=lambda k: (-self.degree(k), k))
                keep = dict.fromkeys(ranked[:limit], 0)
                for key in list(keep):
                    for e in self.edges.get(key, ()):
                        if e.target is None and len(keep) < limit:
                            keep.setdefault(missing_id(e.link), 1)
            nodes, links = self._subgraph(keep)
            return {"center": center, "depth": depth if center is not None else None,
                    "total_notes": len(self.notes),
                    "total_links": sum(len(v) for v in self.edges.values()),
                    "truncated": truncated,
                    "nodes": nodes, "links": links}

    def _rings(self, center: str, depth: int, limit: int) -> tuple[dict[str, int], bool]:
        keep = {center: 0}
        ring = [center]
        for distance in range(1, depth + 1):
            nxt: set[str] = set()
            for key in ring:
                if not key.startswith("?"):
                    nxt.update(self.neighbours(key))
            fresh = sorted(nxt - set(keep), key=lambda k: (-self.degree(k), k))
            for key in fresh:
                if len(keep) >= limit:
                    return keep, True
                keep[key] = distance
            ring = fresh
        return keep, False

    def _subgraph(self, keep: dict[str, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        nodes = []
        for key, distance in keep.items():
            if key.startswith("?"):
                nodes.append({"id": key, "title": key[1:], "missing": True,
                              "distance": distance, "degree": 0})
            elif key in self.notes:
                nodes.append({"id": key, "title": self.notes[key].title, "missing": False,
                              "distance": distance, "degree": self.degree(key)})
        links = []
        seen: set[tuple[str, str]] = set()
        for key in keep:
            for e in self.edges.get(key, ()):
                target = e.target if e.target is not None else missing_id(e.link)
                if target in keep and target != key and (key, target) not in seen:
                    seen.add((key, target))
                    links.append({"source": key, "target": target, "broken": e.target is None})
        return nodes, links

    def outgoing(self, key: str) -> list[Edge]:
        with self._lock:
            return list(self.edges.get(key, ()))

    def incoming(self, key: str) -> list[Edge]:
        with self._lock:
            return sorted(self.backlinks.get(key, ()), key=lambda e: (e.source, e.link.line))
