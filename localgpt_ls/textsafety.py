"""What text may hold once it is inside: the rules for NUL, lone surrogates and binary files.

Text arrives from JSON (LSP, HTTP, a model's tool call), which can spell a NUL ("\\u0000") or a
lone surrogate ("\\ud800"). Neither belongs in a note: a lone surrogate cannot be encoded as
UTF-8 at all, and a NUL made the indexer take the whole file for binary. Both are replaced by
U+FFFD on the way in, so the rest of the text is kept and stays searchable.
"""

from __future__ import annotations

from typing import Any

from localgpt_ls.llm.types import clean_text

REPLACEMENT = "\ufffd"

# A file is binary when NUL bytes are more than this share of it (UTF-16 text, zeroed blocks,
# archives), or when it holds any NUL and is not UTF-8. One stray NUL in a UTF-8 note is not.
BINARY_NUL_SHARE = 0.10
SNIFF_BYTES = 8192


def clean_input(text: str) -> str:
    """`text` with NUL characters and lone surrogates replaced by U+FFFD."""
    text = clean_text(text)
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text


def clean_value(value: Any) -> Any:
    """`clean_input` applied to every string in a JSON value (keys included)."""
    if isinstance(value, str):
        return clean_input(value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    return value


def looks_binary(data: bytes) -> bool:
    """True for data that is not text: many NUL bytes, or NULs in bytes that are not UTF-8.

    Decides on the whole of `data`; callers that only want a sniff pass a prefix (a cut
    multi-byte character at the end of a prefix is allowed for).
    """
    nul = data.count(b"\x00")
    if not nul:
        return False
    if nul > len(data) * BINARY_NUL_SHARE:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data) - 3  # only a character cut at the end is forgiven
    return False


def decode_text(data: bytes) -> str:
    """Bytes of a text file as str: undecodable bytes and NULs become U+FFFD."""
    text = data.decode("utf-8", errors="replace")
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
