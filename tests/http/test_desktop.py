"""`localgpt desktop`: the web UI in a native window (pywebview with Qt WebEngine here), run as a
user runs it on a virtual X display (Debian's Xvfb). A screenshot of the display must show the
page drawn and its status fetched through the in-process daemon; closing the window the way a
window manager does (WM_DELETE_WINDOW) must end the process cleanly, daemon included. Without
the extra, the command says how to install it and offers the browser."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from localgpt_ls.http import desktop
from tests.http.live_daemon import offline_config, write_notes

ROOT = Path(__file__).resolve().parents[2]
# Colours the page paints only once its script ran and /api/status answered: the memory-only
# banner's background (style.css .model-line.warn) and the Send button.
WARN_BG = (0xFF, 0xF4, 0xE5)
ACCENT = (0x3B, 0x5B, 0xDB)
GRAB = """
import sys
from qtpy.QtGui import QGuiApplication
app = QGuiApplication(sys.argv)
image = QGuiApplication.primaryScreen().grabWindow(0).toImage()
image.save(sys.argv[1])
"""


def _need(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the desktop test cannot run in CI: {why}")
    pytest.skip(why)


@pytest.fixture
def display() -> Iterator[str]:
    xvfb = shutil.which("Xvfb")
    _need(xvfb is not None, "Xvfb is missing (apt-get install xvfb)")
    _need(desktop.load_webview() is not None, "pywebview is missing (pip install -e '.[desktop]')")
    read, write = os.pipe()
    proc = subprocess.Popen([str(xvfb), "-displayfd", str(write), "-screen", "0", "1280x900x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as handle:
        number = handle.readline().strip()  # Xvfb picked a free display and said which
    assert number.isdigit(), "Xvfb did not start"
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


def _pixels(png: Path) -> set[tuple[int, int, int]]:
    from qtpy.QtGui import QImage

    image = QImage(str(png))
    seen = set()
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = image.pixelColor(x, y)
            seen.add((c.red(), c.green(), c.blue()))
    return seen


def _close_window(display: str, title: str) -> bool:
    """Send WM_DELETE_WINDOW to the top-level window called `title`, as a window manager's
    close button does."""
    from Xlib import X, protocol
    from Xlib import display as xdisplay

    conn = xdisplay.Display(display)
    try:
        delete = conn.intern_atom("WM_DELETE_WINDOW")
        protocols = conn.intern_atom("WM_PROTOCOLS")
        stack = [conn.screen().root]
        while stack:
            window = stack.pop()
            try:
                name = window.get_wm_name()
                children = window.query_tree().children
            except Exception:
                continue
            if name == title and delete in (window.get_wm_protocols() or ()):
                event = protocol.event.ClientMessage(window=window, client_type=protocols,
                                                     data=(32, [delete, X.CurrentTime, 0, 0, 0]))
                window.send_event(event)
                conn.flush()
                return True
            stack.extend(children)
        return False
    finally:
        conn.close()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_desktop_window_shows_the_ui_and_closes_cleanly(display: str, tmp_path: Path) -> None:
    home, workspace = tmp_path / ".localgpt", tmp_path / ".localgpt" / "workspace"
    workspace.mkdir(parents=True)
    offline_config(home)
    write_notes(workspace)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        debug_port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OLLAMA_HOST", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=display, LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace),
               PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1",
               QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{debug_port}")
    proc = subprocess.Popen([sys.executable, "-m", "localgpt_ls", "desktop", "--no-heartbeat"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"daemon on 127\.0\.0\.1:(\d+)", first)
        assert match, first + proc.stdout.read()
        # Keep reading what Qt and its web engine print: a full pipe would block the window's
        # process in a write, and it could never exit.
        said: list[str] = []
        threading.Thread(target=lambda: said.extend(proc.stdout or ()), daemon=True).start()
        port = int(match.group(1))
        # The page, as the window's web engine has it: our title, the token traded for the
        # cookie (the URL is clean), and the UI's status painted.
        page: dict[str, Any] = {}
        shot = tmp_path / "desktop.png"
        colours: set[tuple[int, int, int]] = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                pages = httpx.get(f"http://127.0.0.1:{debug_port}/json/list", timeout=2).json()
                page = next((p for p in pages if p.get("type") == "page"), {})
            except httpx.HTTPError:
                pass
            if page.get("url") == f"http://127.0.0.1:{port}/":
                subprocess.run([sys.executable, "-c", GRAB, str(shot)], env=env, check=True,
                               timeout=120)  # a cold start loads ~600 MB of Qt
                colours = _pixels(shot)
                if WARN_BG in colours and ACCENT in colours:
                    break
            time.sleep(0.5)
        assert page.get("title") == "LocalGPT", page
        assert page.get("url") == f"http://127.0.0.1:{port}/", page
        assert WARN_BG in colours and ACCENT in colours, f"the UI is not drawn: see {shot}"
        assert _port_open(port)
        assert _close_window(display, "LocalGPT"), "no LocalGPT window on the display"
        # Qt's teardown of the web engine took over 30 s once, with two CI runs on two cores.
        # About 1 close in 4 is not acted on at all (the stacks showed the main thread still
        # in Qt's event loop, the window open, 90 s later; cause not found): the close is
        # sent again every 10 s, as a user would click it again.
        code = None
        for _ in range(9):
            try:
                code = proc.wait(10)
                break
            except subprocess.TimeoutExpired:
                _close_window(display, "LocalGPT")
        if code is None:
            # PYTHONFAULTHANDLER: SIGABRT prints every thread's stack into `said`
            proc.send_signal(signal.SIGABRT)
            proc.wait(10)
            time.sleep(0.5)
            raise AssertionError("closing the window 10 times did not end its process:\n"
                                 + "".join(said)[-6000:]) from None
        assert code == 0, "".join(said)[-2000:]
        assert not _port_open(port), "the in-process daemon outlived the window"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_without_the_extra_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str],
                                                     lg_env: Any) -> None:
    from localgpt_ls.engine import Engine

    monkeypatch.setattr(desktop, "load_webview", lambda: None)
    offline_config(lg_env.home)
    assert desktop.run_desktop(Engine, interactive=False) == 1
    err = capsys.readouterr().err
    assert "pip install -e '.[desktop]'" in err and "localgpt daemon" in err

    assert desktop.run_desktop(Engine, interactive=True, ask=lambda _q: "n") == 1

    opened: list[str] = []

    def browser(url: str) -> bool:
        # The offered browser tab gets a working UI: the token URL signs in and shows the page.
        with httpx.Client(follow_redirects=True, timeout=10) as c:
            page = c.get(url)
            assert page.status_code == 200 and "<title>LocalGPT</title>" in page.text
            assert c.get(url.split("/?")[0] + "/api/status",
                         headers={"X-LocalGPT-UI": "1"}).status_code == 200
        opened.append(url)
        raise KeyboardInterrupt  # the user presses Ctrl-C

    monkeypatch.setattr(desktop.webbrowser, "open", browser)
    assert desktop.run_desktop(Engine, interactive=True, ask=lambda _q: "", watch=False,
                               heartbeat=False) == 0
    assert len(opened) == 1 and re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=\S+", opened[0])
    port = int(opened[0].split(":")[2].split("/")[0])
    assert not _port_open(port)
