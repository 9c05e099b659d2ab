"""Fixtures shared by every test area: an isolated LOCALGPT_HOME and workspace per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.user_env import PROVIDER_ENV

_SESSION_HOME: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """A test that forgets `lg_env` (or a child process it starts) must not index into the
    developer's own ~/.localgpt: the whole run gets a throwaway LOCALGPT_HOME first."""
    global _SESSION_HOME
    if "LOCALGPT_HOME" not in os.environ:
        _SESSION_HOME = tempfile.mkdtemp(prefix="localgpt-test-home-")
        os.environ["LOCALGPT_HOME"] = _SESSION_HOME


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SESSION_HOME is not None:
        os.environ.pop("LOCALGPT_HOME", None)
        shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@dataclass
class LGEnv:
    home: Path
    workspace: Path


@pytest.fixture
def lg_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LGEnv:
    """A fresh home and workspace; no provider keys leak in from the developer's shell."""
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    workspace = tmp_path / "workspace"
    home.mkdir()
    monkeypatch.setenv("LOCALGPT_HOME", str(home))
    monkeypatch.setenv("LOCALGPT_WORKSPACE", str(workspace))
    return LGEnv(home=home, workspace=workspace)
