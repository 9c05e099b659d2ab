"""The core link graph (what the daemon's note viewer and graph view show): notes and links as
the editor sees them, broken links visible, backlinks, neighbourhoods nearest first, and
refreshes that follow the disk."""

from __future__ import annotations

import os
from pathlib import Path

from localgpt_ls.linkgraph import LinkGraph
from localgpt_ls.lsp import links as lsp_links
from localgpt_ls.lsp import notes as lsp_notes

NOTES = {
    "MEMORY.md": "# Memory\n\nSee [[Project Alpha]] and "
                 "[[knowledge/coffee#Grinder|the grinder]].\n",
    "knowledge/coffee.md": "# Coffee\n\n## Grinder\n\nSet to 12. Back to [memory](../MEMORY.md).\n"
                           "Also [[tea]] and [[Nowhere Yet]].\n",
    "knowledge/tea.md": "# Tea\n\nGreen, 80 °C. [[coffee]]\n",
    "projects/project-alpha.md": "# Project Alpha\n\nUses [[tea]]; `[[not a link]]`.\n",
    "projects/tea.md": "# Tea (project)\n\nThe project's own tea notes. [[coffee]]\n",
    "projects/notes/deep.md": "# Deep\n\n[[tea]] [x](/knowledge/coffee.md#grinder)\n",
}


def make(root: Path) -> Path:
    for rel, text in NOTES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / ".obsidian").mkdir()
    (root / ".obsidian" / "hidden.md").write_text("# Hidden\n[[tea]]\n", encoding="utf-8")
    return root


def targets(graph: LinkGraph, key: str) -> list[str | None]:
    return [e.target for e in graph.outgoing(key)]


def test_links_resolve_as_a_user_expects(tmp_path: Path) -> None:
    graph = LinkGraph(make(tmp_path / "my notes"))
    graph.refresh()
    assert sorted(graph.notes) == sorted(NOTES)  # hidden folders are not notes
    # by slug ("Project Alpha" -> project-alpha.md), by path with a heading, broken
    assert targets(graph, "MEMORY.md") == ["projects/project-alpha.md", "knowledge/coffee.md"]
    # relative md link, the nearest of two tea.md, a link to nothing
    assert targets(graph, "knowledge/coffee.md") == ["MEMORY.md", "knowledge/tea.md", None]
    assert targets(graph, "projects/project-alpha.md") == ["projects/tea.md"]  # code is no link
    assert targets(graph, "projects/notes/deep.md") == ["projects/tea.md", "knowledge/coffee.md"]
    back = [(e.source, e.link.line) for e in graph.incoming("knowledge/coffee.md")]
    assert back == [("MEMORY.md", 3), ("knowledge/tea.md", 3), ("projects/notes/deep.md", 3),
                    ("projects/tea.md", 3)]


def test_the_graph_agrees_with_the_editor(tmp_path: Path) -> None:
    """The language server's resolver and the core graph give every link the same target."""
    root = make(tmp_path / "ws").resolve()
    graph = LinkGraph(root)
    graph.refresh()
    found, _ = lsp_notes.scan(root, None, None)
    index = lsp_notes.NoteIndex(root)
    index.replace_all(found)
    checked = 0
    for note in index.notes.values():
        for link in note.links:
            if not link.target:
                continue
            editor = lsp_links.resolve_note(index, link, note)
            ours = graph.resolve(link, note.rel)
            assert ours == (editor.rel if editor else None), (note.rel, link.raw)
            checked += 1
    assert checked == 10


def test_broken_links_are_nodes_and_neighbourhoods_come_nearest_first(tmp_path: Path) -> None:
    graph = LinkGraph(make(tmp_path / "ws"))
    graph.refresh()
    whole = graph.to_dict()
    ids = {n["id"] for n in whole["nodes"]}
    assert set(NOTES) <= ids and "?nowhere yet" in ids
    missing = next(n for n in whole["nodes"] if n["id"] == "?nowhere yet")
    assert missing["missing"] is True
    assert {"source": "knowledge/coffee.md", "target": "?nowhere yet", "broken": True} in \
        whole["links"]
    assert whole["total_notes"] == len(NOTES) and not whole["truncated"]

    hood = graph.to_dict("knowledge/tea.md", depth=1)
    assert {n["id"]: n["distance"] for n in hood["nodes"]} == {
        "knowledge/tea.md": 0, "knowledge/coffee.md": 1}
    two = graph.to_dict("knowledge/tea.md", depth=2)
    assert {n["id"] for n in two["nodes"] if n["distance"] == 2} == {
        "MEMORY.md", "projects/notes/deep.md", "projects/tea.md", "?nowhere yet"}
    capped = graph.to_dict("knowledge/tea.md", depth=2, limit=3)
    assert len(capped["nodes"]) == 3 and capped["truncated"]
    # every link drawn joins two drawn nodes
    for view in (whole, hood, two, capped):
        drawn = {n["id"] for n in view["nodes"]}
        assert all(lk["source"] in drawn and lk["target"] in drawn for lk in view["links"])


def test_refresh_follows_the_disk(tmp_path: Path) -> None:
    root = make(tmp_path / "ws")
    graph = LinkGraph(root)
    assert graph.refresh() is True
    assert graph.refresh() is False  # nothing changed: nothing re-read
    (root / "Nowhere Yet.md").write_text("# Nowhere Yet\n", encoding="utf-8")
    (root / "projects" / "tea.md").unlink()
    assert graph.refresh() is True
    assert targets(graph, "knowledge/coffee.md")[2] == "Nowhere Yet.md"
    assert targets(graph, "projects/project-alpha.md") == ["knowledge/tea.md"]
    coffee = root / "knowledge" / "coffee.md"
    coffee.write_text("# Coffee\n\nNo links any more.\n", encoding="utf-8")
    os.utime(coffee, (1, 1))
    graph.refresh()
    assert targets(graph, "knowledge/coffee.md") == []
    assert [e.source for e in graph.incoming("knowledge/tea.md")] == [
        "projects/notes/deep.md", "projects/project-alpha.md"]
