"""The memory index over real notes: what a user searching their memory would notice."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from localgpt_ls.memory import MemoryIndex

# Queries that share no word with the note they must find (checked below), so only meaning works.
SEMANTIC = [
    ("feline pet feeding schedule", "knowledge/cat-care.md"),
    ("yearly fiscal paperwork due date", "knowledge/taxes.md"),
    ("homemade loaf recipe", "knowledge/sourdough.md"),
    ("bugs eating my plants", "knowledge/garden.md"),
    ("jogging preparation ahead of competition", "knowledge/running.md"),
]


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text)}


@pytest.mark.parametrize(("query", "expected"), SEMANTIC)
def test_meaning_finds_note_without_shared_words(notes_ws: Path, make_index, query: str,
                                                 expected: str) -> None:
    assert not _words(query) & _words((notes_ws / expected).read_text()), "query shares a word"
    idx = make_index(notes_ws)
    idx.reindex()
    response = idx.search(query, limit=3)
    assert response.mode == "hybrid"
    assert expected in [h.file for h in response.results]


@pytest.mark.parametrize(("query", "expected"), [
    ("Kestrel", "knowledge/kestrel.md"),
    ("sourdough", "knowledge/sourdough.md"),
    ("Rousseau", "knowledge/taxes.md"),
    ("Garibaldi", "knowledge/cat-care.md"),
])
def test_exact_names_rank_first(notes_ws: Path, make_index, query: str, expected: str) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    assert idx.search(query).results[0].file == expected


def test_result_shape_and_line_ranges(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    data = idx.search("vaccination booster", limit=2).to_dict()
    assert set(data) == {"query", "results", "mode"}
    top = data["results"][0]
    assert set(top) == {"file", "line_start", "line_end", "content", "score"}
    lines = (notes_ws / top["file"]).read_text().split("\n")
    assert top["content"] == "\n".join(lines[top["line_start"] - 1:top["line_end"]])
    assert 0 < top["score"] <= 1


def test_all_embedded_and_second_reindex_embeds_nothing(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    first = idx.reindex()
    stats = idx.stats()
    assert stats["total_files"] == 9
    assert stats["embedded_chunks"] == stats["total_chunks"] > 0
    assert first.chunks_embedded > 0
    again = idx.reindex()
    assert (again.files_indexed, again.chunks_embedded) == (0, 0)
    forced = idx.reindex(force=True)  # re-reads and re-chunks everything: vectors from cache
    assert forced.files_indexed == 9
    assert forced.chunks_embedded == 0
    assert forced.cache_hits == stats["total_chunks"]
    assert idx.stats()["embedded_chunks"] == stats["total_chunks"]


def test_add_modify_delete_are_reflected(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    assert not idx.search("zeppelin").results
    (notes_ws / "knowledge" / "airships.md").write_text("# Airships\n\nThe zeppelin hangar.\n")
    garden = notes_ws / "knowledge" / "garden.md"
    garden.write_text("# Balcony garden\n\nNow growing pumpkins only.\n")
    (notes_ws / "knowledge" / "running.md").unlink()
    report = idx.reindex()
    assert (report.files_indexed, report.files_removed) == (2, 1)
    assert idx.search("zeppelin").results[0].file == "knowledge/airships.md"
    assert idx.search("pumpkins").results[0].file == "knowledge/garden.md"
    assert not [h for h in idx.search("aphids roses").results if "Aphids" in h.content]
    assert all(h.file != "knowledge/running.md" for h in idx.search("marathon", limit=20).results)
    assert idx.stats()["total_files"] == 9


def test_touched_but_unchanged_file_is_not_reindexed(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    p = notes_ws / "MEMORY.md"
    os.utime(p, (time.time() + 10, time.time() + 10))
    report = idx.reindex()
    assert (report.files_indexed, report.files_unchanged) == (0, 9)


def test_bad_files_do_not_stop_indexing(notes_ws: Path, make_index, tmp_path: Path) -> None:
    k = notes_ws / "knowledge"
    (k / "latin1.md").write_bytes("# Café\n\nrésumé of the ørbit plan\n".encode("latin-1"))
    (k / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    with (k / "huge.md").open("wb") as fh:
        fh.write(b"# Huge\n" + b"x" * (5 * 1024 * 1024 + 10))
    for hidden in (".obsidian", "node_modules", ".git"):
        (notes_ws / hidden).mkdir()
        (notes_ws / hidden / "secret.md").write_text("# zebrafish hidden\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "out.md").write_text("# zebrafish outside\n")
    (k / "link-out.md").symlink_to(outside / "out.md")
    (k / "link-in.md").symlink_to(k / "garden.md")

    idx = make_index(notes_ws)
    report = idx.reindex()
    text = "\n".join(report.warnings)
    assert "latin1.md: not valid UTF-8" in text
    assert "binary.md: skipped, looks binary" in text
    assert "huge.md: skipped" in text and "5 MB" in text
    files = {r["file"] for r in idx.recent(100)}
    assert "knowledge/latin1.md" in files and "knowledge/link-in.md" in files
    assert not files & {"knowledge/binary.md", "knowledge/huge.md", "knowledge/link-out.md"}
    assert not any("secret" in f for f in files)
    assert not idx.search("zebrafish").results
    hit = idx.search("plan").results
    assert any(h.file == "knowledge/latin1.md" and "\ufffd" in h.content for h in hit)
    assert idx.stats()["embedded_chunks"] == idx.stats()["total_chunks"]


def test_symlink_loop_is_skipped_with_one_warning(notes_ws: Path, make_index) -> None:
    k = notes_ws / "knowledge"
    (k / "a.md").symlink_to("b.md")
    (k / "b.md").symlink_to("a.md")
    idx = make_index(notes_ws, provider="none")
    report = idx.reindex()
    loops = [w for w in report.warnings if "symlink loop" in w]
    assert sorted(w.split(":")[0] for w in loops) == ["knowledge/a.md", "knowledge/b.md"]
    assert report.files_skipped == 2
    assert idx.stats()["total_files"] == 9  # every real note still indexed
    assert idx.search("Kestrel").results[0].file == "knowledge/kestrel.md"


def test_binary_and_huge_notes_are_warned_about_once(notes_ws: Path, make_index,
                                                     monkeypatch) -> None:
    from localgpt_ls.memory import writer as writer_module

    k = notes_ws / "knowledge"
    binary, huge = k / "binary.md", k / "huge.md"
    # Real binary: NULs among bytes that are not UTF-8 (a NUL in UTF-8 text is not enough).
    binary.write_bytes(b"# zebrafish\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff")
    huge.write_bytes(b"# zebrafish\n" + b"x" * (5 * 1024 * 1024 + 10))
    idx = make_index(notes_ws, provider="none")
    first = idx.reindex()
    assert len([w for w in first.warnings if "skipped" in w]) == 2
    reads: list[str] = []
    real_read = writer_module.read_note
    monkeypatch.setattr(writer_module, "read_note",
                        lambda path, key: reads.append(key) or real_read(path, key))
    for _ in range(2):  # what every `memory search` and `recent` does first
        again = idx.reindex()
        assert again.warnings == [] and reads == []
        assert again.files_skipped == 2
    assert idx.stats()["total_files"] == 9
    assert not {"knowledge/binary.md", "knowledge/huge.md"} & {r["file"] for r in idx.recent(50)}
    assert not idx.search("zebrafish").results
    assert idx.index_file(binary).warnings == []  # an editor save of the unchanged file
    binary.write_bytes(b"# zebrafish\n\x00\xffstill binary, now longer")
    changed = idx.reindex()
    assert reads == ["knowledge/binary.md"]
    assert [w.split(":")[0] for w in changed.warnings] == ["knowledge/binary.md"]
    binary.write_text("# Zebrafish\n\nNow a real note.\n")
    idx.reindex()
    assert idx.search("zebrafish").results[0].file == "knowledge/binary.md"
    binary.write_bytes(b"\x00\xfe\xffbinary once more")  # skipped again: warned again
    assert [w.split(":")[0] for w in idx.reindex().warnings] == ["knowledge/binary.md"]


def test_symlink_loop_is_warned_about_once(notes_ws: Path, make_index) -> None:
    (notes_ws / "knowledge" / "a.md").symlink_to("b.md")
    (notes_ws / "knowledge" / "b.md").symlink_to("a.md")
    idx = make_index(notes_ws, provider="none")
    assert len(idx.reindex().warnings) == 2
    assert idx.reindex().warnings == []
    (notes_ws / "knowledge" / "b.md").unlink()
    (notes_ws / "knowledge" / "b.md").write_text("# Loop fixed\n\nplatypus\n")
    idx.reindex()
    assert {h.file for h in idx.search("platypus").results} == {"knowledge/a.md",
                                                                  "knowledge/b.md"}


def test_index_file_for_editor_save(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    note = notes_ws / "knowledge" / "kestrel.md"
    note.write_text(note.read_text() + "\n## Migration\n\nThe cutover weekend is Thanksgiving.\n")
    report = idx.index_file(note)
    assert report.files_indexed == 1 and report.chunks_embedded >= 1
    hit = idx.search("Thanksgiving cutover").results[0]
    assert hit.file == "knowledge/kestrel.md"
    assert idx.stats()["embedded_chunks"] == idx.stats()["total_chunks"]
    # not memory: ignored
    (notes_ws / ".hidden").mkdir()
    (notes_ws / ".hidden" / "x.md").write_text("# x\n")
    assert idx.index_file(notes_ws / ".hidden" / "x.md").files_indexed == 0
    assert idx.index_file("knowledge/notes.txt").files_indexed == 0
    # deleted on disk: removed from the index
    note.unlink()
    assert idx.index_file("knowledge/kestrel.md").files_removed == 1
    assert idx.remove_file("knowledge/kestrel.md") is False


def test_fts_first_then_embeddings_fill_in(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    (notes_ws / "knowledge" / "violin.md").write_text("# Violin\n\nPractise scales daily.\n")
    idx.index_file("knowledge/violin.md", embed=False)
    stats = idx.stats()
    assert stats["embedded_chunks"] == stats["total_chunks"] - 1
    # keyword-searchable at once, and not buried for lack of a vector
    assert idx.search("violin scales").results[0].file == "knowledge/violin.md"
    assert idx.embed_pending() == 1
    stats = idx.stats()
    assert stats["embedded_chunks"] == stats["total_chunks"]


def test_fts_only_mode_without_embedder(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws, provider="none")
    report = idx.reindex()
    assert report.chunks_embedded == 0
    response = idx.search("Kestrel refunds")
    assert response.mode == "fts"
    assert response.results[0].file in {"knowledge/kestrel.md", "memory/2025-03-10.md"}
    assert idx.search("feline pet").results == []  # no shared words, no meaning: nothing
    assert idx.stats()["embedded_chunks"] == 0


def test_min_score_and_limit(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    assert len(idx.search("the", limit=2, min_score=0.0).results) == 2
    assert idx.search("Kestrel", min_score=0.99).results == []
    assert idx.search("   ").results == []


def test_recency_decays_daily_logs_only(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    # min_score 0: MEMORY.md only names Kestrel, below the floor; recency must not touch it
    plain = {h.file: h.score for h in idx.search("Kestrel refunds ledger", limit=10,
                                                  min_score=0).results}
    decayed = {h.file: h.score for h in idx.search("Kestrel refunds ledger", limit=10,
                                                    min_score=0,
                                                    recency_half_life_days=1).results}
    assert decayed.get("memory/2025-03-10.md", 0) < plain["memory/2025-03-10.md"]
    assert decayed["knowledge/kestrel.md"] == plain["knowledge/kestrel.md"]
    assert decayed["MEMORY.md"] == plain["MEMORY.md"]


def test_recency_setting_applies_to_searches_that_do_not_ask(notes_ws: Path, make_index
                                                             ) -> None:
    query = "Kestrel refunds ledger"
    plain = make_index(notes_ws)
    plain.reindex()
    before = {h.file: h.score for h in plain.search(query, limit=10, min_score=0).results}
    plain.close()
    fading = make_index(notes_ws, recency_half_life_days=1.0)
    # Doors (assistant tools, HTTP, LSP) call search(query, limit) and get the user's setting.
    after = {h.file: h.score for h in fading.search(query, limit=10, min_score=0).results}
    assert after.get("memory/2025-03-10.md", 0) < before["memory/2025-03-10.md"]
    assert after["MEMORY.md"] == before["MEMORY.md"]
    off = {h.file: h.score for h in fading.search(query, limit=10, min_score=0,
                                                  recency_half_life_days=0).results}
    assert off == before


def test_similar_files_ranks_by_meaning(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    ranked = idx.similar_files("my kitten keeps asking for dinner", limit=3,
                               exclude="memory/2025-03-12.md")
    assert ranked[0][0] == "knowledge/cat-care.md"
    assert all(f != "memory/2025-03-12.md" for f, _ in ranked)


def test_rebuild_when_model_or_chunking_changes(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    total = idx.stats()["total_chunks"]
    idx.close()
    smaller = make_index(notes_ws, chunk_size=40, chunk_overlap=8)
    report = smaller.reindex()
    assert report.rebuilt and "chunking" in report.rebuilt
    assert smaller.stats()["total_chunks"] > total
    smaller.close()
    fts_only = make_index(notes_ws, provider="none", chunk_size=40, chunk_overlap=8)
    report = fts_only.reindex()
    assert report.rebuilt and "model" in report.rebuilt
    assert fts_only.stats()["embedded_chunks"] == 0
    fts_only.close()
    back = make_index(notes_ws)
    report = back.reindex()
    assert report.rebuilt
    assert report.chunks_embedded == 0  # every text was seen before: the cache survives
    assert back.stats()["embedded_chunks"] == back.stats()["total_chunks"] == total


def test_corrupt_index_is_moved_aside_and_rebuilt(notes_ws: Path, make_index, caplog) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    path = idx.path
    idx.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level("WARNING", logger="localgpt.memory"):
        fresh = make_index(notes_ws)
    report = fresh.reindex()
    assert report.rebuilt == "corrupt index"
    assert any("moved to" in w for w in report.warnings)
    assert "could not be read" in caplog.text
    assert list(path.parent.glob(path.name + ".corrupt-*"))
    assert fresh.search("Kestrel").results[0].file == "knowledge/kestrel.md"
    assert fresh.stats()["embedded_chunks"] == fresh.stats()["total_chunks"]


def test_two_recoveries_in_one_second_keep_both_backups(notes_ws: Path, make_index,
                                                         monkeypatch) -> None:
    from localgpt_ls.memory import store

    monkeypatch.setattr(store.time, "strftime", lambda fmt: "20250101-120000")
    idx = make_index(notes_ws, provider="none")
    path = idx.path
    idx.close()
    for n in (1, 2, 3):
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.write_bytes(f"damaged copy {n} ".encode() * 100)
        make_index(notes_ws, provider="none").close()
    backups = sorted(path.parent.glob(path.name + ".corrupt-*"))
    assert [p.name.removeprefix(path.name) for p in backups] == [
        ".corrupt-20250101-120000", ".corrupt-20250101-120000-2", ".corrupt-20250101-120000-3"]
    assert [p.read_bytes()[:14] for p in backups] == [
        b"damaged copy 1", b"damaged copy 2", b"damaged copy 3"]


def test_unopenable_index_is_a_user_error_for_every_door(notes_ws: Path, make_index) -> None:
    from localgpt_ls import paths
    from localgpt_ls.errors import LocalGPTError

    paths.index_path(notes_ws).mkdir(parents=True)
    with pytest.raises(LocalGPTError, match="is a folder, not a file"):
        make_index(notes_ws, provider="none")


def test_thread_safe_search_while_indexing(notes_ws: Path, make_index) -> None:
    from concurrent.futures import ThreadPoolExecutor

    idx: MemoryIndex = make_index(notes_ws)
    idx.reindex()

    def write(i: int) -> int:
        (notes_ws / "knowledge" / f"t{i}.md").write_text(f"# T{i}\n\nthreaded note {i}\n")
        return idx.index_file(f"knowledge/t{i}.md").files_indexed

    def read(_i: int) -> int:
        return len(idx.search("threaded note").results)

    with ThreadPoolExecutor(4) as pool:
        writes = list(pool.map(write, range(8)))
        list(pool.map(read, range(8)))
    assert writes == [1] * 8
    assert len(idx.search("threaded note", limit=20).results) == 8


def test_damaged_pages_are_recovered_on_search_and_reindex(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    path = idx.path
    idx.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:] = b"\xa5" * (len(data) - page)  # keep the header, garble every other page
    path.write_bytes(bytes(data))
    fresh = make_index(notes_ws)
    fresh.search("Kestrel")  # may hit the damage first: no crash
    report = fresh.reindex()
    assert fresh.search("Kestrel").results[0].file == "knowledge/kestrel.md"
    assert report.rebuilt == "corrupt index"
    assert fresh.stats()["total_files"] == 9
    assert list(path.parent.glob(path.name + ".corrupt-*"))


def test_words_inside_cjk_text_are_found(notes_ws: Path, make_index) -> None:
    # Chinese, Japanese and Korean run words together; a search for one word must find it.
    (notes_ws / "knowledge" / "travel.md").write_text(
        "# 旅行\n\n今日は東京でラーメンを食べました。\n\n北京烤鸭很好吃。\n\n"
        "서울에서 비빔밥을 먹었어요.\n",
        encoding="utf-8")
    idx = make_index(notes_ws, provider="none")
    idx.reindex()
    for word, line in [("東京", 3), ("ラーメン", 3), ("烤鸭", 5), ("서울", 7), ("旅行", 1)]:
        hits = idx.search(word).results
        assert hits and hits[0].file == "knowledge/travel.md", word
        assert hits[0].line_start <= line <= hits[0].line_end, word
    # The characters must be in sequence: the same characters apart do not match.
    assert idx.search("京東").results == []


def test_embedding_cache_is_pruned_once_it_outgrows_the_index(
        notes_ws: Path, make_index, monkeypatch: pytest.MonkeyPatch) -> None:
    import localgpt_ls.memory.backfill as backfill_module

    monkeypatch.setattr(backfill_module, "CACHE_FLOOR", 0)
    monkeypatch.setattr(backfill_module, "CACHE_SLACK", 1)
    idx = make_index(notes_ws)
    idx.reindex()
    note = notes_ws / "knowledge" / "draft.md"

    def cached() -> set[str]:
        return {r[0] for r in idx.store.conn().execute("SELECT hash FROM embed_cache")}

    def live() -> set[str]:
        return {r[0] for r in idx.store.conn().execute("SELECT embed_hash FROM chunks")}

    for version in range(3):  # each save leaves the old text's vector behind
        note.write_text(f"# Draft\n\nVersion {version} of a note about compost heaps.\n",
                        encoding="utf-8")
        os.utime(note, (version + 1e6, version + 1e6))
        idx.reindex()
        assert cached() == live()  # the stale vectors went; the live ones stayed
    assert idx.stats()["embedded_chunks"] == idx.stats()["total_chunks"]


def test_stop_cuts_a_reindex_short_without_losing_unreached_files(lg_env, make_index) -> None:
    """An editor closing mid-index stops the reindex at the next file; what it had not reached
    keeps its old text (nothing is dropped) and the next reindex finishes the job."""
    ws = Path(lg_env.workspace)
    ws.mkdir(exist_ok=True)
    ws = ws.resolve()
    for i in range(120):
        (ws / f"note-{i:03}.md").write_text(f"# Note {i}\n\nword{i} text\n", encoding="utf-8")
    first = make_index(ws, provider="none")
    first.reindex()
    for i in range(120):  # every note changes, so the next reindex has work on each file
        (ws / f"note-{i:03}.md").write_text(f"# Note {i}\n\nchanged{i} text\n",
                                            encoding="utf-8")
        os.utime(ws / f"note-{i:03}.md", (time.time() + 5, time.time() + 5))
    first.close()

    idx = make_index(ws, provider="none")

    def stop_midway(stage: str, done: int, total: int) -> None:
        if stage == "index" and done == 40:
            idx.stop()

    report = idx.reindex(progress=stop_midway)
    assert report.interrupted
    assert report.files_removed == 0
    stats = idx.stats()
    assert stats["total_files"] >= 120  # nothing unreached was dropped
    assert [h.file for h in idx.search("word100").results] == ["note-100.md"]  # old text kept

    again = make_index(ws, provider="none")
    report = again.reindex()
    assert not report.interrupted and report.files_removed == 0
    assert [h.file for h in again.search("changed100").results] == ["note-100.md"]


def test_a_stray_nul_keeps_memory_and_daily_logs_searchable(notes_ws: Path, make_index) -> None:
    """One NUL (from a JSON "\\u0000" an older version appended, or a paste) used to make the
    whole MEMORY.md count as binary and drop out of search."""
    memory = notes_ws / "MEMORY.md"
    memory.write_bytes(memory.read_bytes() + b"\n- The gate code is 4417 okapi\x00\n")
    daily = notes_ws / "memory" / "2026-11-30.md"
    daily.write_bytes(b"# 2026-11-30\n\n- 10:00 Walked the wombat\x00 at noon\n")
    idx = make_index(notes_ws, provider="none")
    report = idx.reindex()
    assert not [w for w in report.warnings if "binary" in w]
    assert idx.search("okapi").results[0].file == "MEMORY.md"
    hit = idx.search("wombat").results[0]
    assert hit.file == "memory/2026-11-30.md" and "\ufffd at noon" in hit.content


def test_deeply_nested_note_is_indexed_as_plain_text_with_a_warning(notes_ws: Path,
                                                                   make_index) -> None:
    from tests.fuzz.markdown_corpus import nested_list

    deep = notes_ws / "knowledge" / "deep.md"
    deep.write_text("# Deep\n\nThe capybara list.\n\n" + nested_list(1_000_000),
                    encoding="utf-8")
    idx = make_index(notes_ws, provider="none")
    report = idx.reindex()
    assert any(w.startswith("knowledge/deep.md: read as plain text") for w in report.warnings)
    # Indexed (found at all: a chunk of "item N" lines ranks low under the calibrated floor).
    assert idx.search("capybara", min_score=0.0).results[0].file == "knowledge/deep.md"
    assert idx.search("kestrel").results  # the other notes are indexed as before


def test_stemming_finds_other_forms_of_a_word(notes_ws: Path, make_index) -> None:
    (notes_ws / "knowledge" / "health.md").write_text(
        "# Health\n\nThe user is allergic to peanuts and carries an epinephrine pen.\n")
    for provider in ("none", "local"):
        idx = make_index(notes_ws, provider=provider)
        idx.reindex()
        hits = idx.search("peanut allergies").results
        assert hits and hits[0].file == "knowledge/health.md", provider
        idx.close()


def test_untouched_templates_rank_below_the_users_own_words(lg_env, make_index,
                                                             monkeypatch) -> None:
    from localgpt_ls.memory import reader as reader_module
    from localgpt_ls.workspace import init_workspace

    ws = Path(lg_env.workspace)
    init_workspace(ws)
    (ws / "MEMORY.md").write_text("# Memory\n\n- The user's name is Ines; she lives in Porto "
                                  "and prefers tea to coffee.\n")
    idx = make_index(ws)
    idx.reindex()

    def ranked() -> list[str]:
        return [h.file for h in idx.search("what do you know about me?", limit=8,
                                           min_score=0).results]

    assert ranked()[0] == "MEMORY.md"
    monkeypatch.setattr(reader_module, "TEMPLATE_FACTOR", 1.0)
    # Without the rule the boilerplate about "you" and "me" wins over the user's facts.
    assert ranked()[0] != "MEMORY.md"
    monkeypatch.undo()
    soul = ws / "SOUL.md"
    soul.write_text(soul.read_text() + "\n- Be direct with Ines.\n")  # now the user's own
    idx.index_file(soul)
    assert ranked()[0] == "SOUL.md"


@pytest.mark.parametrize("query", ["zzqqxx", "qwfpgj zxcvbn", "blorptastic frindle quux",
                                   "what is the offside rule in football",
                                   "who painted the ceiling of the Sistine Chapel"])
def test_nonsense_and_unrelated_questions_find_nothing(notes_ws: Path, make_index,
                                                       query: str) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    assert idx.search(query).results == []
    # ...while the real questions still answer (the floor loses no true hit here)
    assert idx.search("when is the vet appointment for the cat").results


def test_index_rebuilds_quietly_when_its_schema_version_changes(notes_ws: Path, make_index
                                                                ) -> None:
    from localgpt_ls.memory import store

    idx = make_index(notes_ws)
    idx.reindex()
    path, total = idx.path, idx.stats()["total_chunks"]
    with idx.store.write() as c:  # what an index from the previous release says of itself
        c.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    idx.close()
    again = make_index(notes_ws)
    assert again.path == path and again.needs_reindex
    report = again.reindex()
    assert report.rebuilt and f"schema: 1 -> {store.SCHEMA_VERSION}" in report.rebuilt
    assert report.warnings == [] and report.chunks_embedded == 0  # vectors from the cache
    assert again.stats()["total_chunks"] == total
    assert again.search("sourdough starter").results[0].file == "knowledge/sourdough.md"


def test_bm25_row_count_stays_exact_across_reindexes(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws, provider="none")
    for _ in range(3):
        idx.reindex(force=True)
    c = idx.store.conn()
    live = c.execute("SELECT count(*) FROM chunks").fetchone()[0]
    counted = c.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
    docs = dict(c.execute("SELECT term, doc FROM chunks_vocab WHERE term = 'kestrel'"))
    assert counted == live
    assert docs["kestrel"] == sum(1 for (t,) in c.execute("SELECT text FROM chunks")
                                  if "kestrel" in t.lower())
