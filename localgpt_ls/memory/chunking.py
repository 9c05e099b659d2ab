"""What a note becomes in the index: its chunks, the title FTS indexes beside each chunk's
text, and the text the embedding model sees (whose sha256 keys the embedding cache)."""

from __future__ import annotations

import functools

from localgpt_ls.daily_log import is_memory_log
from localgpt_ls.markdown import Chunk, chunk, entry_chunks, parse

# Bump when markdown.chunk or what goes into FTS changes (3: CJK characters as tokens; 4: memory
# logs by entry): the index rebuilds on the next open, embeddings come back from the cache.
CHUNKING_VERSION = "4"


def note_chunks(key: str, text: str, chunk_tokens: int, overlap_tokens: int
                ) -> tuple[list[Chunk], str | None]:
    """The note's chunks (a memory log's by entry), and the parser's warning when the note is
    over its budget (it is then chunked by paragraphs: still searchable)."""
    doc = parse(text)
    cut = entry_chunks if is_memory_log(key) else chunk
    return cut(text, doc, chunk_tokens, overlap_tokens), doc.warning


@functools.cache
def template_chunk_texts() -> frozenset[str]:
    """Every chunk text the files `init` writes can give, cut either way: a chunk equal to one
    of them is boilerplate the user never touched (the example line under MEMORY.md's
    heading stays one after facts are appended below it)."""
    from localgpt_ls.workspace import initial_texts

    out: set[str] = set()
    for text in initial_texts():
        doc = parse(text)
        out.update(c.text.strip() for c in chunk(text, doc))
        out.update(c.text.strip() for c in entry_chunks(text, doc))
    return frozenset(out)


def title(key: str, heading_path: tuple[str, ...]) -> str:
    """What FTS indexes besides the text: the note's name and headings, so names rank first."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".md")
    return " ".join([stem.replace("-", " ").replace("_", " "), *heading_path])


def embed_text(heading_path: tuple[str, ...], text: str) -> str:
    """The text the model sees: a chunk that does not open with its heading gets the path."""
    if heading_path and not text.lstrip().startswith("#"):
        return " > ".join(heading_path) + "\n" + text
    return text
