"""The shell tool: an escape corpus run in the real bubblewrap sandbox (zero escapes), the
limits, and approval through the door (refused where nobody can answer)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.agent import shell as shell_tool
from localgpt_ls.agent import tools as toolbox
from localgpt_ls.config import ToolsConfig
from localgpt_ls.llm.types import ToolCall

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap is installed by .ci/run")

SECRET = "sk-ant-not-for-the-sandbox-1234"
KEY = "-----BEGIN OPENSSH PRIVATE KEY----- do-not-leak"


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    home = tmp_path / "home" / "dana"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(KEY)
    lg_home = home / ".localgpt"
    workspace = lg_home / "workspace"
    workspace.mkdir(parents=True)
    (lg_home / "config.toml").write_text(f'[providers.anthropic]\napi_key = "{SECRET}"\n')
    (lg_home / "daemon.token").write_text("daemon-token-secret")
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "link-out").symlink_to(outside)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    return {"home": home, "workspace": workspace, "lg_home": lg_home, "outside": outside,
            "tmp": tmp_path}


def _ctx(workspace: Path, approver: Any = None, **settings: Any) -> toolbox.ToolContext:
    async def yes(tool: str, summary: str) -> bool:
        return True

    config = ToolsConfig(shell_enabled=True, **settings)
    return toolbox.ToolContext(workspace, approver=approver or yes, settings=config)


async def _run(ctx: toolbox.ToolContext, command: str) -> tuple[str, bool]:
    return await toolbox.run_tool(ToolCall("c", "shell", {"command": command}), ctx)


class Listener:
    """A loopback TCP server that counts connections: the sandbox must make none."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()


async def test_escape_corpus(user: dict[str, Path]) -> None:
    ws, home, lg_home, outside = (user["workspace"], user["home"], user["lg_home"],
                                  user["outside"])
    listener = Listener()
    ctx = _ctx(ws)
    attempts = {
        "write outside": f"echo pwned > {user['tmp']}/escaped.txt",
        "write to the parent": "echo pwned > ../escaped-parent.txt",
        "write through a symlink": "echo pwned > link-out/escaped-link.txt",
        "write to /usr": "echo pwned > /usr/escaped.txt",
        "write to /etc": "echo pwned > /etc/escaped.txt",
        "read ~/.ssh": f"cat {home}/.ssh/id_ed25519; cat ~/.ssh/id_ed25519",
        "read /root/.ssh": "cat /root/.ssh/* 2>&1",
        "read the config": f"cat {lg_home}/config.toml {lg_home}/daemon.token",
        "read /etc/shadow": "cat /etc/shadow",
        "environment": "env",
        "network (python)": (f"python3 -c \"import socket; socket.create_connection(("
                             f"'127.0.0.1', {listener.port}), 2)\""),
        "network (by name)": "python3 -c \"import urllib.request as u; "
                             "u.urlopen('http://example.com', timeout=2)\"",
        "processes outside": "ls /proc",
    }
    results = {}
    for name, command in attempts.items():
        text, _ = await _run(ctx, command)
        # What the command printed: after the fence line and the "$ command" line.
        results[name] = text.split("\n", 2)[2]
    listener.stop = True
    escapes = []
    for path in (user["tmp"] / "escaped.txt", lg_home / "escaped-parent.txt",
                 outside / "escaped-link.txt", Path("/usr/escaped.txt"),
                 Path("/etc/escaped.txt")):
        if path.exists():
            escapes.append(f"wrote {path}")
    for name, text in results.items():
        for secret in (KEY, SECRET, "daemon-token-secret", "root:"):
            if secret in text:
                escapes.append(f"{name}: saw {secret!r}")
    if listener.accepted:
        escapes.append(f"{listener.accepted} network connection(s)")
    pids = {int(w) for w in results["processes outside"].split() if w.isdigit()}
    if os.getpid() in pids or max(pids, default=0) > 50:  # a pid namespace of its own
        escapes.append(f"saw the host's processes: {sorted(pids)}")
    assert escapes == [], results
    assert "Read-only file system" in results["write to /usr"]
    assert "Network is unreachable" in results["network (python)"] or \
        "Errno" in results["network (python)"]


async def test_the_workspace_is_writable_and_limits_hold(user: dict[str, Path]) -> None:
    ws = user["workspace"]
    text, is_error = await _run(_ctx(ws), "echo tomatoes > list.txt && cat list.txt && pwd")
    assert not is_error and "tomatoes" in text and str(ws) in text and "exit code 0" in text
    assert (ws / "list.txt").read_text() == "tomatoes\n"
    started = time.monotonic()
    text, _ = await _run(_ctx(ws, bash_timeout_ms=1000), "sleep 30")
    assert "stopped after 1 s" in text and time.monotonic() - started < 8
    text, _ = await _run(_ctx(ws, shell_max_output_bytes=4096), "yes hello")
    assert "output cut at 4096 bytes" in text and len(text) < 6000


async def test_approval_through_the_door(user: dict[str, Path]) -> None:
    ws = user["workspace"]
    asked: list[str] = []

    async def no(tool: str, summary: str) -> bool:
        asked.append(summary)
        return False

    text, is_error = await _run(_ctx(ws, approver=no), "touch declined.txt")
    assert is_error and "declined" in text and asked == ["run in the sandbox: touch "
                                                        "declined.txt"]
    assert not (ws / "declined.txt").exists()
    nobody = toolbox.ToolContext(ws, settings=ToolsConfig(
        shell_enabled=True, shell_allow_unattended=["date"]))
    text, is_error = await _run(nobody, "touch unattended.txt")
    assert is_error and "nobody can approve" in text and not (ws / "unattended.txt").exists()
    text, is_error = await _run(nobody, "date")
    assert not is_error and "exit code 0" in text


async def test_off_by_default_and_clear_without_bwrap(
        user: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ws = user["workspace"]
    assert "shell" not in [s.name for s in toolbox.specs()]
    off = toolbox.ToolContext(ws, settings=ToolsConfig())
    text, is_error = await _run(off, "true")
    assert is_error and "unknown tool 'shell'" in text
    monkeypatch.setattr(shell_tool.shutil, "which", lambda name: None)
    text, is_error = await _run(_ctx(ws), "true")
    assert is_error and "bubblewrap" in text and "not installed" in text


@pytest.mark.parametrize("allowed", [False, True], ids=["not-allow-listed", "allow-listed"])
async def test_the_heartbeat_runs_only_allow_listed_commands(
        fake: Any, workspace: Path, lg_env: Any, allowed: bool) -> None:
    from tests.agent.conftest import MODELS, config_text, make_engine, write_config
    from tests.llm.wire import reply

    tools = "\n[tools]\nshell_enabled = true\n" + (
        'shell_allow_unattended = ["df -h ."]\n' if allowed else "")
    config = write_config(lg_env.home, config_text(fake.url, MODELS["anthropic"]) + tools)
    (workspace / "HEARTBEAT.md").write_text("# Heartbeat\n\n- [ ] check the disk space\n")
    fake.queue(reply("anthropic", "", [("c1", "shell", {"command": "df -h ."})]),
               reply("anthropic", "HEARTBEAT_OK"))
    engine = make_engine(config, workspace)
    try:
        result = await engine.heartbeat.run_once()
    finally:
        engine.close()
    assert result.outcome == "ok", result
    sent = json.dumps(fake.posts()[1].body)
    if allowed:
        assert "exit code 0" in sent and "Filesystem" in sent
    else:
        assert "nobody can approve here" in sent and "Filesystem" not in sent
