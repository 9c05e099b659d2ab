"""A broken config.toml must not stop the editor features: the user is told what is wrong and
the server carries on with defaults."""

from __future__ import annotations

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.lsp.conftest import Session, start_session, stop_session

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lsp_bad(tmp_path_factory: pytest.TempPathFactory):
    session = await start_session("neovim", tmp_path_factory.mktemp("lsp-bad"),
                                  '[memory]\nembeding_provider = "none"\n',
                                  {"memory": {"indexOnStartup": False}, "bogusOption": 1})
    yield session
    await stop_session(session)


async def test_config_and_option_problems_are_shown_and_features_still_work(
        lsp_bad: Session) -> None:
    messages = [m.message for m in lsp_bad.client.messages]
    assert any("embeding_provider" in m and "did you mean 'embedding_provider'" in m
               for m in messages), messages
    assert any("bogusOption" in m for m in messages), messages
    text = "See [[proj"
    uri = lsp_bad.open("scratch.md", text)
    result = await lsp_bad.client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=0, character=len(text))))
    assert isinstance(result, types.CompletionList)
    assert result.items[0].label == "project-alpha"
