"""The language server's error funnel: how a failed request reaches the editor.

One policy for every door: an error meant for the user (`LocalGPTError`, e.g. a provider's
AuthError, a path outside the workspace, a corrupt index) is answered with its one sentence
and no traceback, as the CLI prints it and the daemon returns it. In the editor that is the
JSON-RPC error `RequestFailed` (-32803) whose message is `str(error)`; wrong arguments are
`InvalidParams` (-32602). Anything else is a fault of ours and keeps pygls's InternalError
(with the traceback in the log, where a bug report can use it).

`LocalGPTProtocol` (protocol.py) calls `user_error` for every request that ended in an
exception; features only raise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from localgpt_ls.errors import LocalGPTError


class InvalidArguments(JsonRpcException):
    """A request's arguments are wrong (answered as InvalidParams); the message tells the user
    what the request needs."""

    CODE = -32602

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


class RequestFailed(JsonRpcException):
    """A valid request that cannot be done now (LSP RequestFailed), e.g. the document is not
    open or an answer is already streaming into it."""

    CODE = -32803

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


def user_error(exc: BaseException | None) -> types.ResponseError | None:
    """The answer for a request that raised `exc` when the user can act on it, else None (a
    fault of ours: pygls answers InternalError)."""
    if isinstance(exc, InvalidArguments | RequestFailed):
        return exc.to_response_error()
    if isinstance(exc, LocalGPTError):
        return RequestFailed(str(exc)).to_response_error()
    # What a client's URI or path can make the file system say: the request's fault, not ours.
    if isinstance(exc, UnicodeError) or (isinstance(exc, ValueError)
                                         and "null byte" in str(exc)):
        return InvalidArguments("a URI or path in the request holds a character no file name "
                                "can (a NUL or a lone surrogate)").to_response_error()
    if isinstance(exc, OSError):
        name = Path(os.fsdecode(exc.filename)).name if exc.filename else "the file"
        return RequestFailed(f"cannot use {name}: {exc.strerror or exc}").to_response_error()
    return None


def command_object(name: str, arguments: tuple[Any, ...]) -> dict[str, Any]:
    """A command's one JSON object argument (`arguments: [{...}]`); absent or null is `{}`."""
    args = arguments[0] if arguments else {}
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InvalidArguments(f"{name} takes one JSON object argument, e.g. {{}}")
    return args
