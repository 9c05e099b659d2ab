"""Quick fixes for broken links (create the missing note, add the missing heading) and the
`localgpt.createNote` command for clients that cannot apply file creations.

Other features offer their own code actions through `Feature.code_actions` (the assistant's in
`assistant_actions.py`, the chat document's "Send to LocalGPT" in `chatdoc.py`); `app.py` asks
each. Code actions must be quick (no model calls here: expensive work belongs in the command
the action runs).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.errors import LocalGPTError
from localgpt_ls.lsp.edits import supports_document_changes, workspace_edit
from localgpt_ls.lsp.errors import InvalidArguments
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.positions import split_lines, units
from localgpt_ls.workspace import create_workspace_file, safe_path

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

CREATE_NOTE = "localgpt.createNote"
OPEN_NOTE = "localgpt.openNote"


def wanted(kind: str, only: Sequence[Any] | None) -> bool:
    """Whether `kind` is one the client asked for (`only` names kinds or their parents)."""
    if not only:
        return True
    names = [str(getattr(o, "value", o)) for o in only]
    return any(kind == name or kind.startswith(name + ".") for name in names)


KNOWLEDGE = "knowledge"


def _note_folders(ls: LocalGPTServer) -> dict[str, int]:
    """Workspace-relative folders that hold notes, with how many each holds."""
    folders: dict[str, int] = {}
    for note in ls.index.notes.values():
        if not note.rel.startswith("/"):
            folder = posixpath.dirname(note.rel)
            folders[folder] = folders.get(folder, 0) + 1
    return folders


def wiki_note_folder(ls: LocalGPTServer, source_rel: str | None, folder: str) -> str:
    """Where a new note for `[[folder/name]]` (folder "" for a bare name) goes: with its
    siblings. A bare name goes beside the linking note when that is in knowledge/, else into
    knowledge/. A folder is taken as it is when it exists at the top of the workspace, else
    the folder of that name holding the most notes (`howto` -> `knowledge/howto` when other
    howto notes live there), else under knowledge/."""
    if not folder:
        source_dir = posixpath.dirname(source_rel) if source_rel else ""
        if source_dir == KNOWLEDGE or source_dir.startswith(KNOWLEDGE + "/"):
            return source_dir
        return KNOWLEDGE
    top = folder.split("/", 1)[0]
    if (ls.workspace_root / top).is_dir():
        return folder
    known = _note_folders(ls)
    matches = [f for f in known if f.lower().endswith("/" + folder.lower())]
    if matches:
        return min(matches, key=lambda f: (-known[f], len(f), f))
    return f"{KNOWLEDGE}/{folder}"


def new_note_rel(ls: LocalGPTServer, source_uri: str, target: str, kind: str) -> str | None:
    """Workspace-relative path for a note a broken link asks for (None when it would escape).
    A markdown link names its path (relative to the linking note); a wiki link only a name,
    so the note goes where its siblings are."""
    source = ls.uri_path(source_uri)
    source_rel = None
    if source is not None:
        rel = ls.rel_of(source)
        if not rel.startswith("/"):
            source_rel = rel
    target = target.replace("\\", "/").strip()
    if kind == "wiki":
        folder, _, name = target.lstrip("/").rpartition("/")
        base = wiki_note_folder(ls, source_rel, posixpath.normpath(folder) if folder else "")
        target = name
    elif target.startswith("/"):
        base = ""  # root-relative, as links.py resolves it
    else:
        base = posixpath.dirname(source_rel) if source_rel else ""
    rel_path = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
    if not rel_path.lower().endswith(".md"):
        rel_path += ".md"
    try:
        safe_path(ls.workspace_root, rel_path)
    except LocalGPTError:
        return None
    return rel_path


def create_note_action(ls: LocalGPTServer, uri: str,
                       diag: types.Diagnostic) -> types.CodeAction | None:
    data: dict[str, Any] = diag.data if isinstance(diag.data, dict) else {}
    target = str(data.get("target") or "")
    if not target:
        return None
    rel = new_note_rel(ls, uri, target, str(data.get("kind") or "wiki"))
    if rel is None:
        return None
    title = posixpath.basename(rel)[:-3]
    heading = data.get("heading")
    body = f"# {title}\n\n" + (f"## {heading}\n\n" if heading else "")
    path = ls.workspace_root / rel
    new_uri = ls.path_uri(path)
    label = f"Create note '{rel}'"
    if supports_document_changes(ls, "create"):
        edit = types.WorkspaceEdit(document_changes=[
            types.CreateFile(uri=new_uri, options=types.CreateFileOptions(ignore_if_exists=True)),
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=new_uri,
                                                                            version=None),
                edits=[types.TextEdit(range=types.Range(start=types.Position(line=0, character=0),
                                                        end=types.Position(line=0, character=0)),
                                      new_text=body)]),
        ])
        # The command runs after the edit: it shows the new note, as a person expects.
        return types.CodeAction(title=label, kind=types.CodeActionKind.QuickFix,
                                diagnostics=[diag], edit=edit, is_preferred=True,
                                command=types.Command(title=label, command=OPEN_NOTE,
                                                      arguments=[{"path": rel}]))
    return types.CodeAction(
        title=label, kind=types.CodeActionKind.QuickFix, diagnostics=[diag], is_preferred=True,
        command=types.Command(title=label, command=CREATE_NOTE,
                              arguments=[{"path": rel, "text": body}]))


def add_heading_action(ls: LocalGPTServer, diag: types.Diagnostic) -> types.CodeAction | None:
    data: dict[str, Any] = diag.data if isinstance(diag.data, dict) else {}
    target_uri, heading = data.get("uri"), data.get("heading")
    if not isinstance(target_uri, str) or not isinstance(heading, str):
        return None
    text = ls.doc_text(target_uri)
    if text is None:
        return None
    lines = split_lines(text)
    last = len(lines) - 1
    end = types.Position(line=last, character=units(lines[last], ls.encoding))
    prefix = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    edit = types.TextEdit(range=types.Range(start=end, end=end), new_text=f"{prefix}## {heading}\n")
    return types.CodeAction(
        title=f"Add heading '{heading}' to "
              f"{ls.rel_of(ls.uri_path(target_uri) or ls.workspace_root)}",
        kind=types.CodeActionKind.QuickFix, diagnostics=[diag],
        edit=workspace_edit(ls, {target_uri: [edit]}))


def quick_fixes(ls: LocalGPTServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    out: list[types.CodeAction] = []
    for diag in params.context.diagnostics:
        if diag.source != "localgpt":
            continue
        action = None
        if diag.code == "broken-link":
            action = create_note_action(ls, params.text_document.uri, diag)
        elif diag.code == "broken-heading":
            action = add_heading_action(ls, diag)
        if action is not None:
            out.append(action)
    return out



async def create_note(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
    """`{path, text?}`: create a new note (never overwrites) for clients that cannot, and
    show it."""
    args = arguments[0] if arguments else {}
    if not isinstance(args, dict) or not isinstance(args.get("path"), str):
        raise InvalidArguments("localgpt.createNote takes {path: str, text?: str}")
    path = safe_path(ls.workspace_root, args["path"])
    # Made only if the name is free at the moment of creation (two editors creating one
    # note: the second shows the first one's note, nothing is overwritten).
    created = await ls.run_blocking(create_workspace_file, ls.workspace_root, path,
                                    str(args.get("text") or f"# {path.stem}\n"))
    await show_note(ls, path)
    return {"uri": ls.path_uri(path), "created": created}


async def open_note(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
    """`{path}`: show a workspace note in the editor (after Create note made it)."""
    args = arguments[0] if arguments else {}
    if not isinstance(args, dict) or not isinstance(args.get("path"), str):
        raise InvalidArguments(f"{OPEN_NOTE} takes {{path: str}}")
    path = safe_path(ls.workspace_root, args["path"])
    shown = await show_note(ls, path)
    return {"uri": ls.path_uri(path), "shown": shown}


async def show_note(ls: LocalGPTServer, path: Any) -> bool:
    """window/showDocument where the client has it; False where it has not."""
    window = ls.client_capabilities.window
    if not (window and window.show_document and window.show_document.support):
        return False
    result = await ls.window_show_document_async(types.ShowDocumentParams(
        uri=ls.path_uri(path), take_focus=True))
    return bool(result and result.success)


class LinkFixes(Feature):
    code_action_kinds = (types.CodeActionKind.QuickFix,)

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        return quick_fixes(self.server, params)

    def commands(self) -> dict[str, Any]:
        return {CREATE_NOTE: create_note, OPEN_NOTE: open_note}
