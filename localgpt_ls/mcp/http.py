"""The MCP server as streamable HTTP inside the daemon, at /api/mcp.

The daemon's Guard stands in front of it like any /api route: the bearer token, a loopback (or
allowed) Host, no foreign Origin, the body cap. The SDK's own DNS-rebinding check is therefore
off here; it would only repeat the Guard's Host and Origin rules with a second list to keep.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from localgpt_ls.engine import Engine

PATH = "/api/mcp"


class MCPEndpoint:
    """An ASGI endpoint for the daemon's routes; it serves once `running` has started it (the
    daemon's lifespan), and says 503 before."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._app: ASGIApp | None = None

    @contextlib.asynccontextmanager
    async def running(self, ready: threading.Event | None = None) -> AsyncIterator[None]:
        from mcp.server.transport_security import TransportSecuritySettings

        from localgpt_ls.mcp.server import build_server

        server = build_server(self.engine, ready)
        self._app = server.streamable_http_app(
            streamable_http_path=PATH,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        try:
            async with server.session_manager.run():
                yield
        finally:
            self._app = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            from starlette.responses import JSONResponse

            response = JSONResponse({"error": "the MCP endpoint is not running yet; retry in "
                                     "a moment"}, status_code=503)
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)
