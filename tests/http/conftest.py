"""Fixtures for the daemon tests: the app in-process (httpx over ASGI), a real daemon process on
a free loopback port, and validation of responses against schemas/openapi.json."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from localgpt_ls.engine import Engine
from localgpt_ls.http import Options, create_app
from tests.conftest import LGEnv

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "schemas" / "openapi.json").read_text(encoding="utf-8"))
TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:31327"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

NOTES = {
    "knowledge/espresso.md": "# Espresso\n\nNotes on coffee.\n\n## Grinder\n\n"
                             "The Baratza grinder is set to 12 for the Gaggia espresso machine.\n",
    "knowledge/garden.md": "# Garden\n\nTomatoes need water every morning in July.\n",
}


def offline_config(home: Path, embeddings: str = "none") -> None:
    """config.toml for memory-only mode even where an Ollama runs on this machine (its endpoint
    points at a port nothing listens on); keyword search unless `embeddings` is "local"."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    (home / "config.toml").write_text(
        f'[providers.ollama]\nendpoint = "http://127.0.0.1:{dead}"\n\n'
        f'[memory]\nembedding_provider = "{embeddings}"\n', encoding="utf-8")


def write_notes(workspace: Path) -> None:
    for name, text in NOTES.items():
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


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


@dataclass
class LiveDaemon:
    url: str
    token: str
    home: Path
    workspace: Path
    process: subprocess.Popen[str]
    output: list[str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def start_daemon(home: Path, workspace: Path, *extra: str, heartbeat: bool = False
                 ) -> LiveDaemon:
    """`localgpt daemon --port 0` as a user runs it; returns once it printed its URL."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OLLAMA_HOST")}
    env.update(LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "localgpt_ls", "daemon", "--port", "0",
         *([] if heartbeat else ["--no-heartbeat"]), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        if m:
            url, token = m.group(1), m.group(2)
            # Keep reading its output so a chatty daemon never blocks on a full pipe.
            threading.Thread(target=_drain, args=(process.stdout, seen), daemon=True).start()
            for _ in range(100):  # the socket is bound; wait for uvicorn to answer
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        return LiveDaemon(url, token, home, workspace, process, seen)
                except httpx.TransportError:
                    time.sleep(0.1)
    process.kill()
    raise AssertionError("the daemon did not start:\n" + "".join(seen))


def wait_indexed(daemon: LiveDaemon, timeout: float = 60.0) -> None:
    """Until the daemon's watcher finished its first index sync (the model loads there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(daemon.url + "/api/status", headers=daemon.auth, timeout=10).json()
        if (status.get("watcher") or {}).get("ready"):
            return
        time.sleep(0.1)
    raise AssertionError("the daemon did not finish its first index sync:\n"
                         + "".join(daemon.output))


def _drain(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def stop_daemon(daemon: LiveDaemon) -> None:
    daemon.process.terminate()
    try:
        daemon.process.wait(10)
    except subprocess.TimeoutExpired:
        daemon.process.kill()
        daemon.process.wait()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    """One real daemon for the module (starting one costs about a second)."""
    base = tmp_path_factory.mktemp("live")
    home, workspace = base / "home", base / "workspace"
    home.mkdir()
    workspace.mkdir()
    offline_config(home)
    write_notes(workspace)
    daemon = start_daemon(home, workspace)
    yield daemon
    stop_daemon(daemon)
