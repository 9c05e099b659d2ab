"""The index file: one SQLite database (via sqlean, so sqlite-vec can load) and its schema.

Tables
- meta(key, value): schema version, embedding model id, chunking parameters, vector dims,
  vec_gen (bumped whenever vectors are added or removed, so in-memory copies know to refresh),
  epoch (new on every rebuild: chunk ids start again, in-memory copies reload from scratch).
- files(path, hash, mtime, size, indexed_at): what was indexed, to diff against the disk.
- skipped(path, mtime, size, kind): files found but not indexed, kind 'content' (binary, too
  big: re-read only once mtime or size change) or 'loop' (a symlink loop the scan finds again
  each time; remembered so it is warned about once).
- chunks(id, path, line_start, line_end, heading_path, text, embed_hash, embedded); ids are
  never reused (AUTOINCREMENT), so an id names one chunk text for ever (vectors.py relies on it).
- chunks_fts: FTS5 (porter stemming over unicode61, diacritics removed), rowid = chunk id. It
  keeps its own copy of the text: a contentless table (`contentless_delete=1`) never lowers
  the row count bm25 uses on delete (6,966 rows counted for 3,483 live after one forced
  reindex), so term statistics drifted with every edit; this one counts exactly.
- chunks_vocab: fts5vocab over chunks_fts, the document frequency of each term (for IDFs).
- chunks_vec: vec0 float[dims] cosine, chunk_id = chunk id; created at the first embedding,
  because the dims depend on the embedder.
- embed_cache(model, hash, vector): vectors by (model id, sha256 of the embedded text); it
  survives rebuilds, so re-chunking or switching back to a model costs nothing for known text.

Concurrency: WAL, a busy timeout, short write transactions (`BEGIN IMMEDIATE`), one connection
per thread. Two processes may index the same workspace; each file is replaced in one transaction,
so the last writer wins and nothing is half-written. Opening (schema, rebuild, corrupt recovery)
happens under a file lock so two processes never both move the file aside.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import sqlite3 as std_sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlean as sqlite3
import sqlite_vec
from filelock import FileLock

from localgpt_ls.errors import LocalGPTError

log = logging.getLogger("localgpt.memory")

SCHEMA_VERSION = "2"  # 2: stemmed FTS that stores its text, and its vocabulary
TOKENIZER = "porter unicode61 remove_diacritics 2"  # chunks_fts and query terms alike
BUSY_TIMEOUT_MS = 15_000

# Both sqlite3 flavours raise their own DatabaseError class.
DatabaseErrors: tuple[type[Exception], ...] = (sqlite3.DatabaseError, std_sqlite3.DatabaseError)



def is_corruption(exc: BaseException) -> bool:
    """True for "this file is damaged", never for "busy" or a constraint: only a damaged file
    may be moved aside."""
    if not isinstance(exc, DatabaseErrors):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


class IndexUnavailableError(LocalGPTError):
    """The index file cannot be opened or used for a reason other than damage (it is a
    folder, unreadable, locked, the disk is full): moving it aside would not help, so the user
    is told what is wrong with which path and what to do."""


def explain_database_error(path: Path, exc: BaseException) -> str:
    """One line for an index error that is not damage: what is wrong with `path`, and what to
    do. The index holds only what the workspace can rebuild, so deleting it is always safe."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return (f"the memory index cannot be used right now ({exc}): another program holds "
                f"{path} (another localgpt, an editor's language server); try again in a "
                "moment")
    if path.is_dir():
        return (f"the memory index {path} is a folder, not a file; move or delete that folder "
                "and run the command again (the index is rebuilt from the workspace)")
    if name.startswith("SQLITE_CANTOPEN"):
        return (f"cannot open the memory index {path} ({exc}); check that the file and its "
                "folder are readable and writable, or delete the file (the index is rebuilt "
                "from the workspace)")
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return (f"the memory index {path} is read-only ({exc}); make it and its folder "
                "writable, or delete it (the index is rebuilt from the workspace)")
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return f"the disk holding the memory index {path} is full; free some space and retry"
    return (f"the memory index {path} cannot be used ({exc}); if this persists, delete it "
            "(the index is rebuilt from the workspace)")


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY, hash TEXT NOT NULL, mtime REAL NOT NULL, size INTEGER NOT NULL,
  indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, line_start INTEGER NOT NULL,
  line_end INTEGER NOT NULL, heading_path TEXT NOT NULL, text TEXT NOT NULL,
  embed_hash TEXT NOT NULL, embedded INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS skipped (
  path TEXT PRIMARY KEY, mtime REAL NOT NULL, size INTEGER NOT NULL, kind TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(embedded) WHERE embedded = 0;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
  title, text, tokenize='{TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, row);
CREATE TABLE IF NOT EXISTS embed_cache (
  model TEXT NOT NULL, hash TEXT NOT NULL, vector BLOB NOT NULL,
  PRIMARY KEY (model, hash)) WITHOUT ROWID;
"""

# Tables that hold derived data: dropped on a rebuild (the embedding cache is kept).
_DERIVED = ("files", "skipped", "chunks", "chunks_vocab", "chunks_fts", "chunks_vec")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def connect(path: Path) -> Any:
    """A connection with sqlite-vec loaded, WAL and a busy timeout."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Store:
    """Owns the index file: opening, schema, meta, recovery, and per-thread connections."""

    def __init__(self, path: Path, wanted_meta: dict[str, str]) -> None:
        self.path = path
        self.wanted_meta = wanted_meta
        self.warnings: list[str] = []  # said once to whoever asks next (CLI, LSP, reindex report)
        self.rebuilt_reason: str | None = None
        self._local = threading.local()
        self._conns: list[Any] = []
        self._conns_lock = threading.Lock()
        # The index holds nothing from the workspace yet (created, rebuilt or recovered by this
        # open): doors that show counts reindex first (MemoryIndex.needs_reindex).
        self.unfilled = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexUnavailableError(
                f"cannot create the folder for the memory index {path.parent}: {exc.strerror}; "
                "check that LOCALGPT_HOME is a writable folder") from None
        try:
            with FileLock(str(path) + ".lock", timeout=60):
                self._open_checked()
        except DatabaseErrors as exc:  # damage was handled inside; this is something else
            self.close()
            raise IndexUnavailableError(explain_database_error(path, exc)) from None

    # -- connections -------------------------------------------------------------------------

    def conn(self) -> Any:
        """This thread's connection (SQLite connections must not be shared across threads)."""
        c = getattr(self._local, "conn", None)
        if c is None:
            c = connect(self.path)
            self._local.conn = c
            with self._conns_lock:
                self._conns.append(c)
        return c

    def close(self) -> None:
        with self._conns_lock:
            for c in self._conns:
                with contextlib.suppress(Exception):
                    c.close()
            self._conns.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[Any]:
        """A short write transaction; taken at once (IMMEDIATE) so two writers queue, not fail."""
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        else:
            c.execute("COMMIT")

    # -- opening, rebuild, recovery ----------------------------------------------------------

    def _open_checked(self) -> None:
        try:
            self._init_schema()
        except DatabaseErrors as exc:
            if not is_corruption(exc):
                raise
            self.close()
            self._move_aside(str(exc))
            self._init_schema()

    def recover(self, exc: BaseException) -> None:
        """Move a damaged index aside and start an empty one (the caller re-indexes)."""
        with FileLock(str(self.path) + ".lock", timeout=60):
            self.close()
            self._move_aside(str(exc))
            self._init_schema()

    def _backup_name(self) -> Path:
        """A name no backup has yet: `<index>.corrupt-<date>-<time>[-N]`. Two recoveries in one
        second (a file that keeps going bad, two quick commands) each keep their own copy."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        aside, n = base, 1
        while any(Path(str(aside) + suffix).exists() for suffix in ("", "-wal", "-shm")):
            n += 1
            aside = base.with_name(f"{base.name}-{n}")
        return aside

    def _move_aside(self, why: str) -> None:
        # Callers hold the index's file lock, so no other process picks the same name meanwhile.
        aside = self._backup_name()
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                shutil.move(str(src), str(aside) + suffix)
        msg = (f"the memory index {self.path} could not be read ({why}); it was moved to "
               f"{aside.name} and is being rebuilt from the workspace")
        log.warning(msg)
        self.warnings.append(msg)
        self.rebuilt_reason = "corrupt index"

    def _init_schema(self) -> None:
        c = self.conn()
        # Reading the header first turns "file is not a database" into an exception here.
        c.execute("PRAGMA schema_version").fetchone()
        c.executescript(_SCHEMA)
        meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        if not meta.get("schema"):
            self._set_meta({"schema": SCHEMA_VERSION, "epoch": uuid.uuid4().hex,
                            **self.wanted_meta})
            self.unfilled = True
            return
        changed = [k for k, v in {"schema": SCHEMA_VERSION, **self.wanted_meta}.items()
                   if meta.get(k) != v]
        if changed:
            reason = ", ".join(f"{k}: {meta.get(k)} -> "
                               f"{ {'schema': SCHEMA_VERSION, **self.wanted_meta}[k]}"
                               for k in changed)
            self.rebuild(f"settings changed ({reason})")

    def rebuild(self, reason: str) -> None:
        """Drop everything derived from the workspace (the next reindex fills it again)."""
        log.info("rebuilding the memory index: %s", reason)
        c = self.conn()
        with self.write():
            for table in _DERIVED:
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute("DELETE FROM meta WHERE key = 'dims'")
            self.bump_vec_gen(c)
        c.executescript(_SCHEMA)
        # A new epoch: chunk ids restart, so in-memory vector copies must reload from scratch.
        self._set_meta({"schema": SCHEMA_VERSION, "epoch": uuid.uuid4().hex, **self.wanted_meta})
        self.rebuilt_reason = reason
        self.unfilled = True

    def _set_meta(self, values: dict[str, str]) -> None:
        with self.write() as c:
            c.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                          list(values.items()))

    def meta(self, key: str) -> str | None:
        row = self.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def ensure_vec_table(self, c: Any, dims: int) -> None:
        """Create the vec0 table at the first embedding (inside the caller's transaction)."""
        row = c.execute("SELECT value FROM meta WHERE key = 'dims'").fetchone()
        if row is not None:
            if int(row[0]) != dims:
                raise ValueError(f"embedder returned {dims} dims, index holds {row[0]}")
            return
        c.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vec USING vec0("
                  f"chunk_id INTEGER PRIMARY KEY, embedding float[{dims}] distance_metric=cosine)")
        c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('dims', ?)", (str(dims),))

    @staticmethod
    def bump_vec_gen(c: Any) -> None:
        """Say "vectors changed" (inside the caller's write transaction)."""
        c.execute("INSERT INTO meta(key, value) VALUES ('vec_gen', '1') ON CONFLICT(key) "
                  "DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    def vec_gen(self) -> str:
        return self.meta("vec_gen") or "0"

    def has_vectors(self) -> bool:
        return self.meta("dims") is not None

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total
