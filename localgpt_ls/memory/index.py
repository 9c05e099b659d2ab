"""MemoryIndex: keeps the index in step with the workspace and answers searches.

Indexing is two-speed. `index_file`/`reindex` re-chunk changed files and update FTS at once, in
short transactions (one per saved file; 32 files each during a reindex), so a saved note is
searchable by keyword within milliseconds.
Vectors come from `embed_pending`, which embeds only chunk texts the cache has never seen (a
cache hit costs a lookup). `reindex` runs both, so after it every chunk is embedded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from localgpt_ls import paths
from localgpt_ls.markdown import Chunk, chunk, parse
from localgpt_ls.memory.embed import Embedder, EmbeddingError, make_embedder
from localgpt_ls.memory.scan import ScannedFile, file_key, read_note, scan
from localgpt_ls.memory.search import (
    COLUMN_WEIGHTS,
    TEMPLATE_FACTOR,
    SearchHit,
    SearchResponse,
    apply_factor,
    apply_recency,
    diversify,
    floor,
    fts_match,
    fts_text,
    fts_words,
    fuse,
    idf,
    informative,
    keyword_coverage,
)
from localgpt_ls.memory.store import (
    TOKENIZER,
    DatabaseErrors,
    Store,
    is_corruption,
    sha256_text,
)
from localgpt_ls.memory.vectors import VectorCache
from localgpt_ls.notefiles import is_note, is_note_name

log = logging.getLogger("localgpt.memory")

# Bump when markdown.chunk or what goes into FTS changes (3: CJK characters as tokens): the
# index rebuilds on the next open, embeddings come back from the cache.
CHUNKING_VERSION = "3"
KEYWORD_CANDIDATES = 100  # bm25's best chunks fused with the nearest vectors
CACHE_SLACK = 3  # cached vectors kept per live chunk before the cache is pruned
CACHE_FLOOR = 20_000  # ... and never pruned below this many (about 30 MB of vectors)
EMBED_BATCH = 256  # chunks per embed_pending round: wide enough for length sorting to pay
WRITE_BATCH_FILES = 32  # files per write transaction in a reindex (each commit costs ~1 ms)
# progress(phase, done, total): phase is "scan", "index" (files) or "embed" (chunks)
Progress = Callable[[str, int, int], None]


@dataclass
class _FileText:
    key: str
    text: str
    sha256: str
    mtime: float
    size: int


@dataclass
class ReindexReport:
    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = 0
    chunks_added: int = 0
    chunks_embedded: int = 0  # vectors computed by the model (cache misses)
    cache_hits: int = 0  # vectors taken from the embedding cache
    seconds: float = 0.0
    rebuilt: str | None = None  # why the index was rebuilt first, if it was
    interrupted: bool = False  # stop() cut it short; the next reindex picks up the rest
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _title(key: str, heading_path: tuple[str, ...]) -> str:
    """What FTS indexes besides the text: the note's name and headings, so names rank first."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".md")
    return " ".join([stem.replace("-", " ").replace("_", " "), *heading_path])


def embed_text(heading_path: tuple[str, ...], text: str) -> str:
    """The text the model sees: a chunk that does not open with its heading gets the path."""
    if heading_path and not text.lstrip().startswith("#"):
        return " > ".join(heading_path) + "\n" + text
    return text


class MemoryIndex:
    """The memory index of one workspace. Safe to share between threads (one SQLite connection
    per thread) and between processes (see store.py).

    For doors: `search`, `reindex`, `index_file` / `remove_file` (editor saves, watchers),
    `embed_pending` (fill vectors in the background), `stats`, `recent`, `similar_files`
    (meaning-ranked notes for completion; never waits for the model), `warm` (load the model
    and vectors from a background thread), `pop_warnings`, `close`.
    """

    def __init__(self, workspace: Path, config: Any = None, *, embedder: Embedder | None = None,
                 index_file_path: Path | None = None) -> None:
        from localgpt_ls.config import Config

        self.workspace = workspace.resolve()
        self.config = config if config is not None else Config()
        mem = self.config.memory
        self.chunk_tokens = mem.chunk_size
        self.overlap_tokens = mem.chunk_overlap
        self.extra_paths = list(mem.paths)
        self.recency_half_life_days = mem.recency_half_life_days
        self.embedder = embedder if embedder is not None else make_embedder(self.config)
        self.path = index_file_path or paths.index_path(self.workspace)
        self.store = Store(self.path, {
            "model": self.embedder.model_id,
            "chunking": f"v{CHUNKING_VERSION}:{self.chunk_tokens}/{self.overlap_tokens}",
        })
        self._vectors = VectorCache()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="memory-search")
        self._loader: threading.Thread | None = None
        self._loader_lock = threading.Lock()
        self._query_cache: dict[str, np.ndarray] = {}
        self._query_lock = threading.Lock()
        self._stopping = threading.Event()
        self._templates: set[str] | None = None

    def stop(self) -> None:
        """Ask running work in other threads (reindex, embedding, the vector copy load) to
        finish early at its next file or batch, so a door can close the index soon after. What
        was written stays written; the next reindex picks up the rest."""
        self._stopping.set()
        self._vectors.abort.set()

    def close(self) -> None:
        self.stop()
        if self._loader is not None:
            self._loader.join(timeout=5)
        self._pool.shutdown(wait=True)
        self.store.close()

    @property
    def needs_reindex(self) -> bool:
        """True when the index holds nothing from the workspace yet: just created, rebuilt for
        new settings, or recovered from damage. Counts (`stats`) would say 0 files until the
        next reindex, so a door showing them reindexes first."""
        return self.store.unfilled

    def pop_warnings(self) -> list[str]:
        """Warnings of the index file (e.g. a corrupt index was moved aside) not yet handed
        out, each once. They were logged when they arose; this is for a door that also lists
        them somewhere (the next reindex report holds them too)."""
        out, self.store.warnings = self.store.warnings, []
        return out

    def load_model_behind(self) -> None:
        """Start loading the local model in a worker thread and return at once: a one-shot
        search (`localgpt memory search`) loads it while the workspace scan runs, instead of
        after it. Errors surface at the first embedding, as without this."""
        load = getattr(self.embedder, "load", None)
        if load is not None and not self.embedder.ready:
            def quietly() -> None:
                with contextlib.suppress(EmbeddingError):
                    load()
            self._pool.submit(quietly)

    def warm(self) -> None:
        """Load the local model and the in-memory vector copy now, e.g. from an editor's or the
        daemon's background thread at start, so searches and `similar_files` answer at full
        speed from the first keystroke. Errors are logged, not raised."""
        load = getattr(self.embedder, "load", None)
        if load is not None:
            try:
                load()
            except EmbeddingError as exc:
                log.warning("%s", exc)
        if self.embedder.enabled:
            self._vectors.refresh(self.store.conn(), self.embedder.model_id)

    # -- indexing ------------------------------------------------------------------------------

    def reindex(self, force: bool = False, progress: Progress | None = None) -> ReindexReport:
        """Bring the whole index up to date with the workspace, embeddings included."""
        try:
            return self._reindex(force, progress)
        except DatabaseErrors as exc:
            if not is_corruption(exc):
                raise
            # The file went bad under us (disk trouble, another tool): move aside, start over.
            self._recover(exc)
            return self._reindex(True, progress)

    def _recover(self, exc: BaseException) -> None:
        self.store.recover(exc)
        self._vectors.reset()

    def _reindex(self, force: bool, progress: Progress | None) -> ReindexReport:
        started = time.perf_counter()
        report = ReindexReport(rebuilt=self.store.rebuilt_reason)
        self.store.rebuilt_reason = None
        report.warnings.extend(self.pop_warnings())
        if progress:
            progress("scan", 0, 1)
        found = scan(self.workspace, self.extra_paths)
        report.files_seen = len(found)
        known = {row[0]: (row[1], row[2], row[3]) for row in self.store.conn().execute(
            "SELECT path, hash, mtime, size FROM files")}
        skipped = self._skipped()
        pending: list[_FileText] = []
        for i, f in enumerate(found):
            if self._stopping.is_set():
                # Keep what is written; the sweep, embedding and pruning wait for the next run.
                self._write_files(pending, report)
                report.interrupted = True
                report.seconds = round(time.perf_counter() - started, 3)
                return report
            if progress:
                progress("index", i, len(found))
            if not force and self._still_skipped(f, skipped.get(f.key)):
                report.files_skipped += 1  # warned when it was first skipped
                continue
            if f.skip is not None:
                self._skip(f, f.skip, report, "loop")
                continue
            old = known.get(f.key)
            if not force and old is not None and old[1] == f.mtime and old[2] == f.size:
                report.files_unchanged += 1
                continue
            item = self._read_scanned(f, old[0] if old and not force else None, report)
            if item is not None:
                pending.append(item)
            # Several files per transaction: each commit costs ~1 ms (FTS5 flushes a segment).
            if len(pending) >= WRITE_BATCH_FILES or sum(len(p.text) for p in pending) > 1 << 20:
                self._write_files(pending, report)
                pending = []
        self._write_files(pending, report)
        if progress:
            progress("index", len(found), len(found))
        found_keys = {f.key for f in found}
        for key in sorted(set(known) - found_keys):
            self._remove_key(key)
            report.files_removed += 1
        gone = [(key,) for key in set(skipped) - found_keys]
        if gone:
            with self.store.write() as c:
                c.executemany("DELETE FROM skipped WHERE path = ?", gone)
        self.embed_pending(progress=progress, report=report)
        self._prune_cache()
        self.store.unfilled = False
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _prune_cache(self) -> None:
        """Drop cached vectors of text the index no longer holds, once they outnumber the live
        chunks CACHE_SLACK times (and CACHE_FLOOR rows). Until then they make an undo, a
        re-added note or switching back to a model free; past it they only grow the file."""
        c = self.store.conn()
        total = c.execute("SELECT count(*) FROM embed_cache").fetchone()[0]
        live = c.execute("SELECT count(*) FROM chunks").fetchone()[0]
        if total <= max(CACHE_FLOOR, CACHE_SLACK * live):
            return
        with self.store.write() as w:
            removed = w.execute("DELETE FROM embed_cache WHERE hash NOT IN "
                                "(SELECT embed_hash FROM chunks)").rowcount
        log.info("embedding cache: dropped %d vectors of text no longer indexed", removed)

    @staticmethod
    def _warn(report: ReindexReport, message: str) -> None:
        """Log a warning once, where it arises (doors show the log), and keep it in the report
        for callers that list them; nobody logs the report's warnings again."""
        log.warning("%s", message)
        report.warnings.append(message)

    def _skipped(self) -> dict[str, tuple[float, int, str]]:
        return {row[0]: (row[1], row[2], row[3]) for row in self.store.conn().execute(
            "SELECT path, mtime, size, kind FROM skipped")}

    @staticmethod
    def _still_skipped(f: ScannedFile, was: tuple[float, int, str] | None) -> bool:
        """True when `f` was skipped before and has not changed since, so it is neither read
        nor warned about again. A binary or huge note is re-read once its mtime or size
        changes; a symlink loop is found by every scan, so only a loop that is still one
        (same link) counts."""
        if was is None or (was[0], was[1]) != (f.mtime, f.size):
            return False
        return (was[2] == "loop") == (f.skip is not None)

    def _skip(self, f: ScannedFile, why: str, report: ReindexReport,
              kind: str | None) -> None:
        """A file that cannot be indexed: say why, and drop what the index held of it (a note
        that became binary, huge or a symlink loop leaves the index). With a `kind` the skip
        is remembered by (mtime, size), so it is warned about once, not on every search."""
        self._warn(report, why)
        report.files_skipped += 1
        with self.store.write() as c:
            self._delete_chunks(c, f.key)
            c.execute("DELETE FROM files WHERE path = ?", (f.key,))
            if kind is not None:
                c.execute("INSERT OR REPLACE INTO skipped(path, mtime, size, kind) "
                          "VALUES (?, ?, ?, ?)", (f.key, f.mtime, f.size, kind))
            else:  # a failed read is tried again next time, and warned about again
                c.execute("DELETE FROM skipped WHERE path = ?", (f.key,))

    def _read_scanned(self, f: ScannedFile, old_hash: str | None,
                      report: ReindexReport) -> _FileText | None:
        """Read a changed file; None when there is nothing to write (skipped, or same hash)."""
        read = read_note(f.path, f.key)
        if read.text is None:
            self._skip(f, read.warning or f"{f.key}: skipped", report,
                       "content" if read.lasting else None)
            return None
        if read.warning:
            self._warn(report, read.warning)
        if old_hash == read.sha256:
            # touched, not changed: remember the new mtime so the next scan skips it cheaply
            with self.store.write() as c:
                c.execute("UPDATE files SET mtime = ?, size = ? WHERE path = ?",
                          (f.mtime, f.size, f.key))
            report.files_unchanged += 1
            return None
        return _FileText(f.key, read.text, read.sha256, f.mtime, f.size)

    def index_file(self, path: Path | str, embed: bool = True) -> ReindexReport:
        """(Re)index one file, e.g. on editor save: FTS at once, then its new vectors.

        `path` is absolute or workspace-relative. A file that no longer exists is removed.
        Files that are not memory (not .md, in hidden folders, outside the workspace and the
        configured paths) are ignored. Pass `embed=False` to leave vectors to `embed_pending`.
        """
        report = ReindexReport()
        started = time.perf_counter()
        p = Path(path)
        if not p.is_absolute():
            p = self.workspace / p
        key = file_key(self.workspace, p)
        if not self._is_memory_file(p, key):
            return report
        if not p.is_file():
            if self._remove_key(key):
                report.files_removed = 1
            return report
        st = p.stat()
        c = self.store.conn()
        row = c.execute("SELECT hash FROM files WHERE path = ?", (key,)).fetchone()
        was = c.execute("SELECT mtime, size, kind FROM skipped WHERE path = ?", (key,)
                        ).fetchone()
        report.files_seen = 1
        scanned = ScannedFile(key, p, st.st_mtime, st.st_size)
        if self._still_skipped(scanned, tuple(was) if was else None):
            report.files_skipped = 1
            return report
        item = self._read_scanned(scanned, row[0] if row else None, report)
        if item is not None:
            self._write_files([item], report)
        if embed:
            self.embed_pending(report=report)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def remove_file(self, path: Path | str) -> bool:
        """Forget a file (deleted or renamed in the editor). True if it was indexed."""
        p = Path(path)
        if not p.is_absolute():
            p = self.workspace / p
        return self._remove_key(file_key(self.workspace, p))

    def _is_memory_file(self, p: Path, key: str) -> bool:
        """A note of the workspace or of a configured path (the rule is notefiles.is_note)."""
        del key
        if is_note(self.workspace, p):
            return True
        roots = [Path(os.path.expandvars(x)).expanduser() for x in self.extra_paths]
        roots = [r if r.is_absolute() else self.workspace / r for r in roots]
        return any((p == r and is_note_name(r.name)) or is_note(r, p) for r in roots)

    def _delete_chunks(self, c: Any, key: str) -> None:
        ids = [(r[0],) for r in c.execute("SELECT id FROM chunks WHERE path = ?", (key,))]
        if not ids:
            return
        c.executemany("DELETE FROM chunks_fts WHERE rowid = ?", ids)
        if c.execute("SELECT 1 FROM meta WHERE key = 'dims'").fetchone():
            c.executemany("DELETE FROM chunks_vec WHERE chunk_id = ?", ids)
            self.store.bump_vec_gen(c)
        c.execute("DELETE FROM chunks WHERE path = ?", (key,))

    def _remove_key(self, key: str) -> bool:
        with self.store.write() as c:
            self._delete_chunks(c, key)
            c.execute("DELETE FROM skipped WHERE path = ?", (key,))
            return c.execute("DELETE FROM files WHERE path = ?", (key,)).rowcount > 0

    def _chunks(self, key: str, text: str, report: ReindexReport) -> list[Chunk]:
        doc = parse(text)
        if doc.warning:  # over the parsing budget: still searchable, by paragraphs
            self._warn(report, f"{key}: {doc.warning}")
        return chunk(text, doc, self.chunk_tokens, self.overlap_tokens)

    def _write_files(self, items: list[_FileText], report: ReindexReport) -> None:
        """Replace these files' chunks in one transaction (chunking happens before it)."""
        if not items:
            return
        prepared = []
        for item in items:
            chunks = self._chunks(item.key, item.text, report)
            prepared.append((item, [(ch, sha256_text(embed_text(ch.heading_path, ch.text)))
                                    for ch in chunks]))
        model = self.embedder.model_id
        hits = 0
        with self.store.write() as c:
            has_vec = c.execute("SELECT 1 FROM meta WHERE key = 'dims'").fetchone() is not None
            for item, chunk_rows in prepared:
                self._delete_chunks(c, item.key)
                for ch, ehash in chunk_rows:
                    vec = None
                    if has_vec and self.embedder.enabled:
                        row = c.execute("SELECT vector FROM embed_cache WHERE model = ? AND "
                                        "hash = ?", (model, ehash)).fetchone()
                        vec = row[0] if row else None
                    cur = c.execute(
                        "INSERT INTO chunks(path, line_start, line_end, heading_path, text, "
                        "embed_hash, embedded) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (item.key, ch.line_start, ch.line_end,
                         json.dumps(ch.heading_path, ensure_ascii=False), ch.text, ehash,
                         1 if vec is not None else 0))
                    cid = cur.lastrowid
                    c.execute("INSERT INTO chunks_fts(rowid, title, text) VALUES (?, ?, ?)",
                              (cid, fts_text(_title(item.key, ch.heading_path)),
                               fts_text(ch.text)))
                    if vec is not None:
                        c.execute("INSERT INTO chunks_vec(chunk_id, embedding) VALUES (?, ?)",
                                  (cid, vec))
                        hits += 1
                c.execute("INSERT OR REPLACE INTO files(path, hash, mtime, size, indexed_at) "
                          "VALUES (?, ?, ?, ?, ?)",
                          (item.key, item.sha256, item.mtime, item.size, time.time()))
                c.execute("DELETE FROM skipped WHERE path = ?", (item.key,))  # readable again
                report.files_indexed += 1
                report.chunks_added += len(chunk_rows)
            if hits:
                self.store.bump_vec_gen(c)
        report.cache_hits += hits

    def embed_pending(self, limit: int | None = None, progress: Progress | None = None,
                      report: ReindexReport | None = None) -> int:
        """Give vectors to chunks that have none; returns how many got one.

        Only texts missing from the embedding cache go through the model. Safe to run while
        other threads or processes index: a chunk replaced meanwhile is skipped.
        """
        if not self.embedder.enabled:
            return 0
        c = self.store.conn()
        total = c.execute("SELECT count(*) FROM chunks WHERE embedded = 0").fetchone()[0]
        if limit is not None:
            total = min(total, limit)
        done = 0
        model = self.embedder.model_id
        after = 0  # walk ids upwards so a chunk that keeps failing cannot loop forever
        while done < total and not self._stopping.is_set():
            batch = c.execute(
                "SELECT id, heading_path, text, embed_hash FROM chunks "
                "WHERE embedded = 0 AND id > ? ORDER BY id LIMIT ?",
                (after, min(EMBED_BATCH, total - done))).fetchall()
            if not batch:
                break
            after = batch[-1][0]
            hashes = sorted({r[3] for r in batch})
            cached = dict(c.execute(
                f"SELECT hash, vector FROM embed_cache WHERE model = ? AND hash IN "
                f"({','.join('?' * len(hashes))})", (model, *hashes)).fetchall())
            todo: dict[str, str] = {}
            for _cid, hp, text, ehash in batch:
                if ehash not in cached:
                    todo.setdefault(ehash, embed_text(tuple(json.loads(hp)), text))
            fresh: dict[str, bytes] = {}
            if todo:
                try:
                    vectors = self.embedder.embed(list(todo.values()))
                except EmbeddingError as exc:
                    log.warning("embeddings stopped: %s", exc)
                    if report is not None:
                        report.warnings.append(f"embeddings stopped: {exc}")
                    break
                fresh = {h: np.asarray(v, dtype=np.float32).tobytes()
                         for h, v in zip(todo, vectors, strict=True)}
            dims = len(next(iter(fresh.values() or cached.values()))) // 4
            hits = wrote = 0
            with self.store.write() as w:
                self.store.ensure_vec_table(w, dims)
                w.executemany("INSERT OR IGNORE INTO embed_cache(model, hash, vector) "
                              "VALUES (?, ?, ?)", [(model, h, v) for h, v in fresh.items()])
                ids = [r[0] for r in batch]
                current = {r[0]: r[1] for r in w.execute(
                    f"SELECT id, embed_hash FROM chunks WHERE embedded = 0 AND id IN "
                    f"({','.join('?' * len(ids))})", ids)}
                for cid, _hp, _text, ehash in batch:
                    if current.get(cid) != ehash:
                        continue  # replaced or embedded by someone else meanwhile
                    vec = fresh.get(ehash) or cached.get(ehash)
                    w.execute("INSERT INTO chunks_vec(chunk_id, embedding) VALUES (?, ?)",
                              (cid, vec))
                    w.execute("UPDATE chunks SET embedded = 1 WHERE id = ?", (cid,))
                    hits += ehash in cached
                    wrote += 1
                if wrote:
                    self.store.bump_vec_gen(w)
            if report is not None:
                report.chunks_embedded += len(fresh)
                report.cache_hits += hits
            done += len(batch)
            if progress:
                progress("embed", done, total)
        return done

    # -- search --------------------------------------------------------------------------------

    def _embed_query(self, query: str) -> np.ndarray:
        with self._query_lock:
            hit = self._query_cache.get(query)
        if hit is not None:
            return hit
        embed_query = getattr(self.embedder, "embed_query", None)
        vec = embed_query(query) if embed_query else self.embedder.embed([query])[0]
        with self._query_lock:
            if len(self._query_cache) > 256:
                self._query_cache.clear()
            self._query_cache[query] = vec
        return vec

    def _vector_candidates(self, query: str, k: int) -> tuple[np.ndarray, dict[int, float]]:
        """Query vector and its k nearest chunks: from the in-memory copy once it is loaded,
        until then from vec0 (exact too, slower at scale) while the copy loads behind."""
        qv = self._embed_query(query)
        if self._vectors.loaded:
            return qv, dict(self._vectors.top_k(qv, k))
        self._start_vector_load()
        rows = self.store.conn().execute(
            "SELECT chunk_id, distance FROM chunks_vec WHERE embedding MATCH ? AND k = ?",
            (qv.astype(np.float32).tobytes(), k)).fetchall()
        return qv, {cid: 1.0 - dist for cid, dist in rows}

    def _similarity(self, qv: np.ndarray, ids: list[int]) -> dict[int, float]:
        if not ids:
            return {}
        if self._vectors.loaded:
            return self._vectors.similarity(qv, ids)
        return {cid: float(np.frombuffer(blob, dtype=np.float32) @ qv)
                for cid, blob in self.store.conn().execute(
                    f"SELECT chunk_id, embedding FROM chunks_vec WHERE chunk_id IN "
                    f"({','.join('?' * len(ids))})", ids)}

    def _start_vector_load(self) -> None:
        """Load the in-memory vector copy in a daemon thread (once per index)."""
        with self._loader_lock:
            if self._loader is not None or self._vectors.abort.is_set():
                return
            self._loader = threading.Thread(target=self._load_vectors, daemon=True,
                                             name="memory-vectors")
            self._loader.start()

    def _load_vectors(self) -> None:
        try:
            self._vectors.refresh(self.store.conn(), self.embedder.model_id)
        except Exception as exc:  # a failed load only means searches keep using vec0
            log.debug("vector copy not loaded: %s", exc)

    def search(self, query: str, limit: int = 6, min_score: float | None = None,
               recency_half_life_days: float | None = None,
               exclude: Collection[str] = ()) -> SearchResponse:
        """Hybrid search (see memory/search.py for the scoring).

        `recency_half_life_days` None takes `[memory] recency_half_life_days` from the config,
        so every door's search follows the user's setting without passing it; 0 turns decay
        off for this call. `exclude` names files (workspace-relative keys) never to return,
        e.g. the chat document the question is typed in.
        A damaged index file is moved aside and answered with no results (plus a warning from
        `pop_warnings`); the next `reindex` fills the new one.
        """
        if recency_half_life_days is None:
            recency_half_life_days = self.recency_half_life_days
        try:
            return self._search(query, limit, min_score, recency_half_life_days, set(exclude))
        except DatabaseErrors as exc:
            if not is_corruption(exc):
                raise
            self._recover(exc)
            return SearchResponse(query=query)

    def _keyword_query(self, c: Any, query: str) -> tuple[str | None, dict[str, float], int]:
        """The FTS5 MATCH for the query (its informative words), the IDF of each term they
        hold, and the number of chunks. A temporary FTS5 table on this connection tokenizes
        each word (stemmed, folded), so query and index never disagree about a term."""
        words = fts_words(query)
        total = c.execute("SELECT count(*) FROM chunks").fetchone()[0]
        if not words or not total:
            return None, {}, total
        c.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING fts5(q, "
                  f"tokenize='{TOKENIZER}')")
        c.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_vocab USING "
                  "fts5vocab(temp, query_terms, instance)")
        c.execute("DELETE FROM temp.query_terms")
        c.executemany("INSERT INTO temp.query_terms(rowid, q) VALUES (?, ?)",
                      list(enumerate(words)))
        word_terms: list[list[str]] = [[] for _ in words]
        for term, doc in c.execute("SELECT term, doc FROM temp.query_vocab"):
            word_terms[doc].append(term)
        all_terms = sorted({t for ts in word_terms for t in ts})
        if not all_terms:
            return None, {}, total
        df = dict(c.execute(f"SELECT term, doc FROM chunks_vocab WHERE term IN "
                            f"({','.join('?' * len(all_terms))})", all_terms).fetchall())
        kept = informative(words, word_terms, df, total)
        terms = {t for w, ts in zip(words, word_terms, strict=True) if w in kept for t in ts}
        return fts_match(kept), {t: idf(total, df.get(t, 0)) for t in terms}, total

    def _bm25(self, c: Any, match: str, limit: int) -> dict[int, float]:
        weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
        return dict(c.execute(
            f"SELECT rowid, bm25(chunks_fts, {weights}) AS r FROM chunks_fts "
            "WHERE chunks_fts MATCH ? ORDER BY r LIMIT ?", (match, limit)).fetchall())

    def _template_hashes(self) -> set[str]:
        """sha256 of each file as `init` writes it: such a file is untouched boilerplate."""
        if self._templates is None:
            from localgpt_ls.workspace import initial_texts

            self._templates = {hashlib.sha256(t.encode()).hexdigest() for t in initial_texts()}
        return self._templates

    def _search(self, query: str, limit: int, min_score: float | None,
                recency_half_life_days: float | None, exclude: set[str]) -> SearchResponse:
        response = SearchResponse(query=query)
        if not query.strip() or limit <= 0:
            return response
        c = self.store.conn()
        n_cand = max(limit * 4, 40)
        hybrid = self.embedder.enabled and self.store.has_vectors()
        pending: Future[tuple[np.ndarray, dict[int, float]]] | None = None
        if hybrid:
            if self._vectors.loaded:
                self._vectors.refresh(c, self.embedder.model_id)
            # The query's embedding and vector top-k run beside the FTS query (both release
            # the GIL), so hybrid costs about the slower of the two, not their sum.
            pending = self._pool.submit(self._vector_candidates, query, n_cand)
        match, idfs, total = self._keyword_query(c, query)
        ranks = self._bm25(c, match, KEYWORD_CANDIDATES) if match and idfs else {}
        cosine: dict[int, float] = {}
        if pending is not None:
            try:
                qv, cosine = pending.result()
            except EmbeddingError as exc:
                log.warning("searching by keywords only: %s", exc)
                hybrid = False
            else:
                missing = [cid for cid in ranks if cid not in cosine]
                # keyword hits outside the nearest list still get their true similarity; a
                # nearest chunk outside the keyword list scores below its last entry, so it
                # counts as no keyword match (asking FTS5 for those few rows costs as much as
                # scoring every match: ~150 ms at 8k chunks)
                cosine.update(self._similarity(qv, missing))
        coverage = keyword_coverage(ranks, idfs.values(), total)
        candidates = set(coverage) | set(cosine)
        response.mode = "hybrid" if hybrid else "fts"
        if not candidates:
            return response
        ids = sorted(candidates)
        rows = {r[0]: r for r in c.execute(
            f"SELECT c.id, c.path, c.line_start, c.line_end, c.text, c.embedded, f.hash "
            f"FROM chunks c LEFT JOIN files f ON f.path = c.path WHERE c.id IN "
            f"({','.join('?' * len(ids))})", ids)}
        embedded = {cid for cid, r in rows.items() if r[5]}
        scores = fuse([cid for cid in ids if cid in rows and rows[cid][1] not in exclude],
                      coverage, cosine, embedded, hybrid)
        templates = self._template_hashes()
        scores = apply_factor(scores, {cid for cid in scores if rows[cid][6] in templates},
                              TEMPLATE_FACTOR)
        if recency_half_life_days:
            scores = apply_recency(scores, {cid: rows[cid][1] for cid in scores},
                                   recency_half_life_days)
        lowest = min_score if min_score is not None else floor(hybrid, bool(ranks))
        scores = {cid: sc for cid, sc in scores.items() if sc >= lowest and sc > 0}
        for cid, score in diversify(scores, {cid: rows[cid][1] for cid in scores}, limit,
                                    coverage):
            r = rows[cid]
            response.results.append(SearchHit(r[1], r[2], r[3], r[4], round(score, 4)))
        return response

    def similar_files(self, text: str, limit: int = 10,
                      exclude: str | None = None) -> list[tuple[str, float]]:
        """Notes ranked by meaning of `text` (e.g. the paragraph at the editor's cursor).

        Never waits for a model: returns [] when the embedder is not loaded yet (call `warm()`
        from a background thread once) or nothing is embedded. Scores are the best chunk's
        cosine similarity per file; `exclude` drops one file key (the note being edited).
        """
        if not text.strip() or not self.embedder.enabled or not self.embedder.ready:
            return []
        if not self.store.has_vectors():
            return []
        c = self.store.conn()
        if self._vectors.loaded:
            self._vectors.refresh(c, self.embedder.model_id)
        try:
            _qv, nearest = self._vector_candidates(text, max(limit * 5, 20))
        except EmbeddingError:
            return []
        if not nearest:
            return []
        ids = list(nearest)
        best: dict[str, float] = {}
        for cid, path in c.execute(f"SELECT id, path FROM chunks WHERE id IN "
                                   f"({','.join('?' * len(ids))})", ids):
            if path != exclude:
                best[path] = max(best.get(path, -1.0), nearest[cid])
        return sorted(best.items(), key=lambda kv: -kv[1])[:limit]

    # -- reporting -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        c = self.store.conn()
        files = c.execute("SELECT count(*) FROM files").fetchone()[0]
        total, embedded = c.execute(
            "SELECT count(*), coalesce(sum(embedded), 0) FROM chunks").fetchone()
        return {
            "workspace": str(self.workspace),
            "total_files": files,
            "total_chunks": total,
            "embedded_chunks": embedded,
            "index_size_kb": round(self.store.size_bytes() / 1024, 1),
            "embedding_model": self.embedder.model_id,
        }

    def recent(self, n: int = 10) -> list[dict[str, Any]]:
        """The most recently modified indexed files, newest first."""
        rows = self.store.conn().execute(
            "SELECT path, mtime, size FROM files ORDER BY mtime DESC, path LIMIT ?",
            (max(n, 0),)).fetchall()
        return [{"file": p, "modified": dt.datetime.fromtimestamp(m, dt.UTC).isoformat(
            timespec="seconds"), "size": s} for p, m, s in rows]
