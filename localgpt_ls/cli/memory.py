"""`localgpt memory search|reindex|stats|recent`: the memory index from the terminal."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from localgpt_ls.cli.common import ProgressBar, print_json
from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError


def _index_errors(handler: Callable[[argparse.Namespace], int]
                  ) -> Callable[[argparse.Namespace], int]:
    """An index that stays locked past the busy timeout (or an unwritable state folder) is one
    clear line, not a traceback. Damaged files never get here: the index recovers from those."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        # imported here so `localgpt --version` never loads SQLite extensions
        from localgpt_ls.memory.store import DatabaseErrors

        try:
            return handler(args)
        except DatabaseErrors as exc:
            raise LocalGPTError(f"the memory index cannot be used right now ({exc}); another "
                                "program may hold it: try again in a moment") from None
        except PermissionError as exc:
            raise LocalGPTError(f"cannot write the memory index: {exc}; check that "
                                "LOCALGPT_HOME is writable") from None
    return run


def register(sub: Any) -> None:
    p = sub.add_parser("memory", help="search and maintain the memory index")
    ms = p.add_subparsers(dest="memory_command", metavar="ACTION", required=True)
    s = ms.add_parser("search", help="hybrid keyword + meaning search over the workspace")
    s.add_argument("query")
    s.add_argument("-n", "--limit", type=int, default=6)
    s.add_argument("--min-score", type=float, default=None,
                   help="drop results scoring below this (0..1)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=_index_errors(search))
    r = ms.add_parser("reindex", help="bring the index up to date with the workspace")
    r.add_argument("--force", action="store_true", help="re-read every file")
    r.set_defaults(handler=_index_errors(reindex))
    st = ms.add_parser("stats", help="files, chunks and embeddings in the index")
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=_index_errors(stats))
    rc = ms.add_parser("recent", help="recently changed memory files")
    rc.add_argument("-n", "--limit", type=int, default=10)
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(handler=_index_errors(recent))


def _snippet(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def search(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise LocalGPTError("-n must be at least 1")
    engine = Engine()
    try:
        memory = engine.memory
        # Cheap when nothing changed (a stat per file), and a fresh user gets results at once.
        bar = ProgressBar()
        # Its warnings were logged as they arose, and cli_logging showed them: not repeated.
        memory.reindex(progress=bar)
        bar.finish()
        response = memory.search(args.query, limit=args.limit, min_score=args.min_score)
    finally:
        engine.close()
    if args.json:
        print_json(response.to_dict())
        return 0
    if not response.results:
        print("No matches.")
        return 0
    for hit in response.results:
        print(f"{hit.score:.2f} {hit.file}:{hit.line_start}-{hit.line_end}")
        print(f"     {_snippet(hit.content)}")
    if response.mode == "fts":
        print("(keyword matches only: no embeddings available)", file=sys.stderr)
    return 0


def reindex(args: argparse.Namespace) -> int:
    engine = Engine()
    try:
        bar = ProgressBar()
        report = engine.memory.reindex(force=args.force, progress=bar)
        bar.finish()
        stats_now = engine.memory.stats()
    finally:
        engine.close()
    if report.rebuilt:
        print(f"Rebuilt the index ({report.rebuilt}).")
    print(f"Indexed {report.files_indexed} changed file(s) of {report.files_seen}, removed "
          f"{report.files_removed}, skipped {report.files_skipped}; embedded "
          f"{report.chunks_embedded} new chunk text(s), {report.cache_hits} from cache, in "
          f"{report.seconds:.1f}s.")
    print(f"{stats_now['total_files']} files, {stats_now['total_chunks']} chunks, "
          f"{stats_now['embedded_chunks']} embedded.")
    return 0


def stats(args: argparse.Namespace) -> int:
    engine = Engine()
    try:
        data = engine.memory.stats()
    finally:
        engine.close()
    if args.json:
        print_json(data)
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key:<{width}}  {value}")
    return 0


def recent(args: argparse.Namespace) -> int:
    engine = Engine()
    try:
        engine.memory.reindex()
        rows = engine.memory.recent(args.limit)
    finally:
        engine.close()
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No memory files yet.")
    for row in rows:
        print(f"{row['modified']}  {row['file']}")
    return 0
