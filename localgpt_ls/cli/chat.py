"""`localgpt chat` and `localgpt ask` (built by "Assistant core")."""

from __future__ import annotations

from typing import Any

from localgpt_ls.cli.common import not_implemented


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="interactive chat with the assistant")
    p.add_argument("-m", "--model", help="model, e.g. anthropic/claude-sonnet-4-5 or an alias")
    p.add_argument("-s", "--session", help="session id to use")
    p.add_argument("--resume", action="store_true", help="resume the most recent session")
    p.set_defaults(handler=not_implemented)
    a = sub.add_parser("ask", help="ask one question and print the answer")
    a.add_argument("question")
    a.add_argument("-m", "--model")
    a.add_argument("--json", action="store_true", help="print {question, response, model, session_id}")
    a.set_defaults(handler=not_implemented)
