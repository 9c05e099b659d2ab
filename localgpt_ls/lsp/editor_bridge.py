"""The editor bridge: how the engine changes documents the user has open in the editor.

Given to the Engine once, when the language server opens the workspace (lifecycle.py), as a
`localgpt_ls.engine.EditorBridge`: the heartbeat's and "remember"'s daily-log entries and a tool
ticking a HEARTBEAT.md item go in through workspace/applyEdit when that file is open (it may
hold unsaved text a file write would clobber); when it is not open the engine writes the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from localgpt_ls.agent.tools import ToolError
from localgpt_ls.engine import EditorBridge
from localgpt_ls.lsp.edits import (
    append_text,
    apply_edit,
    blank_line_before,
    content_end,
    workspace_edit,
)
from localgpt_ls.lsp.positions import split_lines, units

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer


def editor_bridge(ls: LocalGPTServer) -> EditorBridge:
    return EditorBridge(
        append=lambda path, entry: append_in_editor(ls, path, entry),
        replace_line=lambda path, index, old, new: replace_line_in_editor(ls, path, index, old,
                                                                          new))


async def append_in_editor(ls: LocalGPTServer, path: Path, entry: str) -> bool:
    """Append the daily-log entry to the open document through the editor; False when the
    document is not open (or the editor refused), so the runner writes the file instead."""
    uri = ls.path_uri(path)
    if not ls.is_open(uri):
        return False
    text = ls.doc_text(uri) or ""
    return await append_text(ls, uri, blank_line_before(text[:content_end(text)]) + entry,
                             "LocalGPT heartbeat")


async def replace_line_in_editor(ls: LocalGPTServer, path: Path, index: int, old: str,
                                 new: str) -> bool:
    """Swap one line of an open document through the editor (a tool ticking a HEARTBEAT.md
    item); False when the document is not open, so the tool writes the file instead."""
    uri = ls.path_uri(path)
    if not ls.is_open(uri):
        return False
    lines = split_lines(ls.doc_text(uri) or "")
    if index >= len(lines) or lines[index].rstrip("\r") != old:
        raise ToolError(f"{path.name} changed in the editor meanwhile; read it again and retry")
    line_range = types.Range(start=types.Position(line=index, character=0),
                             end=types.Position(line=index, character=units(old, ls.encoding)))
    edit = workspace_edit(ls, {uri: [types.TextEdit(range=line_range, new_text=new)]})
    return await apply_edit(ls, edit, "LocalGPT")
