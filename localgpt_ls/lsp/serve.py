"""Running the language server: stdio or TCP (both read by lsp/framing.py on the event loop),
and leaving fast."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
import threading

from localgpt_ls.lsp.app import create_server
from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")


def start(tcp: str | None = None) -> None:
    """Serve over stdio, or over TCP when given HOST:PORT."""
    logging.basicConfig(level=logging.WARNING, format="localgpt-ls %(levelname)s %(message)s")
    # Background threads (scan, memory index) hand the GIL back to the request loop sooner:
    # a request waits at most ~1 ms for a busy worker instead of the default 5 ms per switch.
    sys.setswitchinterval(0.001)
    server = create_server()
    profile = os.environ.get("LOCALGPT_LSP_PROFILE")
    if profile:  # developer aid: `LOCALGPT_LSP_PROFILE=out.prof localgpt lsp`
        import cProfile

        profiler = cProfile.Profile()
        server.profiler = (profiler, profile)
        profiler.enable()
    code = _serve(server, tcp)
    # The editor said `exit`: leave now. A worker thread may be mid-way through a long
    # reindex; joining it at interpreter exit would keep a dead server around for seconds
    # (SQLite rolls an unfinished transaction back on the next open, so nothing is lost).
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _serve(server: LocalGPTServer, tcp: str | None) -> int:
    """Serve until the client exits; returns the process exit code."""
    code = 0
    try:
        if tcp:
            host, _, port = tcp.rpartition(":")
            asyncio.run(_serve_tcp(server, host or "127.0.0.1", int(port)))
        else:
            asyncio.run(_serve_stdio(server))
    except _PipeUnsupported:
        server.start_io()  # stdin is a file or the platform's loop cannot watch pipes
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        server.shutdown()
    return code


class _PipeUnsupported(Exception):
    pass


async def _serve_stdio(server: LocalGPTServer) -> None:
    """Read stdin with an asyncio pipe reader on the event loop.

    pygls's own stdio reader hands every line to a worker thread and back; reading on the
    loop saves that hop on each message (measurable at the benchmark's sub-millisecond
    requests). Responses are written the same way pygls writes them.
    """
    from pygls.io_ import StdoutWriter

    from localgpt_ls.lsp import framing

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or sys.stdin.isatty()):
        # A file or /dev/null: epoll refuses it (EPERM, raised later inside the loop).
        raise _PipeUnsupported("stdin is not a pipe")
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     sys.stdin.buffer)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise _PipeUnsupported(str(exc)) from None
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    # Our frame reader, not pygls's: it resynchronises after a bad frame (lsp/framing.py).
    stop = server._stop_event
    await framing.serve(framing.FrameReader(reader.read), server.protocol,
                        error_handler=server.report_server_error, stop=stop.is_set)


async def _serve_tcp(server: LocalGPTServer, host: str, port: int) -> None:
    """Serve one client connecting to HOST:PORT, read by the same frame reader as stdio
    (pygls's own TCP reader had none of its recovery from bad frames)."""
    from localgpt_ls.lsp import framing

    server._stop_event = stop = threading.Event()
    finished = asyncio.Event()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.protocol.set_writer(writer)
        try:
            await framing.serve(framing.FrameReader(reader.read), server.protocol,
                                error_handler=server.report_server_error, stop=stop.is_set)
        finally:
            finished.set()  # the client hung up: the session is over, as with stdio

    listener = await asyncio.start_server(connection, host, port)
    log.info("serving on %s", ", ".join(str(s.getsockname()) for s in listener.sockets))
    async with listener:
        await finished.wait()
