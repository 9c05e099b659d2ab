"""Fixtures for the assistant: a fake provider server, a workspace with a note, and a config
that points every provider at the loopback server (no real API is ever called)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.config import Config, parse_config
from localgpt_ls.engine import Engine
from localgpt_ls.llm.transport import RetryPolicy
from tests.llm.conftest import SECRET
from tests.llm.fake_server import FakeServer, free_port

NOTE = """# Health

## Appointments
- Dentist appointment on Tuesday at 9:00 with Dr. Moreau.
"""

MODELS = {"anthropic": "anthropic/claude-test", "openai": "openai/gpt-test",
          "ollama": "ollama/llama-test"}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


def config_text(url: str, model: str = "auto", extra: str = "") -> str:
    """config.toml for tests: keys in the file (so we can check they never leak), every
    endpoint on the loopback server, keyword-only memory so no model loads."""
    return f"""
[agent]
default_model = "{model}"
{extra}
[providers.anthropic]
api_key = "{SECRET}"
base_url = "{url}"

[providers.openai]
api_key = "{SECRET}"
base_url = "{url}/v1"

[providers.ollama]
endpoint = "{url}"

[memory]
embedding_provider = "none"
"""


def no_provider_config(home: Path) -> str:
    """No keys and an Ollama endpoint nothing listens on: memory-only mode."""
    return f"""
[providers.ollama]
endpoint = "http://127.0.0.1:{free_port()}"

[memory]
embedding_provider = "none"
"""


def write_config(home: Path, text: str) -> Config:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, path)


@pytest.fixture
def workspace(lg_env: Any) -> Path:
    ws: Path = lg_env.workspace
    (ws / "knowledge").mkdir(parents=True)
    (ws / "knowledge" / "health.md").write_text(NOTE, encoding="utf-8")
    return ws


def make_engine(config: Config, workspace: Path) -> Engine:
    engine = Engine(config, workspace)
    engine.agent.retry = RetryPolicy(max_retries=2, base=0.01, max_delay=0.05)
    return engine
