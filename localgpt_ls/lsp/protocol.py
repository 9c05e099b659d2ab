"""Where the language server departs from pygls's protocol, each for a reason the editor notices.

- A request whose params do not match the LSP types is answered with InvalidParams (pygls would
  log it and never answer, leaving the editor waiting).
- A failed request is answered through the error funnel (`errors.user_error`): the user's
  sentence for a LocalGPTError, no traceback.
- Lifecycle order is enforced (`_order_refusal`): ServerNotInitialized before `initialize`,
  InvalidRequest for a second `initialize` and for anything after `shutdown` but `exit`;
  notifications out of order are dropped.
- A message whose envelope is wrong (an id that is an object, a method that is not a string)
  is answered InvalidRequest with a null id, as JSON-RPC asks.
- An InternalError never carries the traceback (pygls puts it in `error.data`): it goes to the
  log, the editor gets one sentence.
- `exit` leaves at once; `window/workDoneProgress/cancel` and `$/cancelRequest` also cancel a
  command that is already running (a streaming chat).
- The workDoneToken of an executeCommand request is kept in `COMMAND_WORK_DONE_TOKEN` (pygls
  hands a command only its arguments).

Only here are private pygls members touched (`_send_handler_result`, `_handle_request`,
`_handle_cancel_notification`, `_send_data`, `_send_response`, `_request_futures`), because
pygls 2.1 has no public hook for these; keep them in this one module.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sys
import time
from collections.abc import Generator
from typing import Any

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
)

from localgpt_ls.lsp.errors import user_error

INTERNAL_ERROR_MESSAGE = ("LocalGPT hit an internal error answering this request; the details "
                          "are in the language server's log (the editor's output panel)")

log = logging.getLogger("localgpt.lsp")

# The workDoneToken of the workspace/executeCommand request being handled (see below).
COMMAND_WORK_DONE_TOKEN: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "localgpt_command_work_done_token", default=None)


class LocalGPTProtocol(LanguageServerProtocol):
    """Answers a request whose params do not match the LSP types with InvalidParams.

    pygls would log the failure and never answer, leaving the editor waiting; we reply with a
    JSON-RPC error and swallow the message, so the rest of the session carries on.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data:
            return data  # a nested object of some message, structured with it
        self._server.last_message = time.monotonic()  # type: ignore[attr-defined]
        msg_id = data.get("id")
        bad_id = "id" in data and (isinstance(msg_id, bool) or not isinstance(msg_id, int | str))
        if bad_id and (msg_id is not None or "method" in data):  # (a null id may answer us)
            return self._refuse(None, types.ErrorCodes.InvalidRequest,
                                "the message's id must be a number or a string")
        if "method" in data and not isinstance(data["method"], str):
            return self._refuse(msg_id if "id" in data else _NO_ANSWER,
                                types.ErrorCodes.InvalidRequest, "'method' must be a string")
        try:
            return self._structure(data)
        except Exception as exc:
            if "id" in data and "method" in data:
                self._send_data(types.ResponseErrorMessage(
                    id=data["id"],
                    error=types.ResponseError(
                        code=types.ErrorCodes.InvalidParams,
                        message=f"invalid params for {data.get('method')}: {exc.__cause__ or exc}",
                    ),
                ))
            log.warning("ignored a malformed message: %s", data.get("method"))
            return _Ignored()

    def _structure(self, data: dict[str, Any]) -> Any:
        """The envelope's type, structured. Not pygls's structure_message: on failure it
        formats the whole traceback before logging, and a string where a list belongs
        (`contentChanges: "xxxx..."`) gives one error per character, 100,000 of them: 6 s
        of formatting on the event loop, every request waiting (fuzz seed 5)."""
        if "id" in data:
            if "error" in data:
                kind: Any = types.ResponseErrorMessage
            elif "method" in data:
                kind = self.get_message_type(data["method"]) or JsonRPCRequestMessage
            else:
                kind = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
        else:
            kind = self.get_message_type(data.get("method", "")) or JsonRPCNotification
        return self._converter.structure(data, kind)

    def _refuse(self, msg_id: Any, code: int, message: str) -> _Ignored:
        """Answer `msg_id` (None: a null id; _NO_ANSWER: nobody to answer) with an error."""
        log.warning("refused a message: %s", message)
        if msg_id is not _NO_ANSWER:
            self._send_data(types.ResponseErrorMessage(
                id=msg_id, error=types.ResponseError(code=code, message=message)))
        return _Ignored()

    # -- lifecycle order ---------------------------------------------------------------------

    initialize_seen = False

    def _order_refusal(self, method: str) -> tuple[int, str] | None:
        """Why a message may not come now (LSP "Lifecycle Messages"), else None."""
        if method == types.EXIT:
            return None
        if not self.initialize_seen:
            if method == types.INITIALIZE:
                return None
            return (types.ErrorCodes.ServerNotInitialized,
                    f"the server is not initialized yet: send 'initialize' before '{method}'")
        if method == types.INITIALIZE:
            return (types.ErrorCodes.InvalidRequest,
                    "'initialize' was already received; it is sent once per session")
        if self._shutdown:
            return (types.ErrorCodes.InvalidRequest,
                    f"the server is shutting down: only 'exit' may follow 'shutdown', not "
                    f"'{method}'")
        return None

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if isinstance(method, str) and getattr(message, "jsonrpc", None) == self.VERSION:
            refusal = self._order_refusal(method)
            is_request = getattr(message, "id", None) is not None
            if refusal is not None:
                if is_request:
                    self._refuse(message.id, *refusal)
                else:
                    log.info("dropped a notification out of order: %s", method)
                return
            if method == types.INITIALIZE and is_request:
                self.initialize_seen = True
        super().handle_message(message)

    def _send_response(self, msg_id: Any, result: Any = None,
                       error: types.ResponseError | None = None) -> None:
        # pygls puts the traceback in error.data and the exception in the message; the log
        # already has both (pygls logs the exception), the editor gets one sentence.
        if error is not None and error.code == types.ErrorCodes.InternalError:
            log.error("request %s failed: %s %s", msg_id, error.message,
                      "".join((error.data or {}).get("traceback", []))
                      if isinstance(error.data, dict) else "")
            error = types.ResponseError(code=error.code, message=INTERNAL_ERROR_MESSAGE)
        super()._send_response(msg_id, result, error)

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        # A user-facing refusal is an answer, not a server fault: no traceback in the log.
        # A LocalGPTError is the user's sentence (lsp/errors.py), not a fault of ours.
        exc = None if future.cancelled() else future.exception()
        error = user_error(exc)
        if error is not None:
            self._request_futures.pop(msg_id, None)
            log.info("request %s refused: %s", msg_id, error.message)
            self._send_response(msg_id, error=error)
            return
        super()._send_handler_result(future, msg_id=msg_id)

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        # pygls hands a command only its arguments; keep the request's workDoneToken where the
        # command's task (created inside this call, so it copies the context) can read it.
        if method_name == types.WORKSPACE_EXECUTE_COMMAND:
            COMMAND_WORK_DONE_TOKEN.set(getattr(params, "work_done_token", None))
        super()._handle_request(msg_id, method_name, params)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        # Leave now. pygls closes stdout and raises SystemExit through asyncio.run, whose
        # cleanup cancels every task and waits for worker threads: tasks that report on the
        # way out (status, progress) then fail on the closed pipe, each failure logged, which
        # kept a stopped server alive for seconds. SQLite rolls back an unfinished write on
        # the next open and file writes are atomic, so nothing is lost.
        del args
        code = 0 if self._shutdown else 1
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
        yield  # a generator, as pygls runs its built-in handlers; never reached

    @lsp_method(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def lsp_work_done_progress_cancel(self, params: types.WorkDoneProgressCancelParams) -> None:
        # pygls only forgets the token; also cancel the request behind it (a streaming answer)
        # as $/cancelRequest would, so it stops and is answered as cancelled.
        request = self._server.progress_tasks.pop(  # type: ignore[attr-defined]
            params.token, None)
        if request is not None:
            self._handle_cancel_notification(request)
        with contextlib.suppress(Exception):
            super().lsp_work_done_progress_cancel(params)

    # pygls cancels only requests that have not started; a command that is already running
    # (a chat streaming from a provider) registers its task here so $/cancelRequest reaches it.
    running: dict[Any, asyncio.Task[Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.running = {}

    def current_request(self) -> Any:
        """The id of the request being handled in this context, or None."""
        return self._ctx_msg_id.get(None)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        task = self.running.pop(msg_id, None)
        super()._handle_cancel_notification(msg_id)
        if task is not None:
            task.cancel()


_NO_ANSWER = object()  # _refuse: a notification, nobody to answer


class _Ignored:
    """Stands in for a message already answered with an error: its `jsonrpc` is not "2.0",
    so pygls's dispatcher drops it."""

    jsonrpc = "ignored"
