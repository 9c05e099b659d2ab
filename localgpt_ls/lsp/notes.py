"""The workspace as notes: an in-memory model of every markdown file's headings, links and tags.

Built from `markdown.parse`. The first scan of a large vault parses in worker processes (parsing
is pure Python; threads would hold the GIL the event loop needs) and the result is cached under
the workspace's state dir keyed by (mtime, size), so the next start reads it back in a blink.
Open documents override what is on disk; file changes replace single entries.

All mutation happens on the event loop thread; parsing happens anywhere (`parse_note` is pure).
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from pygls.uris import from_fs_path

from localgpt_ls import markdown
from localgpt_ls.markdown import Heading, Link, Tag, Task
from localgpt_ls.notefiles import MAX_NOTE_BYTES, is_note, read_note, walk

CACHE_FORMAT = 3
# The parse budget: text longer than this is listed (links to it resolve) but not parsed, so
# a huge paste or log must not stall the editor. Which files are notes at all, and the size
# cap on reading one, is notefiles.
MAX_PARSE_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class NoteInfo:
    """What the editor features need to know about one markdown file."""

    path: Path
    rel: str  # workspace-relative POSIX path, or the absolute path for files outside it
    uri: str
    title: str
    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    tags: tuple[Tag, ...]
    tasks: tuple[Task, ...]
    # Text of the non-ASCII lines that hold a heading, link or tag (1-based line -> text), so
    # positions in files that are not open still convert to UTF-16/UTF-8 correctly.
    wide_lines: dict[int, str]
    mtime_ns: int = 0
    size: int = 0
    line_count: int = 0
    # Precomputed where the note is parsed (a worker), so indexing 5,000 notes on the event
    # loop is dictionary work only: the note's loose name and those of its link targets.
    key: str = ""
    link_keys: frozenset[str] = frozenset()

    @property
    def stem(self) -> str:
        return self.path.stem

    def line_text(self, line: int) -> str | None:
        """Text of a 1-based line when it is non-ASCII (None means: ASCII, offsets = units)."""
        return self.wide_lines.get(line)


def parse_note(text: str, path: Path, rel: str, uri: str, mtime_ns: int = 0,
               size: int = 0) -> NoteInfo:
    """Parse markdown text into a NoteInfo (pure; safe in any thread or process)."""
    doc = markdown.parse(text)
    title = next((h.text for h in doc.headings if h.level == 1), path.stem)
    wanted = {h.line for h in doc.headings} | {lk.line for lk in doc.links} | {
        t.line for t in doc.tags}
    wide = {n: doc.lines[n - 1] for n in wanted
            if 0 < n <= len(doc.lines) and not doc.lines[n - 1].isascii()}
    return NoteInfo(path, rel, uri, title, tuple(doc.headings), tuple(doc.links),
                    tuple(doc.tags), tuple(doc.tasks), wide, mtime_ns, size, len(doc.lines),
                    stem_key(path.stem), frozenset(link_key(lk) for lk in doc.links))


def empty_note(path: Path, rel: str, uri: str, mtime_ns: int = 0, size: int = 0) -> NoteInfo:
    return NoteInfo(path, rel, uri, path.stem, (), (), (), (), {}, mtime_ns, size, 0,
                    stem_key(path.stem))


def load_note(path: Path, rel: str, st: os.stat_result | None = None) -> NoteInfo:
    """Read and parse one file from disk. A file that is no readable note (too big, binary:
    notefiles.read_note) or over the parse budget is listed as a note without structure, so
    links to it still resolve."""
    uri = from_fs_path(str(path)) or path.as_uri()
    try:
        st = st or path.stat()
    except OSError:
        return empty_note(path, rel, uri)
    text = read_note(path, rel).text if st.st_size <= MAX_NOTE_BYTES else None
    if text is None or len(text) > MAX_PARSE_BYTES:
        return empty_note(path, rel, uri, st.st_mtime_ns, st.st_size)
    return parse_note(text, path, rel, uri, st.st_mtime_ns, st.st_size)


def lower_priority() -> None:
    """Process-pool initializer: scan workers yield the CPU to the editor's requests."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)


def _load_batch(items: list[tuple[str, str]]) -> list[NoteInfo]:
    """Process-pool entry point: parse a batch of (path, rel)."""
    return [load_note(Path(p), rel) for p, rel in items]


def iter_markdown_files(root: Path) -> Iterator[Path]:
    """Every readable note under root (notefiles.walk without the symlink loops)."""
    for found in walk(root):
        if not found.loop:
            yield found.path


def is_note_path(root: Path, path: Path) -> bool:
    """Would the workspace scan pick this file up? (notefiles.is_note) Watcher events for
    anything else leave the notes alone."""
    return is_note(root, path)


def relative(workspace: Path, path: Path) -> str:
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass
class NoteIndex:
    """Notes by URI plus the lookups link resolution and search need.

    `by_stem` and `by_rel` are lower-cased for case-insensitive resolution. `link_sources` maps a
    lower-cased link target stem to the notes that contain such a link: backlinks and renames
    look there first instead of walking every link in the vault.
    """

    workspace: Path
    notes: dict[str, NoteInfo] = field(default_factory=dict)
    by_stem: dict[str, set[str]] = field(default_factory=dict)
    by_key: dict[str, set[str]] = field(default_factory=dict)
    by_rel: dict[str, str] = field(default_factory=dict)
    by_path: dict[str, str] = field(default_factory=dict)
    link_sources: dict[str, set[str]] = field(default_factory=dict)
    tag_notes: dict[str, dict[str, int]] = field(default_factory=dict)
    generation: int = 0  # bumps on every change; caches compare it
    files_generation: int = 0  # bumps only when a note appears or goes away
    journal: list[str] = field(default_factory=list)  # URIs in the order they changed

    # -- mutation -------------------------------------------------------------------------

    def put(self, note: NoteInfo) -> None:
        old = self.notes.get(note.uri)
        if old is not None:
            self._unlink(old)
        else:
            self.files_generation += 1
        self.notes[note.uri] = note
        self.journal.append(note.uri)
        self.by_stem.setdefault(note.stem.lower(), set()).add(note.uri)
        self.by_key.setdefault(note.key, set()).add(note.uri)
        self.by_rel[note.rel.lower()] = note.uri
        self.by_path[str(note.path)] = note.uri
        for key in note.link_keys:
            self.link_sources.setdefault(key, set()).add(note.uri)
        for tag in note.tags:
            counts = self.tag_notes.setdefault(tag.name.lower(), {})
            counts[note.uri] = counts.get(note.uri, 0) + 1
        self.generation += 1

    def remove(self, uri: str) -> NoteInfo | None:
        old = self.notes.pop(uri, None)
        if old is not None:
            self._unlink(old)
            self.generation += 1
            self.files_generation += 1
            self.journal.append(uri)
        return old

    def replace_all(self, notes: Iterable[NoteInfo]) -> None:
        """Swap in a fresh scan, keeping entries for files that are open in the editor."""
        for note in notes:
            self.put(note)

    def _unlink(self, note: NoteInfo) -> None:
        stems = self.by_stem.get(note.stem.lower())
        if stems is not None:
            stems.discard(note.uri)
            if not stems:
                del self.by_stem[note.stem.lower()]
        keyed = self.by_key.get(note.key)
        if keyed is not None:
            keyed.discard(note.uri)
            if not keyed:
                del self.by_key[note.key]
        if self.by_rel.get(note.rel.lower()) == note.uri:
            del self.by_rel[note.rel.lower()]
        if self.by_path.get(str(note.path)) == note.uri:
            del self.by_path[str(note.path)]
        for key in note.link_keys:
            sources = self.link_sources.get(key)
            if sources is not None:
                sources.discard(note.uri)
                if not sources:
                    del self.link_sources[key]
        for tag in note.tags:
            counts = self.tag_notes.get(tag.name.lower())
            if counts is not None and note.uri in counts:
                del counts[note.uri]
                if not counts:
                    del self.tag_notes[tag.name.lower()]

    # -- queries --------------------------------------------------------------------------

    def get(self, uri: str) -> NoteInfo | None:
        return self.notes.get(uri)

    def by_file(self, path: Path) -> NoteInfo | None:
        uri = self.by_path.get(str(path))
        return self.notes.get(uri) if uri else None

    def tag_names(self) -> dict[str, tuple[str, int]]:
        """lower name -> (display name, number of notes)."""
        out: dict[str, tuple[str, int]] = {}
        for key, counts in self.tag_notes.items():
            display = key
            for uri in counts:
                note = self.notes.get(uri)
                if note is not None:
                    display = next((t.name for t in note.tags if t.name.lower() == key), key)
                    break
            out[key] = (display, len(counts))
        return out


def stem_key(stem: str) -> str:
    """Loose name of a note: its stem slugified, so `[[Project Alpha]]` finds
    `project-alpha.md` (and backlinks of both spellings share one key)."""
    return markdown.slugify(stem)


def link_key(link: Link) -> str:
    """Loose name of the note a link points at ('' for links into the same note)."""
    target = link.target.replace("\\", "/").rstrip("/")
    name = target.rsplit("/", 1)[-1]
    if name.lower().endswith(".md"):
        name = name[:-3]
    return stem_key(name) if name else ""


# -- the on-disk cache of a scan ----------------------------------------------------------------


def _cache_signature() -> str:
    src = Path(markdown.__file__)
    try:
        st = src.stat()
        return f"{CACHE_FORMAT}:{st.st_mtime_ns}:{st.st_size}"
    except OSError:
        return f"{CACHE_FORMAT}:?"


def load_cache(cache_file: Path) -> dict[str, NoteInfo]:
    """Cached notes by path; an unreadable or outdated cache is simply empty."""
    try:
        with cache_file.open("rb") as handle:
            signature, notes = pickle.load(handle)
    except Exception:  # a corrupt cache must never stop the server: rescan instead
        return {}
    if signature != _cache_signature() or not isinstance(notes, dict):
        return {}
    return notes


def save_cache(cache_file: Path, notes: Iterable[NoteInfo]) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump((_cache_signature(), {str(n.path): n for n in notes}), handle,
                        protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache_file)
    except OSError:
        pass  # the cache is an optimisation


def scan(workspace: Path, cache_file: Path | None, pool: Executor | None,
         skip: frozenset[str] | set[str] = frozenset()) -> tuple[list[NoteInfo], int]:
    """Scan the workspace (blocking; run it off the event loop).

    Returns the notes and how many were parsed (the rest came from the cache). `skip` holds
    paths the editor has open: their text comes from the editor, not the disk.
    """
    cached = load_cache(cache_file) if cache_file else {}
    notes: list[NoteInfo] = []
    todo: list[tuple[str, str]] = []
    for found in walk(workspace):
        path, st = found.path, found.stat
        key = str(path)
        if found.loop or key in skip:
            continue
        rel = relative(workspace, path)
        hit = cached.get(key)
        if hit is not None and hit.mtime_ns == st.st_mtime_ns and hit.size == st.st_size \
                and hit.rel == rel:
            notes.append(hit)
            continue
        todo.append((key, rel))
    if pool is not None and len(todo) > 200:
        size = max(50, len(todo) // 16)
        batches = [todo[i:i + size] for i in range(0, len(todo), size)]
        for result in pool.map(_load_batch, batches):
            notes.extend(result)
    else:
        notes.extend(_load_batch(todo))
    if cache_file is not None and todo:
        save_cache(cache_file, notes)
    return notes, len(todo)
