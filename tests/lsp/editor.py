"""A test editor: what VS Code or Neovim does with `workspace/applyEdit`.

It keeps buffers, applies text edits in the negotiated position encoding (its own arithmetic,
not the server's), refuses a versioned edit for a stale version, creates files for CreateFile,
opens documents an edit touches, and reports each change back with didChange, at once or after
a debounce (Neovim waits 150 ms by default).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types

from tests.lsp.conftest import Session


def _index(line: str, character: int, encoding: str) -> int:
    """Client units -> str index on one line."""
    count = 0
    for index, char in enumerate(line):
        width = (len(char.encode("utf-8")) if encoding == "utf-8" else
                 1 if encoding == "utf-32" else len(char.encode("utf-16-le")) // 2)
        if count + width > character:
            return index
        count += width
    return len(line)


def _offset(text: str, pos: types.Position, encoding: str) -> int:
    lines = text.split("\n")
    before = sum(len(line) + 1 for line in lines[:pos.line])
    if pos.line >= len(lines):
        return len(text)
    return before + _index(lines[pos.line], pos.character, encoding)


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    spans = sorted(((_offset(text, e.range.start, encoding), _offset(text, e.range.end, encoding),
                     e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def uri_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


class Editor:
    def __init__(self, session: Session, debounce: float = 0.0) -> None:
        self.session = session
        self.debounce = debounce
        self.buffers: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.refused: list[str] = []
        self.asked: list[str] = []
        self.answer = "Insert below"  # the button pressed on window/showMessageRequest
        client = session.client

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            reason = self.apply(params.edit)
            if reason:
                self.refused.append(reason)
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason=reason)
            self.applied.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_ask(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.asked.append(params.message)
            return types.MessageActionItem(title=self.answer)

    @property
    def shown(self) -> list[str]:
        """Messages shown to the user: questions asked and window/showMessage (pytest-lsp
        records those itself)."""
        return self.asked + [m.message for m in self.session.client.messages]

    # -- buffers --------------------------------------------------------------------------

    def open(self, rel: str, text: str) -> str:
        path = self.session.workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        uri = self.session.open(rel, text)
        self.buffers[uri], self.versions[uri] = text, 1
        return uri

    def type(self, uri: str, text: str) -> None:
        """The user replaces the buffer's text."""
        self.buffers[uri] = text
        self._changed(uri, at_once=True)

    def _changed(self, uri: str, at_once: bool = False) -> None:
        self.versions[uri] += 1
        version, text = self.versions[uri], self.buffers[uri]

        def send() -> None:
            self.session.client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

        if self.debounce and not at_once:
            asyncio.get_running_loop().call_later(self.debounce, send)
        else:
            send()

    def _load(self, uri: str) -> None:
        """An edit to a document the editor has not open opens it (as VS Code does)."""
        if uri in self.buffers:
            return
        text = uri_path(uri).read_text(encoding="utf-8")
        self.buffers[uri], self.versions[uri] = text, 0
        self.session.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=0,
                                                 text=text)))

    # -- applying edits -------------------------------------------------------------------

    def apply(self, edit: types.WorkspaceEdit) -> str:
        """Apply a workspace edit; returns why it was refused, or "" when applied."""
        encoding = self.session.encoding
        for change in edit.document_changes or []:
            if isinstance(change, types.CreateFile):
                path = uri_path(change.uri)
                overwrite = bool(change.options and change.options.overwrite)
                if path.exists() and not overwrite:
                    if change.options and change.options.ignore_if_exists:
                        continue
                    return f"{path.name} exists"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("", encoding="utf-8")
                continue
            if not isinstance(change, types.TextDocumentEdit):
                return f"unsupported change {type(change).__name__}"
            uri = change.text_document.uri
            self._load(uri)
            wanted = change.text_document.version
            if wanted is not None and wanted != self.versions[uri]:
                return f"version {wanted} of {uri} is stale (now {self.versions[uri]})"
            self.buffers[uri] = apply_text_edits(self.buffers[uri], list(change.edits), encoding)
            self._changed(uri)
        for uri, edits in (edit.changes or {}).items():
            self._load(uri)
            self.buffers[uri] = apply_text_edits(self.buffers[uri], list(edits), encoding)
            self._changed(uri)
        return ""

    async def settle(self) -> None:
        """Let debounced didChange notifications go out."""
        await asyncio.sleep(self.debounce + 0.05)


def progress_tokens(session: Session, prefix: str) -> list[Any]:
    return [t for t in session.client.progress_reports if str(t).startswith(prefix)]
