"""The retrieval evaluation's corpus: real documentation turned into a workspace of notes.

The text is CPython 3.11's documentation as Debian ships it in `python3.11-doc` (the reST
sources Sphinx keeps under html/_sources). Nobody in this project wrote it. Each section of each
page becomes one note, `knowledge/<part>/<page>/<section>.md`, opening with the section title
as its H1, with reST roles and links reduced to their text, so a note reads like one a person
would keep. The FAQ's questions are the evaluation's targets; every other section (tutorial,
library reference, how-tos, language reference) is there as a neighbour that looks alike.

    python benchmarks/retrieval_corpus.py OUT_DIR     # writes the notes, prints the count

Install the text with `apt-get install python3.11-doc`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SOURCES = Path("/usr/share/doc/python3.11/html/_sources")
PARTS = ("faq", "tutorial", "howto", "library", "reference", "using")
MIN_BODY = 200  # characters: a section shorter than this is a heading over a list of links

_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+<>_:.])\1{2,}\s*$")
_ROLE = re.compile(r":[\w:.-]+:`~?!?([^`<]*?)(?:\s*<[^`>]*>)?`")
_LINK = re.compile(r"`([^`<]+?)\s*<[^`>]+>`__?")
_REF = re.compile(r"`([^`]+)`_\b")
_LABEL = re.compile(r"^\.\. _[^:]+:\s*$")


@dataclass
class Section:
    part: str
    page: str
    title: str
    body: str

    @property
    def key(self) -> str:
        return f"knowledge/{self.part}/{self.page}/{slug(self.title)}.md"


def slug(title: str) -> str:
    s = re.sub(r"[^\w]+", "-", title.lower()).strip("-")
    return s[:70].rstrip("-") or "section"


def clean(text: str) -> str:
    """reST markup down to the words a person reads."""
    text = _ROLE.sub(lambda m: m.group(1).strip(), text)
    text = _LINK.sub(lambda m: m.group(1).strip(), text)
    text = _REF.sub(lambda m: m.group(1), text)
    text = text.replace("``", "`")
    lines = [ln for ln in text.splitlines() if not _LABEL.match(ln)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sections(path: Path, part: str) -> Iterator[Section]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    page = path.name.removesuffix(".rst.txt")
    heads: list[tuple[int, str]] = []  # (line index of the title, title)
    for i in range(1, len(lines)):
        title = lines[i - 1].strip()
        if (_UNDERLINE.match(lines[i]) and title and not _UNDERLINE.match(lines[i - 1])
                and len(lines[i].strip()) >= len(title) - 1):
            heads.append((i - 1, title))
    for n, (at, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        body_lines = lines[at + 2:end]
        # an overline belongs to the next title, not to this body
        if body_lines and _UNDERLINE.match(body_lines[-1]):
            body_lines = body_lines[:-1]
        body = clean("\n".join(body_lines))
        if len(body) >= MIN_BODY:
            yield Section(part, page, clean(title), body)


def corpus(sources: Path = SOURCES) -> list[Section]:
    if not sources.is_dir():
        raise SystemExit(f"{sources} is missing: install it with `apt-get install python3.11-doc`")
    out: list[Section] = []
    seen: set[str] = set()
    for part in PARTS:
        for path in sorted((sources / part).rglob("*.rst.txt")):
            for sec in sections(path, part):
                if sec.key not in seen:  # a page repeating a title keeps its first section
                    seen.add(sec.key)
                    out.append(sec)
    return out


def write(sections_: list[Section], out: Path) -> int:
    for sec in sections_:
        path = out / sec.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {sec.title}\n\n{sec.body}\n", encoding="utf-8")
    return len(sections_)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "retrieval-workspace")
    print(write(corpus(), target), "notes in", target)
