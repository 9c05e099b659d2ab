"""`localgpt memory search|reindex|stats|recent` (built by "Memory engine")."""

from __future__ import annotations

from typing import Any

from localgpt_ls.cli.common import not_implemented


def register(sub: Any) -> None:
    p = sub.add_parser("memory", help="search and maintain the memory index")
    ms = p.add_subparsers(dest="memory_command", metavar="ACTION", required=True)
    s = ms.add_parser("search", help="hybrid keyword + meaning search over the workspace")
    s.add_argument("query")
    s.add_argument("-n", "--limit", type=int, default=6)
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=not_implemented)
    r = ms.add_parser("reindex", help="bring the index up to date with the workspace")
    r.add_argument("--force", action="store_true")
    r.set_defaults(handler=not_implemented)
    st = ms.add_parser("stats", help="files, chunks and embeddings in the index")
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=not_implemented)
    rc = ms.add_parser("recent", help="recently changed memory files")
    rc.set_defaults(handler=not_implemented)
