"""The web UI in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright):
open the token URL, search memory and see file:line, chat in memory-only mode and see the
answer stream in, and check that file text is shown as text, never run as markup.

Waits are Playwright locator assertions (`expect`) or arrow functions, never JavaScript strings:
the page's CSP (script-src 'self', no 'unsafe-eval') blocks the eval a string-form
wait_for_function needs once it has to poll, so such a wait only passes when its condition is
already true at the first check, and fails on a loaded machine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import (
    LiveDaemon,
    offline_config,
    start_daemon,
    stop_daemon,
    wait_indexed,
    write_notes,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = '# Trap\n\nmarker-zebra <img src=x onerror="window.__pwned=1"> <b>not bold</b>\n'


def _need_browser() -> Any:
    """Playwright's sync API, or a skip with the reason (outside CI only: CI must run this)."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install -y chromium chromium-driver)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = missing or "playwright is missing (pip install -e '.[test]')"
        sync_playwright = None
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {missing}")
        pytest.skip(missing)
    return sync_playwright


def _expect() -> Any:
    """Playwright's retrying assertions, as patient as the page's own waits (imported late:
    without Playwright the page fixture has already skipped, or failed under CI, saying why)."""
    from playwright.sync_api import expect
    expect.set_options(timeout=20_000)
    return expect


@pytest.fixture(scope="module")
def ui_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    base = tmp_path_factory.mktemp("ui")
    home, workspace = base / "home", base / "workspace"
    home.mkdir()
    workspace.mkdir()
    offline_config(home, embeddings="local")  # the real thing: hybrid search, memory-only chat
    write_notes(workspace)
    (workspace / "knowledge" / "trap.md").write_text(HOSTILE, encoding="utf-8")
    daemon = start_daemon(home, workspace)
    wait_indexed(daemon)
    yield daemon
    stop_daemon(daemon)


@pytest.fixture(scope="module")
def page(ui_daemon: LiveDaemon) -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{ui_daemon.url}/?token={ui_daemon.token}")
        yield page
        assert errors == [], f"JavaScript errors on the page: {errors}"
        browser.close()


def test_token_is_traded_for_an_httponly_cookie(page: Any, ui_daemon: LiveDaemon) -> None:
    assert page.url == f"{ui_daemon.url}/"  # the redirect took the token out of the URL
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: scripts cannot read it
    expect = _expect()
    expect(page.locator("#status-line")).to_contain_text("model")
    expect(page.locator("#auth-banner")).to_be_hidden()
    expect(page.locator("#stats dt").first).to_be_attached()
    expect(page.locator("#stats")).to_contain_text("total_files")


def test_memory_search_shows_file_and_line(page: Any) -> None:
    page.fill("#search-q", "Baratza grinder")
    page.click("#search-form button[type=submit]")
    first = page.locator("#search-results li .loc").first
    first.wait_for()
    assert first.inner_text().startswith("knowledge/espresso.md:")
    line = int(first.inner_text().rsplit(":", 1)[1])
    assert line >= 1
    assert "Baratza" in page.locator("#search-results li .snippet").first.inner_text()


def test_chat_answer_streams_in(page: Any) -> None:
    # Record whether the answer's text was already there while the message was still streaming.
    page.evaluate("""() => {
        window.__seenWhileStreaming = false;
        new MutationObserver(() => {
            const node = document.querySelector('#chat-log .msg.assistant.streaming');
            if (node && node.querySelector('.body').textContent.length > 0)
                window.__seenWhileStreaming = true;
        }).observe(document.getElementById('chat-log'),
                   {subtree: true, childList: true, characterData: true, attributes: true});
    }""")
    page.fill("#chat-input", "what is the espresso grinder set to?")
    page.press("#chat-input", "Enter")
    answer = page.locator("#chat-log .msg.assistant[data-done='1']")
    answer.wait_for()
    text = answer.locator(".body").inner_text()
    assert "No model is configured" in text
    assert "knowledge/espresso.md:" in text
    assert answer.locator(".meta").inner_text() == "memory-only"
    assert page.evaluate("() => window.__seenWhileStreaming") is True
    assert "session" in page.locator("#session-label").inner_text()
    assert page.locator("#chat-log .msg.user .body").first.inner_text() == \
        "what is the espresso grinder set to?"


def test_file_text_is_shown_not_run(page: Any) -> None:
    page.fill("#search-q", "marker-zebra")
    page.click("#search-form button[type=submit]")
    page.locator("#search-results li .loc", has_text="knowledge/trap.md").wait_for()
    assert page.locator("#search-results img").count() == 0
    assert page.locator("#search-results b").count() == 0
    assert "<img src=x" in page.locator("#search-results").inner_text()
    assert page.evaluate("() => window.__pwned") is None
