"""The file tools hold against hostile paths and against a folder swapped for a link while
they run (short seeded runs; benchmarks/hardening.py runs the long ones)."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz.file_corpus import race, traversal


async def test_traversal_corpus_reads_and_writes_nothing_outside(tmp_path: Path) -> None:
    counts = await traversal(tmp_path)
    assert counts.calls > 200
    assert counts.raised == []
    assert (counts.leaked_reads, counts.outside_changes, counts.slow) == (0, 0, 0)


async def test_swapping_a_folder_for_a_link_never_leads_outside(tmp_path: Path) -> None:
    counts = await race(tmp_path, 1200)
    assert counts.swaps > 100
    assert counts.raised == []
    assert (counts.leaked_reads, counts.outside_changes, counts.slow) == (0, 0, 0)
