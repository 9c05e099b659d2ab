"""Fixtures for the daemon tests: the app in-process (httpx over ASGI), a real daemon process on
a free loopback port (started by live_daemon.py, which benchmarks import too), and validation of
responses against schemas/openapi.json."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from localgpt_ls.engine import Engine
from localgpt_ls.http import Options, create_app
from tests.conftest import LGEnv
from tests.http.live_daemon import (
    LiveDaemon,
    offline_config,
    offline_daemon,
    stop_daemon,
    write_notes,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "schemas" / "openapi.json").read_text(encoding="utf-8"))
TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:31327"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

def validate(response: httpx.Response, path: str, method: str) -> Any:
    """The response's JSON, checked against the spec's schema for this route and status."""
    operation = SPEC["paths"][path][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {path} answered {response.status_code}, " \
                                   "which the spec does not document"
    if "$ref" in documented:
        documented = SPEC["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
    content = documented.get("content", {})
    media = response.headers.get("content-type", "").split(";")[0]
    assert media in content, f"{method} {path}: {media} is not documented"
    if media != "application/json":
        return response.text
    data = response.json()
    schema = {**content[media]["schema"], "components": SPEC["components"]}
    jsonschema.Draft202012Validator(schema).validate(data)
    return data


def validate_sse(events: list[tuple[str, Any]]) -> None:
    """Each SSE event against the spec: its name, and its data against `x-event-data`."""
    event_schema = SPEC["components"]["schemas"]["SseEvent"]
    for name, data in events:
        assert name in event_schema["properties"]["event"]["enum"], name
        schema = {**event_schema["x-event-data"][name], "components": SPEC["components"]}
        jsonschema.Draft202012Validator(schema).validate(data)


@pytest.fixture
def engine(lg_env: LGEnv) -> Iterator[Engine]:
    offline_config(lg_env.home)
    eng = Engine()
    write_notes(eng.workspace)
    yield eng
    eng.close()


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The daemon app in-process; background jobs off (the live daemon tests cover them)."""
    app = create_app(engine, TOKEN, Options(watch=False, heartbeat=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """One real daemon for the module (starting one costs about a second)."""
    daemon = offline_daemon(tmp_path_factory.mktemp("live"))
    yield daemon
    stop_daemon(daemon)
