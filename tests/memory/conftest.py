"""Fixtures for memory tests: a small real set of notes and indexes over it.

The local model is loaded once per test process (`shared_local_embedder`), so each test pays
only for the notes it indexes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.config import Config
from localgpt_ls.memory import MemoryIndex
from localgpt_ls.memory.embed import LocalEmbedder, shared_local_embedder

NOTES = Path(__file__).parent / "notes"


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    emb = shared_local_embedder()
    emb.load()
    return emb


@pytest.fixture
def notes_ws(lg_env: Any) -> Path:
    """The sample notes copied into the isolated workspace."""
    shutil.copytree(NOTES, lg_env.workspace, dirs_exist_ok=True)
    return Path(lg_env.workspace).resolve()


@pytest.fixture
def make_index(local_embedder: LocalEmbedder) -> Iterator[Callable[..., MemoryIndex]]:
    opened: list[MemoryIndex] = []

    def make(workspace: Path, provider: str = "local", **memory: Any) -> MemoryIndex:
        config = Config()
        config.memory.embedding_provider = provider  # type: ignore[assignment]
        for key, value in memory.items():
            setattr(config.memory, key, value)
        idx = MemoryIndex(workspace, config)
        opened.append(idx)
        return idx

    yield make
    for idx in opened:
        idx.close()
