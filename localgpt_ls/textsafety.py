"""What text may hold once it is inside: the rules for NUL and lone surrogates.

Text arrives from JSON (LSP, HTTP, a model's tool call), which can spell a NUL ("\\u0000") or a
lone surrogate ("\\ud800"). Neither belongs in a note: a lone surrogate cannot be encoded as
UTF-8 at all, and a NUL made the indexer take the whole file for binary. Both are replaced by
U+FFFD on the way in, so the rest of the text is kept and stays searchable. (Which files are
binary is notefiles.looks_binary.)
"""

from __future__ import annotations

from typing import Any

from localgpt_ls.llm.types import clean_text

REPLACEMENT = "\ufffd"


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


def decode_text(data: bytes) -> str:
    """Bytes of a text file as str: undecodable bytes and NULs become U+FFFD."""
    text = data.decode("utf-8", errors="replace")
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
