"""Each rule has one home, so the doors agree: the same folder gives the same notes to search and
the editor, a task the parser sees is one the heartbeat can tick, active hours the schedule
accepts are not flagged in the editor, every writer of the daily log writes the same file the
same way, and the watch loop (daemon and editor) follows a workspace under a dotted folder."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from localgpt_ls import daily_log, markdown
from localgpt_ls.agent.sessions import SessionStore
from localgpt_ls.agent.tools import ToolContext, heartbeat_done, memory_append
from localgpt_ls.config import ActiveHours, Config
from localgpt_ls.errors import ConfigError
from localgpt_ls.heartbeat import schedule
from localgpt_ls.index_sync import apply_changes, follow
from localgpt_ls.lsp import notes as lsp_notes
from localgpt_ls.memory import MemoryIndex
from localgpt_ls.memory.scan import scan as memory_scan
from localgpt_ls.notefiles import is_note, walk
from localgpt_ls.workspace import init_workspace
from tests.conftest import LGEnv


def tricky_folder(ws: Path, elsewhere: Path) -> set[str]:
    """A workspace holding every kind of file the note rule decides about; returns the
    workspace-relative notes it should contain."""
    (ws / "knowledge").mkdir(parents=True)
    elsewhere.mkdir()
    (ws / "knowledge" / "garden.md").write_text("# Garden\n\nTomatoes need sun.\n")
    (ws / "knowledge" / "Recipes.MD").write_text("# Recipes\n\nSoup.\n")
    for folder in (".obsidian", "__pycache__", "node_modules/pkg", ".git"):
        (ws / folder).mkdir(parents=True)
        (ws / folder / "p.md").write_text("# Not a note\n")
    (ws / ".draft.md").write_text("# Hidden file\n")
    (ws / "linked").symlink_to(ws / "knowledge", target_is_directory=True)  # a second copy
    (ws / "alias.md").symlink_to(ws / "knowledge" / "garden.md")  # a file link inside: kept
    (elsewhere / "secret.md").write_text("# Secret\n")
    (ws / "out.md").symlink_to(elsewhere / "secret.md")
    (ws / "loop-a.md").symlink_to("loop-b.md")
    (ws / "loop-b.md").symlink_to("loop-a.md")
    (ws / "notes.txt").write_text("not markdown\n")
    return {"knowledge/garden.md", "knowledge/Recipes.MD", "alias.md"}


def test_search_and_the_editor_see_the_same_notes(lg_env: LGEnv, tmp_path: Path) -> None:
    ws = lg_env.workspace
    expected = tricky_folder(ws, tmp_path / "elsewhere")
    ws = ws.resolve()

    editor, _parsed = lsp_notes.scan(ws, None, None)  # what the language server's scan loads
    config = Config()
    config.memory.embedding_provider = "none"  # type: ignore[assignment]
    index = MemoryIndex(ws, config)
    try:
        index.reindex()
        searched = {r["file"] for r in index.recent(100)}
        # and the one search answers from: the garden note, once, under its real name
        hits = [r.file for r in index.search("tomatoes need sun", limit=10).results]
    finally:
        index.close()
    assert {n.rel for n in editor} == expected
    assert searched == expected
    assert "linked/garden.md" not in hits and "knowledge/garden.md" in hits
    # The scan of memory reports the loops (to say why they are not searchable), nothing else.
    scanned = {f.key: f.skip for f in memory_scan(ws)}
    assert {k for k, skip in scanned.items() if skip is None} == expected
    assert {k for k, skip in scanned.items() if skip} == {"loop-a.md", "loop-b.md"}
    # One file at a time (a watcher event, a save) gets the same answer as the walk.
    every = [p for p in ws.rglob("*") if p.name.lower().endswith(".md")]
    every += [ws / "linked" / "garden.md", ws / "gone.md", ws / "knowledge" / "gone.md"]
    answers = {p.relative_to(ws).as_posix() for p in every if is_note(ws, p)}
    assert answers == expected | {"gone.md", "knowledge/gone.md"}  # deleted files by name


def test_a_note_over_the_cap_or_binary_is_listed_for_links_but_not_searched(
        lg_env: LGEnv) -> None:
    ws = lg_env.workspace
    (ws / "knowledge").mkdir(parents=True)
    (ws / "knowledge" / "photo.md").write_bytes(b"# Photo\n\x00\x01\xffbinary")
    with (ws / "knowledge" / "dump.md").open("wb") as fh:
        fh.write(b"# Dump\n" + b"x" * (5 * 1024 * 1024 + 10))
    editor, _ = lsp_notes.scan(ws.resolve(), None, None)
    listed = {n.rel: n for n in editor}
    assert set(listed) == {"knowledge/photo.md", "knowledge/dump.md"}
    assert all(not n.headings for n in listed.values())  # not read: no structure
    assert [f.path.name for f in walk(ws)] == ["dump.md", "photo.md"]


async def test_a_numbered_task_is_parsed_checked_and_tickable(lg_env: LGEnv) -> None:
    from localgpt_ls.lsp.diagnostics import heartbeat_diagnostics
    from localgpt_ls.lsp.server import LocalGPTServer

    ws = lg_env.workspace
    init_workspace(ws)
    text = "# Heartbeat\n\n1. [ ] call the plumber\n2) [x] water the garden\n- [ ]\n"
    (ws / "HEARTBEAT.md").write_text(text)
    doc = markdown.parse(text)
    assert [(t.line, t.checked, t.text) for t in doc.tasks] == [
        (3, False, "call the plumber"), (4, True, "water the garden"), (5, False, "")]
    flagged = heartbeat_diagnostics(LocalGPTServer(), markdown.split_lines(text))
    assert [(d.range.start.line, d.message.split(":")[0]) for d in flagged] == [(4, "Empty task")]

    said = await heartbeat_done({"task": "plumber"}, ToolContext(ws))
    assert said == "ticked HEARTBEAT.md:3: 1. [x] call the plumber"
    assert (ws / "HEARTBEAT.md").read_text() == text.replace("1. [ ]", "1. [x]")
    assert not markdown.is_empty_item("1. [x] call the plumber")
    assert markdown.is_empty_item("- [ ]") and markdown.is_empty_item("3.")


@pytest.mark.parametrize("start,tz", [("8:00", "Local"), ("08:00", "local"),
                                      ("8:00", "Europe/Berlin")])
def test_hours_the_schedule_runs_are_not_flagged_in_the_editor(start: str, tz: str,
                                                               lg_env: LGEnv) -> None:
    hours = ActiveHours(start, "22:00", tz)
    window = schedule.Window.from_config(hours)
    assert window is not None and window.start == 8 * 60
    assert schedule.active_hours_problem(hours) is None
    assert editor_hours_warnings(hours, lg_env) == []


def editor_hours_warnings(hours: ActiveHours, lg_env: LGEnv) -> list[str]:
    """What the editor says about these hours on HEARTBEAT.md (the diagnostics, in process)."""
    from localgpt_ls.engine import Engine
    from localgpt_ls.lsp.diagnostics import active_hours_diagnostics
    from localgpt_ls.lsp.server import LocalGPTServer

    config = Config()
    config.heartbeat.active_hours = hours
    ls = LocalGPTServer()
    ls.engine = Engine(config=config, workspace=lg_env.workspace)
    return [d.message for d in active_hours_diagnostics(ls, ["# Heartbeat"])]


@pytest.mark.parametrize("hours,words", [
    (ActiveHours("8am", "22:00", "UTC"), "cannot read '8am'"),
    (ActiveHours("08:00", "22:00", "Moon/Base"), "unknown zone 'Moon/Base'"),
    (ActiveHours("09:00", "09:00", "UTC"), "window is empty"),
])
def test_hours_that_never_run_say_why_the_same_way(hours: ActiveHours, words: str,
                                                   lg_env: LGEnv) -> None:
    problem = schedule.active_hours_problem(hours)
    assert problem is not None and words in problem and "never runs" in problem
    [warning] = editor_hours_warnings(hours, lg_env)
    assert warning.startswith(problem)
    if "empty" not in words:
        with pytest.raises(ConfigError, match=words.split("'")[0]):
            schedule.Window.from_config(hours)


async def test_every_writer_of_the_daily_log_writes_one_file_one_way(lg_env: LGEnv) -> None:
    ws = lg_env.workspace
    init_workspace(ws)
    now = datetime(2026, 6, 15, 9, 5, tzinfo=timezone(timedelta(hours=2)))
    ctx = ToolContext(ws, now=lambda: now)
    await memory_append({"text": "Met Ana about the garden.", "target": "daily"}, ctx)
    log = daily_log.path(ws, now.date())
    # the heartbeat's delivery, as the runner does it
    daily_log.append(ws, log, daily_log.heartbeat_entry("The boiler check is due.", now),
                     daily_log.header(now.date()))
    await memory_append({"text": "Soup recipe:\nleeks, potatoes", "target": "daily"}, ctx)
    assert daily_log.create(ws, now.date()) == log  # opening the log never clobbers it
    assert log.read_text() == (
        "# 2026-06-15\n\n- 09:05 Met Ana about the garden.\n\n"
        "## Heartbeat 09:05\n\nThe boiler check is due.\n\n"
        "## 09:05\n\nSoup recipe:\nleeks, potatoes\n")
    assert log.relative_to(ws.resolve()).as_posix() == daily_log.rel_path(date(2026, 6, 15))


def test_appends_from_many_writers_keep_every_entry(lg_env: LGEnv) -> None:
    ws = lg_env.workspace
    init_workspace(ws)
    day = date(2026, 6, 15)
    log = daily_log.path(ws, day)

    def writer(name: str) -> None:
        for i in range(25):
            daily_log.append(ws, log, f"- {name} {i}", daily_log.header(day))

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("editor", "daemon")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = log.read_text().splitlines()
    assert lines[0] == "# 2026-06-15" and lines.count("# 2026-06-15") == 1
    assert sorted(x for x in lines if x.startswith("- ")) == sorted(
        f"- {n} {i}" for n in ("editor", "daemon") for i in range(25))


def test_the_watch_loop_follows_a_workspace_under_a_dotted_folder(tmp_path: Path) -> None:
    """`~/.localgpt/workspace` has a dot: events below it count, hidden folders inside don't."""
    ws = tmp_path / ".localgpt" / "workspace"
    init_workspace(ws)
    (ws / ".git").mkdir()
    config = Config()
    config.memory.embedding_provider = "none"  # type: ignore[assignment]
    index = MemoryIndex(ws.resolve(), config)
    batches: list[list[tuple[Path, bool]]] = []
    stop, ready = threading.Event(), threading.Event()

    def on_batch(changes: list[tuple[Path, bool]]) -> None:
        batches.append(changes)
        apply_changes(index, ws.resolve(), changes)

    thread = threading.Thread(target=follow, args=(ws, stop, on_batch, ready.set, 50))
    thread.start()
    try:
        assert ready.wait(10)
        (ws / ".git" / "HEAD.md").write_text("# not a note\n")
        (ws / "knowledge" / "kettle.md").write_text("# Kettle\n\nDescale the kettle monthly.\n")
        found: list[str] = []
        for _ in range(100):
            found = [r.file for r in index.search("descale the kettle", limit=3).results]
            if found:
                break
            time.sleep(0.1)
        assert found == ["knowledge/kettle.md"]
        (ws / "knowledge" / "kettle.md").unlink()
        for _ in range(100):
            if not index.search("descale the kettle", limit=3).results:
                break
            time.sleep(0.1)
        assert not index.search("descale the kettle", limit=3).results
    finally:
        stop.set()
        thread.join(10)
        index.close()
    seen = {p.name for batch in batches for p, _ in batch}
    assert "kettle.md" in seen and "HEAD.md" not in seen


def test_sessions_are_deleted_by_the_store(lg_env: LGEnv) -> None:
    store = SessionStore()
    session = store.create("openai/gpt-4o-mini", lg_env.workspace)
    assert store.exists(session.id)
    assert store.delete(session.id) is True
    assert not store.exists(session.id) and store.delete(session.id) is False
