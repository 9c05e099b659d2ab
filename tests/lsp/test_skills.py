"""Skills in the editor, end to end (the real server, pytest-lsp, a loopback provider):
SKILL.md diagnostics, skill names completed after `/`, a code action per skill on a selection,
and `localgpt.skill` sending the skill's instructions with the selection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.heartbeat.conftest import check_schema
from tests.llm.fake_server import FakeServer
from tests.llm.wire import reply
from tests.lsp.conftest import (
    PRESETS,
    Session,
    command,
    provider_config,
    start_session,
    stop_session,
)
from tests.lsp.test_features import wait_diagnostics

SKILL = """\
---
name: plain-english
description: Rewrite a passage in plain English for a non-specialist reader.
---

# Plain English

Use short sentences and common words. End with the line PLAIN-DONE.
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PRESETS)
async def lsp(request: pytest.FixtureRequest, fake: FakeServer,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Session]:
    session = await start_session(request.param, tmp_path_factory.mktemp("skills"),
                                  provider_config(fake))
    folder = session.workspace / "skills" / "plain-english"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL, encoding="utf-8")
    yield session
    await stop_session(session)


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


@pytest.mark.asyncio(loop_scope="module")
async def test_skill_front_matter_is_diagnosed(lsp: Session) -> None:
    bad = lsp.open("skills/plain-english-draft/SKILL.md",
                   "---\nname: Plain English\n---\n\n# Draft\n")
    diags = await wait_diagnostics(lsp, bad, 2)
    assert sorted(str(d.code) for d in diags) == ["skill-description", "skill-name"]
    name = next(d for d in diags if d.code == "skill-name")
    assert name.range.start.line == 1 and "lowercase" in name.message
    good = lsp.open("skills/plain-english/SKILL.md")
    for _ in range(100):  # published even when empty
        if good in lsp.client.diagnostics:
            break
        await asyncio.sleep(0.05)
    assert list(lsp.client.diagnostics[good]) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_skill_names_complete_after_a_slash(lsp: Session) -> None:
    uri = lsp.open("notes/scratch.md", "# Scratch\n\n/pla")
    items = await lsp.client.text_document_completion_async(types.CompletionParams(
        text_document=doc(uri), position=types.Position(line=2, character=4)))
    assert items is not None
    entries = items.items if isinstance(items, types.CompletionList) else items
    found = [i for i in entries if i.label == "/plain-english"]
    assert found and found[0].detail == "skills/plain-english/SKILL.md"
    assert isinstance(found[0].text_edit, types.TextEdit)
    assert found[0].text_edit.new_text == "plain-english"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_skill_runs_on_the_selection(lsp: Session, fake: FakeServer) -> None:
    uri = lsp.open("knowledge/project-alpha.md")
    selection = types.Range(start=types.Position(line=2, character=0),
                            end=types.Position(line=2, character=30))
    actions = await lsp.client.text_document_code_action_async(types.CodeActionParams(
        text_document=doc(uri), range=selection, context=types.CodeActionContext(diagnostics=[])))
    ours = [a for a in actions or [] if isinstance(a, types.CodeAction)
            and a.title == "LocalGPT skill: plain-english"]
    assert ours and ours[0].command is not None
    assert ours[0].command.command == "localgpt.skill"
    args = ours[0].command.arguments[0]
    check_schema("localgpt.skill", args, "arguments")
    fake.queue(reply("openai", "The alpha project, in short. PLAIN-DONE"))
    before = len(fake.posts())
    result = await command(lsp, "localgpt.skill", args)
    check_schema("localgpt.skill", result)
    assert result["name"] == "plain-english" and result["response"].endswith("PLAIN-DONE")
    sent = json.dumps(fake.posts()[before].body)
    assert "End with the line PLAIN-DONE" in sent  # the skill's instructions
    assert "Intro about the alpha project" in sent  # the selection


@pytest.mark.asyncio(loop_scope="module")
async def test_listing_and_an_unknown_skill(lsp: Session) -> None:
    listed = await command(lsp, "localgpt.skills")
    check_schema("localgpt.skills", listed)
    assert [s["name"] for s in listed["skills"]] == ["plain-english"]
    with pytest.raises(JsonRpcException) as info:
        await command(lsp, "localgpt.skill", {"name": "no-such-skill"})
    assert "no skill named 'no-such-skill'" in str(info.value)
