"""Writing the index: which files changed, their chunks and FTS rows, and what is forgotten.

A reindex diffs the scan against the `files` table by mtime and size (then by hash, so a
touched file costs one UPDATE), writes changed files 32 to a transaction (each commit costs ~1 ms:
FTS5 flushes a segment), drops files that went away, and then leaves vectors to the backfill. A
file that cannot be indexed (binary, huge, a symlink loop) is remembered in `skipped` so it is
warned about once, not on every pass. A chunk whose text the embedding cache already holds gets
its vector in the same transaction, so re-chunking costs no model time.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localgpt_ls.memory import sql
from localgpt_ls.memory.backfill import VectorBackfill
from localgpt_ls.memory.chunking import embed_text, note_chunks, title
from localgpt_ls.memory.embed import Embedder
from localgpt_ls.memory.report import Progress, ReindexReport
from localgpt_ls.memory.scan import ScannedFile, file_key, read_note, scan
from localgpt_ls.memory.search import fts_text
from localgpt_ls.memory.store import Store, sha256_text
from localgpt_ls.notefiles import is_note, is_note_name

WRITE_BATCH_FILES = 32  # files per write transaction in a reindex (each commit costs ~1 ms)


@dataclass
class _FileText:
    key: str
    text: str
    sha256: str
    mtime: float
    size: int


@dataclass(frozen=True)
class Chunking:
    """How notes are cut (from `[memory]`): the index rebuilds when this changes."""

    chunk_tokens: int
    overlap_tokens: int


class IndexWriter:
    """Keeps the index's files, chunks and FTS rows in step with the workspace."""

    def __init__(self, store: Store, embedder: Embedder, workspace: Path,
                 extra_paths: list[str], chunking: Chunking, backfill: VectorBackfill,
                 stopping: threading.Event) -> None:
        self.store = store
        self.embedder = embedder
        self.workspace = workspace
        self.extra_paths = extra_paths
        self.chunking = chunking
        self.backfill = backfill
        self._stopping = stopping

    # -- a whole pass ------------------------------------------------------------------------

    def reindex(self, force: bool, progress: Progress | None) -> ReindexReport:
        started = time.perf_counter()
        report = ReindexReport(rebuilt=self.store.rebuilt_reason)
        self.store.rebuilt_reason = None
        report.warnings.extend(self.store.warnings)
        self.store.warnings = []
        if progress:
            progress("scan", 0, 1)
        found = scan(self.workspace, self.extra_paths)
        report.files_seen = len(found)
        known = {row[0]: (row[1], row[2], row[3])
                 for row in self.store.conn().execute(sql.KNOWN_FILES)}
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
            if not force and _still_skipped(f, skipped.get(f.key)):
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
            if len(pending) >= WRITE_BATCH_FILES or sum(len(p.text) for p in pending) > 1 << 20:
                self._write_files(pending, report)
                pending = []
        self._write_files(pending, report)
        if progress:
            progress("index", len(found), len(found))
        found_keys = {f.key for f in found}
        for key in sorted(set(known) - found_keys):
            self.remove_key(key)
            report.files_removed += 1
        gone = [(key,) for key in set(skipped) - found_keys]
        if gone:
            with self.store.write() as c:
                c.executemany(sql.FORGET_SKIP, gone)
        self.backfill.embed_pending(progress=progress, report=report)
        self.backfill.prune_cache()
        self.store.unfilled = False
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    # -- one file ----------------------------------------------------------------------------

    def index_file(self, path: Path | str, embed: bool) -> ReindexReport:
        report = ReindexReport()
        started = time.perf_counter()
        p = self._absolute(path)
        key = file_key(self.workspace, p)
        if not self._is_memory_file(p):
            return report
        if not p.is_file():
            if self.remove_key(key):
                report.files_removed = 1
            return report
        st = p.stat()
        c = self.store.conn()
        row = c.execute(sql.FILE_HASH, (key,)).fetchone()
        was = c.execute(sql.SKIPPED_FILE, (key,)).fetchone()
        report.files_seen = 1
        scanned = ScannedFile(key, p, st.st_mtime, st.st_size)
        if _still_skipped(scanned, tuple(was) if was else None):
            report.files_skipped = 1
            return report
        item = self._read_scanned(scanned, row[0] if row else None, report)
        if item is not None:
            self._write_files([item], report)
        if embed:
            self.backfill.embed_pending(report=report)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def remove_file(self, path: Path | str) -> bool:
        return self.remove_key(file_key(self.workspace, self._absolute(path)))

    def remove_key(self, key: str) -> bool:
        with self.store.write() as c:
            self._delete_chunks(c, key)
            c.execute(sql.FORGET_SKIP, (key,))
            return c.execute(sql.DELETE_FILE, (key,)).rowcount > 0

    def _absolute(self, path: Path | str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.workspace / p

    def _is_memory_file(self, p: Path) -> bool:
        """A note of the workspace or of a configured path (the rule is notefiles.is_note)."""
        if is_note(self.workspace, p):
            return True
        roots = [Path(os.path.expandvars(x)).expanduser() for x in self.extra_paths]
        roots = [r if r.is_absolute() else self.workspace / r for r in roots]
        return any((p == r and is_note_name(r.name)) or is_note(r, p) for r in roots)

    # -- files that cannot be indexed -------------------------------------------------------

    def _skipped(self) -> dict[str, tuple[float, int, str]]:
        return {row[0]: (row[1], row[2], row[3])
                for row in self.store.conn().execute(sql.SKIPPED_FILES)}

    def _skip(self, f: ScannedFile, why: str, report: ReindexReport,
              kind: str | None) -> None:
        """A file that cannot be indexed: say why, and drop what the index held of it (a note
        that became binary, huge or a symlink loop leaves the index). With a `kind` the skip
        is remembered by (mtime, size), so it is warned about once, not on every search."""
        report.warn(why)
        report.files_skipped += 1
        with self.store.write() as c:
            self._delete_chunks(c, f.key)
            c.execute(sql.DELETE_FILE, (f.key,))
            if kind is not None:
                c.execute(sql.REMEMBER_SKIP, (f.key, f.mtime, f.size, kind))
            else:  # a failed read is tried again next time, and warned about again
                c.execute(sql.FORGET_SKIP, (f.key,))

    def _read_scanned(self, f: ScannedFile, old_hash: str | None,
                      report: ReindexReport) -> _FileText | None:
        """Read a changed file; None when there is nothing to write (skipped, or same hash)."""
        read = read_note(f.path, f.key)
        if read.text is None:
            self._skip(f, read.warning or f"{f.key}: skipped", report,
                       "content" if read.lasting else None)
            return None
        if read.warning:
            report.warn(read.warning)
        if old_hash == read.sha256:
            # touched, not changed: remember the new mtime so the next scan skips it cheaply
            with self.store.write() as c:
                c.execute(sql.TOUCH_FILE, (f.mtime, f.size, f.key))
            report.files_unchanged += 1
            return None
        return _FileText(f.key, read.text, read.sha256, f.mtime, f.size)

    # -- writing chunks ----------------------------------------------------------------------

    def _delete_chunks(self, c: Any, key: str) -> None:
        ids = [(r[0],) for r in c.execute(sql.CHUNK_IDS_OF_FILE, (key,))]
        if not ids:
            return
        c.executemany(sql.DELETE_FTS_ROW, ids)
        if c.execute(sql.HAS_VECTOR_TABLE).fetchone():
            c.executemany(sql.DELETE_VECTOR, ids)
            self.store.bump_vec_gen(c)
        c.execute(sql.DELETE_CHUNKS_OF_FILE, (key,))

    def _write_files(self, items: list[_FileText], report: ReindexReport) -> None:
        """Replace these files' chunks in one transaction (chunking happens before it)."""
        if not items:
            return
        prepared = []
        for item in items:
            chunks, warning = note_chunks(item.key, item.text, self.chunking.chunk_tokens,
                                          self.chunking.overlap_tokens)
            if warning:  # over the parsing budget: still searchable, by paragraphs
                report.warn(f"{item.key}: {warning}")
            prepared.append((item, [(ch, sha256_text(embed_text(ch.heading_path, ch.text)))
                                    for ch in chunks]))
        model = self.embedder.model_id
        hits = 0
        with self.store.write() as c:
            has_vec = c.execute(sql.HAS_VECTOR_TABLE).fetchone() is not None
            for item, chunk_rows in prepared:
                self._delete_chunks(c, item.key)
                for ch, ehash in chunk_rows:
                    vec = None
                    if has_vec and self.embedder.enabled:
                        row = c.execute(sql.CACHED_VECTOR, (model, ehash)).fetchone()
                        vec = row[0] if row else None
                    cur = c.execute(sql.INSERT_CHUNK, (
                        item.key, ch.line_start, ch.line_end,
                        json.dumps(ch.heading_path, ensure_ascii=False), ch.text, ehash,
                        1 if vec is not None else 0))
                    cid = cur.lastrowid
                    c.execute(sql.INSERT_FTS_ROW, (cid, fts_text(title(item.key, ch.heading_path)),
                                                   fts_text(ch.text)))
                    if vec is not None:
                        c.execute(sql.INSERT_VECTOR, (cid, vec))
                        hits += 1
                c.execute(sql.UPSERT_FILE,
                          (item.key, item.sha256, item.mtime, item.size, time.time()))
                c.execute(sql.FORGET_SKIP, (item.key,))  # readable again
                report.files_indexed += 1
                report.chunks_added += len(chunk_rows)
            if hits:
                self.store.bump_vec_gen(c)
        report.cache_hits += hits


def _still_skipped(f: ScannedFile, was: tuple[float, int, str] | None) -> bool:
    """True when `f` was skipped before and has not changed since, so it is neither read nor
    warned about again. A binary or huge note is re-read once its mtime or size changes; a
    symlink loop is found by every scan, so only a loop that is still one (same link) counts."""
    if was is None or (was[0], was[1]) != (f.mtime, f.size):
        return False
    return (was[2] == "loop") == (f.skip is not None)
