"""Building WorkspaceEdits the way each client can apply them."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from localgpt_ls.lsp.server import LocalGPTServer


def supports_document_changes(ls: LocalGPTServer, operation: str | None = None) -> bool:
    """Whether the client applies `documentChanges` (and the resource `operation`, if given)."""
    ws = ls.client_capabilities.workspace
    edit = ws.workspace_edit if ws else None
    if not (edit and edit.document_changes):
        return False
    if operation is None:
        return True
    return operation in [getattr(o, "value", o) for o in (edit.resource_operations or [])]


def workspace_edit(ls: LocalGPTServer,
                   edits: dict[str, list[types.TextEdit]]) -> types.WorkspaceEdit:
    """Text edits as `documentChanges` (versioned for open documents) when the client supports
    it, else as `changes`."""
    ws = ls.client_capabilities.workspace
    if ws and ws.workspace_edit and ws.workspace_edit.document_changes:
        changes: list[Any] = []
        for uri, items in edits.items():
            version = ls.workspace.get_text_document(uri).version if ls.is_open(uri) else None
            changes.append(types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri,
                                                                            version=version),
                edits=list(items)))
        return types.WorkspaceEdit(document_changes=changes)
    return types.WorkspaceEdit(changes={uri: list(items) for uri, items in edits.items()})
