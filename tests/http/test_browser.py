"""The web UI in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright), used as
a person uses it: sign in with the token URL; read the index and heartbeat in words and watch a
reindex progress; search, open a hit in the note viewer at its lines, follow links and
backlinks; see the graph; chat and find the conversation again after a reload; rename and
delete it; the same at 400 px without horizontal scrolling and by keyboard; and a note or a
reply holding HTML or <script> shown inert. A second daemon talks to a loopback provider
(tests/llm/fake_server.py) for a streamed reply with a tool card and a citation.

Waits are Playwright locator assertions (`expect`) or arrow functions, never JavaScript strings:
the page's CSP (script-src 'self', no 'unsafe-eval') blocks the eval a string-form
wait_for_function needs once it has to poll, so such a wait only passes when its condition is
already true at the first check, and fails on a loaded machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import config_text
from tests.http.live_daemon import (
    LiveDaemon,
    offline_config,
    start_daemon,
    stop_daemon,
    wait_indexed,
    write_notes,
)
from tests.llm.fake_server import FakeServer, error_reply
from tests.llm.wire import reply

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = ('# Trap\n\nmarker-zebra <img src=x onerror="window.__pwned=1"> <b>not bold</b>\n\n'
           '<script>window.__pwned = 2</script>\n\n'
           '[click me](javascript:window.__pwned=3) <a href="#" onclick="window.__pwned=4">x</a>\n')
COFFEE = ("# Coffee\n\nSee [[espresso#Grinder]] and [the garden](garden.md).\n\n"
          "Also [[Missing Note]].\n")
SHOTS = Path(os.environ.get("LOCALGPT_UI_SHOTS", "")) if os.environ.get("LOCALGPT_UI_SHOTS") \
    else None


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


def _shot(page: Any, name: str) -> None:
    """Screenshots for a person to look at (LOCALGPT_UI_SHOTS=folder), not for asserting."""
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _workspace(base: Path) -> tuple[Path, Path]:
    home, workspace = base / ".localgpt", base / ".localgpt" / "workspace"
    workspace.mkdir(parents=True)
    write_notes(workspace)
    (workspace / "knowledge" / "trap.md").write_text(HOSTILE, encoding="utf-8")
    (workspace / "knowledge" / "coffee.md").write_text(COFFEE, encoding="utf-8")
    return home, workspace


def _expected_console(message: Any) -> bool:
    """Console errors that are the defences working, not faults: a 404 for an image a note
    names, and the CSP refusing an inline handler while DOMPurify parses hostile HTML
    (DOMPurify then drops it; the tests check the DOM holds no handler attribute). A missing
    icon is a fault: the page names one."""
    source = (message.location or {}).get("url", "")
    if "404" in message.text:
        return "favicon" not in source and "icon" not in source
    return "inline event handler" in message.text and source.endswith("/static/purify.js")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def ui_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    home, workspace = _workspace(tmp_path_factory.mktemp("ui"))
    offline_config(home, embeddings="local")  # the real thing: hybrid search, memory-only chat
    daemon = start_daemon(home, workspace)
    wait_indexed(daemon)
    yield daemon
    stop_daemon(daemon)


def _open(browser: Any, daemon: LiveDaemon, width: int = 1280) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not _expected_console(m) else None)
    page.goto(f"{daemon.url}/?token={daemon.token}")
    return page, errors


@pytest.fixture(scope="module")
def page(browser: Any, ui_daemon: LiveDaemon) -> Iterator[Any]:
    page, errors = _open(browser, ui_daemon)
    yield page
    assert errors == [], f"errors on the page (scripts, CSP): {errors}"
    page.context.close()


def test_token_is_traded_for_an_httponly_cookie(page: Any, ui_daemon: LiveDaemon) -> None:
    assert page.url == f"{ui_daemon.url}/"  # the redirect took the token out of the URL
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: scripts cannot read it
    expect = _expect()
    expect(page.locator("#auth-banner")).to_be_hidden()
    expect(page.locator("#model-line")).to_contain_text("Memory-only mode: no model is "
                                                        "configured")


def test_index_and_heartbeat_are_said_in_words(page: Any, ui_daemon: LiveDaemon) -> None:
    expect = _expect()
    index = page.locator("#index-line")
    expect(index).to_have_text(re.compile(
        r"^\d+ notes, all searchable by meaning; updated (just now|a minute ago|\d+ min ago)\.$"))
    expect(page.locator("#heartbeat-line")).to_contain_text("Checks HEARTBEAT.md every 30m")
    # after a check (the template HEARTBEAT.md holds no tasks, so it is skipped), in words
    env = {**os.environ, "LOCALGPT_HOME": str(ui_daemon.home),
           "LOCALGPT_WORKSPACE": str(ui_daemon.workspace)}
    subprocess.run([sys.executable, "-m", "localgpt_ls", "heartbeat", "once"], env=env,
                   check=True, capture_output=True, timeout=60)
    page.reload()
    expect(page.locator("#heartbeat-line")).to_have_text(re.compile(
        r"^Last check \d\d?:\d\d(\s?[AP]M)?, skipped, HEARTBEAT\.md has no tasks; "
        r"no process is running the schedule now\.$"))
    side = page.locator(".side").inner_text()
    for raw in ("total_files", "embedded_chunks", "runner", "{", "T0", "null"):
        assert raw not in side, f"{raw!r} shown to the user: {side}"
    # Reindex: the progress shows while it runs, then the result in words.
    page.evaluate("""() => {
        window.__progress = [];
        new MutationObserver(() => {
            const box = document.getElementById('reindex-progress');
            const text = document.getElementById('reindex-text').textContent;
            if (!box.hidden) window.__progress.push(text);
        }).observe(document.querySelector('.side'), {subtree: true, childList: true,
                                                     attributes: true, characterData: true});
    }""")
    page.click("#reindex")
    expect(index).to_contain_text("Reindexed:")
    expect(page.locator("#reindex")).to_be_enabled()
    seen = page.evaluate("() => window.__progress")
    assert any(re.match(r"(Looking for notes|Reading notes|Learning their meaning)…", s)
               for s in seen), seen


def test_search_opens_the_note_at_the_hit_lines(page: Any) -> None:
    expect = _expect()
    page.click(".tabs a[data-view=search]")
    page.fill("#search-q", "Baratza grinder")
    page.press("#search-q", "Enter")
    first = page.locator("#search-results .result-link").first
    expect(first).to_contain_text("knowledge/espresso.md")
    lines = re.search(r"lines (\d+)–(\d+)", first.inner_text())
    assert lines, first.inner_text()
    first.click()
    expect(page.locator("#view-note")).to_be_visible()
    expect(page.locator("#note-title")).to_have_text("Espresso")
    hit = page.locator("#note-body .block.hit")
    expect(hit.filter(has_text="Baratza")).to_have_count(1)
    start, end = int(lines.group(1)), int(lines.group(2))
    for span in hit.evaluate_all("(nodes) => nodes.map((n) => n.dataset.lines)"):
        a, b = map(int, span.split("-"))
        assert a <= end and b >= start  # every marked block holds hit lines
    expect(page.locator("#note-hit")).to_have_text(f"Showing lines {start}–{end}")
    assert "lines=" in page.url
    _shot(page, "note-1280")


def test_links_and_backlinks_navigate(page: Any, ui_daemon: LiveDaemon) -> None:
    expect = _expect()
    page.goto(f"{ui_daemon.url}/#/note?path=knowledge/coffee.md")
    expect(page.locator("#note-title")).to_have_text("Coffee")
    body = page.locator("#note-body")
    expect(body.locator("a.broken")).to_have_text("Missing Note")
    body.get_by_role("link", name="espresso › Grinder").click()
    expect(page.locator("#note-title")).to_have_text("Espresso")
    expect(page.locator("#note-body .block.hit")).to_contain_text("Grinder")  # the heading
    backlink = page.locator("#note-backlinks a", has_text="Coffee")
    expect(backlink).to_be_visible()
    backlink.click()
    expect(page.locator("#note-title")).to_have_text("Coffee")
    page.locator("#note-links a", has_text="knowledge/garden.md").click()
    expect(page.locator("#note-title")).to_have_text("Garden")
    page.go_back()
    expect(page.locator("#note-title")).to_have_text("Coffee")
    page.locator("#note-body a.broken").click()
    expect(page.locator("#note-body")).to_contain_text("No note called “Missing Note” exists")
    # "Open in editor" is there, secondary, at the line the backlink pointed to
    page.go_back()
    editor = page.locator("#note-editor")
    expect(editor).to_have_class(re.compile("secondary"))
    assert re.fullmatch(r"vscode://file/.+/knowledge/coffee\.md:3", editor.get_attribute("href"))


def test_note_html_and_script_are_inert(page: Any, ui_daemon: LiveDaemon) -> None:
    expect = _expect()
    page.goto(f"{ui_daemon.url}/#/note?path=knowledge/trap.md")
    body = page.locator("#note-body")
    expect(body).to_contain_text("marker-zebra")
    assert body.locator("script").count() == 0
    assert body.locator("[onerror], [onclick]").count() == 0
    assert body.locator("a[href^='javascript']").count() == 0
    page.locator("#note-body a", has_text="click me").click()
    page.locator("#note-body a", has_text="x").click()
    assert page.evaluate("() => window.__pwned") is None
    # and in search results the same text is shown as text
    page.goto(f"{ui_daemon.url}/#/search?q=marker-zebra")
    expect(page.locator("#search-results .result-link").first).to_contain_text("trap.md")
    assert page.locator("#search-results img, #search-results b, #search-results script"
                        ).count() == 0
    assert "<img src=x" in page.locator("#search-results").inner_text()
    assert page.evaluate("() => window.__pwned") is None


def test_graph_draws_a_node_for_every_note(page: Any, ui_daemon: LiveDaemon) -> None:
    expect = _expect()
    notes = sorted(p.relative_to(ui_daemon.workspace).as_posix()
                   for p in ui_daemon.workspace.rglob("*.md"))
    page.goto(f"{ui_daemon.url}/#/graph")
    page.click("#graph-all")
    graph = page.locator("#graph")
    # The first draw may be the neighbourhood of the note an earlier test left open (the UI
    # keeps it across reloads); wait for the whole graph: every note plus the 2 missing ones.
    expect(graph).to_have_attribute("data-drawn", str(len(notes) + 2))
    drawn = page.evaluate("""() => state.graph.graphData().nodes
        .filter((n) => !n.missing).map((n) => n.id).sort()""")
    assert drawn == notes
    missing = page.evaluate("() => state.graph.graphData().nodes.filter((n) => n.missing)"
                            ".map((n) => n.title).sort()")
    # coffee.md's [[Missing Note]], and the AGENTS.md template's example link [[note]]
    assert missing == ["missing note", "note"]
    expect(page.locator("#graph-info")).to_contain_text(
        f"{len(notes)} notes of {len(notes)}, 2 missing notes (2 broken links)")
    # the canvas really holds the drawing: pixels of the note colour
    page.wait_for_timeout(800)
    painted = page.evaluate("""() => {
        const c = document.querySelector('#graph canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (d[i] === 0x4f && d[i + 1] === 0x6b && d[i + 2] === 0xed) n++;
        return n;
    }""")
    assert painted > 50 * len(notes)
    # the library shows hover labels as HTML: a title holding markup goes in as text
    label = page.evaluate("""() => state.graph.nodeLabel()(
        {id: 'x.md', title: '<img src=x onerror="window.__pwned=6">', missing: false})""")
    assert "<img" not in label and "&#60;img" in label
    _shot(page, "graph-1280")
    # a note's neighbourhood first: from the viewer, its graph is centred on it
    page.goto(f"{ui_daemon.url}/#/note?path=knowledge/garden.md")
    expect(page.locator("#note-title")).to_have_text("Garden")
    page.click("#note-graph")
    expect(page.locator("#graph-info")).to_contain_text("within two links of knowledge/garden.md")
    expect(graph).to_have_attribute("data-drawn", "4")  # garden, coffee, espresso, missing
    ids = page.evaluate("() => state.graph.graphData().nodes.map((n) => n.id).sort()")
    assert ids == ["?missing note", "knowledge/coffee.md", "knowledge/espresso.md",
                   "knowledge/garden.md"]


def test_a_conversation_survives_a_reload(page: Any, ui_daemon: LiveDaemon) -> None:
    expect = _expect()
    page.goto(f"{ui_daemon.url}/#/chat")
    page.click("#chat-new")
    page.fill("#chat-input", "what is the espresso grinder set to?")
    page.press("#chat-input", "Enter")
    answer = page.locator("#chat-log .msg.assistant[data-done='1']")
    expect(answer).to_contain_text("No model is configured")
    expect(answer.locator(".who")).to_have_text("Memory (no model)")
    cite = answer.locator("a.cite", has_text="knowledge/espresso.md").first
    expect(cite).to_be_visible()
    session = page.evaluate("() => localStorage.getItem('localgpt.session')")
    assert session
    page.reload()
    expect(page.locator("#chat-log .msg.user")).to_have_text(
        "Youwhat is the espresso grinder set to?")
    # Named by its first question, as in the list, not "Conversation".
    expect(page.locator("#chat-title")).to_have_text("what is the espresso grinder set to?")
    expect(page.locator("#chat-log .msg.assistant")).to_contain_text("No model is configured")
    current = page.locator(f"#sessions li[data-id='{session}']")
    expect(current).to_have_class(re.compile("current"))
    # rename, then delete, as the buttons ask
    page.once("dialog", lambda d: d.accept("Grinder questions"))
    current.get_by_role("button", name=re.compile("Rename")).click()
    expect(current.locator(".session-title")).to_have_text("Grinder questions")
    expect(page.locator("#chat-title")).to_have_text("Grinder questions")
    page.reload()
    expect(page.locator("#chat-title")).to_have_text("Grinder questions")
    page.once("dialog", lambda d: d.accept())
    page.locator(f"#sessions li[data-id='{session}']").get_by_role(
        "button", name=re.compile("Delete")).click()
    expect(page.locator(f"#sessions li[data-id='{session}']")).to_have_count(0)
    expect(page.locator("#chat-log .msg")).to_have_count(0)
    assert page.evaluate("() => localStorage.getItem('localgpt.session')") is None


def test_the_page_has_an_icon_and_the_browser_asks_for_no_other(browser: Any,
                                                                ui_daemon: LiveDaemon) -> None:
    """Chromium fetches /favicon.ico when a page names no icon, and logs its 404 on the
    console; the page names its own, which loads."""
    context = browser.new_context()
    try:
        page = context.new_page()
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        page.goto(f"{ui_daemon.url}/?token={ui_daemon.token}")
        href = page.locator("link[rel='icon']").get_attribute("href")
        assert href
        icon = page.request.get(ui_daemon.url + href)
        assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
        assert icon.body().startswith(b"<svg")
        page.wait_for_load_state("networkidle")
        assert missing == []
    finally:
        context.close()


def test_400px_wide_without_horizontal_scroll(browser: Any, ui_daemon: LiveDaemon) -> None:
    expect = _expect()
    page, errors = _open(browser, ui_daemon, width=400)
    try:
        page.fill("#chat-input", "espresso grinder " * 20)
        page.press("#chat-input", "Enter")
        expect(page.locator("#chat-log .msg.assistant[data-done='1']")).to_have_count(1)
        views = {"chat": "#/chat", "search": "#/search?q=grinder",
                 "note": "#/note?path=knowledge/espresso.md&lines=7", "graph": "#/graph"}
        for name, hash_ in views.items():
            page.goto(f"{ui_daemon.url}/{hash_}")
            expect(page.locator(f"#view-{name}")).to_be_visible()
            page.wait_for_timeout(500)
            widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                                   "document.documentElement.clientWidth]")
            assert widths[0] <= widths[1] == 400, (name, widths)
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > 401
                        && !e.closest('.graph, pre, .chat-log'))
                .map((e) => e.tagName + '.' + e.className).slice(0, 5)""")
            assert wide == [], (name, wide)
            _shot(page, f"{name}-400")
        assert errors == []
    finally:
        page.context.close()


def test_usable_by_keyboard(browser: Any, ui_daemon: LiveDaemon) -> None:
    expect = _expect()
    page, errors = _open(browser, ui_daemon)
    try:
        def tab_to(selector: str) -> None:
            for _ in range(40):
                page.keyboard.press("Tab")
                if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                    return
            raise AssertionError(f"Tab never reached {selector}")

        tab_to(".tabs a[data-view=search]")
        page.keyboard.press("Enter")
        expect(page.locator("#view-search")).to_be_visible()
        tab_to("#search-q")
        page.keyboard.type("Tomatoes water")
        page.keyboard.press("Enter")
        expect(page.locator("#search-results .result-link").first).to_contain_text("garden.md")
        tab_to("#search-results .result-link")
        page.keyboard.press("Enter")
        expect(page.locator("#note-title")).to_have_text("Garden")
        # focus moved to the note's heading; the next Tab goes on into the note
        assert page.evaluate("() => document.activeElement.id") == "note-title"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.closest('#view-note') !== null")
        focus_ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert focus_ring != "none"
        assert errors == []
    finally:
        page.context.close()


# --- with a model -----------------------------------------------------------------------------

MODEL = "openai/gpt-test"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def model_daemon(tmp_path_factory: pytest.TempPathFactory, fake: FakeServer
                 ) -> Iterator[LiveDaemon]:
    home, workspace = _workspace(tmp_path_factory.mktemp("model-ui"))
    (home / "config.toml").write_text(config_text(fake.url, MODEL), encoding="utf-8")
    daemon = start_daemon(home, workspace)
    wait_indexed(daemon)
    yield daemon
    stop_daemon(daemon)


def test_streamed_reply_with_a_tool_card_and_a_citation(browser: Any, model_daemon: LiveDaemon,
                                                        fake: FakeServer) -> None:
    expect = _expect()
    fake.queue(reply("openai", "Let me look.", [("call_1", "memory_search",
                                                  {"query": "espresso grinder"})]),
               reply("openai", "The grinder is set to **12** (knowledge/espresso.md:7).\n\n"
                               'Pretty <img src=x onerror="window.__pwned=5"> safe.',
                     delay=0.01))
    page, errors = _open(browser, model_daemon)
    try:
        expect(page.locator("#model-line")).to_have_text("Model: openai/gpt-test")
        page.evaluate("""() => {
            window.__seenWhileStreaming = false;
            new MutationObserver(() => {
                const node = document.querySelector('#chat-log .msg.assistant.streaming');
                if (node && node.textContent.includes('The grinder is'))
                    window.__seenWhileStreaming = true;
            }).observe(document.getElementById('chat-log'),
                       {subtree: true, childList: true, characterData: true, attributes: true});
        }""")
        page.fill("#chat-input", "What is the grinder set to?")
        page.press("#chat-input", "Enter")
        answer = page.locator("#chat-log .msg.assistant[data-done='1']")
        expect(answer).to_contain_text("The grinder is set to 12")
        assert page.evaluate("() => window.__seenWhileStreaming") is True
        expect(answer.locator(".who")).to_have_text(MODEL)
        card = answer.locator("details.tool-card")
        expect(card).to_have_count(1)
        expect(card.locator("summary")).to_contain_text("Searched memory")
        expect(card.locator("summary")).to_contain_text("espresso grinder")
        expect(card.locator(".tool-state")).to_have_text("done")
        card.locator("summary").click()
        expect(card.locator(".tool-result")).to_contain_text("knowledge/espresso.md")
        # markdown rendered, HTML from the model made inert
        expect(answer.locator("strong")).to_have_text("12")
        assert answer.locator("img[onerror], script").count() == 0
        # the card sits between the text before the tool and the answer after it
        order = answer.evaluate("(n) => [...n.children].map((c) => c.className)")
        assert order.index("tool-card") < len(order) - 1, order
        _shot(page, "chat-model-1280")
        cite = answer.locator("a.cite", has_text="knowledge/espresso.md:7")
        cite.click()
        expect(page.locator("#note-title")).to_have_text("Espresso")
        expect(page.locator("#note-hit")).to_have_text("Showing line 7")
        hit = page.locator("#note-body .block.hit")
        expect(hit).to_have_count(1)
        expect(hit).to_contain_text("The Baratza grinder is set to 12")
        assert page.evaluate("() => window.__pwned") is None
        # the conversation comes back, tool card included, after a reload
        page.goto(f"{model_daemon.url}/#/chat")
        page.reload()
        expect(page.locator("#chat-log details.tool-card .tool-state")).to_have_text("done")
        expect(page.locator("#chat-log .msg.assistant")).to_contain_text(
            "The grinder is set to 12")
        assert errors == []
    finally:
        page.context.close()


def test_a_failed_turn_stays_visible_after_a_reload(browser: Any, model_daemon: LiveDaemon,
                                                     fake: FakeServer) -> None:
    """The provider refuses the question: the error shows under it, and after a reload the
    question is still there with that error, not a question nobody answered."""
    expect = _expect()
    fake.queue(error_reply(400, "The model gpt-test does not exist"))
    page, errors = _open(browser, model_daemon)
    try:
        page.click("#chat-new")
        page.fill("#chat-input", "Which beans are in the grinder?")
        page.press("#chat-input", "Enter")
        failed = page.locator("#chat-log .msg.assistant.error .error-text")
        expect(failed).to_contain_text("gpt-test does not exist")
        said = failed.inner_text()
        expect(page.locator("#chat-send")).to_be_enabled()
        page.reload()
        expect(page.locator("#chat-log .msg.user")).to_have_text(
            "YouWhich beans are in the grinder?")
        expect(page.locator("#chat-title")).to_have_text("Which beans are in the grinder?")
        expect(failed).to_have_text(said)
        order = page.evaluate("""() => [...document.querySelectorAll('#chat-log .msg')]
            .map((n) => n.classList.contains('user') ? 'user' : 'error')""")
        assert order == ["user", "error"]
        assert errors == []
    finally:
        page.context.close()
