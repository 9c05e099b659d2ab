"""The empty-file rule and the HEARTBEAT_OK token rule, as tables of inputs a user would write."""

from __future__ import annotations

import pytest

from localgpt_ls.heartbeat.rules import is_effectively_empty, strip_token
from localgpt_ls.workspace import template_text

EMPTY = [
    "",
    "\n\n   \n",
    "# HEARTBEAT.md\n",
    "# Tasks\n\n## Morning\n### Later\n",
    "<!-- nothing yet -->",
    "# Tasks\n<!--\n- [ ] an example task inside a comment\nmore text\n-->\n",
    "<!-- one --> <!-- two -->\n<!-- three\n-->",
    "```\n```\n",
    "~~~markdown\n~~~",
    "-\n- [ ]\n* [ ]\n+\n- [x]\n1.\n",
    "# Tasks\n\n---\n\n- \n",
    "<!-- never closed\n- [ ] still inside the comment",
]

NOT_EMPTY = [
    "Check the deadlines file.",
    "# Tasks\n- [ ] remind me about the dentist\n",
    "- [x] done already but still written down",
    "# Tasks\n<!-- comment --> Call Bob\n",
    "<!-- a -->\ntext after the comment\n",
    "```\nreview knowledge/todo.md\n```\n",
    "1. water the plants",
    "#hashtag-not-a-heading",
    "> remember the milk",
]


@pytest.mark.parametrize("text", EMPTY)
def test_structure_only_files_are_empty(text: str) -> None:
    assert is_effectively_empty(text)


@pytest.mark.parametrize("text", NOT_EMPTY)
def test_any_task_text_is_not_empty(text: str) -> None:
    assert not is_effectively_empty(text)


def test_the_shipped_template_idles() -> None:
    assert is_effectively_empty(template_text("HEARTBEAT.md"))


LONG = "The build server certificate expires tomorrow; renew it. " * 8  # > 300 chars

# (reply, had_token, delivered text or None when nothing is delivered)
REPLIES = [
    ("HEARTBEAT_OK", True, None),
    ("  HEARTBEAT_OK\n", True, None),
    ("HEARTBEAT_OK.", True, None),
    ("HEARTBEAT_OK!!!!", True, None),
    ("**HEARTBEAT_OK**", True, None),
    ("`HEARTBEAT_OK`", True, None),
    ("<b>HEARTBEAT_OK</b>", True, None),
    ("_HEARTBEAT_OK_", True, None),
    ("HEARTBEAT_OK Nothing needs attention right now.", True, None),
    ("All tasks checked, nothing due. HEARTBEAT_OK", True, None),
    ("Nothing due today.\n\n**HEARTBEAT_OK**.", True, None),
    ("HEARTBEAT_OK — all quiet", True, None),
    (f"HEARTBEAT_OK\n\n{LONG}", True, LONG.strip()),
    (f"{LONG}\nHEARTBEAT_OK", True, LONG.strip()),
    ("Your dentist appointment is tomorrow at 9:00.", False,
     "Your dentist appointment is tomorrow at 9:00."),
    ("I could reply HEARTBEAT_OK, but the report is due today.", False,
     "I could reply HEARTBEAT_OK, but the report is due today."),
    ("HEARTBEAT_OKAY is not the token", False, "HEARTBEAT_OKAY is not the token"),
    ("heartbeat_ok", False, "heartbeat_ok"),
    ("", False, None),
    ("   ", False, None),
]


@pytest.mark.parametrize(("reply", "had_token", "delivered"), REPLIES)
def test_token_rule(reply: str, had_token: bool, delivered: str | None) -> None:
    verdict = strip_token(reply)
    assert verdict.had_token is had_token
    assert verdict.deliver is (delivered is not None)
    if delivered is not None:
        assert verdict.text == delivered


def test_short_remainder_limit_is_300_chars() -> None:
    assert not strip_token("HEARTBEAT_OK " + "x" * 300).deliver
    assert strip_token("HEARTBEAT_OK " + "x" * 301).deliver


def test_pathological_reply_is_fast() -> None:
    import time

    t0 = time.monotonic()
    strip_token("*" * 20_000 + " HEARTBEAT_O")
    strip_token("<b>" * 5_000 + "HEARTBEAT_OK" + "x")
    assert time.monotonic() - t0 < 2.0
