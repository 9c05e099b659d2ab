"""Scoring rules of hybrid search, checked on their own numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from localgpt_ls.memory.search import (
    apply_recency,
    daily_age_days,
    fts_query,
    fuse,
    normalise_bm25,
)


def test_fts_query_quotes_and_ors_words() -> None:
    assert fts_query('Kestrel AND "refunds" NEAR(x)') == (
        '"kestrel" OR "and" OR "refunds" OR "near" OR "x"')
    assert fts_query("café-crème") == '"café" OR "crème"'
    assert fts_query("?!") is None


def test_bm25_normalisation_is_absolute_and_monotonic() -> None:
    scores = normalise_bm25({1: -8.0, 2: -1.0, 3: -1e-6})
    assert scores[1] > scores[2] > scores[3] >= 0
    assert scores[1] < 1 and scores[2] == pytest.approx(0.5)
    assert scores[3] == pytest.approx(0.0, abs=1e-5)  # a word in every note says nothing


def test_fusion_weights_vector_and_text() -> None:
    text = {1: 0.5, 2: 1.0}
    vector = {1: 0.8, 3: 0.9}
    scores = fuse([1, 2, 3], text, vector, embedded={1, 2, 3}, hybrid=True)
    assert scores[1] == pytest.approx(0.7 * 0.8 + 0.3 * 0.5)
    assert scores[2] == pytest.approx(0.3 * 1.0)  # keyword only
    assert scores[3] == pytest.approx(0.7 * 0.9)  # meaning only
    assert scores[1] > scores[3] > scores[2]  # both signals beat one


def test_unembedded_chunk_uses_its_text_score_for_meaning() -> None:
    scores = fuse([7], {7: 0.6}, {}, embedded=set(), hybrid=True)
    assert scores[7] == pytest.approx(0.6)


def test_fts_mode_is_text_only() -> None:
    assert fuse([1], {1: 0.4}, {1: 0.9}, embedded={1}, hybrid=False) == {1: 0.4}


def test_negative_similarity_is_clamped() -> None:
    assert fuse([1], {}, {1: -0.3}, embedded={1}, hybrid=True) == {1: 0.0}


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
