"""The statements the index's writer, vector backfill and reader run: built here, executed
there (store.py holds the schema they run against).

Kept apart so that what the index asks of SQLite can be read in one place, and so that a change
to a table's columns touches one module. Statements over a list of ids or hashes are functions
of the list's length; every value still goes in as a parameter, never into the text.
"""

from __future__ import annotations

from localgpt_ls.memory.search import COLUMN_WEIGHTS
from localgpt_ls.memory.store import TOKENIZER


def _marks(n: int) -> str:
    return ",".join("?" * n)


# -- files and skipped files ----------------------------------------------------------------

KNOWN_FILES = "SELECT path, hash, mtime, size FROM files"
FILE_HASH = "SELECT hash FROM files WHERE path = ?"
UPSERT_FILE = ("INSERT OR REPLACE INTO files(path, hash, mtime, size, indexed_at) "
               "VALUES (?, ?, ?, ?, ?)")
TOUCH_FILE = "UPDATE files SET mtime = ?, size = ? WHERE path = ?"
DELETE_FILE = "DELETE FROM files WHERE path = ?"
RECENT_FILES = "SELECT path, mtime, size FROM files ORDER BY mtime DESC, path LIMIT ?"
COUNT_FILES = "SELECT count(*) FROM files"

SKIPPED_FILES = "SELECT path, mtime, size, kind FROM skipped"
SKIPPED_FILE = "SELECT mtime, size, kind FROM skipped WHERE path = ?"
REMEMBER_SKIP = ("INSERT OR REPLACE INTO skipped(path, mtime, size, kind) "
                 "VALUES (?, ?, ?, ?)")
FORGET_SKIP = "DELETE FROM skipped WHERE path = ?"

# -- chunks, their FTS rows and vectors ------------------------------------------------------

HAS_VECTOR_TABLE = "SELECT 1 FROM meta WHERE key = 'dims'"
CHUNK_IDS_OF_FILE = "SELECT id FROM chunks WHERE path = ?"
DELETE_CHUNKS_OF_FILE = "DELETE FROM chunks WHERE path = ?"
DELETE_FTS_ROW = "DELETE FROM chunks_fts WHERE rowid = ?"
DELETE_VECTOR = "DELETE FROM chunks_vec WHERE chunk_id = ?"
INSERT_CHUNK = ("INSERT INTO chunks(path, line_start, line_end, heading_path, text, "
                "embed_hash, embedded) VALUES (?, ?, ?, ?, ?, ?, ?)")
INSERT_FTS_ROW = "INSERT INTO chunks_fts(rowid, title, text) VALUES (?, ?, ?)"
INSERT_VECTOR = "INSERT INTO chunks_vec(chunk_id, embedding) VALUES (?, ?)"
MARK_EMBEDDED = "UPDATE chunks SET embedded = 1 WHERE id = ?"
COUNT_CHUNKS = "SELECT count(*) FROM chunks"
COUNT_CHUNKS_EMBEDDED = "SELECT count(*), coalesce(sum(embedded), 0) FROM chunks"
COUNT_PENDING = "SELECT count(*) FROM chunks WHERE embedded = 0"
# ids upwards from a bound, so a chunk that keeps failing cannot be picked up for ever
PENDING_AFTER = ("SELECT id, heading_path, text, embed_hash FROM chunks "
                 "WHERE embedded = 0 AND id > ? ORDER BY id LIMIT ?")


def pending_hashes(n: int) -> str:
    """Which of n chunk ids still wait for a vector, with the text hash each waits for."""
    return (f"SELECT id, embed_hash FROM chunks WHERE embedded = 0 AND id IN "
            f"({_marks(n)})")


def chunk_rows(n: int) -> str:
    """What a search result needs of n chunks, with their file's hash (templates)."""
    return (f"SELECT c.id, c.path, c.line_start, c.line_end, c.text, c.embedded, f.hash "
            f"FROM chunks c LEFT JOIN files f ON f.path = c.path WHERE c.id IN "
            f"({_marks(n)})")


def chunk_paths(n: int) -> str:
    return f"SELECT id, path FROM chunks WHERE id IN ({_marks(n)})"


# -- the embedding cache ----------------------------------------------------------------------

CACHED_VECTOR = "SELECT vector FROM embed_cache WHERE model = ? AND hash = ?"
CACHE_VECTOR = "INSERT OR IGNORE INTO embed_cache(model, hash, vector) VALUES (?, ?, ?)"
COUNT_CACHE = "SELECT count(*) FROM embed_cache"
PRUNE_CACHE = "DELETE FROM embed_cache WHERE hash NOT IN (SELECT embed_hash FROM chunks)"


def cached_vectors(n: int) -> str:
    """The cached vectors of one model for n text hashes (the model is the first parameter)."""
    return (f"SELECT hash, vector FROM embed_cache WHERE model = ? AND hash IN "
            f"({_marks(n)})")


# -- nearest vectors ---------------------------------------------------------------------------

NEAREST_VECTORS = "SELECT chunk_id, distance FROM chunks_vec WHERE embedding MATCH ? AND k = ?"


def vectors_of(n: int) -> str:
    return f"SELECT chunk_id, embedding FROM chunks_vec WHERE chunk_id IN ({_marks(n)})"


# -- keyword search -----------------------------------------------------------------------------
# A temporary FTS5 table on the searching connection tokenizes the query's words exactly as the
# index tokenized the notes (same tokenizer), and its vocabulary says which terms each word gave.

QUERY_TERMS_TABLE = (f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING fts5(q, "
                     f"tokenize='{TOKENIZER}')")
QUERY_VOCAB_TABLE = ("CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_vocab USING "
                     "fts5vocab(temp, query_terms, instance)")
CLEAR_QUERY_TERMS = "DELETE FROM temp.query_terms"
INSERT_QUERY_WORD = "INSERT INTO temp.query_terms(rowid, q) VALUES (?, ?)"
QUERY_WORD_TERMS = "SELECT term, doc FROM temp.query_vocab"


def doc_freqs(n: int) -> str:
    """How many chunks hold each of n terms."""
    return f"SELECT term, doc FROM chunks_vocab WHERE term IN ({_marks(n)})"


def titles_of(n: int) -> str:
    """The FTS title (note name and headings) of n chunks."""
    return f"SELECT rowid, title FROM chunks_fts WHERE rowid IN ({_marks(n)})"


def bm25_ranks() -> str:
    """Chunks matching an FTS5 query, best bm25 first (parameters: match, limit)."""
    weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
    return (f"SELECT rowid, bm25(chunks_fts, {weights}) AS r FROM chunks_fts "
            "WHERE chunks_fts MATCH ? ORDER BY r LIMIT ?")
