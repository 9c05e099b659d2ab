"""JSONL sessions: header then messages, list, resume, torn lines, bad ids."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.agent.sessions import SessionStore
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.llm.types import Message, ToolCall


def test_write_list_resume(lg_env: Any) -> None:
    store = SessionStore()
    a = store.create("openai/x", Path("/ws"))
    a.append(Message("user", "first question"))
    a.append(Message("assistant", "", [ToolCall("c1", "memory_search", {"query": "q"})]))
    a.append(Message("tool", "result", tool_call_id="c1", name="memory_search"))
    b = store.create("ollama/y", Path("/ws"), "named")
    b.append(Message("user", "other"))
    os.utime(a.path, (1, 1))  # a is older
    assert [s.id for s in store.list()] == ["named", a.id]
    assert store.latest() == "named"
    reopened = store.open(a.id)
    assert [m.role for m in reopened.messages] == ["user", "assistant", "tool"]
    assert reopened.messages[1].tool_calls[0].arguments == {"query": "q"}
    header = json.loads(a.path.read_text().splitlines()[0])
    assert header["type"] == "session" and header["model"] == "openai/x"
    assert set(header) >= {"id", "created", "model", "workspace"}
    assert (a.path.stat().st_mode & 0o777) == 0o600


def test_torn_last_line_is_skipped(lg_env: Any) -> None:
    store = SessionStore()
    s = store.create("m", Path("/ws"), "torn")
    s.append(Message("user", "kept"))
    with s.path.open("a") as handle:
        handle.write('{"type": "message", "message": {"role": "assist')
    assert [m.content for m in store.open("torn").messages] == ["kept"]


def test_unusual_line_separators_inside_messages_survive_resume(lg_env: Any) -> None:
    store = SessionStore()
    s = store.create("m", Path("/ws"), "seps")
    texts = ["para\u2028graph", "next\x85line", "form\x0cfeed", "plain"]
    for text in texts:
        s.append(Message("user", text))
    assert [m.content for m in store.open("seps").messages] == texts


@pytest.mark.parametrize("bad", ["../x", "a/b", ".hidden", "x" * 200, "abc\n"])
def test_bad_session_ids_are_refused(lg_env: Any, bad: str) -> None:
    with pytest.raises(LocalGPTError, match="invalid session id"):
        SessionStore().open_or_create(bad, "m", Path("/ws"))


def test_missing_session_is_a_clear_error(lg_env: Any) -> None:
    with pytest.raises(LocalGPTError, match="no session 'nope'"):
        SessionStore().open("nope")


def test_history_broken_by_a_cancel_is_repaired_for_providers() -> None:
    """A turn cancelled between a tool call and its result leaves a call without an answer;
    every provider rejects that, so the history sent next time gets an error result in place
    and loses stray results."""
    from localgpt_ls.agent.loop import repair

    history = [Message("user", "q"),
               Message("assistant", "", [ToolCall("a", "memory_search", {}),
                                         ToolCall("b", "memory_get", {})]),
               Message("tool", "ok", tool_call_id="a", name="memory_search"),
               Message("tool", "stray", tool_call_id="zz", name="memory_get"),
               Message("user", "again")]
    fixed = repair(history)
    assert [(m.role, m.tool_call_id) for m in fixed] == [
        ("user", None), ("assistant", None), ("tool", "a"), ("tool", "b"), ("user", None)]
    assert fixed[3].is_error and "interrupted" in fixed[3].content
