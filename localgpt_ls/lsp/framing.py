"""Reading LSP frames (`Content-Length: N` headers, a blank line, N bytes of JSON) from a byte
stream that may be lying, and finding the next good frame after a bad one.

pygls's reader waited for an exact `Content-Length: N\\r\\n`, so one bad frame (a wrong or
non-numeric length, a lowercase header name, LF-only lines) left it deaf until a lone CRLF
arrived; a declared length of 10^12 left it deaf for good, and a 70 MB header line without a
newline ended the process. Here:

- header names are case-insensitive and lines may end in LF alone; other headers are ignored;
- a length that is not a number, or above MAX_CONTENT_LENGTH, makes the frame bad at once;
- a header block longer than MAX_HEADER_BYTES is bad (the reader keeps only its tail);
- after a bad frame the reader resynchronises on the next `Content-Length:` line; a body
  that turns out shorter than declared (a header line appears where its JSON should go) is
  bad too, and the header it ran into starts the next frame;
- a body that is not JSON, or not one JSON object, is answered as JSON-RPC says (ParseError
  or InvalidRequest with a null id) and the session goes on.

Memory stays bounded by MAX_CONTENT_LENGTH plus one read.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

log = logging.getLogger("localgpt.lsp")

MAX_CONTENT_LENGTH = 64 * 1024 * 1024  # a 5 MB note JSON-escaped fits many times over
MAX_HEADER_BYTES = 64 * 1024
READ_SIZE = 1 << 16

# A header line that starts a frame, anywhere a line can start.
_LENGTH_LINE = re.compile(rb"(?:^|\n)[ \t]*content-length[ \t]*:", re.IGNORECASE)
# A length header ended by a raw line break: never part of a JSON text (keys and strings are
# quoted, and a string cannot hold a raw line break), so inside a body it means the body is
# shorter than declared and the next frame has begun.
_NEXT_FRAME = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n", re.IGNORECASE)
_LENGTH_VALUE = re.compile(rb"content-length[ \t]*:[ \t]*(\S*)[ \t]*$", re.IGNORECASE)
_BLANK = re.compile(rb"\r?\n\r?\n")


@dataclass
class BadFrame:
    """What was wrong with the bytes the reader skipped."""

    reason: str


class FrameReader:
    """Frames out of `read(n)` (an asyncio StreamReader's read, for instance)."""

    def __init__(self, read: Callable[[int], Awaitable[bytes]]) -> None:
        self._read = read
        self._buf = bytearray()
        self._eof = False

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read(READ_SIZE)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    async def next(self) -> bytes | BadFrame | None:
        """The next body, a BadFrame (its bytes are already skipped), or None at the end."""
        while True:
            m = _BLANK.search(self._buf)
            if m is not None:
                break
            if len(self._buf) > MAX_HEADER_BYTES:
                return await self._overlong_header()
            if not await self._fill():
                return None
        head = bytes(self._buf[:m.start()])
        body_start = m.end()
        length, problem = _content_length(head)
        if problem is not None:
            del self._buf[:body_start]
            self._skip_junk()
            return BadFrame(problem)
        assert length is not None
        while True:
            end = min(len(self._buf), body_start + length)
            nxt = _NEXT_FRAME.search(self._buf, body_start, end)
            if nxt is not None:
                del self._buf[:nxt.start()]
                return BadFrame(f"the body is shorter than its Content-Length ({length})")
            if end == body_start + length:
                break
            if not await self._fill():
                return None
        body = bytes(self._buf[body_start:body_start + length])
        del self._buf[:body_start + length]
        return body

    def _skip_junk(self) -> None:
        """After a bad header: drop what follows up to the next frame's header line (bytes of
        the bad frame's body still to come are skipped by the next header parse)."""
        m = _NEXT_FRAME.search(self._buf)
        if m is not None:
            del self._buf[:m.start()]
        else:
            del self._buf[:max(0, len(self._buf) - 64)]

    async def _overlong_header(self) -> BadFrame:
        nxt = _LENGTH_LINE.search(self._buf, 1)
        if nxt is not None:  # junk, then a header: start over there
            del self._buf[:nxt.start() + 1]
        else:
            newline = self._buf.rfind(b"\n")
            if newline != -1:
                del self._buf[:newline + 1]
            else:  # one line longer than any header: discard it as it streams in
                self._buf.clear()
                await self._drain_line()
        return BadFrame(f"a header longer than {MAX_HEADER_BYTES} bytes")

    async def _drain_line(self) -> None:
        """Discard until the end of the current (over-long) line, or until a frame's header
        glued to it, keeping memory bounded (a tail is kept in case a header is split)."""
        while True:
            nxt = _NEXT_FRAME.search(self._buf)
            newline = self._buf.find(b"\n")
            if nxt is not None and (newline == -1 or nxt.start() < newline):
                del self._buf[:nxt.start()]
                return
            if newline != -1:
                del self._buf[:newline + 1]
                return
            del self._buf[:max(0, len(self._buf) - 64)]
            if not await self._fill():
                return


def _content_length(head: bytes) -> tuple[int | None, str | None]:
    """(length, None) from a header block, or (None, what is wrong). Lines that are not a
    Content-Length (Content-Type, junk left from a bad frame before it) are ignored."""
    length: int | None = None
    for raw in re.split(rb"\r?\n", head):
        m = _LENGTH_VALUE.search(raw)
        if m is None:
            continue
        text = m.group(1)
        if not text.isdigit():
            return None, f"Content-Length {text[:40]!r} is not a number"
        length = int(text)
    if length is None:
        return None, "a header without Content-Length"
    if length > MAX_CONTENT_LENGTH:
        return None, f"Content-Length {length} is over the {MAX_CONTENT_LENGTH} byte limit"
    return length, None


# LSP messages nest about ten levels; a client's `data` echoed back nested hundreds deep made
# the answer fail to serialise (RecursionError), so the request was never answered.
MAX_DEPTH = 64


def _depth_over(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def decode(body: bytes, structure: Callable[[dict[str, Any]], Any]
           ) -> tuple[Any, types.ResponseErrorMessage | None]:
    """(a structured message, None), (None, the error to answer with) or (None, None) for a
    message to drop."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
        return None, _error(types.ErrorCodes.ParseError, f"the message body is {reason}")
    if not isinstance(data, dict) or "jsonrpc" not in data:
        return None, _error(types.ErrorCodes.InvalidRequest,
                            "a message must be one JSON-RPC 2.0 object (batches are not used "
                            "by LSP)")
    if _depth_over(data, MAX_DEPTH):
        msg_id = data.get("id")
        valid = isinstance(msg_id, int | str) and not isinstance(msg_id, bool)
        if "method" not in data or "id" not in data:
            log.warning("dropped a message nested deeper than %d levels", MAX_DEPTH)
            return None, None  # a notification or a response: nobody to answer
        return None, _error(types.ErrorCodes.InvalidParams,
                            f"the params are nested deeper than {MAX_DEPTH} levels",
                            msg_id if valid else None)
    # Only the envelope needs structuring: pygls's object_hook leaves every dict without
    # "jsonrpc" (all the nested ones) as it is.
    return structure(data), None


def _error(code: int, message: str, msg_id: int | str | None = None
           ) -> types.ResponseErrorMessage:
    return types.ResponseErrorMessage(id=msg_id, error=types.ResponseError(code=code,
                                                                           message=message))


async def serve(reader: FrameReader, protocol: Any,
                error_handler: Callable[[Exception, Any], Any] | None = None,
                stop: Callable[[], bool] = lambda: False) -> None:
    """Read frames until the stream ends, handing each message to `protocol` (pygls's
    JsonRPCProtocol: structure_message, handle_message, _send_data)."""
    while not stop():
        frame = await reader.next()
        if frame is None:
            return
        if isinstance(frame, BadFrame):
            log.warning("skipped a bad frame: %s", frame.reason)
            continue
        message, error = decode(frame, protocol.structure_message)
        if error is not None:
            log.warning("answered a bad message: %s", error.error and error.error.message)
            protocol._send_data(error)
            continue
        if message is None:
            continue
        try:
            protocol.handle_message(message)
        except Exception as exc:
            log.exception("unable to handle a message")
            if error_handler is not None:
                error_handler(exc, type(exc))
