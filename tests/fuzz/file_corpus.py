"""The file tools under attack: a traversal corpus and a folder-swap race.

Shared by tests/fuzz/test_file_tools.py (a short run in CI) and benchmarks/hardening.py (the
full run). Both count what matters to a user: bytes read from outside the workspace, files
created or changed outside it, and exceptions out of the tool runner (which promises none).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localgpt_ls.agent.tools import ToolContext, run_tool
from localgpt_ls.llm.types import ToolCall
from localgpt_ls.workspace import init_workspace

SECRET = "OUTSIDE-SECRET-7f3a"
PATH_TOOLS = ("memory_get", "read_file", "write_file", "edit_file")


@dataclass
class Counts:
    calls: int = 0
    leaked_reads: int = 0
    outside_changes: int = 0
    raised: list[str] = field(default_factory=list)
    slow: int = 0  # answered after 5 s, or not at all
    swaps: int = 0  # how often the race swapped the folder meanwhile

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "leaked_reads": self.leaked_reads,
                "outside_changes": self.outside_changes, "raised": len(self.raised),
                "slow": self.slow, "swaps": self.swaps}


def layout(base: Path) -> tuple[Path, Path]:
    """A workspace at base/.localgpt/workspace (a dotted path, as users have) and a folder
    beside it holding a secret, plus the traps a hostile checkout would plant."""
    ws = base / ".localgpt" / "workspace"
    init_workspace(ws)
    outside = base / "outside"
    outside.mkdir()
    for name in ("note.md", "passwd", "edit.md", "x.md"):
        (outside / name).write_text(f"{SECRET} {name}\nalpha\n", encoding="utf-8")
    (ws / "sub").mkdir()
    (ws / "sub" / "note.md").write_text("inside note\nalpha\n", encoding="utf-8")
    (ws / "sub" / "edit.md").write_text("inside edit\nalpha\n", encoding="utf-8")
    (ws / "link-out.md").symlink_to(outside / "note.md")
    (ws / "dir-out").symlink_to(outside)
    (ws / "loop-a.md").symlink_to("loop-b.md")
    (ws / "loop-b.md").symlink_to("loop-a.md")
    (ws / "zero.md").symlink_to("/dev/zero")
    (ws / "folder.md").mkdir()
    os.mkfifo(ws / "pipe.md")
    (ws / "inside-link.md").symlink_to("sub/note.md")
    return ws, outside


def hostile_paths(outside: Path) -> list[str]:
    long = "a" * 300
    return [
        "../outside/note.md", "../../outside/note.md", "sub/../../outside/note.md",
        str(outside / "note.md"), "/etc/passwd", "//etc/passwd", "~/../outside/note.md",
        "..", ".", "", " ", "./", "sub/", "sub/./note.md", "sub//note.md",
        "..\\outside\\note.md", "%2e%2e/outside/note.md", "%2E%2E%2Foutside%2Fnote.md",
        "link-out.md", "dir-out/note.md", "dir-out/passwd", "dir-out/new.md",
        "dir-out/../outside/x.md", "loop-a.md", "loop-b.md", "zero.md", "pipe.md",
        "folder.md", "inside-link.md", "sub/note.md", "MEMORY.md", f"{long}.md",
        f"sub/{long}/{long}.md", "/".join(["d"] * 300) + ".md", "a\x00.md", "\x00",
        "\ud800.md", "sub/\udfff", "\ufeffMEMORY.md", "MEMORY.md\n", "MEMORY.md ",
        "file:///etc/passwd", "C:\\Windows\\win.ini", "\\\\server\\share\\x.md",
        "sub/note.md/", "sub/note.md/..", "memory/../../outside/edit.md",
        "knowledge/\u202e.md", "CON", "aux.md", "...", ".../x.md", "sub/..\u2215x.md",
    ]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in folder.rglob("*"):
        try:
            st = p.lstat()
        except OSError:
            continue
        out[str(p)] = (st.st_mtime_ns, st.st_size)
    return out


async def _approve(tool: str, summary: str) -> bool:
    return True


async def _call(ws: Path, counts: Counts, name: str, args: dict[str, Any]) -> str:
    counts.calls += 1
    ctx = ToolContext(ws, None, _approve)
    try:
        text, _ = await asyncio.wait_for(run_tool(ToolCall("id", name, args), ctx), 5.0)
    except TimeoutError:
        counts.slow += 1
        return ""
    except Exception as exc:  # the runner promises never to raise
        counts.raised.append(f"{name} {args!r}: {type(exc).__name__}: {exc}")
        return ""
    if SECRET in text:
        counts.leaked_reads += 1
    return text


def _args(name: str, path: str, i: int) -> dict[str, Any]:
    if name == "write_file":
        return {"path": path, "content": f"written {i}\n"}
    if name == "edit_file":
        return {"path": path, "old_text": "alpha", "new_text": "alpha"}
    return {"path": path}


async def traversal(base: Path) -> Counts:
    """Every hostile path through every path-taking tool, plus appends with hostile text."""
    ws, outside = layout(base)
    before = _snapshot(outside)
    counts = Counts()
    for i, path in enumerate(hostile_paths(outside)):
        for name in PATH_TOOLS:
            await _call(ws, counts, name, _args(name, path, i))
    for text in ("\x00", "\ud800", "../../outside", "a" * 100_000, "\x00" * 10):
        for target in ("daily", "memory", "../outside", "\ud800", ""):
            await _call(ws, counts, "memory_append", {"text": text, "target": target})
    counts.outside_changes = _changes(before, _snapshot(outside))
    return counts


def _changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> int:
    return sum(1 for k, v in after.items() if before.get(k) != v) + sum(
        1 for k in before if k not in after)


# -- the race --------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchanger(where: Path) -> Any:
    """renameat2(RENAME_EXCHANGE) when the C library has it: the two names swap atomically,
    so the folder name always exists (a link or the folder) and only the swap is raced."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                     ctypes.c_uint]

    def exchange(a: Path, b: Path) -> None:
        if func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE):
            raise OSError(ctypes.get_errno(), "renameat2")
    a, b = where / ".probe-a", where / ".probe-b"
    a.mkdir()
    b.symlink_to(a)
    try:
        exchange(a, b)  # not every file system can (EINVAL): then names are renamed
    except OSError:
        return None
    finally:
        for p in (a, b):
            p.unlink() if p.is_symlink() else p.rmdir()
    return exchange


@dataclass
class _Swapper:
    ws: Path
    outside: Path
    stop: threading.Event = field(default_factory=threading.Event)
    swaps: int = 0

    def run(self) -> None:
        real, link = self.ws / "sub", self.ws / ".sub-link"
        link.symlink_to(self.outside)
        exchange = _exchanger(self.ws.parent)
        try:
            while not self.stop.is_set():
                if exchange is not None:
                    exchange(real, link)  # sub is now the link to the outside
                    time.sleep(0.0003)
                    exchange(real, link)  # and the folder again
                else:
                    hold = self.ws / ".sub-hold"
                    os.rename(real, hold)
                    os.symlink(self.outside, real)
                    time.sleep(0.0003)
                    os.unlink(real)
                    if real.exists():  # a write recreated it meanwhile: keep what it holds
                        shutil.rmtree(real)
                    os.rename(hold, real)
                self.swaps += 1
                time.sleep(0.0003)
        finally:
            if real.is_symlink() and exchange is not None:
                exchange(real, link)
            link.unlink(missing_ok=True)


def _race_ops(n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    for i in range(n):
        name = ("read_file", "memory_get", "write_file", "edit_file")[i % 4]
        path = {"read_file": "sub/note.md", "memory_get": "sub/note.md",
                "write_file": f"sub/w{i % 50}.md", "edit_file": "sub/edit.md"}[name]
        yield name, _args(name, path, i)


async def race(base: Path, ops: int) -> Counts:
    """`ops` tool calls on sub/... while another thread keeps swapping sub for a link to a
    folder outside the workspace."""
    ws, outside = layout(base)
    before = _snapshot(outside)
    swapper = _Swapper(ws, outside)
    thread = threading.Thread(target=swapper.run, daemon=True)
    thread.start()
    counts = Counts()
    try:
        for name, args in _race_ops(ops):
            await _call(ws, counts, name, args)
    finally:
        swapper.stop.set()
        thread.join(10)
    counts.swaps = swapper.swaps
    counts.outside_changes = _changes(before, _snapshot(outside))
    return counts
