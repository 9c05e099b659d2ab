"""Memory: the markdown workspace indexed for keyword (FTS5) and meaning (sqlite-vec) search.

Modules: `store` (the SQLite file and its schema), `scan` (which files count, reading them
safely), `embed` (text -> vectors), `search` (scoring and result shapes), `index` (MemoryIndex,
which ties them together).
"""

from localgpt_ls.memory.index import MemoryIndex, ReindexReport
from localgpt_ls.memory.search import SearchHit, SearchResponse

__all__ = ["MemoryIndex", "ReindexReport", "SearchHit", "SearchResponse"]
