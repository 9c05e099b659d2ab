"""Heartbeat test helpers: an injected clock whose sleep moves time, and a recording turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localgpt_ls.config import HeartbeatConfig
from localgpt_ls.heartbeat import HeartbeatRunner
from localgpt_ls.workspace import init_workspace
from tests.conftest import LGEnv
from tests.llm.conftest import fake  # noqa: F401 - the loopback provider server fixture


@dataclass
class FakeClock:
    """Time that only moves when the runner sleeps (or a test says so)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 6, 15, 10, 30, tzinfo=UTC))
    slept: list[float] = field(default_factory=list)
    on_sleep: Callable[[], None] | None = None

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)  # let the test's other tasks run, as a real sleep would
        self.now += timedelta(seconds=seconds)
        if self.on_sleep is not None:
            self.on_sleep()


class Turn:
    """A turn function that replies from a script and records every prompt it gets."""

    def __init__(self, *replies: str | BaseException) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    async def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        return reply


@pytest.fixture
def ws(lg_env: LGEnv) -> Path:
    init_workspace(lg_env.workspace)
    return lg_env.workspace


def make_runner(workspace: Path, turn: Turn | Callable[..., object], clock: FakeClock,
                **config: object) -> HeartbeatRunner:
    return HeartbeatRunner(workspace, HeartbeatConfig(**config),  # type: ignore[arg-type]
                           turn, clock=clock, sleep=clock.sleep, lock_poll_seconds=1.0)


TASKS = "# Tasks\n\n- [ ] Remind me when knowledge/deadlines.md has a date within 3 days.\n"
ALERT = "The tax return in knowledge/deadlines.md is due on 2026-06-17: two days left."


SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "lsp"


def check_schema(command: str, data: object, part: str = "result") -> None:
    """Validate `data` against schemas/lsp/<command>.json's `$defs/<part>`."""
    import json

    import jsonschema

    schema = json.loads((SCHEMAS / f"{command}.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, {**schema, "$ref": f"#/$defs/{part}"},
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
