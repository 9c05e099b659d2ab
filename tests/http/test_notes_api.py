"""The routes the web UI reads notes and the graph through, a reindex that reports progress,
session titles, and the model in words' source: every answer checked against the spec."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from localgpt_ls.engine import Engine
from tests.http.conftest import AUTH, validate


@pytest.fixture
def linked(engine: Engine) -> Engine:
    ws = engine.workspace
    (ws / "knowledge" / "coffee.md").write_text(
        "# Coffee\n\nSee [[espresso#Grinder]] and [the garden](garden.md).\n\n"
        "Also [[Missing Note]].\n", encoding="utf-8")
    (ws / "knowledge" / "trap.md").write_text(
        "# Trap\n\n<script>window.__pwned = 1</script>\n", encoding="utf-8")
    (ws / "knowledge" / "blob.md").write_bytes(b"\x00\x01binary")
    return engine


async def test_a_note_with_its_links_and_backlinks(client: httpx.AsyncClient,
                                                   linked: Engine) -> None:
    response = await client.get("/api/note", params={"path": "knowledge/coffee.md"},
                                headers=AUTH)
    note = validate(response, "/api/note", "get")
    assert note["title"] == "Coffee" and note["file"] == "knowledge/coffee.md"
    assert note["text"].startswith("# Coffee\n")
    assert [(b["line_start"], b["line_end"]) for b in note["blocks"]] == [(1, 1), (3, 3), (5, 5)]
    links = {lk["raw"]: lk for lk in note["links"]}
    assert links["[[espresso#Grinder]]"]["resolved"] == "knowledge/espresso.md"
    assert links["[[espresso#Grinder]]"]["heading_line"] == 5
    assert links["[the garden](garden.md)"]["resolved"] == "knowledge/garden.md"
    assert links["[[Missing Note]]"]["resolved"] is None
    back = await client.get("/api/note", params={"path": "knowledge/espresso.md"},
                            headers=AUTH)
    assert validate(back, "/api/note", "get")["backlinks"] == [
        {"file": "knowledge/coffee.md", "title": "Coffee", "line": 3,
         "raw": "[[espresso#Grinder]]"}]


async def test_a_note_keeps_its_html_as_text(client: httpx.AsyncClient, linked: Engine) -> None:
    """The API hands the note's text as it is; the page renders it through DOMPurify (the
    browser test shows the script inert)."""
    response = await client.get("/api/note", params={"path": "knowledge/trap.md"},
                                headers=AUTH)
    assert "<script>" in validate(response, "/api/note", "get")["text"]
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("path", "status", "words"), [
    ("", 400, "'path' is required"),
    ("../outside.md", 400, "outside the workspace"),
    ("/etc/passwd.md", 400, "absolute"),
    ("knowledge/espresso.txt", 400, "not a markdown note"),
    ("knowledge/nothing.md", 404, "no note"),
    ("knowledge/blob.md", 422, "binary"),
    ("knowledge/" + "x" * 300 + ".md", 404, "no note"),  # longer than a file name may be
])
async def test_note_refusals_say_why(client: httpx.AsyncClient, linked: Engine, path: str,
                                     status: int, words: str) -> None:
    response = await client.get("/api/note", params={"path": path}, headers=AUTH)
    assert response.status_code == status
    assert words in validate(response, "/api/note", "get")["error"]


async def test_the_graph_whole_and_around_a_note(client: httpx.AsyncClient,
                                                 linked: Engine) -> None:
    whole = validate(await client.get("/api/graph", headers=AUTH), "/api/graph", "get")
    notes = {n["id"] for n in whole["nodes"] if not n["missing"]}
    on_disk = {p.relative_to(linked.workspace).as_posix()
               for p in linked.workspace.rglob("*.md")}
    assert notes == on_disk and whole["total_notes"] == len(on_disk)
    assert {"source": "knowledge/coffee.md", "target": "?missing note", "broken": True} in \
        whole["links"]
    hood = validate(await client.get("/api/graph", params={"center": "knowledge/garden.md",
                                                           "depth": 1}, headers=AUTH),
                    "/api/graph", "get")
    assert {n["id"] for n in hood["nodes"]} == {"knowledge/garden.md", "knowledge/coffee.md"}
    for params, status in (({"center": "nope.md"}, 404), ({"depth": "9"}, 400),
                           ({"limit": "x"}, 400)):
        response = await client.get("/api/graph", params=params, headers=AUTH)
        assert response.status_code == status
        validate(response, "/api/graph", "get")


async def test_graph_sees_a_new_note(client: httpx.AsyncClient, linked: Engine,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from localgpt_ls.http import notes_api
    monkeypatch.setattr(notes_api, "REFRESH_SECONDS", 0.0)
    await client.get("/api/graph", headers=AUTH)
    (linked.workspace / "Missing Note.md").write_text("# Missing Note\n", encoding="utf-8")
    # Answers never wait for the disk: the refresh runs behind them, the change shows soon.
    for _ in range(100):
        whole = (await client.get("/api/graph", headers=AUTH)).json()
        if "?missing note" not in {n["id"] for n in whole["nodes"]}:
            break
        await asyncio.sleep(0.05)
    assert "?missing note" not in {n["id"] for n in whole["nodes"]}
    assert {"source": "knowledge/coffee.md", "target": "Missing Note.md", "broken": False} in \
        whole["links"]


async def test_background_reindex_reports_progress(client: httpx.AsyncClient,
                                                   linked: Engine) -> None:
    started = await client.post("/api/memory/reindex", json={"background": True}, headers=AUTH)
    assert started.status_code == 202
    first = validate(started, "/api/memory/reindex", "post")
    assert first["accepted"] is True
    seen = []
    for _ in range(200):
        response = await client.get("/api/memory/reindex/progress", headers=AUTH)
        progress = validate(response, "/api/memory/reindex/progress", "get")
        seen.append(progress["phase"])
        if not progress["running"]:
            break
        await asyncio.sleep(0.05)
    assert progress["running"] is False and progress["error"] is None
    assert progress["report"]["files_seen"] >= 4
    assert progress["phase"] in ("index", "embed")
    bad = await client.post("/api/memory/reindex", json={"background": "yes"}, headers=AUTH)
    assert bad.status_code == 400


async def test_sessions_can_be_renamed(client: httpx.AsyncClient, engine: Engine) -> None:
    await client.post("/api/chat", json={"message": "grinder?", "session_id": "s-1"},
                      headers=AUTH)
    response = await client.patch("/api/sessions/s-1", json={"title": "  Coffee\nquestions "},
                                  headers=AUTH)
    assert validate(response, "/api/sessions/{session_id}", "patch") == {
        "id": "s-1", "title": "Coffee questions"}
    listed = validate(await client.get("/api/sessions", headers=AUTH), "/api/sessions", "get")
    assert listed["sessions"][0]["title"] == "Coffee questions"
    assert listed["sessions"][0]["preview"] == "grinder?"
    session = (await client.get("/api/sessions/s-1", headers=AUTH)).json()
    assert session["header"]["title"] == "Coffee questions"
    assert session["messages"][0]["content"] == "grinder?"  # nothing lost
    for body, status in (({"title": 3}, 400), ({"name": "x"}, 400)):
        response = await client.patch("/api/sessions/s-1", json=body, headers=AUTH)
        assert response.status_code == status
    missing = await client.patch("/api/sessions/nope", json={"title": "x"}, headers=AUTH)
    assert missing.status_code == 404


async def test_status_names_the_model_or_memory_only(client: httpx.AsyncClient,
                                                     engine: Engine) -> None:
    status = validate(await client.get("/api/status", headers=AUTH), "/api/status", "get")
    assert status["model"] == {"configured": "auto", "name": "memory-only",
                               "memory_only": True, "error": None}
