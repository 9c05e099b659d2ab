"""Markdown structure for memory and the editor: headings, links, tags, tasks and chunks.

Block structure comes from mistune 3's block parser (an AST, so a `#` inside a fenced code block is
never a heading). mistune tokens carry no source positions, so `_LocatingBlockParser` stamps every
top-level token with the offset where it starts; a token ends where the next one starts. Offsets
become 1-based line numbers, which is what the language server and search results point at.

Links, tags and tasks are then found line by line inside the blocks that can hold them, with code
spans, fenced/indented code and HTML comments masked out first, so `` `[[x]]` `` is not a link.

Conventions:
- Lines are 1-based. Line breaks are `\\n`, `\\r\\n` or `\\r` (the same set LSP uses).
- `start`/`end` of links and tags are 0-based Python `str` offsets within their line (end
  exclusive); the language server converts them to UTF-16.
- A tag's `name` has no leading `#`; its range covers the `#`.
- Standard links with a URL scheme (`https:`, `mailto:` ...) and images are not note links and are
  not reported. A link target is percent-decoded; `[x](#h)` and `[[#h]]` have target "".
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from mistune.block_parser import BlockParser
from mistune.core import BlockState

__all__ = [
    "Chunk",
    "Heading",
    "Link",
    "MarkdownDoc",
    "Tag",
    "Task",
    "chunk",
    "estimate_tokens",
    "is_empty_item",
    "parse",
    "slugify",
    "split_lines",
    "task_item",
    "tick_task",
]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    slug: str
    line: int
    end_line: int  # last line of the section (trailing blank lines excluded)
    path: tuple[str, ...]  # texts of the enclosing headings, this one last


@dataclass(frozen=True)
class Link:
    kind: Literal["wiki", "md"]
    target: str
    heading: str | None
    alias: str | None
    line: int
    start: int
    end: int
    raw: str


@dataclass(frozen=True)
class Tag:
    name: str
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Task:
    line: int
    checked: bool
    text: str


@dataclass(frozen=True)
class Block:
    """One top-level markdown block and the lines it covers (blank lines excluded)."""

    type: str
    line_start: int
    line_end: int


@dataclass
class MarkdownDoc:
    lines: list[str]
    blocks: list[Block] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    # Set when the text was over the parsing budget and read as plain text (see `parse`).
    warning: str | None = None

    def heading_path_at(self, line: int) -> tuple[str, ...]:
        """The heading path of the innermost section containing `line` (() outside any)."""
        path: tuple[str, ...] = ()
        for h in self.headings:
            if h.line > line:
                break
            if line <= h.end_line:
                path = h.path  # later containing headings are nested deeper
        return path


@dataclass(frozen=True)
class Chunk:
    text: str
    line_start: int
    line_end: int
    heading_path: tuple[str, ...]


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines as LSP counts them (`\\n`, `\\r\\n`, `\\r`); a final line break adds an empty line."""
    return _LINE_BREAK.split(text)


# ---------------------------------------------------------------------------------------------
# Block structure with positions


class _OverBudget(Exception):
    """Parsing went deeper or took longer than its budget; the text is read as plain text."""


class _LocatingBlockParser(BlockParser):
    """mistune's block parser, recording where each top-level token starts (`_pos`), and
    keeping to the budget that `_top_level_tokens` puts in `state.env`."""

    def parse_method(self, m: re.Match[str], state: BlockState) -> int | None:
        # Every block rule passes here, at every level, so the checks are frequent; they
        # raise rather than return because mistune's recursion has no other way out.
        if time.monotonic() > state.env["_deadline"]:
            raise _OverBudget("took longer than its parsing budget")
        if state.parent is not None:
            if state.depth() >= MAX_DEPTH:
                raise _OverBudget(f"nests lists or quotes deeper than {MAX_DEPTH} levels")
            return super().parse_method(m, state)
        before, start = len(state.tokens), state.cursor
        state._rule_depth += 1  # type: ignore[attr-defined]
        try:
            result = super().parse_method(m, state)
        finally:
            state._rule_depth -= 1  # type: ignore[attr-defined]
        # Lists and block quotes move the cursor before appending their token, and may parse the
        # block that ends them first (a nested call that stamps its own token): stamp the rest.
        for tok in state.tokens[before:]:
            tok.setdefault("_pos", start)
        return result


class _LocatingState(BlockState):
    _rule_depth = 0

    def append_token(self, token: dict[str, Any]) -> None:
        # Outside a rule (indented code, paragraphs) the cursor is where the token starts.
        if self.parent is None and not self._rule_depth:
            token.setdefault("_pos", self.cursor)
        super().append_token(token)

    # A paragraph grows by pieces in "_more" rather than by `text +=`, which copied the whole
    # paragraph for every line that looked like a block start (quadratic in its length).
    def add_paragraph(self, text: str) -> None:
        last = self.last_token()
        if last and last["type"] == "paragraph":
            last.setdefault("_more", []).append(text)
        elif self.parent is None and not self._rule_depth:
            self.tokens.append({"type": "paragraph", "text": text, "_pos": self.cursor})
        else:
            self.tokens.append({"type": "paragraph", "text": text})

    def append_paragraph(self) -> int | None:
        last = self.last_token()
        if last and last["type"] == "paragraph":
            pos = self.find_line_end()
            last.setdefault("_more", []).append(self.get_text(pos))
            return pos
        return None


def _token_text(tok: dict[str, Any]) -> str:
    return str(tok.get("text", "")) + "".join(tok.get("_more", ()))


# The budget. Real notes nest a handful of levels; mistune's own limit (20) still let a deep
# list cost time cubic in its depth. Parsing runs at about 1 s per MB here, so the time allowed
# grows with the size and leaves a slow or busy machine three times that.
MAX_DEPTH = 16
BUDGET_BASE_SECONDS = 2.0
BUDGET_SECONDS_PER_MB = 3.0

_PARSER = _LocatingBlockParser(max_nested_level=MAX_DEPTH + 2)


def parse_budget(text: str) -> float:
    """Seconds `parse` may spend on `text` before it falls back to plain text."""
    return BUDGET_BASE_SECONDS + BUDGET_SECONDS_PER_MB * len(text) / 1e6


def _top_level_tokens(norm: str, deadline: float) -> list[tuple[dict[str, Any], int, int]]:
    """Top-level tokens of `norm` (text with `\\n` line breaks) with 0-based [start, end) lines.
    Raises _OverBudget past `deadline` (time.monotonic) or MAX_DEPTH."""
    state = _LocatingState()
    state.env["_deadline"] = deadline
    state.process(norm if norm.endswith("\n") else norm + "\n")
    _PARSER.parse(state)
    starts = [0]
    for line in norm.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def line_of(pos: int) -> int:
        return bisect.bisect_right(starts, pos) - 1

    toks = [t for t in state.tokens if "_pos" in t]
    out: list[tuple[dict[str, Any], int, int]] = []
    n_lines = len(starts)
    for i, tok in enumerate(toks):
        first = line_of(tok["_pos"])
        end = line_of(toks[i + 1]["_pos"]) if i + 1 < len(toks) else n_lines
        out.append((tok, first, max(end, first + 1)))
    return out


# ---------------------------------------------------------------------------------------------
# Masking: code and comments are not links or tags


def _mask(s: str, a: int, b: int) -> str:
    """Blank s[a:b] with spaces, keeping line breaks (so lines and offsets stay put)."""
    return s[:a] + re.sub(r"[^\n]", " ", s[a:b]) + s[b:]


_BACKTICKS = re.compile(r"`+")


def _mask_comments(s: str) -> str:
    """Mask HTML comments. By hand because `<!--.*?-->` rescans to the end of the text from
    every unclosed `<!--` (quadratic); once one `<!--` finds no `-->`, none after it can."""
    pieces: list[str] = []
    pos = 0
    while True:
        a = s.find("<!--", pos)
        b = s.find("-->", a + 4) if a != -1 else -1
        if b == -1:
            break
        pieces += [s[pos:a], re.sub(r"[^\n]", " ", s[a:b + 3])]
        pos = b + 3
    pieces.append(s[pos:])
    return "".join(pieces)


def _mask_code_spans(s: str) -> str:
    """Mask inline code spans: a run of N backticks up to the next run of exactly N.

    Linear: runs are grouped by length once, and the output is built from pieces.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(s)]
    if not runs:
        return s
    by_len: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(runs):
        by_len.setdefault(b - a, []).append(i)
    next_same: dict[int, int] = {}  # run index -> index of the next run of the same length
    for same in by_len.values():
        for x, y in itertools.pairwise(same):
            next_same[x] = y
    pieces: list[str] = []
    pos = i = 0
    while i < len(runs):
        closer = next_same.get(i)
        if closer is None:
            i += 1
            continue
        a, b = runs[i][0], runs[closer][1]
        pieces.append(s[pos:a])
        pieces.append(re.sub(r"[^\n]", " ", s[a:b]))
        pos = b
        i = closer + 1
    pieces.append(s[pos:])
    return "".join(pieces)


# Written so no two whitespace runs can trade characters: `[ \t]*(?:>[ \t]?)*[ \t]*` took
# time quadratic in a line's leading whitespace, cubic over a deeply nested list.
_FENCE = re.compile(r"^[ \t]*(?:>[ \t]*)*(?:(?:[-*+]|\d+[.)])[ \t]*)?(`{3,}|~{3,})")


def _mask_nested_fences(lines: list[str]) -> list[str]:
    """Mask fenced code inside lists and quotes (mistune hides nested tokens' positions)."""
    out = list(lines)
    fence: str | None = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
                out[i] = " " * len(line)
        else:
            out[i] = " " * len(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
    return out


# ---------------------------------------------------------------------------------------------
# Inline scanners

_WIKI = re.compile(r"\[\[([^\[\]\n|#]*)(?:#([^\[\]\n|]*))?(?:\|([^\[\]\n]*))?\]\]")
_MD_LINK = re.compile(
    r"(?<!!)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]"
    r"\((?:<([^<>\n]*)>|([^()\s<>]*))(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'))?[ \t]*\)"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_TAG = re.compile(r"(?<![\w#&/\\:.\-\]\)])#([\w\-/]+)")
_TASK = re.compile(r"^[ \t]*(?:>[ \t]*)*(?:[-*+]|\d+[.)])[ \t]+\[([ xX])\](?:[ \t]+(.*))?$")


# An item with nothing after the marker, or only an empty checkbox (`-`, `1.`, `- [ ]`, `- []`).
_BARE_ITEM = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-*+]|\d+[.)])(?:[ \t]+\[[ xX]?\])?[ \t]*$")


def task_item(line: str, lineno: int = 0) -> Task | None:
    """The task on one line: a list item (`-`, `*`, `+`, `1.`, `1)`, also in a quote) with a
    checkbox `[ ]`, `[x]` or `[X]`. The one definition of a task: `parse`, the HEARTBEAT.md
    diagnostics, the empty-file rule and the heartbeat_done tool all ask here."""
    m = _TASK.match(line)
    if m is None:
        return None
    return Task(lineno, m.group(1) in "xX", (m.group(2) or "").strip())


def tick_task(line: str) -> str | None:
    """The line with its open checkbox ticked (`[ ]` -> `[x]`), or None when it holds no open
    task; everything else on the line stays as it was."""
    m = _TASK.match(line)
    if m is None or m.group(1) != " ":
        return None
    return line[:m.start(1)] + "x" + line[m.end(1):]


def is_empty_item(line: str) -> bool:
    """A list item that says nothing: a bare marker, or a task without text."""
    if _BARE_ITEM.match(line):
        return True
    task = task_item(line)
    return task is not None and not task.text


def _scan_links(line: str, lineno: int) -> list[Link]:
    found: list[Link] = []
    for m in _WIKI.finditer(line):
        target = m.group(1).strip()
        heading = m.group(2).strip() if m.group(2) is not None else None
        alias = m.group(3).strip() if m.group(3) is not None else None
        if not target and not heading:
            continue
        found.append(Link("wiki", target, heading or None, alias or None, lineno, m.start(),
                          m.end(), m.group(0)))
    wiki_starts = [f.start for f in found]  # sorted: finditer goes left to right
    for m in _MD_LINK.finditer(line):
        # a `[[wiki]]` also contains `[x]` shapes; never report overlapping links
        k = bisect.bisect_right(wiki_starts, m.start()) - 1
        if k >= 0 and m.start() < found[k].end:
            continue
        dest = m.group(2) if m.group(2) is not None else m.group(3)
        if not dest or _SCHEME.match(dest):
            continue
        path, _, frag = dest.partition("#")
        found.append(Link("md", unquote(path), unquote(frag) or None, m.group(1) or None, lineno,
                          m.start(), m.end(), m.group(0)))
    found.sort(key=lambda lk: lk.start)
    return found


def _scan_tags(line: str, lineno: int) -> list[Tag]:
    tags = []
    for m in _TAG.finditer(line):
        name = m.group(1).rstrip("/-")
        # `#123` is an issue number, not a tag; a tag needs at least one non-digit
        if not name or not re.search(r"[^\W\d_]|[_\-/]", name) or name.startswith("/"):
            continue
        tags.append(Tag(name, lineno, m.start(), m.start() + 1 + len(name)))
    return tags


# ---------------------------------------------------------------------------------------------
# Headings


_SLUG_DROP = re.compile(r"[^\w\- ]")


def slugify(heading: str) -> str:
    """GitHub-style anchor: lowercase, punctuation dropped, spaces to hyphens (unicode kept).

    Duplicate headings in one file get `-1`, `-2` on GitHub; callers that care add that suffix.
    """
    text = unicodedata.normalize("NFC", heading).strip().lower()
    text = _SLUG_DROP.sub("", text)
    return text.replace(" ", "-")


_INLINE_MARKUP = re.compile(r"(\*\*|__|\*|_(?=\w)|(?<=\w)_|`)")


def _heading_text(raw: str) -> str:
    """Heading text with link syntax and emphasis markers removed, as a reader sees it."""
    text = _WIKI.sub(lambda m: m.group(3) or m.group(1) or m.group(2) or "", raw)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = _INLINE_MARKUP.sub("", text)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# parse


_NO_INLINE = {"block_code", "blank_line", "thematic_break"}


def parse(text: str, budget: float | None = None) -> MarkdownDoc:
    """Parse markdown into headings (with section ranges), links, tags and tasks.

    Within a budget (`budget` seconds, default `parse_budget(text)`, and MAX_DEPTH levels of
    nesting): past it the text is read as plain text, paragraphs only, with links and tags
    still found line by line, and `doc.warning` says why. Nothing is dropped either way.
    """
    lines = split_lines(text)
    deadline = time.monotonic() + (parse_budget(text) if budget is None else budget)
    if _too_deep(lines):
        return _parse_plain(lines, "read as plain text: it nests lists or quotes deeper "
                                   f"than {MAX_DEPTH} levels")
    try:
        return _parse_blocks(lines, deadline)
    except (_OverBudget, RecursionError) as exc:
        why = str(exc) if isinstance(exc, _OverBudget) else "nests too deeply"
        return _parse_plain(lines, f"read as plain text: it {why}")


_DEEP_INDENT = 4 * MAX_DEPTH  # columns: a list item this far in sits deeper than MAX_DEPTH
_MARKER = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


def _too_deep(lines: list[str]) -> bool:
    """A linear look for nesting past MAX_DEPTH (a list item indented 4 columns a level, or
    that many `>`), so such a note goes to plain text before mistune, which re-reads the
    whole nested text at every level it descends (0.2 s a keystroke for a 1 MB list)."""
    for line in lines:
        body = line.lstrip(" \t")
        indent = len(line) - len(body)
        if indent >= _DEEP_INDENT // 4:  # tabs count four columns
            width = len(line[:indent].expandtabs(4))
            if width >= _DEEP_INDENT and _MARKER.match(body):
                return True
        if body.startswith(">") and body.replace(" ", "").startswith(">" * MAX_DEPTH):
            return True
    return False


def _parse_blocks(lines: list[str], deadline: float) -> MarkdownDoc:
    doc = MarkdownDoc(lines=lines)
    masked = list(lines)
    raw_headings: list[tuple[int, str, int]] = []  # (level, text, 1-based line)

    for tok, first, end in _top_level_tokens("\n".join(lines), deadline):
        if time.monotonic() > deadline:
            raise _OverBudget("took longer than its parsing budget")
        ttype = tok["type"]
        last = end - 1
        while last > first and not lines[last].strip():
            last -= 1
        if ttype != "blank_line":
            doc.blocks.append(Block(ttype, first + 1, last + 1))
        if ttype in _NO_INLINE:
            for i in range(first, end):
                masked[i] = " " * len(lines[i])
            continue
        if ttype == "heading":
            raw_headings.append((tok["attrs"]["level"], _heading_text(_token_text(tok)),
                                 first + 1))
        region = "\n".join(masked[first:end])
        region = _mask_comments(region)
        region = _mask_code_spans(region)
        region_lines = region.split("\n")
        if ttype in ("list", "block_quote"):
            region_lines = _mask_nested_fences(region_lines)
        masked[first:end] = region_lines
        if ttype == "list" or ttype == "block_quote":
            for i in range(first, end):
                task = task_item(lines[i], i + 1)
                if task is not None and masked[i].strip():
                    doc.tasks.append(task)

    _scan_inline(doc, masked)
    doc.headings = _build_headings(raw_headings, lines)
    return doc


def _parse_plain(lines: list[str], warning: str) -> MarkdownDoc:
    """The fallback past the budget: blank-line separated paragraphs, no headings or tasks;
    links and tags outside code spans and comments (every step here is linear)."""
    doc = MarkdownDoc(lines=lines, warning=warning)
    start = None
    for i, line in enumerate([*lines, ""]):
        if line.strip():
            start = i if start is None else start
        elif start is not None:
            doc.blocks.append(Block("paragraph", start + 1, i))
            start = None
    _scan_inline(doc, _mask_code_spans(_mask_comments("\n".join(lines))).split("\n"))
    return doc


def _scan_inline(doc: MarkdownDoc, masked: list[str]) -> None:
    for i, mline in enumerate(masked):
        if not mline.strip():
            continue
        # `in` first: the scanners' regexes cost a lot more on long lines that hold neither.
        links = _scan_links(mline, i + 1) if "[" in mline else []
        doc.links.extend(links)
        tag_line = mline
        if links:  # `[x](#heading)` and `[[n#h]]` hold `#` that are not tags
            parts, pos = [], 0
            for lk in links:
                parts += [mline[pos:lk.start], " " * (lk.end - lk.start)]
                pos = lk.end
            tag_line = "".join(parts) + mline[pos:]
        if "#" in tag_line:
            doc.tags.extend(_scan_tags(tag_line, i + 1))


def _build_headings(raw: list[tuple[int, str, int]], lines: list[str]) -> list[Heading]:
    """Headings with their paths and section ends, in one pass (a stack of open sections)."""
    ends = [len(lines)] * len(raw)
    paths: list[tuple[str, ...]] = []
    open_: list[int] = []  # indexes into raw of sections still open, shallowest first
    for idx, (level, text, line) in enumerate(raw):
        while open_ and raw[open_[-1]][0] >= level:
            ends[open_.pop()] = line - 1
        paths.append((*(raw[i][1] for i in open_), text))
        open_.append(idx)
    out: list[Heading] = []
    for idx, (level, text, line) in enumerate(raw):
        end = ends[idx]
        while end > line and not lines[end - 1].strip():
            end -= 1
        out.append(Heading(level, text, slugify(text), line, end, paths[idx]))
    return out


# ---------------------------------------------------------------------------------------------
# Chunking


def estimate_tokens(text: str) -> int:
    """Approximate model tokens as characters / 4 (rounded up).

    Cheap, needs no tokenizer and is close to WordPiece/BPE counts for English prose; it
    undercounts CJK text, where the embedder's own 256-token truncation is the real limit.
    """
    return math.ceil(len(text) / 4)


@dataclass
class _Section:
    line_start: int  # 1-based, inclusive
    line_end: int
    path: tuple[str, ...]


def _sections(doc: MarkdownDoc) -> list[_Section]:
    """Split at every heading: preamble, then one section per heading up to the next heading."""
    n = len(doc.lines)
    starts = [h.line for h in doc.headings]
    bounds = ([1] if not starts or starts[0] > 1 else []) + starts
    paths = ([()] if not starts or starts[0] > 1 else []) + [h.path for h in doc.headings]
    out: list[_Section] = []
    for i, start in enumerate(bounds):
        end = (bounds[i + 1] - 1) if i + 1 < len(bounds) else n
        while end >= start and not doc.lines[end - 1].strip():
            end -= 1
        while start <= end and not doc.lines[start - 1].strip():
            start += 1
        if start <= end:
            out.append(_Section(start, end, paths[i]))
    return out


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def chunk(text: str, doc: MarkdownDoc | None = None, chunk_tokens: int = 400,
          overlap_tokens: int = 80) -> list[Chunk]:
    """Cut a note into chunks of about `chunk_tokens` with about `overlap_tokens` of overlap.

    Sections (split at headings) are kept whole when they fit. A tiny section (under a quarter of
    the budget) is merged with its neighbour when both fit together, so a heading followed by two
    lines does not become a chunk of its own. A long section is cut at block (paragraph, list,
    code) boundaries, then at lines, and a single over-long line at characters. Every chunk's text
    is exactly its lines `line_start..line_end` (1-based), except pieces of an over-long line.
    Overlap is made of whole lines, so a paragraph written as one line longer than the overlap
    budget is not repeated. The heading path of a merged chunk is the common prefix of its
    sections' paths.
    """
    if doc is None:
        doc = parse(text)
    lines = doc.lines
    lines_tok = [estimate_tokens(ln) + 1 for ln in lines]  # +1: the line break
    tiny = max(1, chunk_tokens // 4)
    overlap_tokens = min(overlap_tokens, chunk_tokens // 2)

    def cost(a: int, b: int) -> int:
        return sum(lines_tok[a - 1:b])

    groups: list[_Section] = []
    for sec in _sections(doc):
        if groups:
            g = groups[-1]
            g_cost, s_cost = cost(g.line_start, g.line_end), cost(sec.line_start, sec.line_end)
            if (g_cost < tiny or s_cost < tiny) and g_cost + s_cost <= chunk_tokens:
                groups[-1] = _Section(g.line_start, sec.line_end, _common_prefix(g.path, sec.path))
                continue
        groups.append(sec)

    block_ends = {b.line_end for b in doc.blocks}
    chunks: list[Chunk] = []
    for g in groups:
        if cost(g.line_start, g.line_end) <= chunk_tokens:
            chunks.append(_make_chunk(lines, g.line_start, g.line_end, g.path))
            continue
        chunks.extend(_split_section(lines, lines_tok, g, block_ends, chunk_tokens,
                                     overlap_tokens))
    return chunks


def _make_chunk(lines: list[str], a: int, b: int, path: tuple[str, ...]) -> Chunk:
    return Chunk("\n".join(lines[a - 1:b]), a, b, path)


def _split_section(lines: list[str], lines_tok: list[int], g: _Section, block_ends: set[int],
                   budget: int, overlap: int) -> Iterator[Chunk]:
    start = g.line_start
    while start <= g.line_end:
        if lines_tok[start - 1] > budget:  # one line longer than a chunk: cut it by characters
            yield from _split_line(lines[start - 1], start, g.path, budget, overlap)
            start += 1
            continue
        end, used = start, lines_tok[start - 1]
        while end < g.line_end and used + lines_tok[end] <= budget:
            used += lines_tok[end]
            end += 1
        if end < g.line_end:
            # Prefer to stop at the end of a block (paragraph, list, code) past half the budget.
            acc, best = 0, None
            for ln in range(start, end + 1):
                acc += lines_tok[ln - 1]
                if ln in block_ends and acc >= budget // 2:
                    best = ln
            if best is not None:
                end = best
        while end > start and not lines[end - 1].strip():
            end -= 1
        yield _make_chunk(lines, start, end, g.path)
        if end >= g.line_end:
            break
        # Overlap: restart on the trailing lines worth <= `overlap` tokens, always moving on.
        nxt, acc = end + 1, 0
        while nxt - 1 > start + 1 and acc + lines_tok[nxt - 2] <= overlap:
            acc += lines_tok[nxt - 2]
            nxt -= 1
        while nxt <= g.line_end and not lines[nxt - 1].strip():
            nxt += 1
        start = nxt


_SENTENCE_END = re.compile(r"[.!?。！？](?:\s|$)")


def _split_line(line: str, lineno: int, path: tuple[str, ...], budget: int,
                overlap: int) -> Iterator[Chunk]:
    """Pieces of one over-long line (a paragraph written as one line, minified text).

    Each piece ends at the last sentence end in its second half, else at a space, else hard at
    the budget; the next piece starts about `overlap` tokens earlier, at a space when it can.
    """
    size, back = budget * 4, overlap * 4
    start = 0
    while start < len(line):
        end = min(start + size, len(line))
        if end < len(line):
            half = start + size // 2
            ends = [m.end() for m in _SENTENCE_END.finditer(line, half, end)]
            space = line.rfind(" ", half, end)
            end = ends[-1] if ends else (space + 1 if space > 0 else end)
        yield Chunk(line[start:end].strip(), lineno, lineno, path)
        if end >= len(line):
            break
        nxt = max(end - back, start + 1)
        space = line.find(" ", nxt, end)
        start = space + 1 if space != -1 else nxt


_ITEM_START = re.compile(r"( {0,3})(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


def _entries(doc: MarkdownDoc, sec: _Section) -> list[tuple[int, int]]:
    """The line ranges of a section's entries: each top-level list item (with what is nested
    under it) and each other block; the heading line itself is left to the heading path."""
    heading_lines = {h.line for h in doc.headings}
    out: list[tuple[int, int]] = []
    for b in doc.blocks:
        if b.line_end < sec.line_start or b.line_start > sec.line_end:
            continue
        a, z = max(b.line_start, sec.line_start), min(b.line_end, sec.line_end)
        if b.type == "heading" or (a == z and a in heading_lines):
            continue
        if b.type != "list":
            out.append((a, z))
            continue
        first = _ITEM_START.match(doc.lines[a - 1])
        indent = len(first.group(1)) if first else 0
        start = a
        for ln in range(a + 1, z + 1):
            m = _ITEM_START.match(doc.lines[ln - 1])
            if m and len(m.group(1)) == indent:
                end = ln - 1
                while end > start and not doc.lines[end - 1].strip():
                    end -= 1
                out.append((start, end))
                start = ln
        out.append((start, z))
    return out


def entry_chunks(text: str, doc: MarkdownDoc | None = None, chunk_tokens: int = 400,
                 overlap_tokens: int = 80) -> list[Chunk]:
    """Cut a memory log (MEMORY.md, the daily log) into its entries: one chunk per list item
    or paragraph, under its heading path, each cut like `chunk` when over the budget.

    A log holds many unrelated facts, a line each; packed into 400-token chunks, one fact is
    a twentieth of what the model embeds and a question about it no longer comes near it
    (`benchmarks/memory_facts.py`). A note of headings only falls back to `chunk`."""
    if doc is None:
        doc = parse(text)
    lines = doc.lines
    lines_tok = [estimate_tokens(ln) + 1 for ln in lines]
    overlap_tokens = min(overlap_tokens, chunk_tokens // 2)
    block_ends = {b.line_end for b in doc.blocks}
    chunks: list[Chunk] = []
    for sec in _sections(doc):
        for a, z in _entries(doc, sec):
            if sum(lines_tok[a - 1:z]) <= chunk_tokens:
                chunks.append(_make_chunk(lines, a, z, sec.path))
            else:
                chunks.extend(_split_section(lines, lines_tok, _Section(a, z, sec.path),
                                             block_ends, chunk_tokens, overlap_tokens))
    return chunks or chunk(text, doc, chunk_tokens, overlap_tokens)
