"""Hybrid search scoring: FTS5 bm25 and vector candidates, fused into one calibrated score.

Measured on `benchmarks/retrieval.py` (real notes, real sentence queries, a held-out split;
BENCHMARKS.md has the table), which is where each choice below comes from.

Keyword side: bm25 over a porter-stemmed FTS5 index ("allergic to peanuts" is found by "peanut
allergy"), title (note name and headings) weighted 2, text 1. Raw bm25 has no scale: it grows
with every matched word, so the old map s/(1+s) saturated (40 of 40 keyword candidates at >=0.7
in a median query) and any chunk sharing one word with a paraphrase outranked the chunk that
meant the same thing. Here bm25 is divided by what a chunk matching every query term in title
and text would score, about 3 x the sum of the query terms' IDFs (`keyword_coverage`): 1.0 means
the chunk holds all of the query's rare words, and words found in most notes (IDF ~0) weigh
nothing on either side of the fraction. It measures matched-term rarity and coverage of the
query at once, on a scale that means the same in every workspace.

Fusion (`fuse`): score = cosine + KEYWORD_WEIGHT * best * coverage, where `best` is the highest
coverage any candidate reached for this query, and never less than KEYWORD_ALONE times the
chunk's `text_share` (its coverage on the scale of one column): a name typed alone ("Rousseau")
has a low cosine to the note that names it, yet that note is the answer. `best` makes the
keyword side query-aware: when the best keyword match covers most of the query (a name, an
error message, the note's own question) keywords decide between chunks of similar meaning;
when it covers little (a paraphrase that shares only common words) the keyword side fades and
meaning decides. Measured
against it on the dev split: the old 0.7/0.3 fusion, reciprocal rank fusion (k=60; fails when
one list is noise, since documents in both lists win), per-query min-max of both lists, and
the same fusion with a fixed keyword weight. Only this one kept recall@10 and MRR@10 at or above
the better half on all three query kinds at every candidate depth tried (24-100).
A chunk not embedded yet uses its coverage in place of its cosine, so a fresh note is found by
keywords while embeddings catch up. Mode "fts" (no embedder, nothing embedded, or the query
could not be embedded): score = text_share, the share of the query's rare words the chunk holds.

Floor (`floor`): all-MiniLM-L6-v2 gives unrelated text cosines up to ~0.29 (dev: questions about
cooking or sport against software notes, nonsense words); the answer to a real question scored
>= 0.38 in 95% of dev queries. MIN_SCORE_HYBRID = 0.3 turns nearly all unrelated queries into
"no results" while losing almost no true hit; when no word of the query occurs in any note
(nonsense, a typo'd name) cosine alone is weak evidence and the floor is MIN_SCORE_UNSEEN. On
dev no unrelated query had a chunk holding 60% of its rare words (KEYWORD_ALONE * 0.6 = the
floor). In mode "fts" a match on common words only (text share < MIN_SCORE_FTS) is not shown.

After fusion: a chunk whose title (note name and headings) holds every rare word of the query
gains NAME_BONUS, so a name typed alone ("Kestrel") puts the note of that name before a one-line
memory entry that mentions it (short entries have high cosines to short queries). On dev it
left keyword and paraphrase unchanged and lifted mixed R@1 0.846 -> 0.885, flat from 0.2 to
0.5; 0.2 is the smallest value of that plateau. A chunk still identical to what `init` wrote
(a whole template file, or one of its passages, such as MEMORY.md's example line once facts are
appended below it) counts TEMPLATE_FACTOR of its score, so the user's own words rank first;
recency (optional) multiplies a daily log `memory/YYYY-MM-DD.md` by 0.5 ** (age / half-life),
never MEMORY.md or knowledge; `diversify` then prefers other notes to a second passage of one
note.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

KEYWORD_WEIGHT = 0.5  # cosine units a full keyword match adds, when the query allows it
COLUMN_WEIGHTS = (2.0, 1.0)  # bm25 weights of the FTS columns (title, text)
MIN_SCORE_HYBRID = 0.3
MIN_SCORE_UNSEEN = 0.45
MIN_SCORE_FTS = 0.15
KEYWORD_ALONE = 0.5  # the score of a chunk holding all the query's rare words, whatever it means
MIN_QUERY_IDF = 0.1  # words in about half the notes or more: no keyword evidence
MIN_ROWS_FOR_IDF = 50
MAX_DF_SHARE = 0.2
TEMPLATE_FACTOR = 0.5
SAME_FILE_FACTOR = 0.85  # a second chunk of one note must beat other notes by 15%
NAME_BONUS = 0.2  # added when the note's name and headings hold every rare word of the query

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


def fts_words(query: str) -> list[str]:
    """The query's words as FTS5 phrases, once each: lowercased, a word with CJK characters
    spaced into the phrase of its characters."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(query):
        seen.setdefault(" ".join(fts_text(w.lower()).split()), None)
    return list(seen)


def fts_match(words: Iterable[str]) -> str | None:
    """Each word quoted (no FTS5 syntax from the user), OR-ed so partial matches still rank; a
    CJK phrase matches its characters in sequence."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    return " OR ".join(quoted) if quoted else None


def fts_query(query: str) -> str | None:
    return fts_match(fts_words(query))


def informative(words: list[str], word_terms: list[list[str]], doc_freq: dict[str, int],
                rows: int) -> list[str]:
    """The words worth asking FTS5 for: those with a term in at most MAX_DF_SHARE of the
    chunks. A word in most chunks ("how", "can") adds little to bm25 (its IDF is small) but
    costs the most, since FTS5 scores every chunk that holds it: for "how can I make my
    program run faster" on 7,769 chunks, 4.4 ms CPU with every word, 2.2 ms without "can"
    (in 44% of the chunks). 0.2 was the lowest share that lost nothing on the dev split; 0.1
    lost a mixed query and let an unrelated one through. Small indexes, and queries of only
    common words, keep every word."""
    if rows < MIN_ROWS_FOR_IDF:
        return words
    kept = [w for w, terms in zip(words, word_terms, strict=True)
            if any(doc_freq.get(t, 0) <= MAX_DF_SHARE * rows for t in terms)]
    return kept or words


def idf(total_rows: int, doc_freq: int) -> float:
    """FTS5's own bm25 IDF (a term in more than half of the rows is floored at 1e-6)."""
    return max(math.log((total_rows - doc_freq + 0.5) / (doc_freq + 0.5)), 1e-6)


def keyword_coverage(bm25: dict[int, float], idfs: Iterable[float],
                     rows: int = MIN_ROWS_FOR_IDF) -> dict[int, float]:
    """FTS5 bm25 (negative, lower is better) -> 0..1: the share of what a chunk matching every
    query term in every column would score (see the module doc). In an index of `rows`
    chunks, a query of only words most chunks hold ("the") has no keyword evidence; below
    MIN_ROWS_FOR_IDF chunks every word is in many of them and that test would refuse all."""
    mass = sum(idfs)
    if mass <= 0 or (mass < MIN_QUERY_IDF and rows >= MIN_ROWS_FOR_IDF):
        return dict.fromkeys(bm25, 0.0)
    full = mass * sum(COLUMN_WEIGHTS)
    return {cid: min(max(-rank, 0.0) / full, 1.0) for cid, rank in bm25.items()}


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


def text_share(coverage: float) -> float:
    """Coverage on the scale of one column: 1.0 when a chunk's text (or its title) holds every
    rare word of the query."""
    return min(coverage * sum(COLUMN_WEIGHTS), 1.0)


def fuse(candidates: Iterable[int], coverage: dict[int, float], cosine: dict[int, float],
         embedded: set[int], hybrid: bool) -> dict[int, float]:
    """Fused score per chunk id (see the module doc)."""
    if not hybrid:
        return {cid: text_share(coverage.get(cid, 0.0)) for cid in candidates}
    weight = KEYWORD_WEIGHT * max(coverage.values(), default=0.0)
    out: dict[int, float] = {}
    for cid in candidates:
        kw = coverage.get(cid, 0.0)
        meaning = cosine.get(cid, 0.0) if cid in embedded else kw
        out[cid] = max(max(meaning, 0.0) + weight * kw, KEYWORD_ALONE * text_share(kw))
    return out


def floor(hybrid: bool, words_seen: bool) -> float:
    """The lowest score worth showing (see the module doc)."""
    if not hybrid:
        return MIN_SCORE_FTS
    return MIN_SCORE_HYBRID if words_seen else MIN_SCORE_UNSEEN


def apply_factor(scores: dict[int, float], which: set[int], factor: float) -> dict[int, float]:
    return {cid: s * factor if cid in which else s for cid, s in scores.items()}


def diversify(scores: dict[int, float], files: dict[int, str], limit: int,
              tiebreak: dict[int, float] | None = None) -> list[tuple[int, float]]:
    """The `limit` best chunks, where each further chunk of a file already listed counts
    SAME_FILE_FACTOR less per chunk before it: the list shows more notes, and a second passage
    of one note only where it clearly beats the next note. `files` maps chunk id -> file;
    equal scores (capped text shares) go by `tiebreak`, then by chunk id."""
    tiebreak = tiebreak or {}
    pool = dict(scores)
    per_file: dict[str, int] = {}
    out: list[tuple[int, float]] = []

    def effective(cid: int) -> float:
        return pool[cid] * SAME_FILE_FACTOR ** per_file.get(files[cid], 0)

    while pool and len(out) < limit:
        cid = max(pool, key=lambda c: (effective(c), tiebreak.get(c, 0.0), -c))
        out.append((cid, effective(cid)))
        per_file[files[cid]] = per_file.get(files[cid], 0) + 1
        del pool[cid]
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
