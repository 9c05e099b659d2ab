"""What a note becomes in the index: its chunks, the title FTS indexes beside each chunk's
text, and the text the embedding model sees (whose sha256 keys the embedding cache)."""

from __future__ import annotations

from localgpt_ls.markdown import Chunk, chunk, parse

# Bump when markdown.chunk or what goes into FTS changes (3: CJK characters as tokens): the
# index rebuilds on the next open, embeddings come back from the cache.
CHUNKING_VERSION = "3"


def note_chunks(text: str, chunk_tokens: int, overlap_tokens: int) -> tuple[list[Chunk],
                                                                           str | None]:
    """The note's chunks, and the parser's warning when the note is over its budget (it is
    then chunked by paragraphs: still searchable)."""
    doc = parse(text)
    return chunk(text, doc, chunk_tokens, overlap_tokens), doc.warning


def title(key: str, heading_path: tuple[str, ...]) -> str:
    """What FTS indexes besides the text: the note's name and headings, so names rank first."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".md")
    return " ".join([stem.replace("-", " ").replace("_", " "), *heading_path])


def embed_text(heading_path: tuple[str, ...], text: str) -> str:
    """The text the model sees: a chunk that does not open with its heading gets the path."""
    if heading_path and not text.lstrip().startswith("#"):
        return " > ".join(heading_path) + "\n" + text
    return text
