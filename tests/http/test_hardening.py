"""The daemon against slow, silent, lying and vanishing clients, over a real socket: uvicorn
with the daemon's own protocol and Guard, timeouts shortened so the test is quick."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from localgpt_ls.engine import Engine
from localgpt_ls.http import Options
from localgpt_ls.http.app import build_starlette
from localgpt_ls.http.security import Guard
from localgpt_ls.http.server import TimedH11Protocol, bind_socket, server_config
from tests.http.conftest import AUTH, TOKEN, validate

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 1.0


@dataclass
class Running:
    port: int

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def head(self, length: int, path: str = "/api/chat") -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {length}\r\n\r\n").encode()


class ShortHeaders(TimedH11Protocol):
    header_timeout = HEADER_TIMEOUT


@pytest.fixture
def running(engine: Engine) -> Iterator[Running]:
    import uvicorn

    app = Guard(build_starlette(engine, TOKEN, Options(watch=False, heartbeat=False)), TOKEN,
                body_timeout=BODY_TIMEOUT)
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app, http=ShortHeaders, timeout_keep_alive=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield Running(sock.getsockname()[1])
    server.should_exit = True
    thread.join(10)
    sock.close()


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            piece = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        out += piece
    return out


def test_a_huge_declared_body_is_refused_before_it_is_sent(running: Running) -> None:
    """Content-Length: 10^12 and no body: the 413 comes at once (it used to wait 45 s+ while
    the guard drained), and the connection closes."""
    with running.connect() as s:
        s.sendall(running.head(1_000_000_000_000))
        s.settimeout(5)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 413 ")
        assert b"connection: close" in first.lower()
        assert b"request body is larger than" in first + _read_all(s)


def test_silent_and_trickling_clients_are_disconnected(running: Running) -> None:
    with running.connect() as silent, running.connect() as trickle:
        silent.settimeout(5)
        trickle.settimeout(5)
        trickle.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends
        assert _read_all(silent) == b""
        assert _read_all(trickle) == b""
    assert httpx.get(f"http://127.0.0.1:{running.port}/health").status_code == 200


def test_an_idle_keep_alive_connection_is_closed(running: Running) -> None:
    with running.connect() as s:
        s.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{running.port}\r\n\r\n".encode())
        s.settimeout(5)
        assert _read_all(s).startswith(b"HTTP/1.1 200 ")  # then closed, not held open


def test_a_body_that_stops_coming_gets_408(running: Running) -> None:
    with running.connect() as s:
        s.sendall(running.head(100) + b'{"message"')
        s.settimeout(10)
        answer = _read_all(s)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"did not arrive within" in answer


def test_a_client_hanging_up_mid_body_leaves_no_traceback(
        running: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with running.connect() as s:
        s.sendall(running.head(1000) + b'{"message": "hel')
        time.sleep(0.2)
    time.sleep(0.5)
    with httpx.Client(base_url=f"http://127.0.0.1:{running.port}", headers=AUTH) as c:
        assert c.post("/api/chat", json={"message": "still here?"}).status_code == 200
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert any("hung up" in r.getMessage() for r in caplog.records)


async def test_an_unknown_model_is_the_documented_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", headers=AUTH,
                                 json={"message": "hi", "model": "nosuch-model-9"})
    assert response.status_code == 400
    assert "unknown model 'nosuch-model-9'" in validate(response, "/api/chat", "post")["error"]
