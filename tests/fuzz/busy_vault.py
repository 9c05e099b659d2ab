"""A workspace big enough that `localgpt.reindex {"force": true}` takes seconds, written from
real English: the docstrings of Python's own standard library (every module, class and
function that has one), grouped into notes by module, with headings, wiki links and tags as
a user's notes have. Deterministic for a given Python version and note count."""

from __future__ import annotations

import ast
import sysconfig
from collections.abc import Iterator
from pathlib import Path


def _docstrings() -> Iterator[tuple[str, str, list[tuple[str, str]]]]:
    """(module name, module docstring, [(name, docstring)]) for stdlib modules, sorted."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("test", "idlelib", "lib2to3", "site-packages", "tkinter") or \
                "tests" in rel.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        parts = []
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 80:
                    parts.append((node.name, doc))
        module = ".".join(rel.with_suffix("").parts)
        top = ast.get_docstring(tree) or ""
        if parts or len(top) > 200:
            yield module, top, parts


def make_busy_vault(workspace: Path, notes: int = 1200, size: int = 3000) -> int:
    """Write up to `notes` notes of about `size` characters under workspace/knowledge/;
    returns how many were written (Python 3.11's standard library gives about 600)."""
    folder = workspace / "knowledge" / "stdlib"
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    names: list[str] = []
    for module, top, parts in _docstrings():
        # Big modules make several notes: a user's note is a few pages, not a book.
        text: list[str] = []
        for name, doc in parts:
            text.append(f"## {name}\n\n{doc}\n")
        chunks: list[list[str]] = [[]]
        for section in text:
            if sum(len(s) for s in chunks[-1]) > size:
                chunks.append([])
            chunks[-1].append(section)
        for n, sections in enumerate(chunks):
            if written >= notes:
                return written
            stem = module.replace(".", "-") + (f"-{n + 1}" if n else "")
            links = " ".join(f"[[{other}]]" for other in names[-3:])
            body = (f"# {module}{f' (part {n + 1})' if n else ''}\n\n"
                    f"{top.strip() if n == 0 else ''}\n\n"
                    f"Related: {links} #python #{module.split('.')[0]}\n\n"
                    + "\n".join(sections))
            (folder / f"{stem}.md").write_text(body, encoding="utf-8")
            names.append(stem)
            written += 1
    return written
