"""The HTTP door: a localhost JSON/SSE API and a one-page web UI over the Engine.

`create_app(engine, token)` builds the ASGI app (routes behind the security Guard);
`server.serve()` runs it with uvicorn. See DESIGN.md "HTTP daemon" and schemas/openapi.json.
"""

from localgpt_ls.http.app import Options, create_app

__all__ = ["Options", "create_app"]
