"""Running the daemon: bind, print the start line with the token URL, serve with uvicorn.

The socket is bound here (not by uvicorn) so the printed URL carries the real port even with
`--port 0`, and a port in use is one clear error line before anything else starts.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from localgpt_ls.engine import Engine
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.http.app import Options, create_app
from localgpt_ls.http.security import is_loopback_address, load_or_create_token

WILDCARDS = {"0.0.0.0", "::", ""}
# Loggers whose info lines are the daemon talking to its user (everything under them too).
OWN_LOGGERS = ("localgpt", "localgpt_ls")
# A request's headers must be complete this long after the connection opens or the previous
# answer went out (slow or silent clients otherwise hold a connection for ever); between
# requests a connection may idle IDLE_TIMEOUT_SECONDS. The body's limit is the Guard's.
HEADER_TIMEOUT_SECONDS = 10.0
IDLE_TIMEOUT_SECONDS = 5


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on the header phase.

    uvicorn times only the gap after a response (keep-alive); a connection that sends nothing,
    or trickles its headers a byte at a time, was never closed. Named explicitly in the config
    so the timing holds whichever HTTP parsers are installed."""

    header_timeout = HEADER_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: Any = None

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a request's headers are in
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)


@dataclass
class ServeOptions:
    bind: str = "127.0.0.1"
    port: int = 31327
    allow_remote: bool = False
    watch: bool = True
    heartbeat: bool = True
    allowed_hosts: list[str] = field(default_factory=list)


def check_bind(bind: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the user said so explicitly. Silent: the CLI
    calls it before opening the engine and serve() again, and the warning is serve()'s."""
    if is_loopback_address(bind) or allow_remote:
        return
    raise LocalGPTError(f"refusing to listen on {bind}: that exposes your assistant and its "
                        "memory beyond this machine; use --bind 127.0.0.1, or pass "
                        "--allow-remote if you really mean it")


def warn_remote(bind: str) -> None:
    """The one warning a user gets when the daemon listens beyond this machine."""
    if is_loopback_address(bind):
        return
    print(f"localgpt: WARNING: listening on {bind}, reachable from other machines over plain "
          "HTTP. Anyone who has the token can read your memory and use your model keys; prefer "
          "an SSH tunnel. Requests must name this host: list the names clients use in "
          "[server] allowed_hosts.", file=sys.stderr)


def bind_socket(bind: str, port: int) -> socket.socket:
    host = bind.strip("[]")
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host or "0.0.0.0").version == 6 \
            else socket.AF_INET
    except ValueError:
        family = socket.AF_INET  # a host name such as "localhost"
    # proto=IPPROTO_TCP matters: asyncio turns on TCP_NODELAY only for sockets that say TCP,
    # and without it every small response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise LocalGPTError(f"cannot listen on {bind}:{port}: {exc.strerror}; is another daemon "
                            "running? choose another port with --port") from None
    sock.set_inheritable(True)
    return sock


def start_url(bind: str, port: int, token: str) -> str:
    host = bind.strip("[]")
    if host in WILDCARDS:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/?token={token}"


def server_config(app: Any, **overrides: Any) -> Any:
    """The uvicorn configuration the daemon runs with (tests pass shorter timeouts)."""
    import uvicorn

    settings: dict[str, Any] = dict(
        log_level="warning", access_log=False, lifespan="on", proxy_headers=False,
        server_header=False, timeout_graceful_shutdown=3, http=TimedH11Protocol,
        timeout_keep_alive=IDLE_TIMEOUT_SECONDS)
    settings.update(overrides)
    return uvicorn.Config(app, **settings)


def _terminal_logging() -> None:
    """The daemon's own info lines (index, watcher, heartbeat) on the terminal; other
    libraries' from WARNING only (the MCP SDK says "StreamableHTTP session manager started" at
    info, which means nothing to a user). LOCALGPT_LOG=debug|info has already set a terminal
    handler for every logger (cli_logging): then that level stands."""
    root = logging.getLogger()
    if root.handlers:
        return
    logging.basicConfig(level=logging.WARNING, format="localgpt: %(message)s")
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def serve(options: ServeOptions, engine: Engine | None = None) -> int:
    """Run in the foreground until Ctrl-C; returns the exit code."""
    import uvicorn

    check_bind(options.bind, options.allow_remote)
    warn_remote(options.bind)
    engine = engine or Engine()
    token = load_or_create_token(engine.config.server.auth_token)
    allowed = [*engine.config.server.allowed_hosts, *options.allowed_hosts]
    if options.allow_remote and options.bind.strip("[]") not in WILDCARDS:
        allowed.append(options.bind)
    app = create_app(engine, token, Options(watch=options.watch, heartbeat=options.heartbeat,
                                            allowed_hosts=allowed))
    sock = bind_socket(options.bind, options.port)
    port = sock.getsockname()[1]
    _terminal_logging()
    server = uvicorn.Server(server_config(app))
    print(f"LocalGPT daemon {engine.workspace} at {start_url(options.bind, port, token)}",
          flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        engine.close()
    return 0
