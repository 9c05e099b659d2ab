"""`localgpt/status` notifications and work-done progress for long work (scan, indexing).

`localgpt/status` params: `{"state": "starting"|"indexing"|"ready"|"thinking"|"error",
"message": str}` ("thinking" while the assistant answers in the editor).
Editors show it in a status line; it is sent on every state change.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

STATUS = "localgpt/status"
State = Literal["starting", "indexing", "ready", "thinking", "error"]


def send_status(server: LocalGPTServer, state: State, message: str) -> None:
    server.protocol.notify(STATUS, {"state": state, "message": message})


class Progress:
    """Work-done progress when the client supports it; a no-op otherwise.

    Usage: `async with Progress(server, "Indexing memory") as p: p.report(msg, percent)`.
    `report` is thread-safe (indexing reports from a worker thread).
    """

    def __init__(self, server: LocalGPTServer, title: str, token: Any = None) -> None:
        self.server = server
        self.title = title
        self.given = token  # a request's own workDoneToken: report on it, create nothing
        self.token: Any = None
        self._loop = None

    def _supported(self) -> bool:
        window = self.server.client_capabilities.window
        return bool(window and window.work_done_progress)

    async def __aenter__(self) -> Progress:
        import asyncio

        self._loop = asyncio.get_running_loop()  # type: ignore[assignment]
        if self.given is not None:
            self.token = self.given
            self.server.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(
                title=self.title, percentage=0, cancellable=False))
        elif self._supported():
            token = f"localgpt-{uuid.uuid4().hex[:12]}"
            try:
                await asyncio.wait_for(self.server.work_done_progress.create_async(token), 5)
            except Exception:  # the client refused or never answered: no progress UI
                return self
            self.token = token
            self.server.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                title=self.title, percentage=0, cancellable=False))
        return self

    def report(self, message: str, percentage: int | None = None) -> None:
        if self.token is None or self._loop is None:
            return
        token = self.token
        value = types.WorkDoneProgressReport(message=message, percentage=percentage)

        def send() -> None:
            self.server.work_done_progress.report(token, value)

        try:
            import asyncio

            if asyncio.get_running_loop() is self._loop:
                send()
                return
        except RuntimeError:
            pass
        self._loop.call_soon_threadsafe(send)

    async def __aexit__(self, *exc: object) -> None:
        if self.token is not None:
            self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(
                message="failed" if exc[0] else "done"))
