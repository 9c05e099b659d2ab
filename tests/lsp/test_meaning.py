"""Memory-backed completion with the real local embedder: with an empty query after `[[`, the
notes nearest in meaning to the paragraph being written come first."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.lsp.conftest import Session, start_session, stop_session

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOCAL = '[memory]\nembedding_provider = "local"\n'


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lsp_local(tmp_path_factory: pytest.TempPathFactory):
    session = await start_session("visual-studio-code", tmp_path_factory.mktemp("lsp-local"),
                                  LOCAL)
    yield session
    await stop_session(session)


async def wait_memory_ready(lsp: Session, timeout: float = 60) -> None:
    for _ in range(int(timeout * 10)):
        if any(str(s.get("message", "")).startswith("memory indexed") for s in lsp.statuses):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"memory never indexed: {lsp.statuses}")


async def test_empty_wiki_query_ranks_notes_by_the_paragraphs_meaning(lsp_local: Session
                                                                      ) -> None:
    await wait_memory_ready(lsp_local)
    text = ("Before Friday we must ship the thing; the goals are set and the risks are known.\n"
            "Related: [[")
    uri = lsp_local.open("scratch-meaning.md", text)
    # The popup that opens on `[[` is the one the user sees when they stop typing: it must
    # already be ranked (editors ask again only on the next keystroke).
    result = await lsp_local.client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=1, character=len("Related: [["))))
    assert isinstance(result, types.CompletionList)
    # Alphabetically project-alpha would come after AGENTS, HEARTBEAT, MEMORY, beta ...
    assert result.items and result.items[0].label == "project-alpha"
