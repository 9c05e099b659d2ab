"""Memory facts: does search find one fact kept in MEMORY.md or the daily log?

Facts are what `memory_append` and "remember" write: a line in MEMORY.md (after the template
`init` wrote) or an entry in `memory/YYYY-MM-DD.md`, asked about later in a short question
(`memory_facts/facts.json`, written before any tuning). They sit in the retrieval evaluation's
workspace (2,668 notes of Debian's python3.11-doc, `retrieval_corpus.py`), so every fact
competes with real documentation. MEMORY.md entries are written half as `- ` bullets (as
people type them) and half as bare paragraphs (as the `memory_append` tool writes them); log
entries through `daily_log.note_entry`, with a few filler entries nobody asks about.

A query counts as found at rank k when one of the first k results covers the fact's line
(the file alone is not enough: the user reads the snippet). A hash of the fact splits the
facts into dev (tuning may look) and test (held out). Reported per split: recall@1/3/10,
MRR@10, false-empty, and false-hit over the unrelated questions.

    apt-get install python3.11-doc
    python benchmarks/memory_facts.py [--split test|dev|all]

Prints a table and writes benchmarks/results/memory_facts.json. Reuses the retrieval
evaluation's cache (~/.cache/localgpt-bench/retrieval): the documentation's vectors come from
its index, so only the facts are embedded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import retrieval  # noqa: E402

CUTOFFS = (1, 3, 10)


def split_of(fact: str) -> str:
    return "dev" if hashlib.sha256(fact.encode()).digest()[0] % 2 == 0 else "test"


def build(workspace: Path, home: Path) -> list[dict[str, Any]]:
    """The documentation workspace plus the facts; returns each fact with its file and line."""
    from localgpt_ls import daily_log, paths
    from localgpt_ls.workspace import template_text

    source = retrieval.CACHE / "ws"
    retrieval.prepare(source, 0)
    if workspace.exists():
        shutil.rmtree(workspace)
    shutil.copytree(source, workspace)
    # The documentation's index (and its embedding cache) comes along, so only facts embed.
    os.environ["LOCALGPT_HOME"] = str(retrieval.CACHE / "home")
    old_index = paths.index_path(source)
    os.environ["LOCALGPT_HOME"] = str(home)
    new_index = paths.index_path(workspace)
    if home.exists():
        shutil.rmtree(home)
    new_index.parent.mkdir(parents=True)
    shutil.copyfile(old_index, new_index)

    data = json.loads((HERE / "memory_facts" / "facts.json").read_text())
    memory = workspace / "MEMORY.md"
    memory.write_text(template_text("MEMORY.md"), encoding="utf-8")
    facts: list[dict[str, Any]] = []
    for i, item in enumerate(data["memory"]):
        entry = f"- {item['fact']}" if i % 2 == 0 else item["fact"]
        daily_log.append(workspace, memory, entry, "")
        facts.append({**item, "file": "MEMORY.md"})
    for n, item in enumerate(data["log"]):
        day = datetime.fromisoformat(item["day"]).replace(hour=8 + n % 10, minute=5 * n % 60)
        rel = daily_log.rel_path(day.date())
        text = item.get("fact") or item["filler"]
        daily_log.append(workspace, workspace / rel, daily_log.note_entry(text, day),
                         daily_log.header(day.date()))
        if "fact" in item:
            facts.append({**item, "file": rel})
    for f in facts:
        lines = (workspace / f["file"]).read_text(encoding="utf-8").splitlines()
        f["line"] = next(i for i, ln in enumerate(lines, 1) if f["fact"] in ln)
        f["split"] = split_of(f["fact"])
    return facts


def rank_of(results: list[Any], fact: dict[str, Any]) -> int | None:
    for rank, hit in enumerate(results, 1):
        if hit.file == fact["file"] and hit.line_start <= fact["line"] <= hit.line_end:
            return rank
    return None


def evaluate(index: Any, facts: list[dict[str, Any]], unrelated: list[str]) -> dict[str, Any]:
    ranks = []
    for f in facts:
        response = index.search(f["query"], limit=10)
        ranks.append(rank_of(response.results, f) if response.results else -1)
    n = len(facts) or 1
    out: dict[str, Any] = {"n": len(facts)}
    for k in CUTOFFS:
        out[f"r@{k}"] = round(sum(1 for r in ranks if r and r > 0 and r <= k) / n, 3)
    out["mrr@10"] = round(sum(1 / r for r in ranks if r and r > 0) / n, 3)
    out["false_empty"] = round(sum(1 for r in ranks if r == -1) / n, 3)
    out["missed"] = [f["query"] for f, r in zip(facts, ranks, strict=True)
                     if not r or r < 0 or r > 3]
    hits = sum(bool(index.search(q, limit=10).results) for q in unrelated)
    out["unrelated_false_hit"] = round(hits / len(unrelated), 3) if unrelated else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("test", "dev", "all"), default="test")
    args = ap.parse_args()
    workspace = retrieval.CACHE / "ws-facts" / ".localgpt" / "workspace"
    home = retrieval.CACHE / "home-facts"
    facts = build(workspace, home)
    if args.split != "all":
        facts = [f for f in facts if f["split"] == args.split]
    unrelated = json.loads((HERE / "memory_facts" / "facts.json").read_text())["unrelated"]
    index = retrieval.open_index(home, workspace)
    report = index.reindex()
    print(f"{index.stats()['total_chunks']} chunks ({report.chunks_embedded} embedded now)")
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version()},
              "split": args.split, "search": evaluate(index, facts, unrelated)}
    index.close()
    s = result["search"]
    print(f"split {args.split}: n={s['n']}  " + "  ".join(
        f"{k}={s[k]}" for k in ("r@1", "r@3", "r@10", "mrr@10", "false_empty",
                                "unrelated_false_hit")))
    for q in s["missed"]:
        print(f"  not in the top 3: {q}")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "memory_facts.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
