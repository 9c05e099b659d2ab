"""The daemon's reading routes for the web UI: one note with its links and backlinks, the link
graph, and a reindex that runs in the background and reports its progress.

The link graph is the core's (`localgpt_ls.linkgraph`), built on first use and refreshed at most
once a second (a refresh walks the workspace and re-parses only notes that changed).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from localgpt_ls import markdown
from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.linkgraph import MAX_NEIGHBOURHOOD, Edge, LinkGraph, missing_id
from localgpt_ls.workspace import relative_to_workspace, safe_path

REFRESH_SECONDS = 1.0
log = logging.getLogger("localgpt_ls.http")
DEFAULT_GRAPH_LIMIT = 300


@dataclass
class _Graph:
    """The daemon's link graph. The first use builds it (and waits); after that an answer
    never waits for the disk: one older than REFRESH_SECONDS starts a refresh in the
    background and is served from the build at hand, so a change shows within a second or
    two, and a click on a 5,000-note graph costs the view, not a walk of the workspace."""

    graph: LinkGraph
    refreshed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: bool = False

    def fresh(self) -> LinkGraph:
        with self.lock:
            if not self.refreshed:
                self.graph.refresh()
                self.refreshed = time.monotonic()
                return self.graph
            if self.running or time.monotonic() - self.refreshed < REFRESH_SECONDS:
                return self.graph
            self.running = True
        threading.Thread(target=self._refresh, name="localgpt-linkgraph", daemon=True).start()
        return self.graph

    def _refresh(self) -> None:
        try:
            self.graph.refresh()
        except Exception as exc:  # the graph at hand stays; the next request tries again
            log.warning("link graph refresh failed: %s", exc)
        finally:
            self.refreshed = time.monotonic()
            self.running = False


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.daemon.engine
    return engine


_HOLDER_LOCK = threading.Lock()


def _holder(app: Any) -> _Graph:
    with _HOLDER_LOCK:
        holder: _Graph | None = getattr(app.state, "linkgraph", None)
        if holder is None:
            engine: Engine = app.state.daemon.engine
            holder = _Graph(LinkGraph(engine.workspace, list(engine.config.memory.paths)))
            app.state.linkgraph = holder
        return holder


def _graph(request: Request) -> _Graph:
    return _holder(request.app)


def warm_graph(app: Any) -> None:
    """Build the link graph now (the daemon's start calls this in a thread), so the first
    graph view does not wait for 5,000 notes to be parsed."""
    _holder(app).fresh()


def _edge_out(edge: Edge, graph: LinkGraph) -> dict[str, Any]:
    link = edge.link
    heading_found = None
    if edge.target is not None and link.heading:
        target = graph.notes.get(edge.target)
        slug = markdown.slugify(link.heading)
        heading_found = next((h.line for h in (target.headings if target else ())
                              if h.slug == slug or h.text.lower() == link.heading.lower()),
                             None)
    return {"line": link.line, "start": link.start, "end": link.end, "raw": link.raw,
            "kind": link.kind, "target": link.target, "heading": link.heading,
            "alias": link.alias, "resolved": edge.target, "heading_line": heading_found}


async def note(request: Request) -> JSONResponse:
    """GET /api/note?path=knowledge/x.md: the note's text, its blocks (line ranges to render
    one by one, so hit lines can be marked), its links resolved, and its backlinks."""
    given = _single(request, "path") or ""
    if not given.strip():
        raise HTTPException(400, "'path' is required: a note's path relative to the workspace, "
                                 "as search results give it")
    engine = _engine(request)
    holder = _graph(request)

    def load() -> dict[str, Any]:
        from localgpt_ls.notefiles import read_note

        if not given.lower().endswith(".md"):
            raise HTTPException(400, f"'{given}' is not a markdown note (.md)")
        try:
            path = safe_path(engine.workspace, given)
        except OSError:  # the path check itself failed (a name the file system refuses)
            raise HTTPException(404, f"no note '{given[:200]}' in the workspace") from None
        try:
            exists = path.is_file()
            st = path.stat() if exists else None
        except OSError:  # a name too long for the file system, a folder we may not read
            exists, st = False, None
        if not exists or st is None:
            raise HTTPException(404, f"no note '{given}' in the workspace; search memory to "
                                     "find one")
        key = relative_to_workspace(engine.workspace, path)
        read = read_note(path, key)
        if read.text is None:
            raise HTTPException(422, read.warning or f"'{key}' cannot be shown")
        doc = markdown.parse(read.text)
        graph = holder.fresh()
        title = next((h.text for h in doc.headings if h.level == 1), path.stem)
        outgoing = [_edge_out(Edge(key, graph.resolve(lk, key), lk), graph)
                    for lk in doc.links]
        lines = doc.lines
        backlinks = []
        for edge in graph.incoming(key):
            source = graph.notes.get(edge.source)
            backlinks.append({"file": edge.source,
                              "title": source.title if source else edge.source,
                              "line": edge.link.line, "raw": edge.link.raw})
        return {"file": key, "title": title, "path": str(path), "text": read.text,
                "line_count": len(lines), "warning": read.warning,
                "modified": datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(
                    timespec="seconds"),
                "blocks": [{"type": b.type, "line_start": b.line_start, "line_end": b.line_end}
                           for b in doc.blocks],
                "headings": [{"level": h.level, "text": h.text, "slug": h.slug, "line": h.line}
                             for h in doc.headings],
                "links": outgoing, "backlinks": backlinks}

    return JSONResponse(await run_in_threadpool(load))


def _single(request: Request, name: str) -> str | None:
    """A query parameter given at most once (`?depth=1&depth=9` is ambiguous, so refused)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise HTTPException(400, f"'{name}' is given {len(values)} times; give it once")
    return values[0] if values else None


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = _single(request, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"'{name}' must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise HTTPException(400, f"'{name}' must be between {low} and {high}")
    return value


async def graph(request: Request) -> JSONResponse:
    """GET /api/graph?center=&depth=&limit=: the link graph, or one note's neighbourhood."""
    center = _single(request, "center") or None
    depth = _int_param(request, "depth", 2, 1, 6)
    limit = _int_param(request, "limit", DEFAULT_GRAPH_LIMIT, 1, MAX_NEIGHBOURHOOD)
    holder = _graph(request)

    def build() -> dict[str, Any]:
        g = holder.fresh()
        if center is not None and center not in g.notes:
            raise HTTPException(404, f"no note '{center}' in the workspace")
        return g.to_dict(center, depth, limit)

    return JSONResponse(await run_in_threadpool(build))


# --- reindex in the background with progress ------------------------------------------------

@dataclass
class ReindexJob:
    """One reindex at a time; its phase and counts as the index reports them."""

    running: bool = False
    phase: str | None = None
    done: int = 0
    total: int = 0
    started: float | None = None
    finished: float | None = None
    report: dict[str, Any] | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to_dict(self) -> dict[str, Any]:
        return {"running": self.running, "phase": self.phase, "done": self.done,
                "total": self.total, "started": self.started, "finished": self.finished,
                "report": self.report, "error": self.error}

    def start(self, engine: Engine, force: bool) -> tuple[bool, dict[str, Any]]:
        """(accepted, the job as it stood when accepted): a small reindex may be over before
        the answer is written, and the answer should still say it ran."""
        with self.lock:
            if self.running:
                return False, self.to_dict()
            self.running, self.phase, self.done, self.total = True, "scan", 0, 0
            self.started, self.finished, self.report, self.error = time.time(), None, None, None
            snapshot = self.to_dict()
        threading.Thread(target=self._run, args=(engine, force), name="localgpt-reindex",
                         daemon=True).start()
        return True, snapshot

    def _progress(self, phase: str, done: int, total: int) -> None:
        self.phase, self.done, self.total = phase, done, total

    def _run(self, engine: Engine, force: bool) -> None:
        try:
            report = engine.memory.reindex(force=force, progress=self._progress)
            self.report = report.to_dict() if hasattr(report, "to_dict") else None
        except LocalGPTError as exc:
            self.error = str(exc)
        except Exception as exc:  # the job reports; the daemon keeps serving
            self.error = f"reindex failed: {exc}"
        finally:
            self.running, self.finished = False, time.time()


def reindex_job(request: Request) -> ReindexJob:
    job: ReindexJob | None = getattr(request.app.state, "reindex_job", None)
    if job is None:
        job = ReindexJob()
        request.app.state.reindex_job = job
    return job


async def reindex_progress(request: Request) -> JSONResponse:
    """GET /api/memory/reindex/progress: what the background reindex is doing."""
    return JSONResponse(reindex_job(request).to_dict())


def start_background_reindex(request: Request, force: bool) -> JSONResponse:
    accepted, snapshot = reindex_job(request).start(_engine(request), force)
    return JSONResponse({**snapshot, "accepted": accepted}, status_code=202)


ROUTES = [
    Route("/api/note", note, methods=["GET"]),
    Route("/api/graph", graph, methods=["GET"]),
    Route("/api/memory/reindex/progress", reindex_progress, methods=["GET"]),
]

__all__ = ["ROUTES", "missing_id", "start_background_reindex", "warm_graph"]
