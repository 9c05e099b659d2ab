"""Fixtures shared by every test area: an isolated LOCALGPT_HOME and workspace per test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.user_env import PROVIDER_ENV


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
