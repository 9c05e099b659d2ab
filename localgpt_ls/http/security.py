"""The daemon's locks: token, Host and Origin checks, and the request-body cap.

Modelled on Jupyter's server: anything on this machine (another user's process, a web page in
the browser) can reach a loopback port, so every /api request must prove it holds the token
that only the owner can read, and browsers are kept out unless the page is our own:

- `Authorization: Bearer <token>` (constant-time compare) works from any client;
- the web UI trades `/?token=...` for an HttpOnly SameSite=Strict cookie, and the cookie counts
  only on a same-origin request (Origin equal to our own, Sec-Fetch-Site: same-origin, or the
  UI's X-LocalGPT-UI header), so another site, or another app on a different localhost port,
  cannot ride on it. Browsers keep cookies per host, not per port, so the cookie is named
  after the daemon's port (as Jupyter does) and its value is bound to that port: a second
  daemon on 127.0.0.1 neither overwrites the first one's session nor accepts its cookie;
- the Host header must be exactly a loopback address or a configured host, with an optional
  numeric port (DNS rebinding: a foreign name resolving to 127.0.0.1 still carries its own
  Host; and a Host that only starts like localhost, 'localhost:1@evil.example', is foreign);
- a foreign Origin is refused outright, and no CORS header is ever sent;
- request bodies above the cap get 413 while they stream in, whatever Content-Length claims,
  and a declared length above it gets 413 at once (the answer goes out before any draining);
- a body must arrive within BODY_TIMEOUT_SECONDS of its headers (else 408), and a client that
  hangs up mid-body is let go quietly (no traceback in the log). The header and idle phases
  are timed by the server's protocol (http/server.py).

Everything here is a plain ASGI wrapper around the Starlette app, so a refusal happens before any
route code runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localgpt_ls import paths
from localgpt_ls.errors import LocalGPTError

MAX_BODY_BYTES = 1024 * 1024
# After a 413 has gone out we read and discard up to this much more of the body, for at most
# DRAIN_SECONDS, so a client still sending reads our answer instead of a connection reset;
# then the connection closes. A body that never comes costs DRAIN_SECONDS, not the client's
# patience: the answer was already sent.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 1.0
# The whole body must arrive this long after the headers (a 1 MB body needs 35 KB/s).
BODY_TIMEOUT_SECONDS = 30.0

log = logging.getLogger("localgpt_ls.http")
COOKIE_PREFIX = "localgpt_ui"
UI_HEADER = "x-localgpt-ui"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def load_or_create_token(configured: str | None, token_file: Path | None = None) -> str:
    """The daemon's secret: `[server] auth_token` if set, else the token file (created on first
    start with mode 0600, so only the owner can read it)."""
    if configured:
        return configured
    token_file = token_file or paths.token_path()
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    except OSError as exc:
        raise LocalGPTError(f"cannot read the daemon token {token_file}: {exc.strerror}") from None
    if token:
        _tighten_mode(token_file)
        return token
    return _create_token_file(token_file)


def _create_token_file(token_file: Path) -> str:
    token = secrets.token_urlsafe(32)
    try:
        token_file.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 in one step: there is no moment when the file is readable by others.
        tmp = token_file.with_name(f".{token_file.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        os.replace(tmp, token_file)
    except OSError as exc:
        raise LocalGPTError(f"cannot write the daemon token {token_file}: {exc.strerror}; "
                            "check that LOCALGPT_HOME is writable") from None
    return token


def _tighten_mode(token_file: Path) -> None:
    """A token file readable by others is no secret: put it back to 0600 and say so."""
    try:
        mode = token_file.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(token_file, 0o600)
            print(f"localgpt: warning: {token_file} was readable by others (mode {mode:o}); "
                  "set it to 0600", file=sys.stderr)
    except OSError:
        pass


def server_port(scope: Scope) -> int | None:
    """The port this request arrived on (the listening socket's, not what Host claims)."""
    server = scope.get("server")
    if isinstance(server, tuple | list) and len(server) >= 2 and isinstance(server[1], int):
        return server[1]
    return None


def cookie_name(port: int | None) -> str:
    """The UI cookie of the daemon on `port`: 'localgpt_ui_31327'. Every port of a host shares
    the browser's cookies, so one fixed name would let each daemon log the others out."""
    return f"{COOKIE_PREFIX}_{port}" if port is not None else COOKIE_PREFIX


def cookie_value(token: str, port: int | None) -> str:
    """What the UI cookie holds: derived from the token and the port (never the token itself),
    so it changes when the token does, reading it does not reveal the token, and two daemons
    sharing one token file still do not accept each other's cookie."""
    message = f"localgpt-ui-cookie:{port if port is not None else ''}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


# host [":" port] as a Host header carries it: a name or IPv4 address, or an IPv6 address in
# brackets, then optionally ':' and ASCII digits. Nothing else: no userinfo, no list, no path.
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9._-]+))(?::(?P<port>[0-9]{1,5}))?",
                   re.ASCII)


def split_host(host: str) -> tuple[str, int | None] | None:
    """'[::1]:8080' -> ('::1', 8080); 'localhost' -> ('localhost', None); lowercased. None for
    anything that is not exactly a host and an optional port: 'localhost:1@evil.example' or
    '127.0.0.1:80, evil.example' must not pass as localhost because they start like it."""
    match = _HOST.fullmatch(host.strip().lower())
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    if match["v6"] is not None:
        try:
            ipaddress.IPv6Address(match["v6"])
        except ValueError:
            return None
        return match["v6"], port
    return match["name"], port


def is_loopback_address(address: str) -> bool:
    """localhost, or an IP literal in 127.0.0.0/8 or ::1 (a name like 127.0.0.1.evil.example
    is a foreign name, not an address)."""
    name = address.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI wrapper applying the rules in the module docstring to every HTTP request."""

    def __init__(self, app: ASGIApp, token: str, allowed_hosts: Iterable[str] = (),
                 max_body: int = MAX_BODY_BYTES,
                 body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = frozenset(_host_name(h) for h in allowed_hosts if h.strip())
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Lifespan passes through; websockets are not served at all.
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            await _send_json(send, status, {"error": message})
            return
        await self._call_with_body_cap(scope, receive, send, headers)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        """(status, reason) when the request must not reach the app, else None."""
        host = headers.get("host", "")
        parsed = split_host(host)
        name = parsed[0] if parsed is not None else ""
        if not name or not (is_loopback_address(name) or name in self.allowed_hosts):
            return 403, ("Host not allowed: open the daemon as http://127.0.0.1:PORT or add "
                         "the name to [server] allowed_hosts")
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, host):
            return 403, "cross-origin requests are refused"
        path: str = scope.get("path", "")
        is_api = path == "/api" or path.startswith("/api/")
        if is_api and not self._authorized(headers, host, server_port(scope)):
            return 401, ("missing or wrong token: send 'Authorization: Bearer <token>' "
                         f"(the token is in {paths.token_path()}) or open the URL the "
                         "daemon printed at start")
        return None

    def _authorized(self, headers: dict[str, str], host: str, port: int | None) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            return token_matches(value.strip(), self.token)
        cookie = _cookie(headers.get("cookie", ""), cookie_name(port))
        expected = cookie_value(self.token, port)
        if cookie is None or not hmac.compare_digest(cookie.encode(), expected.encode()):
            return False
        # The cookie is sent by the browser on its own, so it only counts when the request
        # also shows it comes from our page: a same-origin Origin or Sec-Fetch-Site, or the
        # UI's own header, which another origin cannot add without a CORS preflight (refused).
        origin = headers.get("origin")
        if origin is not None:
            return _same_origin(origin, host)
        return headers.get("sec-fetch-site") == "same-origin" or UI_HEADER in headers

    async def _call_with_body_cap(self, scope: Scope, receive: Receive, send: Send,
                                  headers: dict[str, str]) -> None:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(send, receive)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        received = 0
        body_done = False
        # Why the app's own answer is being replaced: "over" (413), "slow" (408) or "gone"
        # (the client hung up mid-body: nobody is left to answer).
        outcome: str | None = None
        started = False

        async def capped_receive() -> Message:
            nonlocal received, body_done, outcome
            if body_done:  # afterwards receive() only waits for a disconnect: no limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                outcome = "slow"
                raise _BodyTimeout() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    outcome = "over"
                    raise _BodyTooLarge()
                body_done = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                # Raised, not returned: the app would turn it into ClientDisconnect, a
                # failure it logs with a traceback; this one it answers quietly (unsent).
                outcome = "gone"
                raise _ClientGone()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if outcome is not None:
                return  # the app's reaction to the cut body is replaced by ours
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except (_BodyTooLarge, _BodyTimeout, _ClientGone):
            pass
        except Exception:
            if outcome is None:
                raise
        if outcome == "gone":
            log.info("client hung up before sending its whole request body (%s %s)",
                     scope.get("method"), scope.get("path"))
        elif outcome is not None and not started:
            if outcome == "over":
                await self._too_large(send, receive)
            else:
                await _send_json(send, 408, {
                    "error": f"the request body did not arrive within {self.body_timeout:g} s"},
                    close=True)

    async def _too_large(self, send: Send, receive: Receive) -> None:
        """413 at once; then, with the answer already out, take in what the client is still
        sending for a moment so that it reads the answer rather than a reset."""
        await _send_json(send, 413, {"error": f"request body is larger than {self.max_body} "
                                              "bytes"}, close=True, more=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_drain(receive), DRAIN_SECONDS)
        await send({"type": "http.response.body", "body": b""})


def _host_name(entry: str) -> str:
    """The name of an `allowed_hosts` entry ('my-box.lan:8080' -> 'my-box.lan')."""
    parsed = split_host(entry)
    return parsed[0] if parsed is not None else entry.strip().lower()


class _BodyTooLarge(HTTPException):
    """Raised inside the app's receive() when the body passes the cap. An HTTPException, so
    the app answers it quietly (no error log); the Guard replaces that answer with its own."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


class _BodyTimeout(HTTPException):
    """Raised inside the app's receive() when the body is late; answered as _BodyTooLarge is."""

    def __init__(self) -> None:
        super().__init__(408, "request body timed out")


class _ClientGone(HTTPException):
    """Raised inside the app's receive() when the client hung up before its body was in."""

    def __init__(self) -> None:
        super().__init__(400, "the client closed the connection before sending its body")


async def _drain(receive: Receive) -> None:
    total = 0
    while total <= DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        total += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _headers(scope: Scope) -> dict[str, str]:
    """Header names lowercased; a repeated header keeps its first value (Host, Origin and
    Authorization are single-valued, and a second copy must not override the first)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name not in out:
            out[name] = raw_value.decode("latin-1")
    return out


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin.strip().lower())
    return parts.scheme == "http" and bool(parts.netloc) and parts.netloc == host.strip().lower()


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _send_json(send: Send, status: int, body: dict[str, Any], *, close: bool = False,
                     more: bool = False) -> None:
    """A JSON answer. `close` ends the connection after it (the request's body was not read);
    `more` leaves the response open after the body, for the caller to finish it."""
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": more})
