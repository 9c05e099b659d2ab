"""Scoring rules of hybrid search, checked on their own numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from localgpt_ls.memory.search import (
    apply_recency,
    daily_age_days,
    diversify,
    floor,
    fts_query,
    fuse,
    idf,
    keyword_coverage,
)


def test_fts_query_quotes_and_ors_words() -> None:
    assert fts_query('Kestrel AND "refunds" NEAR(x)') == (
        '"kestrel" OR "and" OR "refunds" OR "near" OR "x"')
    assert fts_query("café-crème") == '"café" OR "crème"'
    assert fts_query("?!") is None


def test_keyword_coverage_is_the_share_of_a_full_match() -> None:
    idfs = [2.0, 1.0]  # a full match in title (x2) and text (x1) would score 3 * 3 = 9
    cov = keyword_coverage({1: -9.0, 2: -4.5, 3: -30.0, 4: -1e-6}, idfs)
    assert cov[1] == pytest.approx(1.0) and cov[2] == pytest.approx(0.5)
    assert cov[3] == 1.0  # repeated words cannot count more than the whole query
    assert cov[4] == pytest.approx(0.0, abs=1e-6)
    # Words in every note (IDF floored near 0) leave nothing to cover.
    assert keyword_coverage({1: -5.0}, []) == {1: 0.0}
    assert keyword_coverage({1: -5.0}, [0.05], rows=1000) == {1: 0.0}  # no rare word
    assert keyword_coverage({1: -0.1}, [0.05], rows=3) == {1: pytest.approx(0.1 / 0.15)}


def test_idf_is_fts5s() -> None:
    assert idf(1000, 0) > idf(1000, 10) > idf(1000, 400) > 0
    assert idf(1000, 900) == pytest.approx(1e-6)  # most notes have it: it says nothing


def test_keywords_count_as_much_as_the_query_lets_them() -> None:
    # A query some chunk covers fully (a name, the note's own question): keywords decide
    # between chunks of similar meaning.
    scores = fuse([1, 2], {1: 1.0, 2: 0.1}, {1: 0.5, 2: 0.55}, embedded={1, 2}, hybrid=True)
    assert scores[1] == pytest.approx(0.5 + 0.5 * 1.0 * 1.0)
    assert scores[1] > scores[2]
    # A paraphrase: the best keyword match covers little, so meaning decides.
    scores = fuse([1, 2], {1: 0.2, 2: 0.0}, {1: 0.30, 2: 0.45}, embedded={1, 2}, hybrid=True)
    assert scores[2] > scores[1]
    assert scores[1] == pytest.approx(0.30 + 0.5 * 0.2 * 0.2)


def test_unembedded_chunk_uses_its_coverage_for_meaning() -> None:
    scores = fuse([7], {7: 0.6}, {}, embedded=set(), hybrid=True)
    assert scores[7] == pytest.approx(0.6 + 0.5 * 0.6 * 0.6)


def test_a_chunk_holding_every_rare_word_scores_at_least_half() -> None:
    # "Rousseau" alone: its cosine to the note naming it is low, its text holds the word.
    scores = fuse([1, 2], {1: 1 / 3, 2: 0.05}, {1: 0.12, 2: 0.2}, embedded={1, 2}, hybrid=True)
    assert scores[1] == pytest.approx(0.5) and scores[1] >= floor(True, True)
    assert scores[2] < floor(True, True)


def test_fts_mode_scores_the_share_of_rare_words_in_the_text() -> None:
    assert fuse([1, 2], {1: 0.2, 2: 0.5}, {1: 0.9}, embedded={1}, hybrid=False) == {
        1: pytest.approx(0.6), 2: 1.0}


def test_a_query_of_common_words_has_no_keyword_evidence() -> None:
    assert keyword_coverage({1: -2.0}, [1e-6, 1e-6], rows=1000) == {1: 0.0}


def test_negative_similarity_is_clamped() -> None:
    assert fuse([1], {}, {1: -0.3}, embedded={1}, hybrid=True) == {1: 0.0}


def test_floor_is_stricter_when_no_query_word_is_in_any_note() -> None:
    assert floor(hybrid=True, words_seen=False) > floor(hybrid=True, words_seen=True) > 0
    assert floor(hybrid=False, words_seen=True) > 0


def test_diversify_prefers_other_notes() -> None:
    files = {1: "a.md", 2: "a.md", 3: "b.md", 4: "c.md"}
    out = diversify({1: 0.9, 2: 0.85, 3: 0.7, 4: 0.5}, files, limit=3)
    # a.md's second chunk counts 15% less: 0.7225 still beats b.md's 0.7, not by the raw gap
    assert [cid for cid, _ in out] == [1, 2, 3]
    assert out[1][1] == pytest.approx(0.85 * 0.85)
    out = diversify({1: 0.9, 2: 0.8, 3: 0.7}, files, limit=2)
    assert [cid for cid, _ in out] == [1, 3]  # 0.68 < 0.7: the other note first
    assert len(diversify({1: 0.9}, files, limit=5)) == 1


def test_recency_only_for_daily_logs() -> None:
    today = dt.date(2026, 11, 23)
    assert daily_age_days("memory/2026-11-20.md", today) == 3
    assert daily_age_days("notes/memory/2026-11-23.md", today) == 0
    assert daily_age_days("MEMORY.md", today) is None
    assert daily_age_days("memory/notes.md", today) is None
    assert daily_age_days("memory/2026-13-40.md", today) is None
    files = {1: "memory/2026-11-16.md", 2: "MEMORY.md", 3: "knowledge/a.md"}
    out = apply_recency({1: 0.8, 2: 0.8, 3: 0.8}, files, half_life_days=7, today=today)
    assert out[1] == pytest.approx(0.4)
    assert out[2] == out[3] == 0.8


def test_fts_query_makes_cjk_words_phrases_of_characters() -> None:
    assert fts_query("東京 tower") == '"東 京" OR "tower"'
    assert fts_query("CJK漢字") == '"cjk 漢 字"'
