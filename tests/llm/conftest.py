"""Fixtures: a loopback fake provider server and providers pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localgpt_ls.llm.anthropic import AnthropicProvider
from localgpt_ls.llm.base import HTTPProvider
from localgpt_ls.llm.ollama import OllamaProvider
from localgpt_ls.llm.openai import OpenAIProvider
from localgpt_ls.llm.transport import RetryPolicy
from tests.llm.fake_server import FakeServer

DIALECTS = ("anthropic", "openai", "ollama")
SECRET = "sk-test-SECRET-4f9a2c1b7e"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


def make_provider(dialect: str, url: str, retries: int = 3,
                  model: str = "test-model") -> HTTPProvider:
    retry = RetryPolicy(max_retries=retries, base=0.01, max_delay=0.05)
    if dialect == "anthropic":
        return AnthropicProvider(model, SECRET, url, retry)
    if dialect == "openai":
        return OpenAIProvider(model, SECRET, url + "/v1", retry)
    return OllamaProvider(model, url, retry)
