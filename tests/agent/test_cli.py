"""`localgpt ask` and `localgpt chat` end to end: real subprocesses, config pointing at the
loopback server (or at nothing, for memory-only mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import MODELS, config_text, no_provider_config
from tests.llm.conftest import DIALECTS, SECRET
from tests.llm.fake_server import FakeServer, Reply, error_reply
from tests.llm.wire import reply


def run(*args: str, stdin: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCALGPT_LOG": "debug", "LOCALGPT_RETRY_BASE": "0.01", **extra}
    return subprocess.run([sys.executable, "-m", "localgpt_ls", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, env=env)


def session_text(home: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in (home / "sessions").glob("*.jsonl"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_ask_answers_through_each_dialect_with_a_memory_search(
        dialect: str, fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS[dialect]))
    fake.queue(error_reply(503, "warming up"),  # a scripted 5xx is retried
               reply(dialect, "", [("call_1", "memory_search", {"query": "dentist"})]),
               reply(dialect, "On Tuesday at 9:00 with Dr. Moreau."))
    result = run("ask", "When is my dentist?", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"question", "response", "model", "session_id"}
    assert data["question"] == "When is my dentist?"
    assert data["response"] == "On Tuesday at 9:00 with Dr. Moreau."
    assert data["model"] == MODELS[dialect]
    posts = fake.posts()
    assert len(posts) == 3
    assert "Dr. Moreau" in json.dumps(posts[2].body)  # the search result reached the model
    assert "DEBUG" in result.stderr  # logging was on, and still:
    assert SECRET not in result.stderr and SECRET not in result.stdout
    assert SECRET not in session_text(lg_env.home)


def test_ask_streams_text_and_shows_tool_calls(fake: FakeServer, workspace: Path,
                                               lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["openai"]))
    fake.queue(reply("openai", "", [("c", "memory_search", {"query": "dentist"})]),
               reply("openai", "Tuesday."))
    result = run("ask", "dentist?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Tuesday.\n"
    assert '[memory_search] {"query": "dentist"}' in result.stderr


def test_cut_stream_is_a_clear_error_and_the_question_is_kept(
        fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["anthropic"]))
    whole = reply("anthropic", "This will break")
    fake.queue(Reply(chunks=whole.chunks[:20], cut=True))
    result = run("ask", "Will it break?")
    assert result.returncode == 2
    assert "localgpt: error: anthropic: " in result.stderr
    assert "Traceback" not in result.stderr
    assert "Will it break?" in session_text(lg_env.home)


def test_ask_in_memory_only_mode(workspace: Path, lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(no_provider_config(lg_env.home))
    result = run("ask", "dentist appointment", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == "memory-only"
    assert "No model is configured" in data["response"]
    assert "knowledge/health.md:" in data["response"]
    assert "default_model" in data["response"] and "OPENAI_API_KEY" in data["response"]


def test_chat_in_memory_only_mode_with_piped_stdin(workspace: Path, lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(no_provider_config(lg_env.home))
    result = run("chat", stdin="dentist appointment\n/memory Moreau\n/sessions\n/help\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "No model is configured" in result.stdout
    assert result.stdout.count("knowledge/health.md:") >= 2  # the answer and /memory
    assert "memory-only" in result.stdout  # /sessions lists the session and its model
    assert "/compact" in result.stdout  # /help


def test_memory_results_fit_a_narrow_terminal(workspace: Path, lg_env: Any) -> None:
    """/memory in chat and `memory search` print one result the same way, each line within
    the terminal's width (they ran past it)."""
    (lg_env.home / "config.toml").write_text(no_provider_config(lg_env.home))
    chat = run("chat", stdin="/memory dentist appointment\n/quit\n", COLUMNS="60")
    search = run("memory", "search", "dentist appointment", COLUMNS="60")
    for result in (chat, search):
        assert result.returncode == 0, result.stderr
        shown = [ln for ln in result.stdout.splitlines() if ln.startswith("     ")]
        assert shown and all(len(ln) <= 60 for ln in shown), shown
    assert next(ln for ln in search.stdout.splitlines() if "health.md" in ln) in chat.stdout


def test_chat_resume_continues_the_last_session(fake: FakeServer, workspace: Path,
                                                lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["ollama"]))
    fake.queue(reply("ollama", "Hello Ada."), reply("ollama", "You are Ada."))
    first = run("chat", stdin="I am Ada.\n")
    assert first.returncode == 0, first.stderr
    second = run("chat", "--resume", stdin="Who am I?\n")
    assert second.returncode == 0, second.stderr
    assert "You are Ada." in second.stdout
    sent = [m["content"] for m in fake.posts()[1].body["messages"][1:]]
    assert sent == ["I am Ada.", "Hello Ada.", "Who am I?"]


def _ctrl_c_as_at_a_terminal() -> None:
    """In the child: Ctrl-C as a terminal gives it. A process started in the background by a
    non-interactive shell (as a CI runner may start the suite) inherits SIGINT ignored, and
    Python then never turns SIGINT into KeyboardInterrupt, so the Ctrl-C tests would test
    nothing."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _chat_streaming_a_long_reply(fake: FakeServer, lg_env: Any) -> subprocess.Popen[str]:
    """`localgpt chat` in the middle of a long reply to "Talk a lot" (a short one queued
    next), for the Ctrl-C tests."""
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["openai"]))
    fake.queue(reply("openai", "blah " * 400, delay=0.02), reply("openai", "Short answer."))
    env = {**os.environ, "LOCALGPT_RETRY_BASE": "0.01"}
    proc = subprocess.Popen([sys.executable, "-m", "localgpt_ls", "chat"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_at_a_terminal)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("Talk a lot\n")
    proc.stdin.flush()
    assert proc.stdout.read(4) == "blah"  # the reply is streaming
    return proc


def test_ctrl_c_cancels_the_reply_not_the_chat(fake: FakeServer, workspace: Path,
                                               lg_env: Any) -> None:
    import signal
    import time

    proc = _chat_streaming_a_long_reply(fake, lg_env)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    out, err = proc.communicate("Second question\n/quit\n", timeout=30)
    assert proc.returncode == 0, err
    assert "[cancelled" in err
    assert "Short answer." in out
    assert fake.disconnected.is_set()
    # The interrupted turn stayed in the session and the next turn continued it.
    sent = [m["content"] for m in fake.posts()[1].body["messages"][1:]]
    assert sent[0] == "Talk a lot" and sent[1].endswith("[interrupted]")
    assert sent[2] == "Second question"


def _read_until(fd: int, needle: str, timeout: float = 30) -> str:
    import select
    import time

    buf = ""
    end = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                buf += os.read(fd, 4096).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                break
    return buf


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("answer", ["y", "ctrl-c"])
def test_terminal_asks_before_writing_a_file(answer: str, fake: FakeServer, workspace: Path,
                                             lg_env: Any) -> None:
    """On a terminal the CLI asks y/n before write_file; Ctrl-C at that prompt means no."""
    import signal
    import time

    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["openai"]))
    fake.queue(reply("openai", "", [("w", "write_file", {"path": "todo.md",
                                                         "content": "# Todo\n"})]),
               reply("openai", "Done."))
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "localgpt_ls", "ask", "make a todo"],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=_ctrl_c_as_at_a_terminal)
    os.close(slave)
    try:
        out = _read_until(master, "[y/N] ")
        assert "Allow write_file: create todo.md (7 chars)? [y/N] " in out
        if answer == "y":
            os.write(master, b"y\n")
        else:
            # The prompt is printed just before input() starts waiting; a signal landing in
            # between is only seen on the next keypress (a race no human hits), so wait a
            # little and signal again if the prompt did not react.
            for _ in range(5):
                time.sleep(0.3)
                proc.send_signal(signal.SIGINT)
                out += _read_until(master, "declined", timeout=3)
                if "declined" in out:
                    break
        out += _read_until(master, "Done.")
        assert proc.wait(30) == 0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert "Done." in out
    written = (workspace / "todo.md").exists()
    assert written == (answer == "y")
    if answer != "y":
        assert "the user declined" in out


def test_key_from_a_file_works_and_a_broken_key_is_refused_without_echo(
        fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    """A key ending in a newline (read from a file) is stripped and works; one with a line
    break inside is refused with one line naming the setting. With debug logging on (httpx
    and httpcore included) the key appears nowhere: not on stderr, stdout or in a session."""
    plain = config_text(fake.url, MODELS["openai"])
    fake.queue(reply("openai", "Keys work."))
    (lg_env.home / "config.toml").write_text(
        plain.replace(f'api_key = "{SECRET}"', f'api_key = "{SECRET}\\r\\n"'))
    ok = run("ask", "hello")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "Keys work.\n"
    assert fake.posts()[0].headers["authorization"] == f"Bearer {SECRET}"

    (lg_env.home / "config.toml").write_text(
        plain.replace(f'api_key = "{SECRET}"', f'api_key = "{SECRET}\\nsk-old-key-0000"'))
    bad = run("ask", "hello again", "--json")
    assert bad.returncode == 2
    assert "DEBUG" in bad.stderr and "Traceback" not in bad.stderr
    (line,) = [x for x in bad.stderr.splitlines() if x.startswith("localgpt: error:")]
    assert line.startswith("localgpt: error: openai: the API key in [providers.openai] api_key")
    assert "cannot reach" not in bad.stderr
    for text in (ok.stderr, bad.stderr, bad.stdout, session_text(lg_env.home)):
        assert SECRET not in text and "sk-old-key" not in text
    assert len(fake.posts()) == 1  # nothing was sent with the broken key


def test_chat_continues_the_session_of_a_failed_first_turn(fake: FakeServer, workspace: Path,
                                                           lg_env: Any) -> None:
    """The first turn fails after its session was created: the next message goes on in that
    session, so the model sees the first message too and no orphan session is left."""
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["openai"]))
    fake.queue(error_reply(400, "context too long"), reply("openai", "Got both."))
    result = run("chat", stdin="My name is Ada.\nWhat is my name?\n")
    assert result.returncode == 0, result.stderr
    assert "error: openai: HTTP 400" in result.stderr
    assert "Got both." in result.stdout
    sent = [m["content"] for m in fake.posts()[1].body["messages"][1:]]
    assert sent == ["My name is Ada.", "What is my name?"]
    assert len(list((lg_env.home / "sessions").glob("*.jsonl"))) == 1


def test_ctrl_c_on_a_new_session_continues_its_own_session(fake: FakeServer, workspace: Path,
                                                           lg_env: Any) -> None:
    """Another process's session may be the most recent one when Ctrl-C stops the first
    reply: the REPL still continues in the session that holds its own message."""
    import signal
    import time

    from localgpt_ls.agent.sessions import SessionStore
    from localgpt_ls.llm.types import Message

    proc = _chat_streaming_a_long_reply(fake, lg_env)
    other = SessionStore(lg_env.home / "sessions").create("openai/gpt-test", workspace, "other")
    other.append(Message("user", "Someone else's question"))
    future = time.time() + 3600  # the newest session, whatever this one writes meanwhile
    os.utime(other.path, (future, future))
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    out, err = proc.communicate("Second question\n/quit\n", timeout=30)
    assert proc.returncode == 0, err
    assert "[cancelled" in err and "Short answer." in out
    sent = [m["content"] for m in fake.posts()[1].body["messages"][1:]]
    assert sent[0] == "Talk a lot" and sent[-1] == "Second question"
    assert "Someone else's question" not in json.dumps(fake.posts()[1].body)


def test_malformed_endpoints_are_one_line_errors_and_auto_still_answers(
        workspace: Path, lg_env: Any) -> None:
    """Port 99999 in the Ollama endpoint crashed even memory-only `ask` (the auto probe let
    an OverflowError through); a bad base_url crashed with a traceback."""
    base = '[memory]\nembedding_provider = "none"\n'
    home = lg_env.home
    (home / "config.toml").write_text(
        base + '[providers.ollama]\nendpoint = "http://127.0.0.1:99999"\n')
    auto = run("ask", "dentist appointment", "--json")
    assert auto.returncode == 0, auto.stderr
    assert json.loads(auto.stdout)["model"] == "memory-only"

    explicit = run("ask", "dentist?", "-m", "ollama/llama3")
    assert explicit.returncode == 2 and "Traceback" not in explicit.stderr
    assert ("localgpt: error: ollama: [providers.ollama] endpoint in config.toml is not a "
            "usable URL: the port must be a number from 1 to 65535") in explicit.stderr

    (home / "config.toml").write_text(
        base + '[providers.openai]\nbase_url = "http://[bad/v1"\n')
    bad = run("ask", "dentist?", "-m", "openai/gpt-test")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "localgpt: error: openai: [providers.openai] base_url in config.toml" in bad.stderr


def test_ask_json_reports_a_failure_as_json_with_the_session_to_resume(
        fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    """--json printed nothing on stdout when the turn failed; a script now gets the usual keys
    plus "error", and the session_id that holds the question, while stderr and exit 2 stay."""
    (lg_env.home / "config.toml").write_text(config_text(fake.url, MODELS["anthropic"]))
    fake.queue(error_reply(401, "invalid x-api-key"))
    failed = run("ask", "What is on my list?", "--json")
    assert failed.returncode == 2
    assert "localgpt: error: anthropic: HTTP 401" in failed.stderr
    data = json.loads(failed.stdout)
    assert set(data) == {"question", "response", "model", "session_id", "error"}
    assert data["question"] == "What is on my list?" and data["response"] == ""
    assert data["model"] == MODELS["anthropic"]
    assert data["error"].startswith("anthropic: HTTP 401") and SECRET not in failed.stdout
    assert (lg_env.home / "sessions" / f"{data['session_id']}.jsonl").is_file()

    fake.queue(reply("anthropic", "Milk and eggs."))
    resumed = run("chat", "-s", data["session_id"], stdin="Try again\n")
    assert resumed.returncode == 0, resumed.stderr
    assert "What is on my list?" in json.dumps(fake.posts()[-1].body)

    # Refused before the turn began (a model name typo): the question is kept all the same.
    refused = run("ask", "Where is the spare key?", "-m", "mystery", "--json")
    assert refused.returncode == 2
    data = json.loads(refused.stdout)
    assert "unknown model 'mystery'" in data["error"]
    kept = (lg_env.home / "sessions" / f"{data['session_id']}.jsonl").read_text()
    assert "Where is the spare key?" in kept


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("provider", ["none", "openai"])
def test_chat_on_a_terminal_starts_with_a_sentence_a_new_user_can_read(
        provider: str, fake: FakeServer, workspace: Path, lg_env: Any) -> None:
    """The first line says the session and the model in words; with no model it says so and
    what answers will be, instead of a mode name ("chat with memory-only, a new session")."""
    (lg_env.home / "config.toml").write_text(
        no_provider_config(lg_env.home) if provider == "none"
        else config_text(fake.url, MODELS["openai"]))
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "localgpt_ls", "chat"],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        out = _read_until(master, "you> ")
        os.write(master, b"\x04")  # Ctrl-D leaves, as the line says
        assert proc.wait(30) == 0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    first = next(line for line in out.splitlines() if line.startswith("LocalGPT chat"))
    if provider == "none":
        assert first == ("LocalGPT chat, new session. No model is configured, so answers show "
                         "what your memory holds. /help lists commands, Ctrl-D leaves.")
    else:
        assert first == ("LocalGPT chat, new session, using openai/gpt-test. "
                         "/help lists commands, Ctrl-D leaves.")
    assert "memory-only" not in out
