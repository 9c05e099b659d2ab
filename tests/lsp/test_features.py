"""The language server end to end: completion, hover, navigation, symbols, diagnostics, rename,
and bad input, against the real server process for the Neovim and VS Code presets."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import Session

pytestmark = pytest.mark.asyncio(loop_scope="module")


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def complete(lsp: Session, uri: str, line: int, character: int) -> types.CompletionList:
    result = await lsp.client.text_document_completion_async(types.CompletionParams(
        text_document=doc(uri), position=pos(line, character)))
    assert isinstance(result, types.CompletionList)
    return result


async def test_ready_status_reports_the_notes(lsp: Session) -> None:
    ready = [s for s in lsp.statuses if s.get("state") == "ready"]
    assert ready and "notes" in ready[0]["message"]


async def test_wiki_completion_ranks_fuzzy_matches_first(lsp: Session) -> None:
    text = "Planning: [[proj"
    uri = lsp.open("scratch-wiki.md", text)
    result = await complete(lsp, uri, 0, lsp.col(text, len(text)))
    labels = [i.label for i in result.items]
    assert labels[0] == "project-alpha"
    first = result.items[0]
    assert isinstance(first.text_edit, types.TextEdit)
    assert first.text_edit.new_text == "project-alpha]]"
    # the edit replaces exactly the typed query
    assert first.text_edit.range.start.character == lsp.col(text, text.index("proj"))


async def test_markdown_link_completion_gives_relative_paths(lsp: Session) -> None:
    text = "See [the beta notes]("
    uri = lsp.open("knowledge/scratch-md.md", text)
    result = await complete(lsp, uri, 0, lsp.col(text, len(text)))
    inserted = {i.text_edit.new_text for i in result.items if isinstance(i.text_edit,
                                                                         types.TextEdit)}
    assert "beta.md)" in inserted
    assert "../MEMORY.md)" in inserted


async def test_heading_completion_after_hash_in_links(lsp: Session) -> None:
    text = "Goals: [[project-alpha#"
    uri = lsp.open("scratch-heading.md", text)
    wiki = await complete(lsp, uri, 0, lsp.col(text, len(text)))
    assert [i.label for i in wiki.items] == ["Project Alpha", "Goals", "Risks 😀"]
    md_text = "Goals: [x](knowledge/project-alpha.md#"
    uri2 = lsp.open("scratch-heading-md.md", md_text)
    md = await complete(lsp, uri2, 0, lsp.col(md_text, len(md_text)))
    assert {i.text_edit.new_text for i in md.items if isinstance(i.text_edit, types.TextEdit)
            } >= {"goals)", "risks-)"}


async def test_tag_completion_counts_notes(lsp: Session) -> None:
    text = "Tagged #wo"
    uri = lsp.open("scratch-tag.md", text)
    result = await complete(lsp, uri, 0, lsp.col(text, len(text)))
    assert result.items[0].label == "#work"
    assert result.items[0].detail == "2 notes"


async def test_hover_previews_the_linked_section(lsp: Session) -> None:
    uri = lsp.open("MEMORY.md")
    line = "See [[Project Alpha]] and [[project-alpha#Goals]]."
    hover = await lsp.client.text_document_hover_async(types.HoverParams(
        text_document=doc(uri), position=pos(2, lsp.col(line, line.index("#Goals") + 2))))
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert "Ship the thing by Friday." in hover.contents.value
    assert "Risks" not in hover.contents.value  # only the Goals section


async def test_hover_on_a_tag_lists_the_notes(lsp: Session) -> None:
    uri = lsp.open("knowledge/beta.md")
    text = (lsp.workspace / "knowledge/beta.md").read_text().splitlines()[2]
    hover = await lsp.client.text_document_hover_async(types.HoverParams(
        text_document=doc(uri), position=pos(2, lsp.col(text, text.index("#work") + 1))))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "used in 2 notes" in hover.contents.value
    assert "knowledge/project-alpha.md" in hover.contents.value


async def test_definition_jumps_to_the_heading(lsp: Session) -> None:
    uri = lsp.open("MEMORY.md")
    line = "See [[Project Alpha]] and [[project-alpha#Goals]]."
    result = await lsp.client.text_document_definition_async(types.DefinitionParams(
        text_document=doc(uri), position=pos(2, lsp.col(line, line.index("[[project") + 3))))
    assert isinstance(result, list) and len(result) == 1
    assert result[0].uri == lsp.uri("knowledge/project-alpha.md")
    assert result[0].range.start.line == 4  # "## Goals"


# A target of its own: links to the shared vault notes would change what the reference and
# rename tests below count.
FORMS_TARGET = "# Forms Target\n\nIntro.\n\n## Aims\n\nText.\n\n## Hazards 😀\n\nMore.\n"


@pytest.mark.parametrize(("link", "line"), [
    ("[[FORMS-TARGET|the plan]]", 0),  # stem, any case, with an alias
    ("[[knowledge/forms-target#aims]]", 4),  # workspace path and heading slug
    ("[[Forms Target#Hazards 😀]]", 8),  # title words and a heading with an emoji
    ("[plan](../knowledge/forms-target.md#hazards-)", 8),  # relative path, GitHub-style slug
    ("[plan](<../knowledge/forms-target.md>)", 0),  # angle-bracket destination
    ("[plan](/knowledge/forms-target.md#aims)", 4),  # workspace-absolute path
])
async def test_every_link_form_resolves_to_its_target(lsp: Session, link: str,
                                                     line: int) -> None:
    lsp.open("knowledge/forms-target.md", FORMS_TARGET)
    text = f"Go to {link} now.\n"
    uri = lsp.open(f"notes/forms-{abs(hash(link))}.md", text)
    result = None
    for _ in range(100):  # an opened note joins the link targets once its parse has run
        result = await lsp.client.text_document_definition_async(types.DefinitionParams(
            text_document=doc(uri), position=pos(0, lsp.col(text, text.index(link) + 3))))
        if result:
            break
        await asyncio.sleep(0.05)
    assert result and result[0].uri == lsp.uri("knowledge/forms-target.md"), link
    assert result[0].range.start.line == line, link
    for _ in range(100):  # diagnostics for a fresh document are published, even when empty
        if uri in lsp.client.diagnostics:
            break
        await asyncio.sleep(0.05)
    assert list(lsp.client.diagnostics[uri]) == [], link


async def test_positions_after_emoji_and_cjk_use_the_negotiated_encoding(lsp: Session) -> None:
    uri = lsp.open("notes/emoji.md")
    line = "😀漢 [[Project Alpha]] and #tag-x"
    start = line.index("[[")
    # One character before the link (in the client's units) is not on the link ...
    before = await lsp.client.text_document_definition_async(types.DefinitionParams(
        text_document=doc(uri), position=pos(2, lsp.col(line, start) - 1)))
    assert not before
    # ... the first character of it is.
    on = await lsp.client.text_document_definition_async(types.DefinitionParams(
        text_document=doc(uri), position=pos(2, lsp.col(line, start))))
    assert on and on[0].uri == lsp.uri("knowledge/project-alpha.md")
    links = await lsp.client.text_document_document_link_async(types.DocumentLinkParams(
        text_document=doc(uri)))
    assert links and links[0].range.start.character == lsp.col(line, start)
    assert links[0].range.end.character == lsp.col(line, line.index("]]") + 2)


async def test_references_to_a_heading_include_wiki_and_markdown_links(lsp: Session) -> None:
    uri = lsp.open("knowledge/project-alpha.md")
    refs = await lsp.client.text_document_references_async(types.ReferenceParams(
        text_document=doc(uri), position=pos(4, 4),
        context=types.ReferenceContext(include_declaration=False)))
    assert refs is not None
    assert sorted((r.uri.rsplit("/", 1)[-1], r.range.start.line) for r in refs) == [
        ("MEMORY.md", 2), ("beta.md", 2)]


async def test_backlinks_of_a_note_and_of_a_missing_note(lsp: Session) -> None:
    uri = lsp.open("knowledge/project-alpha.md")
    refs = await lsp.client.text_document_references_async(types.ReferenceParams(
        text_document=doc(uri), position=pos(2, 0),
        context=types.ReferenceContext(include_declaration=False)))
    assert refs is not None
    assert {r.uri.rsplit("/", 1)[-1] for r in refs} == {"MEMORY.md", "beta.md", "emoji.md"}
    beta = lsp.open("knowledge/beta.md")
    line = (lsp.workspace / "knowledge/beta.md").read_text().splitlines()[2]
    missing = await lsp.client.text_document_references_async(types.ReferenceParams(
        text_document=doc(beta), position=pos(2, lsp.col(line, line.index("missing-note"))),
        context=types.ReferenceContext(include_declaration=False)))
    assert missing is not None and len(missing) == 1
    assert missing[0].range.start.character == lsp.col(line, line.index("[[missing-note"))


async def test_document_symbols_nest_headings(lsp: Session) -> None:
    uri = lsp.open("knowledge/project-alpha.md")
    symbols = await lsp.client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc(uri)))
    assert symbols is not None
    if lsp.preset == "neovim" or isinstance(symbols[0], types.DocumentSymbol):
        top = symbols[0]
        assert isinstance(top, types.DocumentSymbol)
        assert top.name == "Project Alpha"
        assert [c.name for c in top.children or []] == ["Goals", "Risks 😀"]
    else:
        assert [s.name for s in symbols] == ["Project Alpha", "Goals", "Risks 😀"]


async def test_workspace_symbols_find_notes_headings_and_tags(lsp: Session) -> None:
    found = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="goal"))
    assert found and found[0].name == "Goals"
    tags = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="#alpha"))
    assert tags and tags[0].name == "#alpha"
    notes = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="beta"))
    assert notes and notes[0].kind == types.SymbolKind.File


async def wait_diagnostics(lsp: Session, uri: str, want: int) -> list[types.Diagnostic]:
    for _ in range(100):
        found = lsp.client.diagnostics.get(uri, [])
        if len(found) >= want:
            return list(found)
        await asyncio.sleep(0.05)
    return list(lsp.client.diagnostics.get(uri, []))


async def test_broken_links_are_diagnosed_with_a_create_note_fix(lsp: Session) -> None:
    uri = lsp.open("knowledge/beta.md")
    diags = await wait_diagnostics(lsp, uri, 2)
    codes = sorted(str(d.code) for d in diags)
    assert codes == ["broken-heading", "broken-link"]
    broken = next(d for d in diags if d.code == "broken-link")
    actions = await lsp.client.text_document_code_action_async(types.CodeActionParams(
        text_document=doc(uri), range=broken.range,
        context=types.CodeActionContext(diagnostics=[broken])))
    assert actions
    fix = actions[0]
    assert isinstance(fix, types.CodeAction)
    assert fix.title == "Create note 'knowledge/missing-note.md'"
    if lsp.preset == "visual-studio-code":
        assert fix.edit is not None and fix.edit.document_changes
        create = fix.edit.document_changes[0]
        assert isinstance(create, types.CreateFile)
        assert create.uri == lsp.uri("knowledge/missing-note.md")
    else:  # Neovim's preset cannot create files through an edit: a command does it
        assert fix.command is not None
        await lsp.client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=fix.command.command, arguments=fix.command.arguments))
        created = lsp.workspace / "knowledge/missing-note.md"
        assert created.read_text(encoding="utf-8").startswith("# missing-note")
        created.unlink()


async def test_heartbeat_problems_are_diagnosed(lsp: Session) -> None:
    uri = lsp.open("HEARTBEAT.md")
    diags = await wait_diagnostics(lsp, uri, 3)
    found = sorted((d.range.start.line, str(d.code)) for d in diags)
    assert found == [(0, "heartbeat-active-hours"), (3, "heartbeat-task"),
                     (4, "heartbeat-task")]
    hours = next(d for d in diags if d.code == "heartbeat-active-hours")
    assert "never runs" in hours.message and "config.toml" in hours.message


async def test_bootstrap_file_over_the_injection_cap_is_flagged(lsp: Session) -> None:
    text = "# Soul\n\n" + ("All work and no play. " * 40 + "\n") * 25
    assert len(text) > 20_000
    uri = lsp.open("SOUL.md", text)
    diags = await wait_diagnostics(lsp, uri, 1)
    assert [d.code for d in diags] == ["injection-cap"]
    assert diags[0].range.start.line > 2  # marks where the cut happens, not the whole file


async def test_fixing_a_link_clears_its_diagnostic(lsp: Session) -> None:
    text = "Broken [[nowhere-yet]]\n"
    uri = lsp.open("scratch-fix.md", text)
    assert len(await wait_diagnostics(lsp, uri, 1)) == 1
    lsp.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=pos(0, 9), end=pos(0, 20)), text="beta")]))
    for _ in range(100):
        if len(lsp.client.diagnostics.get(uri, [None])) == 0:
            break
        await asyncio.sleep(0.05)
    assert len(lsp.client.diagnostics.get(uri, [None])) == 0


async def test_rename_heading_updates_links(lsp: Session) -> None:
    uri = lsp.open("knowledge/project-alpha.md")
    prepared = await lsp.client.text_document_prepare_rename_async(types.PrepareRenameParams(
        text_document=doc(uri), position=pos(4, 5)))
    assert isinstance(prepared, types.PrepareRenamePlaceholder)
    assert prepared.placeholder == "Goals"
    edit = await lsp.client.text_document_rename_async(types.RenameParams(
        text_document=doc(uri), position=pos(4, 5), new_name="Objectives"))
    assert edit is not None
    texts: dict[str, list[str]] = {}
    if edit.document_changes:
        for change in edit.document_changes:
            assert isinstance(change, types.TextDocumentEdit)
            texts[change.text_document.uri.rsplit("/", 1)[-1]] = [
                e.new_text for e in change.edits]
    else:
        assert edit.changes is not None
        texts = {u.rsplit("/", 1)[-1]: [e.new_text for e in es] for u, es in edit.changes.items()}
    assert texts == {"project-alpha.md": ["Objectives"], "MEMORY.md": ["Objectives"],
                     "beta.md": ["objectives"]}


async def test_rename_note_renames_the_file_and_rewrites_links(lsp: Session) -> None:
    uri = lsp.open("MEMORY.md")
    line = "See [[Project Alpha]] and [[project-alpha#Goals]]."
    where = pos(2, lsp.col(line, line.index("project-alpha") + 1))
    params = types.RenameParams(text_document=doc(uri), position=where, new_name="alpha-plan")
    if lsp.preset == "neovim":  # its preset has no documentChanges: no file renames
        with pytest.raises(Exception, match="cannot rename files"):
            await lsp.client.text_document_rename_async(params)
        return
    edit = await lsp.client.text_document_rename_async(params)
    assert edit is not None and edit.document_changes
    renames = [c for c in edit.document_changes if isinstance(c, types.RenameFile)]
    assert [(r.old_uri, r.new_uri) for r in renames] == [
        (lsp.uri("knowledge/project-alpha.md"), lsp.uri("knowledge/alpha-plan.md"))]
    new_texts = sorted(e.new_text for c in edit.document_changes
                       if isinstance(c, types.TextDocumentEdit) for e in c.edits)
    # MEMORY.md x2 (wiki), beta.md (a wiki link and a relative md path), emoji.md (wiki)
    assert new_texts == ["alpha-plan"] * 4 + ["alpha-plan.md"]


async def test_a_notification_the_server_cannot_handle_is_logged_not_shown(
        lsp: Session) -> None:
    """An edit for a document the editor never opened is a client bug the user cannot fix:
    it goes to the LSP log, no error popup, and the server keeps answering."""
    shown, logged = len(lsp.client.messages), len(lsp.client.log_messages)
    lsp.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=lsp.uri("never-opened.md"),
                                                            version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text="# Ghost\n")]))
    for _ in range(100):
        if len(lsp.client.log_messages) > logged:
            break
        await asyncio.sleep(0.02)
    assert any("internal error" in m.message for m in lsp.client.log_messages[logged:])
    assert lsp.client.messages[shown:] == []
    found = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="goal"))
    assert found and found[0].name == "Goals"


async def test_malformed_params_get_an_error_and_the_server_keeps_going(lsp: Session) -> None:
    # A typed client cannot even build such a request: write the JSON-RPC message by hand.
    answer: concurrent.futures.Future[object] = concurrent.futures.Future()
    lsp.client.protocol._request_futures["bad-1"] = answer
    lsp.client.protocol._send_data({
        "jsonrpc": "2.0", "id": "bad-1", "method": "textDocument/hover",
        "params": {"textDocument": {"uri": lsp.uri("MEMORY.md")}, "position": {"line": "x"}}})
    with pytest.raises(Exception, match="invalid params"):
        await asyncio.wait_for(asyncio.wrap_future(answer), 10)
    uri = lsp.open("MEMORY.md")
    # out-of-range positions: empty answers, not errors
    assert await lsp.client.text_document_hover_async(types.HoverParams(
        text_document=doc(uri), position=pos(9999, 0))) is None
    assert await lsp.client.text_document_completion_async(types.CompletionParams(
        text_document=doc(uri), position=pos(9999, 3))) is None
    far = await lsp.client.text_document_definition_async(types.DefinitionParams(
        text_document=doc(uri), position=pos(2, 100_000)))
    assert not far
    # a document the server never saw
    assert await lsp.client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=doc(lsp.uri("no/such/file.md")))) is None
    symbols = await lsp.client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc(uri)))
    assert symbols  # still serving


async def test_indexing_reports_work_done_progress(lsp: Session) -> None:
    titles = [v.title for reports in lsp.client.progress_reports.values() for v in reports
              if isinstance(v, types.WorkDoneProgressBegin)]
    assert "LocalGPT: reading notes" in titles
    ends = [v for reports in lsp.client.progress_reports.values() for v in reports
            if isinstance(v, types.WorkDoneProgressEnd)]
    assert ends


async def test_a_note_created_outside_the_editor_becomes_a_link_target(lsp: Session) -> None:
    path = lsp.workspace / "knowledge" / f"fresh-{lsp.preset}.md"
    path.write_text("# Fresh\n\n## Section One\n", encoding="utf-8")
    if lsp.preset == "visual-studio-code":  # the client watches and tells the server
        assert [r.method for r in lsp.registrations] == [
            types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        lsp.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Created)]))
    # Neovim's preset cannot register watchers dynamically: the server watches the folder.
    text = f"[[fresh-{lsp.preset}#"
    uri = lsp.open(f"scratch-fresh-{lsp.preset}.md", text)
    labels: list[str] = []
    for _ in range(100):
        result = await complete(lsp, uri, 0, lsp.col(text, len(text)))
        labels = [i.label for i in result.items]
        if labels:
            break
        await asyncio.sleep(0.1)
    assert labels == ["Fresh", "Section One"]


async def test_watched_files_outside_the_workspace_or_hidden_are_not_notes(
        lsp: Session, tmp_path: Path) -> None:
    """A client watching more than the workspace (a parent folder, .git) must not turn those
    files into link targets or symbols."""
    outside = tmp_path / f"outsider-{lsp.preset}.md"
    hidden = lsp.workspace / ".trash" / f"hiddennote-{lsp.preset}.md"
    hidden.parent.mkdir(exist_ok=True)
    for path in (outside, hidden):
        path.write_text(f"# Stray {path.stem}\n", encoding="utf-8")
    fresh = lsp.workspace / f"control-{lsp.preset}.md"
    fresh.write_text("# Control heading\n", encoding="utf-8")
    lsp.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=p.as_uri(), type=types.FileChangeType.Created)
        for p in (outside, hidden, fresh)]))
    names: list[str] = []
    for _ in range(100):  # the control note shows when the event has been handled
        found = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(
            query="Control heading"))
        names = [s.name for s in found or []]
        if "Control heading" in names:
            break
        await asyncio.sleep(0.05)
    assert "Control heading" in names
    stray = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="Stray"))
    assert [s.name for s in stray or []] == []


async def test_hover_on_a_plain_word_shows_memory_snippets(lsp: Session) -> None:
    text = "The deadline is Friday for sure."
    uri = lsp.open("scratch-memory.md", text)
    hover = None
    for _ in range(50):  # the memory index fills in the background after start
        hover = await lsp.client.text_document_hover_async(types.HoverParams(
            text_document=doc(uri), position=pos(0, lsp.col(text, text.index("Friday") + 2))))
        if hover is not None:
            break
        await asyncio.sleep(0.2)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "knowledge/project-alpha.md:" in hover.contents.value
    assert "Ship the thing by Friday." in hover.contents.value


async def test_status_notifications_match_their_schema(lsp: Session) -> None:
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "lsp"
                         / "localgpt.status.json").read_text())
    assert lsp.statuses
    for status in lsp.statuses:
        jsonschema.validate(status, schema)


async def test_create_note_command_refuses_paths_outside_the_workspace(lsp: Session) -> None:
    with pytest.raises(Exception, match="outside the workspace"):
        await lsp.client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="localgpt.createNote", arguments=[{"path": "../escape.md"}]))
    assert not (lsp.workspace.parent / "escape.md").exists()


async def test_editor_settings_override_initialization_options(lsp: Session) -> None:
    text = "Many: [["
    uri = lsp.open("scratch-settings.md", text)
    before = await complete(lsp, uri, 0, lsp.col(text, len(text)))
    assert len(before.items) > 2
    # The whole section, as VS Code sends it: the extension's own keys come along.
    section = {"completionLimit": 2, "server": {"command": ["localgpt", "lsp"]},
               "trace": {"server": "off"}}
    lsp.client.set_configuration(section, section="localgpt")
    shown = len(lsp.client.messages)
    try:
        lsp.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"localgpt": section}))
        after = before
        for _ in range(50):
            after = await complete(lsp, uri, 0, lsp.col(text, len(text)))
            if len(after.items) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(after.items) == 2 and after.is_incomplete
        # the editor's own keys are not the server's business: no "unknown option" warning
        assert [m.message for m in lsp.client.messages[shown:]] == []
    finally:
        lsp.client.set_configuration({}, section="localgpt")
        lsp.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"localgpt": {"completionLimit": 50}}))


async def test_a_huge_document_is_served_without_structure(lsp: Session) -> None:
    text = "# Huge\n\n" + ("[[beta]] " * 100 + "\n") * 2500  # ~2.3 MB
    uri = lsp.open("scratch-huge.md", text)
    symbols = await lsp.client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc(uri)))
    assert symbols == []
    # and the server still answers everything else
    found = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="goal"))
    assert found and found[0].name == "Goals"


async def test_saving_a_note_updates_the_memory_index(lsp: Session) -> None:
    rel = f"knowledge/saved-{lsp.preset}.md"
    word = f"zanzibarite{lsp.preset.replace('-', '')}"
    uri = lsp.open(rel, "# Saved\n\nNothing yet.\n")
    text = f"# Saved\n\nThe {word} mineral is green.\n"
    (lsp.workspace / rel).write_text(text, encoding="utf-8")  # what the editor's save does
    lsp.client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=doc(uri)))
    probe = f"What is {word}?"
    other = lsp.open(f"scratch-probe-{lsp.preset}.md", probe)
    hover = None
    for _ in range(60):
        hover = await lsp.client.text_document_hover_async(types.HoverParams(
            text_document=doc(other), position=pos(0, lsp.col(probe, probe.index(word) + 3))))
        if hover is not None:
            break
        await asyncio.sleep(0.1)
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert f"[{rel}:1]" in hover.contents.value  # the note is one chunk
    assert "mineral is green" in hover.contents.value


async def test_sections_fold(lsp: Session) -> None:
    uri = lsp.open("knowledge/project-alpha.md")
    ranges = await lsp.client.text_document_folding_range_async(types.FoldingRangeParams(
        text_document=doc(uri)))
    assert ranges is not None
    assert sorted((r.start_line, r.end_line) for r in ranges) == [(0, 10), (4, 6), (8, 10)]
