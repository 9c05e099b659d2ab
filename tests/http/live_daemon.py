"""A real daemon process for tests and benchmarks: `localgpt daemon --port 0` as a user runs
it, on a free loopback port, over a home whose config keeps it offline and a workspace of two
real notes. An importable module (not a conftest), so benchmarks start the daemon the same way
the tests do."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.user_env import user_env

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
    env = user_env(home, workspace)
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


def offline_daemon(base: Path, *extra: str, heartbeat: bool = False) -> LiveDaemon:
    """A daemon over `base/home` (offline config) and `base/workspace` (the two notes)."""
    home, workspace = base / "home", base / "workspace"
    home.mkdir()
    workspace.mkdir()
    offline_config(home)
    write_notes(workspace)
    return start_daemon(home, workspace, *extra, heartbeat=heartbeat)
