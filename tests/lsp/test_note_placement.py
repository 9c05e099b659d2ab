"""Where Create note puts a note a broken link asks for, which file events the watch loop keeps,
and the status words: in-process checks of the rules (the editor tests show them end to end)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from localgpt_ls.index_sync import wanted
from localgpt_ls.lsp.codeactions import new_note_rel
from localgpt_ls.lsp.lifecycle import _describe
from localgpt_ls.memory.index import ReindexReport
from localgpt_ls.workspace import init_workspace, is_untouched_template


def fake_server(workspace: Path, rels: list[str]) -> Any:
    for rel in rels:
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(f"# {Path(rel).stem}\n")
    notes = {f"file://{workspace / rel}": SimpleNamespace(rel=rel) for rel in rels}
    return SimpleNamespace(
        workspace_root=workspace, index=SimpleNamespace(notes=notes),
        uri_path=lambda uri: Path(uri.removeprefix("file://")),
        rel_of=lambda path: path.relative_to(workspace).as_posix())


@pytest.fixture
def ls(tmp_path: Path) -> Any:
    workspace = tmp_path / ".localgpt" / "workspace"
    workspace.mkdir(parents=True)
    return fake_server(workspace, ["plan.md", "knowledge/gardening.md",
                                   "knowledge/howto/oncall.md", "knowledge/howto/backup.md",
                                   "archive/howto/old.md", "memory/2026-11-30.md"])


@pytest.mark.parametrize(("source", "target", "kind", "expected"), [
    ("plan.md", "balcony-shade", "wiki", "knowledge/balcony-shade.md"),  # a bare name
    ("knowledge/howto/oncall.md", "pager", "wiki", "knowledge/howto/pager.md"),  # siblings
    ("plan.md", "howto/incident-template", "wiki", "knowledge/howto/incident-template.md"),
    ("plan.md", "recipes/soup", "wiki", "knowledge/recipes/soup.md"),  # a folder nobody has
    ("plan.md", "memory/2026-12-01", "wiki", "memory/2026-12-01.md"),  # a top-level folder
    ("knowledge/gardening.md", "tools.md", "md", "knowledge/tools.md"),  # a path says where
    ("knowledge/gardening.md", "/top.md", "md", "top.md"),
    ("plan.md", "../escape", "wiki", None),
])
def test_a_new_note_goes_where_its_siblings_are(ls: Any, source: str, target: str, kind: str,
                                                expected: str | None) -> None:
    uri = f"file://{ls.workspace_root / source}"
    assert new_note_rel(ls, uri, target, kind) == expected


def test_hidden_folders_count_only_inside_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / ".localgpt" / "workspace"
    root.mkdir(parents=True)
    assert wanted(root, root / "knowledge" / "note.md")
    assert not wanted(root, root / ".git" / "x.md")
    assert not wanted(root, root / "knowledge" / ".draft.md")
    assert not wanted(root, tmp_path / "elsewhere.md")  # not inside: not ours


def test_the_index_report_reads_as_words() -> None:
    assert _describe(ReindexReport(files_seen=10, files_indexed=10)) == "10 notes, 10 updated"
    assert _describe(ReindexReport(files_seen=1)) == "1 note, all up to date"
    text = _describe(ReindexReport(files_seen=12, files_indexed=2, files_skipped=1,
                                   rebuilt="the model changed", interrupted=True))
    assert text == ("12 notes, 2 updated, 1 skipped, rebuilt (the model changed), "
                    "stopped early; the rest follows next time")


def test_an_edited_template_is_no_longer_untouched(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    assert is_untouched_template(tmp_path, "SOUL.md")
    skills = [p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("skills/*/SKILL.md")]
    assert skills and all(is_untouched_template(tmp_path, rel) for rel in skills)
    (tmp_path / "SOUL.md").write_text((tmp_path / "SOUL.md").read_text() + "\nBe terse.\n")
    assert not is_untouched_template(tmp_path, "SOUL.md")
    assert not is_untouched_template(tmp_path, "knowledge/x.md")
