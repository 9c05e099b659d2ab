"""Inline completion (textDocument/inlineCompletion, LSP 3.18): ghost text from the model.

Placeholder while the feature is built; registers nothing yet.
"""

from __future__ import annotations

from localgpt_ls.lsp.server import LocalGPTServer


def register(server: LocalGPTServer) -> None:
    """Register the inline completion handler (not yet)."""
    del server
