"""A loopback HTTP server that replays scripted provider responses in small chunks.

It speaks HTTP/1.1 with chunked transfer encoding, so a scripted "cut" (socket closed before
the final chunk) looks to httpx exactly like a provider dying mid-stream. Every request is
recorded (path, headers, JSON body) so tests can check the wire format the code sent.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request is what half the tests do on purpose (cancel, cut
    streams): not worth the traceback socketserver prints for it."""

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class Reply:
    status: int = 200
    chunks: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/event-stream"
    delay: float = 0.0  # seconds between chunks
    cut: bool = False  # close the socket instead of ending the chunked body
    # Read the request, then hang up before any status line: "close" (a clean FIN, httpx's
    # RemoteProtocolError) or "reset" (an RST, httpx's ReadError).
    drop: str = ""


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def split(data: bytes, size: int = 7) -> list[bytes]:
    """Small chunks, so every event (and a tool call's JSON) crosses chunk boundaries."""
    return [data[i:i + size] for i in range(0, len(data), size)]


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": {"type": "error", "message": message}}).encode()
    return Reply(status=status, chunks=[body], headers=headers or {},
                 content_type="application/json")


class FakeServer:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.gets: dict[str, Reply] = {}
        self.requests: list[Recorded] = []
        # Picks the reply from the request when set (None: the next queued one), for clients
        # whose requests come in no fixed order (an editor asking for ghost text and chat).
        self.router: Callable[[Recorded], Reply | None] | None = None
        self.disconnected = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _record(self) -> Recorded:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                recorded = Recorded(self.command, self.path,
                                    {k.lower(): v for k, v in self.headers.items()}, body)
                server.requests.append(recorded)
                return recorded

            def do_GET(self) -> None:
                self._record()
                reply = server.gets.get(self.path) or error_reply(404, "not found")
                self._send(reply)

            def do_POST(self) -> None:
                recorded = self._record()
                routed = server.router(recorded) if server.router else None
                reply = routed or (server.replies.popleft() if server.replies else error_reply(
                    500, "no scripted reply left"))
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.drop:
                    self.close_connection = True
                    if reply.drop == "reset":
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                   struct.pack("ii", 1, 0))
                        self.connection.close()
                    else:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.status >= 400:
                    body = b"".join(reply.chunks)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in reply.chunks:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                        if reply.delay:
                            time.sleep(reply.delay)
                    if reply.cut:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    server.disconnected.set()
                    self.close_connection = True

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    """A port nothing listens on (for connection-refused tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
