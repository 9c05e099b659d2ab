"""Creating a note is exclusive (issue 18): `localgpt.createNote`, today's daily log, a new
chat and "extract to note" used to check that a name was free and then write it by name, so
two editors could both "create" one note (the second one's text replaced the first's) and a
folder swapped for a link in between was followed outside the workspace."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from localgpt_ls import daily_log
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.workspace import create_workspace_file, safe_path
from tests.fuzz.file_corpus import _snapshot, _Swapper, layout
from tests.fuzz.lsp_client import LspProcess
from tests.fuzz.lsp_fuzz import make_vault


def test_two_creators_of_one_note_one_wins_and_nothing_is_overwritten(tmp_path: Path) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    rounds = 300
    wins: list[list[str]] = [[] for _ in range(rounds)]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def creator(who: str) -> None:
        try:
            for i in range(rounds):
                path = safe_path(ws, f"knowledge/race-{i}.md")
                start.wait()
                if create_workspace_file(ws, path, f"# Race {i}\n\nwritten by {who}\n" * 50):
                    wins[i].append(who)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
            start.abort()

    threads = [threading.Thread(target=creator, args=(w,)) for w in ("editor A", "editor B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert [i for i, w in enumerate(wins) if len(w) != 1] == []
    for i, (winner,) in enumerate(wins):
        # The note holds the winner's text whole: never the loser's, never a mix or a part.
        text = (ws / "knowledge" / f"race-{i}.md").read_text(encoding="utf-8")
        assert text == f"# Race {i}\n\nwritten by {winner}\n" * 50
    assert sorted(p.name for p in (ws / "knowledge").iterdir()) == sorted(
        f"race-{i}.md" for i in range(rounds))  # no temporary file left behind


def test_an_existing_note_and_todays_log_are_never_touched(tmp_path: Path) -> None:
    ws = tmp_path / "workspace"
    (ws / "memory").mkdir(parents=True)
    today = date(2026, 12, 1)
    log = ws / daily_log.rel_path(today)
    log.write_text("# 2026-12-01\n\n- 09:00 what the user wrote\n", encoding="utf-8")
    assert daily_log.create(ws, today) == safe_path(ws, daily_log.rel_path(today))
    assert log.read_text(encoding="utf-8") == "# 2026-12-01\n\n- 09:00 what the user wrote\n"
    assert not create_workspace_file(ws, safe_path(ws, "memory/2026-12-01.md"), "# other\n")
    assert log.read_text(encoding="utf-8").endswith("what the user wrote\n")
    new = daily_log.create(ws, date(2026, 12, 2))
    assert new.read_text(encoding="utf-8") == daily_log.header(date(2026, 12, 2))


def test_creating_while_a_folder_is_swapped_for_a_link_never_writes_outside(
        tmp_path: Path) -> None:
    ws, outside = layout(tmp_path)
    before = _snapshot(outside)
    swapper = _Swapper(ws, outside)
    thread = threading.Thread(target=swapper.run, daemon=True)
    thread.start()
    made = refused = 0
    try:
        for i in range(1500):
            try:
                path = safe_path(ws, f"sub/created-{i}.md")
                made += create_workspace_file(ws, path, f"# Created {i}\n")
            except LocalGPTError:  # the path was a link just then: a clean refusal
                refused += 1
    finally:
        swapper.stop.set()
        thread.join(10)
    assert swapper.swaps > 50 and made > 0
    assert _snapshot(outside) == before  # nothing created or changed outside


def test_two_language_servers_creating_one_note(tmp_path: Path) -> None:
    """Two editors on one workspace both run Create note for `[[plans]]` at once: one
    creates it, the other is told it exists and shows it; the note holds the winner's text."""
    home, ws = make_vault(tmp_path)
    servers = [LspProcess(home, ws), LspProcess(home, ws)]
    try:
        for proc in servers:
            assert proc.initialize() is not None
        ids = []
        for n, proc in enumerate(servers):
            ids.append(proc.request("workspace/executeCommand", {
                "command": "localgpt.createNote",
                "arguments": [{"path": "knowledge/plans.md", "text": f"# Plans\n\nfrom {n}\n"}]}))
        answers = [proc.wait(i, 30) for proc, i in zip(servers, ids, strict=True)]
        results = [a.message.get("result") if a else None for a in answers]
        assert all(r is not None for r in results), [a and a.message for a in answers]
        created = [n for n, r in enumerate(results) if r["created"]]
        assert len(created) == 1, results
        text = (ws / "knowledge" / "plans.md").read_text(encoding="utf-8")
        assert text == f"# Plans\n\nfrom {created[0]}\n"
    finally:
        for proc in servers:
            proc.close()
