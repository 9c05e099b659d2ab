"""A small vault on disk for language-server tests and the fuzzer: the given notes, plus the
OpenClaw files a workspace holds (AGENTS.md, SOUL.md, USER.md, IDENTITY.md, TOOLS.md) as
one-line stubs and the memory/ and skills/ folders, so startup finds a real workspace."""

from __future__ import annotations

from pathlib import Path

STUBS = ("AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "TOOLS.md")


def write_vault(workspace: Path, notes: dict[str, str]) -> None:
    for rel, text in notes.items():
        path = workspace / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for name in STUBS:
        (workspace / name).write_text(f"# {name[:-3].title()}\n", encoding="utf-8")
    (workspace / "memory").mkdir(exist_ok=True)
    (workspace / "skills").mkdir(exist_ok=True)
