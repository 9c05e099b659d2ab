"""Hybrid search: FTS5 bm25 candidates + vector KNN candidates, fused into one score.

The vector candidates are exact nearest neighbours over the vectors stored in vec0, computed on
an in-memory copy (vectors.py explains why).

Scores
- text: s / (1 + s) with s = -bm25 (FTS5's bm25 is negative, lower is better), so 0..1. This
  keeps an absolute scale: words found in most notes have an IDF of ~0 and add ~nothing, where
  dividing by the best candidate would give a query of only common words a perfect score.
- vector: cosine similarity to the query (0..1 after clamping negatives), an absolute scale.
- fused = 0.7 * vector + 0.3 * text (OpenClaw's defaults). A chunk found by one list only gets 0
  from the other, except a chunk that is not embedded yet: its text score stands in for its
  vector score, so fresh notes are not buried while embeddings catch up.
- recency (optional): `memory/YYYY-MM-DD.md` scores are multiplied by 0.5 ** (age / half-life);
  MEMORY.md and knowledge never decay.
Mode "fts" (no embedder, no vectors yet, or the query could not be embedded): score = text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

VECTOR_WEIGHT = 0.7
TEXT_WEIGHT = 0.3
DEFAULT_MIN_SCORE_HYBRID = 0.15  # unrelated text: cosine ~0.0-0.2 with all-MiniLM-L6-v2
DEFAULT_MIN_SCORE_FTS = 0.0  # any keyword match is worth showing

_DAILY = re.compile(r"(?:^|/)memory/(\d{4})-(\d{2})-(\d{2})\.md$")
_WORD = re.compile(r"\w+", re.UNICODE)
# Scripts written without spaces between words (Chinese, Japanese kana and kanji; Korean, whose
# particles attach to words). FTS5's unicode61 tokenizer would index a whole run of them as one
# token, so a word inside the run could never be found: each such character is indexed as its
# own token, and a query word becomes the phrase of its characters.
_UNSPACED = re.compile("([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
                       "\uf900-\ufaff\U00020000-\U0002fa1f])")


@dataclass
class SearchHit:
    file: str
    line_start: int
    line_end: int
    content: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResponse:
    query: str
    results: list[SearchHit] = field(default_factory=list)
    mode: Literal["hybrid", "fts"] = "fts"

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "results": [h.to_dict() for h in self.results],
                "mode": self.mode}


def fts_text(text: str) -> str:
    """Text as it goes into the FTS5 index: CJK characters spaced apart (see `_UNSPACED`)."""
    return _UNSPACED.sub(r" \1 ", text) if _UNSPACED.search(text) else text


def fts_query(query: str) -> str | None:
    """Each word quoted (no FTS5 syntax from the user), OR-ed so partial matches still rank; a
    word with CJK characters is the phrase of its characters, matching them in sequence."""
    words = _WORD.findall(query)
    if not words:
        return None
    seen: dict[str, None] = {}
    for w in words:
        seen.setdefault(" ".join(fts_text(w.lower()).split()), None)
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in seen)


def normalise_bm25(ranks: dict[int, float]) -> dict[int, float]:
    """bm25 (lower = better, negative) -> 0..1 on an absolute scale (see the module doc)."""
    out = {}
    for cid, rank in ranks.items():
        s = max(-rank, 0.0)
        out[cid] = s / (1.0 + s)
    return out


def daily_age_days(file: str, today: dt.date) -> float | None:
    """Age of a daily log `memory/YYYY-MM-DD.md`; None for any other file."""
    m = _DAILY.search(file)
    if not m:
        return None
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return max((today - day).days, 0)


def fuse(candidates: Iterable[int], text: dict[int, float], vector: dict[int, float],
         embedded: set[int], hybrid: bool) -> dict[int, float]:
    """Fused score per chunk id (see the module docstring)."""
    out: dict[int, float] = {}
    for cid in candidates:
        t = text.get(cid, 0.0)
        if not hybrid:
            out[cid] = t
            continue
        v = vector.get(cid, 0.0) if cid in embedded else t
        out[cid] = VECTOR_WEIGHT * max(v, 0.0) + TEXT_WEIGHT * t
    return out


def apply_recency(scores: dict[int, float], files: dict[int, str], half_life_days: float,
                  today: dt.date | None = None) -> dict[int, float]:
    today = today or dt.date.today()
    out = dict(scores)
    for cid, score in scores.items():
        age = daily_age_days(files[cid], today)
        if age is not None:
            out[cid] = score * 0.5 ** (age / half_life_days)
    return out
