"""Building WorkspaceEdits the way each client can apply them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.lsp.positions import position_of

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

# How long to wait for the editor's didChange after it applied our edit. Neovim debounces
# didChange (150 ms by default), so the next edit must not be computed from a stale copy.
SYNC_TIMEOUT = 2.0


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


def version_of(ls: LocalGPTServer, uri: str) -> int | None:
    return ls.workspace.get_text_document(uri).version if ls.is_open(uri) else None


async def apply_edit(ls: LocalGPTServer, edit: types.WorkspaceEdit, label: str,
                     timeout: float = 10.0) -> bool:
    """Ask the editor to apply `edit`; False when it refused or did not answer in time."""
    try:
        async with asyncio.timeout(timeout):  # not wait_for: it can swallow a cancel on 3.11
            result = await ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=label))
    except TimeoutError:
        return False
    return bool(result.applied)


async def wait_for_sync(ls: LocalGPTServer, uri: str, before: int | None) -> None:
    """Wait until the editor reported a change after version `before` (or give up quietly)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SYNC_TIMEOUT
    while ls.is_open(uri) and version_of(ls, uri) == before and loop.time() < deadline:
        await asyncio.sleep(0.01)


async def replace_text(ls: LocalGPTServer, uri: str, start: int, end: int, new_text: str,
                       label: str, wait: bool = True) -> bool:
    """Replace `str` offsets [start, end) of the document's current text through the editor;
    with `wait`, also wait for its didChange so a next edit is computed from what it holds."""
    text = ls.doc_text(uri) or ""
    before = version_of(ls, uri)
    enc = ls.encoding
    edit = types.TextEdit(range=types.Range(start=position_of(text, start, enc),
                                            end=position_of(text, end, enc)),
                          new_text=new_text)
    if not await apply_edit(ls, workspace_edit(ls, {uri: [edit]}), label):
        return False
    if wait:
        await wait_for_sync(ls, uri, before)
    return True


def blank_line_before(content: str) -> str:
    """Line breaks that put text appended to `content` after one blank line ("" when empty)."""
    body = content.replace("\r\n", "\n").replace("\r", "\n")
    if not body.strip():
        return ""
    return "\n" * max(0, 2 - (len(body) - len(body.rstrip("\n"))))


def content_end(text: str) -> int:
    """Offset where the text's content ends: before a final line break, if it has one."""
    for brk in ("\r\n", "\n", "\r"):
        if text.endswith(brk):
            return len(text) - len(brk)
    return len(text)


async def append_text(ls: LocalGPTServer, uri: str, new_text: str, label: str) -> bool:
    """Append `new_text` after the document's content through the editor (see `replace_text`).

    The text goes in before a final line break: Neovim always has one (its 'eol') and applies
    an insertion past it as new lines, which would split streamed text. Callers judge blank
    lines by `content_end`, so the result is the same in every editor."""
    end = content_end(ls.doc_text(uri) or "")
    return await replace_text(ls, uri, end, end, new_text, label)
