"""Rename a heading or a note, updating every link to it (prepareRename says what is renamable).

- On a heading line, or on the `#heading` part of a link: renames the heading; wiki links get
  the new text, standard links the new slug.
- On the target part of a link: renames the note file (a `RenameFile` operation, so the
  client needs `documentChanges` with resource operation `rename`) and rewrites every link.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lsprotocol import types

from localgpt_ls.errors import LocalGPTError
from localgpt_ls.lsp.edits import supports_document_changes, workspace_edit
from localgpt_ls.lsp.errors import RequestFailed
from localgpt_ls.lsp.feature import Feature, Handler
from localgpt_ls.lsp.links import link_at, link_parts, resolve
from localgpt_ls.lsp.navigation import links_to, note_position
from localgpt_ls.lsp.notes import NoteInfo, stem_key
from localgpt_ls.lsp.positions import to_units
from localgpt_ls.markdown import Heading, slugify
from localgpt_ls.workspace import safe_path

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

_ATX = re.compile(r"^( {0,3}#{1,6}[ \t]+)(.*?)([ \t]+#+)?[ \t]*$")


class RenameError(RequestFailed):
    """The rename was asked for properly but cannot be done (a note's file, a clash)."""


@dataclass
class Subject:
    kind: str  # "heading" | "note"
    note: NoteInfo  # the note that owns the heading, or the note being renamed
    heading: Heading | None
    span: tuple[int, int]  # str offsets on the cursor's line
    row: int
    placeholder: str


def heading_span(line: str) -> tuple[int, int] | None:
    m = _ATX.match(line)
    if m is None:
        return None
    return m.start(2), m.end(2)


def find_subject(ls: LocalGPTServer, uri: str, pos: types.Position) -> Subject | None:
    at = note_position(ls, uri, pos)
    if at is None:
        return None
    note, lines, row, col = at
    line = lines[row]
    heading = next((h for h in note.headings if h.line == row + 1), None)
    if heading is not None:
        span = heading_span(line)
        if span is not None:
            return Subject("heading", note, heading, span, row, heading.text)
    link = link_at(note.links, row + 1, col)
    if link is None:
        return None
    found = resolve(ls.index, link, note)
    if found.note is None:
        return None
    parts = link_parts(link)
    if parts.heading is not None and parts.heading[0] <= col <= parts.heading[1]:
        if found.heading is None:
            return None
        return Subject("heading", found.note, found.heading, parts.heading, row,
                       found.heading.text)
    if link.target and parts.target[0] <= col <= parts.target[1]:
        return Subject("note", found.note, None, parts.target, row, found.note.stem)
    return None


def prepare_rename(ls: LocalGPTServer, params: types.PrepareRenameParams) -> Any:
    subject = find_subject(ls, params.text_document.uri, params.position)
    if subject is None:
        return None
    line = ls.doc_lines(params.text_document.uri)[subject.row]
    enc = ls.encoding
    rng = types.Range(
        start=types.Position(line=subject.row, character=to_units(line, subject.span[0], enc)),
        end=types.Position(line=subject.row, character=to_units(line, subject.span[1], enc)))
    return types.PrepareRenamePlaceholder(range=rng, placeholder=subject.placeholder)


def _edit(ls: LocalGPTServer, note: NoteInfo, row: int, span: tuple[int, int], new: str,
          lines_cache: dict[str, list[str]]) -> types.TextEdit:
    lines = lines_cache.get(note.uri)
    if lines is None:
        lines = lines_cache[note.uri] = ls.doc_lines(note.uri)
    line = lines[row] if 0 <= row < len(lines) else ""
    enc = ls.encoding
    return types.TextEdit(range=types.Range(
        start=types.Position(line=row, character=to_units(line, span[0], enc)),
        end=types.Position(line=row, character=to_units(line, span[1], enc))), new_text=new)


def rename_heading(ls: LocalGPTServer, subject: Subject, new_name: str) -> types.WorkspaceEdit:
    assert subject.heading is not None
    new_name = new_name.strip()
    if not new_name or "\n" in new_name:
        raise RenameError("a heading needs a one-line, non-empty name")
    edits: dict[str, list[types.TextEdit]] = {}
    cache: dict[str, list[str]] = {}
    owner = subject.note
    owner_lines = ls.doc_lines(owner.uri)
    row = subject.heading.line - 1
    span = heading_span(owner_lines[row]) if 0 <= row < len(owner_lines) else None
    if span is None:
        raise RenameError("the heading's line changed; try again")
    edits.setdefault(owner.uri, []).append(_edit(ls, owner, row, span, new_name, cache))
    for source, link in links_to(ls.index, owner, stem_key(owner.stem), subject.heading.slug):
        h_span = link_parts(link).heading
        if h_span is None:
            continue
        text = new_name if link.kind == "wiki" else slugify(new_name)
        edits.setdefault(source.uri, []).append(
            _edit(ls, source, link.line - 1, h_span, text, cache))
    return workspace_edit(ls, edits)


def rename_note(ls: LocalGPTServer, subject: Subject, new_name: str) -> types.WorkspaceEdit:
    if not supports_document_changes(ls, "rename"):
        raise RenameError("this editor cannot rename files through the language server "
                          "(it lacks workspaceEdit.documentChanges with 'rename')")
    note = subject.note
    name = new_name.strip().replace("\\", "/")
    if name.lower().endswith(".md"):
        name = name[:-3]
    if not name or name.startswith("/") or "\n" in name:
        raise RenameError("give the note's new name (or a workspace-relative path)")
    folder = posixpath.dirname(note.rel)
    new_rel = (name if "/" in name else posixpath.join(folder, name)) + ".md"
    try:
        new_path = safe_path(ls.workspace_root, new_rel)
    except LocalGPTError as exc:
        raise RenameError(str(exc)) from None
    if new_path.exists() and new_path != note.path:
        raise RenameError(f"'{new_rel}' already exists")
    new_stem = posixpath.basename(new_rel)[:-3]
    edits: dict[str, list[types.TextEdit]] = {}
    cache: dict[str, list[str]] = {}
    for source, link in links_to(ls.index, note, stem_key(note.stem), None):
        span = link_parts(link).target
        if link.kind == "wiki":
            text = new_rel[:-3] if "/" in link.target else new_stem
        else:
            src_dir = posixpath.dirname(source.rel) if source.uri != note.uri else folder
            if link.target.startswith("/"):
                text = "/" + quote(new_rel, safe="/._-~")
            else:
                text = quote(posixpath.relpath(new_rel, src_dir or "."), safe="/._-~")
        edits.setdefault(source.uri, []).append(
            _edit(ls, source, link.line - 1, span, text, cache))
    edit = workspace_edit(ls, edits)
    changes = list(edit.document_changes or [])
    # The check above is advice: a note made under that name before the editor applies the
    # edit must make the rename fail there, not be overwritten.
    changes.append(types.RenameFile(old_uri=note.uri, new_uri=ls.path_uri(new_path),
                                    options=types.RenameFileOptions(overwrite=False,
                                                                    ignore_if_exists=False)))
    return types.WorkspaceEdit(document_changes=changes)


def rename(ls: LocalGPTServer, params: types.RenameParams) -> Any:
    yield from ls.until_scanned(30)
    subject = find_subject(ls, params.text_document.uri, params.position)
    if subject is None:
        raise RenameError("nothing to rename here: put the cursor on a heading or a link")
    if subject.kind == "heading":
        return rename_heading(ls, subject, params.new_name)
    return rename_note(ls, subject, params.new_name)


class Rename(Feature):
    def handlers(self) -> list[Handler]:
        return [Handler(types.TEXT_DOCUMENT_PREPARE_RENAME, prepare_rename),
                Handler(types.TEXT_DOCUMENT_RENAME, rename)]
