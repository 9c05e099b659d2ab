"""Memory: the markdown workspace indexed for keyword (FTS5) and meaning (sqlite-vec) search.

Modules: `index` (MemoryIndex, the one object doors hold; it owns the shared parts and hands
the work on), `writer` (files, chunks and FTS rows in step with the workspace), `backfill`
(vectors filled in behind, the embedding cache kept in bounds), `reader` (search candidates,
similar notes, counts), `search` (how candidates are scored; result shapes), `sql` (every
statement writer, backfill and reader run), `store` (the SQLite file, its schema, recovery),
`chunking` (what a note becomes: chunks, FTS title, embedded text), `report` (ReindexReport),
`scan` (which files count, reading them safely), `embed` (text -> vectors), `vectors` (the
in-memory vector copy).
"""

from localgpt_ls.memory.index import MemoryIndex, ReindexReport
from localgpt_ls.memory.search import SearchHit, SearchResponse

__all__ = ["MemoryIndex", "ReindexReport", "SearchHit", "SearchResponse"]
