"""`localgpt memory search|reindex|stats|recent`: the memory index from the terminal."""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localgpt_ls import paths
from localgpt_ls.cli.common import ProgressBar, count_at_least_one, print_json
from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError

if TYPE_CHECKING:  # the CLI imports every group at start: keep SQLite off `--version`
    from localgpt_ls.memory import ReindexReport
    from localgpt_ls.memory.search import SearchResponse


IndexHandler = Callable[[argparse.Namespace, Engine], int]


def _with_index(handler: IndexHandler) -> Callable[[argparse.Namespace], int]:
    """Run a memory command with an Engine, closed afterwards. An index that cannot be used
    (locked past the busy timeout, a folder where the file should be, unreadable) is one line
    saying what is wrong with which path and what to do, not a traceback. Damaged files never
    get here: the index recovers from those."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        # imported here so `localgpt --version` never loads SQLite extensions
        from localgpt_ls.memory.store import DatabaseErrors, explain_database_error

        engine = Engine()
        try:
            return handler(args, engine)
        except DatabaseErrors as exc:
            raise LocalGPTError(explain_database_error(paths.index_path(engine.workspace), exc)
                                ) from None
        except PermissionError as exc:
            raise LocalGPTError(f"cannot write the memory index: {exc}; check that "
                                "LOCALGPT_HOME is writable") from None
        finally:
            engine.close()
    return run


def _bring_up_to_date(engine: Engine, force: bool = False) -> ReindexReport:
    """Reindex with a progress bar. Cheap when nothing changed (a stat per file). Its warnings
    were logged as they arose and cli_logging showed them, so they are not repeated here."""
    bar = ProgressBar()
    try:
        return engine.memory.reindex(force=force, progress=bar)
    finally:
        bar.finish()


def _days(text: str) -> float:
    """argparse type for --recency: a number of days, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got '{text}'") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 (off) or more days, got {text}")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser("memory", help="search and maintain the memory index")
    ms = p.add_subparsers(dest="memory_command", metavar="ACTION", required=True)
    s = ms.add_parser("search", help="hybrid keyword + meaning search over the workspace")
    s.add_argument("query")
    s.add_argument("-n", "--limit", type=count_at_least_one, default=6,
                   help="most results to show (default 6)")
    s.add_argument("--min-score", type=float, default=None,
                   help="drop results scoring below this (0..1)")
    s.add_argument("--recency", metavar="DAYS", type=_days, default=None,
                   help="daily logs (memory/YYYY-MM-DD.md) count half after DAYS days; 0 is "
                        "off (default: [memory] recency_half_life_days)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=_with_index(search))
    r = ms.add_parser("reindex", help="bring the index up to date with the workspace")
    r.add_argument("--force", action="store_true", help="re-read every file")
    r.set_defaults(handler=_with_index(reindex))
    st = ms.add_parser("stats", help="files, chunks and embeddings in the index")
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=_with_index(stats))
    rc = ms.add_parser("recent", help="recently changed memory files")
    rc.add_argument("-n", "--limit", type=count_at_least_one, default=10,
                    help="most files to list (default 10)")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(handler=_with_index(recent))


def _snippet(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def print_hits(response: SearchResponse) -> None:
    """Search results as `memory search` and chat's /memory print them: score, file:lines,
    then the text on one indented line that fits the terminal (160 characters at most)."""
    if not response.results:
        print("No matches.")
        return
    width = max(40, min(160, shutil.get_terminal_size().columns - 6))
    for hit in response.results:
        print(f"{hit.score:.2f} {hit.file}:{hit.line_start}-{hit.line_end}")
        print(f"     {_snippet(hit.content, width)}")


def search(args: argparse.Namespace, engine: Engine) -> int:
    engine.memory.load_model_behind()  # both cores: the model loads while the scan runs
    _bring_up_to_date(engine)  # a fresh user gets results at once
    response = engine.memory.search(args.query, limit=args.limit, min_score=args.min_score,
                                    recency_half_life_days=args.recency)
    if args.json:
        print_json(response.to_dict())
        return 0
    print_hits(response)
    if response.results and response.mode == "fts":
        print("(keyword matches only: no embeddings available)", file=sys.stderr)
    return 0


def reindex(args: argparse.Namespace, engine: Engine) -> int:
    report = _bring_up_to_date(engine, force=args.force)
    stats_now = engine.memory.stats()
    if report.rebuilt:
        print(f"Rebuilt the index ({report.rebuilt}).")
    print(f"Indexed {report.files_indexed} changed file(s) of {report.files_seen}, removed "
          f"{report.files_removed}, skipped {report.files_skipped}; embedded "
          f"{report.chunks_embedded} new chunk text(s), {report.cache_hits} from cache, in "
          f"{report.seconds:.1f}s.")
    print(f"{stats_now['total_files']} files, {stats_now['total_chunks']} chunks, "
          f"{stats_now['embedded_chunks']} embedded.")
    return 0


def stats(args: argparse.Namespace, engine: Engine) -> int:
    if engine.memory.needs_reindex:
        # New, rebuilt or recovered from damage: 0 files would describe the index, not the
        # workspace, so fill it first, as search does.
        _bring_up_to_date(engine)
    data = engine.memory.stats()
    if args.json:
        print_json(data)
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key:<{width}}  {value}")
    return 0


def recent(args: argparse.Namespace, engine: Engine) -> int:
    engine.memory.reindex()
    rows = engine.memory.recent(args.limit)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No memory files yet.")
    for row in rows:
        print(f"{row['modified']}  {row['file']}")
    return 0
