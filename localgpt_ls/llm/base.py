"""What every provider offers: stream one completion as internal events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

import httpx

from localgpt_ls.llm.transport import Endpoint, RetryPolicy
from localgpt_ls.llm.types import Request, StreamEvent


class Provider(Protocol):
    """One dialect bound to one model. `stream` yields TextChunk/ToolCallReady/Usage and ends
    with exactly one Stop; it raises ProviderError subclasses. Cancelling the consuming task
    closes the HTTP response (the generator's finally runs aclose)."""

    name: str
    model: str

    def stream(self, client: httpx.AsyncClient,
               request: Request) -> AsyncGenerator[StreamEvent, None]:
        ...


class HTTPProvider:
    """Shared state for the httpx providers."""

    name = "provider"

    def __init__(self, model: str, endpoint: Endpoint, retry: RetryPolicy | None = None) -> None:
        self.model = model
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
