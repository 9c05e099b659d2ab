"""Code lenses: one `textDocument/codeLens` handler asking every feature's lens provider.

pygls takes one handler per method, so features (the heartbeat's "Run now", the chat
document's "Send to LocalGPT") append an async `(server, uri) -> [CodeLens]` to `LENSES`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from lsprotocol import types

from localgpt_ls.lsp.server import LocalGPTServer, log

LensProvider = Callable[[LocalGPTServer, str], Awaitable[list[types.CodeLens]]]
LENSES: list[LensProvider] = []


def register(server: LocalGPTServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls: LocalGPTServer,
                        params: types.CodeLensParams) -> list[types.CodeLens] | None:
        out: list[types.CodeLens] = []
        for provider in LENSES:
            try:
                out.extend(await provider(ls, params.text_document.uri))
            except Exception:  # one broken lens must not hide the others
                log.exception("code lens provider %s failed", provider.__name__)
        return out or None
