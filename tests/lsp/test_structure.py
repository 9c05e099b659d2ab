"""The language server's structure, in process: features are objects built per server, one
handler per LSP method asks each of them, a failing feature is skipped, and no import circle
runs through lsp/."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from localgpt_ls.config import Config
from localgpt_ls.engine import Engine
from localgpt_ls.lsp.app import FEATURES, create_server
from localgpt_ls.lsp.feature import Feature
from localgpt_ls.lsp.server import LocalGPTServer
from tests.conftest import LGEnv

LSP = Path(__file__).resolve().parents[2] / "localgpt_ls" / "lsp"
NOTE = "# Garden\n\nThe tomatoes need water every morning in July.\n"


def ready_server(lg_env: LGEnv, features: tuple[type[Feature], ...] = FEATURES
                 ) -> tuple[LocalGPTServer, str]:
    """A server as `initialize` leaves it (engine, workspace, client capabilities), in process."""
    server = create_server(features)
    server.engine = Engine(Config(), lg_env.workspace)
    server.workspace_root = server.engine.workspace
    server.protocol.client_capabilities = types.ClientCapabilities()  # type: ignore[attr-defined]
    note = server.workspace_root / "knowledge" / "garden.md"
    note.write_text(NOTE)
    return server, server.path_uri(note)


def code_actions(server: LocalGPTServer, uri: str) -> list[str]:
    handler = server.protocol.fm.features[types.TEXT_DOCUMENT_CODE_ACTION]
    selection = types.Range(types.Position(2, 4), types.Position(2, 30))
    found = handler(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri), range=selection,
        context=types.CodeActionContext(diagnostics=[])))
    return [a.title for a in found or []]


def test_two_servers_offer_the_same_actions_once(lg_env: LGEnv) -> None:
    first, uri = ready_server(lg_env)
    second, _ = ready_server(lg_env)
    titles = code_actions(second, uri)
    assert "Ask LocalGPT about this" in titles and "Remember this (today's log)" in titles
    assert len(titles) == len(set(titles))  # the second server did not add the first's again
    assert code_actions(first, uri) == titles
    assert set(first.protocol.fm.commands) == set(second.protocol.fm.commands)
    # each server has its own feature objects (and so its own caches)
    assert not {id(f) for f in first.features} & {id(f) for f in second.features}


class Broken(Feature):
    code_action_kinds = (types.CodeActionKind.QuickFix,)

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        raise RuntimeError("this feature is broken")

    async def code_lenses(self, uri: str) -> list[types.CodeLens]:
        raise RuntimeError("so are its lenses")


def test_a_failing_feature_does_not_hide_the_others(lg_env: LGEnv,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    server, uri = ready_server(lg_env, (Broken, *FEATURES))
    titles = code_actions(server, uri)
    assert "Summarize with LocalGPT" in titles
    assert "codeAction failed in Broken" in caplog.text


def test_a_method_is_claimed_by_one_feature_only() -> None:
    from pygls.exceptions import FeatureAlreadyRegisteredError

    from localgpt_ls.lsp.hover import Hover

    with pytest.raises(FeatureAlreadyRegisteredError):
        create_server((*FEATURES, Hover))


def _imports(path: Path, typing_too: bool = False) -> set[str]:
    """Modules of lsp/ this one imports when it runs (and those under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) \
                    and not typing_too:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            for field in ("body", "orelse", "finalbody", "handlers"):
                child = getattr(node, field, None)
                if isinstance(child, list):
                    visit([c for c in child if isinstance(c, ast.stmt | ast.ExceptHandler)])

    visit(tree.body)
    return {m.removeprefix("localgpt_ls.lsp.") for m in found if m.startswith("localgpt_ls.lsp.")}


def test_no_import_circle_inside_lsp() -> None:
    graph = {p.stem: _imports(p, typing_too=True) for p in LSP.glob("*.py")
             if p.stem != "__init__"}
    done: set[str] = set()

    def walk(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for dep in graph.get(name, ()):
            walk(dep, (*path, name))
        done.add(name)

    for name in graph:
        walk(name, ())
    # features import the server for typing only
    graph = {p.stem: _imports(p) for p in LSP.glob("*.py") if p.stem != "__init__"}
    for feature in ("completion", "hover", "navigation", "rename", "diagnostics", "codeactions",
                    "heartbeat", "assistant_commands", "assistant_actions", "chatdoc", "inline",
                    "lifecycle"):
        assert "server" not in graph[feature], feature


async def test_the_server_follows_files_itself_under_a_dotted_folder(tmp_path: Path) -> None:
    """A client that cannot watch files (no dynamic registration) in `~/.localgpt/workspace`:
    the server's own watch loop (the daemon's, index_sync.follow) sees a note written on disk,
    in the editor's notes and in memory search."""
    from pytest_lsp import client_capabilities

    from tests.lsp.conftest import NO_EMBED, command, start_session, stop_session

    caps = client_capabilities("neovim")
    if caps.workspace is not None:
        caps.workspace.did_change_watched_files = None
    session = await start_session("neovim", tmp_path / ".localgpt", NO_EMBED, capabilities=caps)
    try:
        assert ".localgpt" in session.workspace.parts
        note = session.workspace / "knowledge" / "kettle.md"
        note.write_text("# Kettle descaling\n\nDescale the kettle with citric acid monthly.\n")
        names: list[str] = []
        found: list[str] = []
        for _ in range(100):
            symbols = await session.client.workspace_symbol_async(
                types.WorkspaceSymbolParams(query="Kettle descaling"))
            names = [s.name for s in symbols or []]
            result = await command(session, "localgpt.memorySearch",
                                   {"query": "descale the kettle with citric acid"})
            found = [r["file"] for r in result["results"]]
            if "Kettle descaling" in names and "knowledge/kettle.md" in found:
                break
            await asyncio.sleep(0.1)
        assert "Kettle descaling" in names
        assert "knowledge/kettle.md" in found
    finally:
        await stop_session(session)
