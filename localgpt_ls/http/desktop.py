"""`localgpt desktop`: the web UI in a native window (pywebview), over an in-process daemon.

The daemon runs in a thread of this process on a free loopback port with a fresh token (never
the daemon's token file: the window is the only client, and closing it ends everything). The
window opens the usual `/?token=` URL, so it goes through the same cookie, Host and Origin rules
as a browser tab. pywebview picks the platform's web engine: WebView2 on Windows, WebKit on
macOS, GTK WebKit or Qt WebEngine on Linux (the `desktop` extra brings Qt there).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from typing import Any

from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError

INSTALL_HINT = ("the desktop window needs the optional extra: from your LocalGPT-LS folder, "
                "pip install -e '.[desktop]' into the Python that runs localgpt (localgpt-ls "
                "is not on PyPI); on Linux it brings Qt "
                "WebEngine, or install your distribution's GTK WebKit bindings "
                "(Debian: python3-gi gir1.2-webkit2-4.1)")
START_TIMEOUT = 30.0


def load_webview() -> Any | None:
    try:
        import webview
    except ImportError:
        return None
    return webview


class InProcessDaemon:
    """The daemon's app served by uvicorn in a background thread; `stop()` ends it."""

    def __init__(self, engine: Engine, *, watch: bool = True, heartbeat: bool = True) -> None:
        import uvicorn

        from localgpt_ls.http.app import Options, create_app
        from localgpt_ls.http.server import bind_socket

        self.engine = engine
        self.token = secrets.token_urlsafe(32)
        self.sock = bind_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        app = create_app(engine, self.token, Options(watch=watch, heartbeat=heartbeat))
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                proxy_headers=False, server_header=False,
                                timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, name="localgpt-desktop-daemon",
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def _serve(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self) -> InProcessDaemon:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise LocalGPTError("the desktop window's daemon did not start; run "
                                    "`localgpt daemon` to see why")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _gui() -> str | None:
    """pywebview's own choice, except on Linux without GTK bindings: Qt straight away (else
    pywebview logs a traceback for GTK first). PYWEBVIEW_GUI still overrides."""
    if os.environ.get("PYWEBVIEW_GUI") or not sys.platform.startswith("linux"):
        return None
    if importlib.util.find_spec("gi") is not None:
        return None
    # Qt WebEngine's Chromium will not start as root with its sandbox on (containers, CI).
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    return "qt"


def run_desktop(engine_factory: Callable[[], Engine], *, watch: bool = True,
                heartbeat: bool = True, ask: Callable[[str], str] = input,
                interactive: bool | None = None) -> int:
    """Open the window and block until it is closed; returns the exit code."""
    webview = load_webview()
    if webview is None:
        return _without_extra(engine_factory, watch, heartbeat, ask, interactive)
    gui = _gui()
    engine = engine_factory()
    daemon = InProcessDaemon(engine, watch=watch, heartbeat=heartbeat).start()
    print(f"LocalGPT desktop {engine.workspace} (daemon on 127.0.0.1:{daemon.port})",
          flush=True)
    try:
        webview.create_window("LocalGPT", daemon.url, width=1200, height=820,
                              min_size=(400, 480), text_select=True)
        webview.start(gui=gui, private_mode=True)
    finally:
        daemon.stop()
        engine.close()
    return 0


def _without_extra(engine_factory: Callable[[], Engine], watch: bool, heartbeat: bool,
                   ask: Callable[[str], str], interactive: bool | None) -> int:
    print(f"localgpt: {INSTALL_HINT}", file=sys.stderr)
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        print("localgpt: or run `localgpt daemon` and open the URL it prints in your browser",
              file=sys.stderr)
        return 1
    try:
        answer = ask("Open the same UI in your browser instead? [Y/n] ").strip().lower()
    except EOFError:
        answer = "n"
    if answer not in ("", "y", "yes"):
        return 1
    engine = engine_factory()
    daemon = InProcessDaemon(engine, watch=watch, heartbeat=heartbeat).start()
    print(f"LocalGPT {engine.workspace} at {daemon.url}\nPress Ctrl-C to stop.", flush=True)
    try:
        webbrowser.open(daemon.url)
        while daemon.thread.is_alive():
            daemon.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        daemon.stop()
        engine.close()
    return 0
