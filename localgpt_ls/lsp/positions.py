"""Position arithmetic between Python `str` offsets and LSP client units.

LSP counts characters in UTF-16 code units unless the client negotiated another encoding
(Neovim prefers UTF-8). The markdown model works in Python `str` offsets (code points), so every
position crossing the wire goes through these helpers. Out-of-range input is clamped, never an
exception: a stale or malicious position must not take a request down.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines as LSP counts them (`\\n`, `\\r\\n`, `\\r`); same rule as `markdown.split_lines`."""
    return _LINE_BREAK.split(text)


def _unit_len(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == "utf-8":
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    if encoding == "utf-32":
        return 1
    return 2 if code > 0xFFFF else 1


def units(text: str, encoding: str) -> int:
    """Length of `text` in client units."""
    if text.isascii() or encoding == "utf-32":
        return len(text)
    return sum(_unit_len(c, encoding) for c in text)


def to_index(line: str, character: int, encoding: str) -> int:
    """Client units within `line` -> `str` index (clamped to the line; a position inside a
    surrogate pair or a multi-byte sequence rounds down to the start of that character)."""
    if character <= 0:
        return 0
    if line.isascii() or encoding == "utf-32":
        return min(character, len(line))
    count = 0
    for index, char in enumerate(line):
        width = _unit_len(char, encoding)
        if count + width > character:
            return index
        count += width
    return len(line)


def to_units(line: str, index: int, encoding: str) -> int:
    """`str` index within `line` -> client units."""
    index = max(0, min(index, len(line)))
    return units(line[:index], encoding)


def line_at(lines: list[str], line: int) -> str | None:
    """The line at 0-based `line`, or None when out of range."""
    if 0 <= line < len(lines):
        return lines[line]
    return None


def make_range(lines: list[str], line: int, start: int, end: int, encoding: str,
               end_line: int | None = None) -> types.Range:
    """A Range from 0-based line and `str` offsets (end on `end_line` when given)."""
    last = line if end_line is None else end_line
    first_text = line_at(lines, line) or ""
    last_text = line_at(lines, last) or ""
    return types.Range(
        start=types.Position(line=line, character=to_units(first_text, start, encoding)),
        end=types.Position(line=last, character=to_units(last_text, end, encoding)),
    )


def line_starts(text: str) -> list[int]:
    """`str` offset where each LSP line of `text` starts."""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


def offset_of(text: str, position: types.Position, encoding: str,
              starts: list[int] | None = None) -> int:
    """An LSP position -> `str` offset into `text` (clamped to the text)."""
    starts = starts if starts is not None else line_starts(text)
    if position.line >= len(starts):
        return len(text)
    begin = starts[position.line]
    end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
    line = _LINE_BREAK.sub("", text[begin:end])
    return begin + to_index(line, position.character, encoding)


def position_of(text: str, offset: int, encoding: str,
                starts: list[int] | None = None) -> types.Position:
    """A `str` offset into `text` -> LSP position (an offset inside a CRLF counts as its line
    end)."""
    starts = starts if starts is not None else line_starts(text)
    offset = max(0, min(offset, len(text)))
    line = max(0, bisect.bisect_right(starts, offset) - 1)
    return types.Position(line=line, character=units(text[starts[line]:offset].rstrip("\r\n"),
                                                     encoding))

