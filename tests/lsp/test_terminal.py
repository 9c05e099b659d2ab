"""`localgpt lsp` started by a person rather than an editor: typed in a terminal it says what it
is; with nothing on stdin (a file, /dev/null, a closed pipe) it exits at once, cleanly."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVER = [sys.executable, "-m", "localgpt_ls", "lsp"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home" / ".localgpt"
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[memory]\nembedding_provider = "none"\n')
    return {**os.environ, "LOCALGPT_HOME": str(home),
            "LOCALGPT_WORKSPACE": str(home / "workspace")}


def test_in_a_terminal_it_says_it_is_a_language_server(env: dict[str, str]) -> None:
    main, child = pty.openpty()
    proc = subprocess.Popen(SERVER, stdin=child, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    os.close(child)
    try:
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 20)
        assert ready, "nothing printed within 20 s"
        line = proc.stderr.readline().decode()
        assert line.startswith("localgpt lsp is a language server: your editor starts it")
        assert "Ctrl-D quits" in line
        os.write(main, b"\x04")  # Ctrl-D: end of input
        assert proc.wait(timeout=20) == 0
        rest = proc.stderr.read().decode()
        assert "Traceback" not in rest, rest
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)


@pytest.mark.parametrize("stdin", ["devnull", "empty file", "closed pipe"])
def test_stdin_at_end_exits_cleanly_without_a_traceback(env: dict[str, str], tmp_path: Path,
                                                        stdin: str) -> None:
    started = time.monotonic()
    if stdin == "devnull":
        proc = subprocess.run(SERVER, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                              timeout=30)
    elif stdin == "empty file":
        empty = tmp_path / "empty"
        empty.write_bytes(b"")
        with empty.open("rb") as f:
            proc = subprocess.run(SERVER, stdin=f, capture_output=True, env=env, timeout=30)
    else:
        proc = subprocess.run(SERVER, input=b"", capture_output=True, env=env, timeout=30)
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr and b"ERROR" not in proc.stderr, proc.stderr
    assert proc.stdout == b""
    assert time.monotonic() - started < 20
