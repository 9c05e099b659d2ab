"""The daemon's locks: no /api request succeeds without the right token, from a foreign Host
or a foreign Origin; bodies over 1 MB get 413 and the daemon keeps serving; the token file is
private; a non-loopback bind needs an explicit flag."""

from __future__ import annotations

import os
import socket
import stat
from http.cookiejar import CookieJar

import httpx
import pytest
from starlette.routing import Route

from localgpt_ls.cli import main
from localgpt_ls.config import Config
from localgpt_ls.engine import Engine
from localgpt_ls.http import Options, create_app
from localgpt_ls.http.app import ROUTES
from localgpt_ls.http.security import cookie_name, load_or_create_token
from localgpt_ls.http.server import bind_socket, check_bind, warn_remote
from tests.conftest import LGEnv
from tests.http.conftest import AUTH, BASE, TOKEN, validate
from tests.http.live_daemon import LiveDaemon

COOKIE = cookie_name(31327)  # the UI cookie of the daemon at BASE


def _api_routes() -> list[tuple[str, str]]:
    """Every (method, path) under /api in the app, so a route added later is covered too."""
    out = []
    for route in ROUTES:
        assert isinstance(route, Route)
        if not route.path.startswith("/api"):
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, route.path.replace("{session_id}", "20260101-000000-abc")))
    return out


API_ROUTES = _api_routes()


def test_every_api_route_is_listed() -> None:
    assert len(API_ROUTES) == 14
    assert ("POST", "/api/chat/stream") in API_ROUTES
    for route in (("GET", "/api/note"), ("GET", "/api/graph"),
                  ("GET", "/api/memory/reindex/progress")):
        assert route in API_ROUTES


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    data = validate(response, "/health", "get")
    assert data["status"] == "ok" and data["version"]


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
async def test_api_refused_without_token(client: httpx.AsyncClient, method: str,
                                         path: str) -> None:
    response = await client.request(method, path, json={"message": "hi"})
    assert response.status_code == 401
    assert "token" in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN,
                                    f"Bearer {TOKEN[:-1]}"])
async def test_api_refused_with_wrong_token(client: httpx.AsyncClient, method: str, path: str,
                                            header: str) -> None:
    response = await client.request(method, path, headers={"Authorization": header},
                                    json={"message": "hi"})
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
@pytest.mark.parametrize("host", ["evil.example:31327", "127.0.0.1.evil.example",
                                  "localhost.evil.example:31327", "192.168.1.5:31327", ""])
async def test_api_refused_with_foreign_host(client: httpx.AsyncClient, method: str, path: str,
                                             host: str) -> None:
    # DNS rebinding: a page on evil.example resolves its name to 127.0.0.1; its Host stays.
    response = await client.request(method, path, headers={**AUTH, "Host": host},
                                    json={"message": "hi"})
    assert response.status_code == 403
    assert "Host" in response.json()["error"]


@pytest.mark.parametrize("host", [
    "localhost:1@evil.example", "127.0.0.1:31327, evil.example", "127.0.0.1:31327,evil.example",
    "localhost:31327 evil.example", "evil.example@localhost:31327", "localhost:31327/evil",
    "localhost:abc", "localhost:", "localhost:99999", "localhost:0", "127.0.0.1:\uff13\uff11",
    "[::1", "[::1]x", "[127.0.0.1]:31327", "::1", "localhost:31327:1",
])
async def test_host_that_only_starts_like_loopback_is_refused(client: httpx.AsyncClient,
                                                              host: str) -> None:
    """Only a loopback name and an optional all-digit port: a Host with more after it is the
    Host of some other site, however it starts."""
    raw = host.encode()  # as bytes: httpx sends them as they are (fullwidth digits too)
    response = await client.get("/api/memory/stats", headers={**AUTH, "Host": raw})
    assert response.status_code == 403
    assert "Host" in response.json()["error"]
    page = await client.get("/", headers={"Host": raw})
    assert page.status_code == 403


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9999",
                                    "https://127.0.0.1:31327", "null"])
async def test_api_refused_with_foreign_origin(client: httpx.AsyncClient, method: str,
                                               path: str, origin: str) -> None:
    response = await client.request(method, path, headers={**AUTH, "Origin": origin},
                                    json={"message": "hi"})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


async def test_foreign_host_refused_for_the_page_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Host": "evil.example"})
    assert response.status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1:31327", "localhost:31327", "[::1]:31327",
                                  "LOCALHOST:31327", "localhost", "[::1]", "127.0.0.2:8080",
                                  " localhost:31327 "])
async def test_loopback_hosts_accepted(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/api/memory/stats", headers={**AUTH, "Host": host})
    assert response.status_code == 200


async def test_same_origin_with_token_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/memory/stats",
                                headers={**AUTH, "Origin": BASE})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_configured_allowed_host(engine: Engine) -> None:
    app = create_app(engine, TOKEN, Options(watch=False, heartbeat=False,
                                            allowed_hosts=["my-box.lan"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://my-box.lan:31327") as c:
        assert (await c.get("/api/memory/stats", headers=AUTH)).status_code == 200
        other = await c.get("/api/memory/stats", headers={**AUTH, "Host": "other.lan"})
        assert other.status_code == 403
        tail = await c.get("/api/memory/stats", headers={**AUTH, "Host": "my-box.lan:1@x.example"})
        assert tail.status_code == 403


async def test_token_url_sets_cookie_and_strips_token(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/?token={TOKEN}")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("localgpt_ui_31327=")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Path=/" in cookie
    assert TOKEN not in cookie  # the cookie is derived from the token, not the token


async def test_wrong_token_url_sets_no_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/?token=nope")
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


async def test_cookie_counts_only_on_same_origin_requests(client: httpx.AsyncClient) -> None:
    await client.get(f"/?token={TOKEN}")  # the client keeps the cookie
    assert client.cookies.get(COOKIE)
    ok = await client.get("/api/memory/stats", headers={"Origin": BASE})
    assert ok.status_code == 200
    fetch_meta = await client.get("/api/memory/stats", headers={"Sec-Fetch-Site": "same-origin"})
    assert fetch_meta.status_code == 200
    ui = await client.get("/api/memory/stats", headers={"X-LocalGPT-UI": "1"})
    assert ui.status_code == 200
    # No sign the request comes from our page (a plain link, a form, another tool): refused.
    assert (await client.get("/api/memory/stats")).status_code == 401
    other_port = await client.get("/api/memory/stats", headers={"Sec-Fetch-Site": "same-site"})
    assert other_port.status_code == 401
    cross = await client.post("/api/chat", headers={"Origin": "http://127.0.0.1:8888"},
                              json={"message": "hi"})
    assert cross.status_code == 403


def _tab(engine: Engine, token: str, port: int, jar: CookieJar) -> httpx.AsyncClient:
    """A browser tab on the web UI of a daemon at 127.0.0.1:`port`. Tabs share `jar`, as a
    browser's tabs share one cookie jar for the host whatever the port."""
    app = create_app(engine, token, Options(watch=False, heartbeat=False))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), cookies=jar,
                             base_url=f"http://127.0.0.1:{port}",
                             headers={"X-LocalGPT-UI": "1"})


async def test_two_daemons_on_different_ports_keep_separate_sessions(engine: Engine) -> None:
    jar = CookieJar()
    second_token = "second-daemon-token-98765"
    async with _tab(engine, TOKEN, 31327, jar) as first, \
            _tab(engine, second_token, 31328, jar) as second:
        assert (await first.get(f"/?token={TOKEN}")).status_code == 303
        assert (await second.get(f"/?token={second_token}")).status_code == 303
        # Opening the second daemon's UI did not log the first one out.
        assert (await first.get("/api/memory/stats")).status_code == 200
        assert (await second.get("/api/memory/stats")).status_code == 200
        assert {c.name for c in jar} == {"localgpt_ui_31327", "localgpt_ui_31328"}


async def test_a_cookie_opens_only_its_own_daemon(engine: Engine) -> None:
    """Two daemons of one LOCALGPT_HOME share the token file, and the browser sends the cookie
    it got from one to every port of the host: it must not open the other."""
    jar = CookieJar()
    async with _tab(engine, TOKEN, 31327, jar) as first, \
            _tab(engine, TOKEN, 31328, jar) as other:
        assert (await first.get(f"/?token={TOKEN}")).status_code == 303
        assert (await other.get("/api/memory/stats")).status_code == 401
        # Renamed to the other port's name, the same value still opens nothing there.
        value = first.cookies.get("localgpt_ui_31327")
        assert value
        other.cookies.set("localgpt_ui_31328", value)
        assert (await other.get("/api/memory/stats")).status_code == 401
        assert (await first.get("/api/memory/stats")).status_code == 200


async def test_forged_cookie_refused(client: httpx.AsyncClient) -> None:
    client.cookies.set(COOKIE, TOKEN)
    response = await client.get("/api/memory/stats", headers={"Origin": BASE})
    assert response.status_code == 401


async def test_page_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_large_body_gets_413_and_the_app_keeps_serving(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", headers=AUTH, content=b"x" * (3 * 1024 * 1024))
    assert response.status_code == 413
    validate(response, "/api/chat", "post")
    after = await client.get("/api/memory/stats", headers=AUTH)
    assert after.status_code == 200


async def test_large_chunked_body_gets_413_without_content_length(
        client: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the cap must hold while the body streams in
        for _ in range(48):
            yield b"y" * 65536

    response = await client.post("/api/chat/stream", headers=AUTH, content=chunks())
    assert response.status_code == 413
    assert (await client.get("/health")).status_code == 200


def test_live_daemon_413_then_keeps_serving(live: LiveDaemon) -> None:
    """Over a real socket: the client gets its 413 (not a reset) and the next call works."""
    with httpx.Client(base_url=live.url, headers=live.auth, timeout=30) as c:
        big = c.post("/api/chat", content=b"z" * (3 * 1024 * 1024),
                     headers={"Content-Type": "application/json"})
        assert big.status_code == 413

        def chunks():
            for _ in range(48):
                yield b"{" * 65536

        streamed = c.post("/api/memory/reindex", content=chunks())
        assert streamed.status_code == 413
        assert c.get("/api/memory/stats").status_code == 200
        small = c.post("/api/chat", json={"message": "x" * 1000})
        assert small.status_code == 200


def test_live_daemon_refuses_foreign_host_and_origin(live: LiveDaemon) -> None:
    with httpx.Client(base_url=live.url, timeout=10) as c:
        assert c.get("/api/status").status_code == 401
        assert c.get("/api/status", headers={**live.auth, "Host": "evil.example"}
                     ).status_code == 403
        port = live.url.rsplit(":", 1)[1]
        for host in ("localhost:1@evil.example", f"127.0.0.1:{port}, evil.example"):
            assert c.get("/api/status", headers={**live.auth, "Host": host}).status_code == 403
        assert c.get("/api/status", headers={**live.auth, "Origin": "http://evil.example"}
                     ).status_code == 403
        assert c.get("/api/status", headers=live.auth).status_code == 200


def test_token_file_created_private_and_reused(lg_env: LGEnv) -> None:
    token_file = lg_env.home / "daemon.token"
    first = load_or_create_token(None)
    assert token_file.read_text().strip() == first
    assert len(first) >= 32
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert load_or_create_token(None) == first  # a restart keeps the URL the user has


def test_token_file_loose_mode_is_tightened(lg_env: LGEnv) -> None:
    token_file = lg_env.home / "daemon.token"
    token_file.write_text("handwritten-token\n")
    os.chmod(token_file, 0o644)
    assert load_or_create_token(None) == "handwritten-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_configured_token_wins(lg_env: LGEnv) -> None:
    config = Config()
    config.server.auth_token = "from-config"
    assert load_or_create_token(config.server.auth_token) == "from-config"
    assert not (lg_env.home / "daemon.token").exists()


def test_live_daemon_token_file_mode(live: LiveDaemon) -> None:
    token_file = live.home / "daemon.token"
    assert token_file.read_text().strip() == live.token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.168.1.5", "::"])
def test_non_loopback_bind_needs_explicit_flag(lg_env: LGEnv, bind: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["daemon", "--bind", bind, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and bind in err


def test_allow_remote_warns_once(lg_env: LGEnv, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`localgpt daemon --bind 0.0.0.0 --allow-remote` as a user runs it: one WARNING line.
    uvicorn's run is replaced so nothing ever listens beyond this machine."""
    import uvicorn
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    assert main(["daemon", "--bind", "0.0.0.0", "--allow-remote", "--port", "0",
                 "--no-watch", "--no-heartbeat"]) == 0
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1, err
    assert "0.0.0.0" in err and "allowed_hosts" in err


def test_loopback_bind_does_not_warn(capsys: pytest.CaptureFixture[str]) -> None:
    for bind in ("127.0.0.1", "::1", "localhost"):
        check_bind(bind, allow_remote=False)
        warn_remote(bind)
    assert capsys.readouterr().err == ""


def test_listening_socket_is_tcp_nodelay() -> None:
    """Without IPPROTO_TCP asyncio skips TCP_NODELAY and each response waits ~40 ms for the
    client's delayed ACK (found by benchmarks/daemon.py)."""
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_port_in_use_is_one_clear_error(lg_env: LGEnv, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    taken = bind_socket("127.0.0.1", 0)
    taken.listen()
    try:
        port = taken.getsockname()[1]
        assert main(["daemon", "--port", str(port), "--no-watch", "--no-heartbeat"]) == 2
        assert f"127.0.0.1:{port}" in capsys.readouterr().err
    finally:
        taken.close()


@pytest.mark.parametrize("path", ["/api/status/", "//api/status", "/API/status",
                                  "/static/../api/status", "/api/memory/../status",
                                  "/static/%2e%2e/api/status", "/api"])
async def test_odd_paths_do_not_bypass_the_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, follow_redirects=True)
    assert response.status_code in (401, 404)
    assert "workspace" not in response.text
