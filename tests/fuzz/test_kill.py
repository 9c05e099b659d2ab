"""kill -9 during a forced reindex and during appends to memory (a few trials; the full
50-trial run is benchmarks/hardening.py): nothing lost, nothing torn, the index sound."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz.kill_corpus import append_kills, reindex_kills


def test_kill_during_reindex_leaves_a_sound_index_and_loses_no_note(tmp_path: Path) -> None:
    report = reindex_kills(tmp_path, trials=3, seed=18)
    assert report.killed_mid_work >= 1, report.as_dict()
    assert (report.inconsistent, report.lost) == (0, 0), report.as_dict()


def test_kill_during_appends_loses_and_tears_no_entry(tmp_path: Path) -> None:
    report = append_kills(tmp_path, trials=4, seed=18, window=(0.6, 1.2))
    assert report.acknowledged > 10 and report.killed_mid_work == 4, report.as_dict()
    assert (report.lost, report.torn, report.inconsistent) == (0, 0, 0), report.as_dict()
