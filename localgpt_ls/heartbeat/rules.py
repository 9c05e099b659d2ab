"""The two OpenClaw rules that keep the heartbeat quiet and cheap.

1. The empty-file rule: a HEARTBEAT.md with nothing but structure (blank lines, headings, HTML
   comments, code fence markers, thematic breaks, empty list items) has no task in it, so the
   model is not called at all. A missing file does not skip: the prompt says "if it exists".
2. The token rule: a reply of HEARTBEAT_OK means "nothing needs attention". The token is
   stripped at the start or the end of the reply (also when wrapped in markdown or HTML, and
   with up to 4 trailing non-word characters); when it was there, a short remainder (<= 300
   chars, a polite "all good") is dropped silently. Anything else is a real result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localgpt_ls.markdown import is_empty_item

TOKEN = "HEARTBEAT_OK"
MAX_ACK_CHARS = 300

_HEADING = re.compile(r"^#{1,6}(\s|$)")
_FENCE = re.compile(r"^(```|~~~)")
_THEMATIC = re.compile(r"^(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|=+)$")


def _strip_comments(text: str) -> str:
    """Remove HTML comments, multi-line ones included; an unclosed one runs to the end."""
    out = []
    pos = 0
    while True:
        start = text.find("<!--", pos)
        if start < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:start])
        end = text.find("-->", start + 4)
        if end < 0:
            break
        # Keep line breaks so "text<!-- -->more" on one line stays one line of content.
        out.append("\n" * text.count("\n", start, end))
        pos = end + 3
    return "".join(out)


def is_effectively_empty(text: str) -> bool:
    """True when HEARTBEAT.md holds no task a model could act on.

    Fence marker lines are structure; text between fences still counts as content, because a
    user may keep a task (or a checklist) in a code block and it must not be silently ignored.
    """
    for raw in _strip_comments(text).splitlines():
        line = raw.strip()
        if not line or line == ">":
            continue
        if _HEADING.match(line) or _FENCE.match(line) or _THEMATIC.match(line):
            continue
        if is_empty_item(line):  # "-", "1.", "- [ ]": a task without text
            continue
        return False
    return True


@dataclass(frozen=True)
class Verdict:
    """What a heartbeat reply means.

    had_token: HEARTBEAT_OK was found at the start or end and stripped.
    text: the reply without the token (the whole reply when there was none).
    deliver: True when `text` is a real result the user must see.
    """

    had_token: bool
    text: str
    deliver: bool


# Markdown emphasis/code marks or HTML tags that may wrap the token.
# One character or one tag per repetition, so a long run of "*" cannot backtrack exponentially.
_OPEN = r"(?:[*_`~\s]|<[A-Za-z][^<>]{0,80}>)*"
_CLOSE = r"(?:[*_`~\s]|</?[A-Za-z][^<>]{0,80}>)*"
_AT_START = re.compile(rf"^{_OPEN}{TOKEN}(?![A-Za-z0-9]){_CLOSE}[^\w\s]{{0,4}}")
_AT_END = re.compile(rf"(?<![A-Za-z0-9]){_OPEN}{TOKEN}{_CLOSE}[^\w]{{0,4}}$")


def strip_token(reply: str) -> Verdict:
    """Apply the token rule to a model reply (see the module docstring)."""
    text = reply.strip()
    had_token = False
    while True:
        m = _AT_START.match(text)
        if m:
            text = text[m.end():].strip()
            had_token = True
            continue
        # Wrappers are short: search only near the last token, which keeps long replies linear.
        m = _AT_END.search(text, max(0, text.rfind(TOKEN) - 200)) if TOKEN in text else None
        if m:
            text = text[:m.start()].rstrip()
            had_token = True
            continue
        break
    if had_token:
        return Verdict(had_token=True, text=text, deliver=len(text) > MAX_ACK_CHARS)
    return Verdict(had_token=False, text=text, deliver=bool(text))
