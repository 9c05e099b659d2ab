"""`localgpt chat` and `localgpt ask`: the assistant in the terminal.

Both work with no provider at all (memory-only mode) and with stdin not a terminal. Ctrl-C during
a reply cancels that turn (the stream is closed, the session keeps the message); at the prompt
it just clears the line, and Ctrl-D or /quit leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localgpt_ls import paths
from localgpt_ls.cli.common import print_json
from localgpt_ls.cli.memory import print_hits
from localgpt_ls.errors import LocalGPTError

if TYPE_CHECKING:  # the CLI imports every group at start: keep httpx & co off `--version`
    from localgpt_ls.agent.events import AgentEvent, Approver
    from localgpt_ls.agent.loop import Agent
    from localgpt_ls.engine import Engine

HELP = """\
Commands:
  /help            this list
  /new             start a new session
  /model [NAME]    show or switch the model (provider/model, an alias, or auto)
  /memory QUERY    search memory directly
  /sessions        list recent sessions
  /resume [ID]     continue a session (the latest without ID)
  /compact         summarise older turns now (after saving durable facts to today's log)
  /skills          list the workspace's skills (skills/<name>/SKILL.md)
  /NAME [REQUEST]  use the skill NAME, e.g. /weekly-review
  /quit            leave (Ctrl-D works too)
Ctrl-C stops the current reply."""


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="interactive chat with the assistant")
    p.add_argument("-m", "--model", help="model, e.g. anthropic/claude-sonnet-4-5 or an alias")
    p.add_argument("-s", "--session", help="session id to use")
    p.add_argument("--resume", action="store_true", help="resume the most recent session")
    p.set_defaults(handler=chat)
    a = sub.add_parser("ask", help="ask one question and print the answer")
    a.add_argument("question")
    a.add_argument("-m", "--model")
    a.add_argument("--json", action="store_true",
                   help="print {question, response, model, session_id}, plus error on failure")
    a.set_defaults(handler=ask)


def _printer(stream_text: bool) -> Callable[[AgentEvent], None]:
    """Show a turn as it happens: text on stdout, tool calls on stderr."""

    from localgpt_ls.agent.events import TextDelta, ToolEnd, ToolStart

    def on_event(event: AgentEvent) -> None:
        if isinstance(event, TextDelta) and stream_text:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, ToolStart):
            args = json.dumps(event.arguments, ensure_ascii=False)
            args = args if len(args) <= 120 else args[:119] + "…"
            print(f"\n  [{event.name}] {args}", file=sys.stderr, flush=True)
        elif isinstance(event, ToolEnd) and event.is_error:
            print(f"  [{event.name}] {event.result.splitlines()[0][:200]}", file=sys.stderr,
                  flush=True)

    return on_event


def _terminal_approver() -> Approver | None:
    """A y/n prompt when someone is at the keyboard; None (writes refused) otherwise."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None

    async def approve(tool: str, summary: str) -> bool:
        # Asked on the loop's own thread (nothing else runs during a tool call) with Python's
        # plain Ctrl-C handling, so Ctrl-C at this prompt means "no" instead of leaving a
        # thread blocked in input() that the end of asyncio.run would wait for.
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            answer = input(f"\nAllow {tool}: {summary}? [y/N] ")
        except (KeyboardInterrupt, EOFError):
            print()
            return False
        finally:
            signal.signal(signal.SIGINT, previous)
        return answer.strip().lower() in ("y", "yes")

    return approve


def ask(args: argparse.Namespace) -> int:
    """One question. With --json, stdout gets one JSON object even when the turn fails: the
    answer's keys plus "error", and the session_id holding the question, so a script can
    report the failure and resume (`localgpt chat -s ID`); stderr and exit 2 stay as usual."""
    answer: dict[str, str] = {"question": args.question, "response": "",
                              "model": args.model or "", "session_id": ""}
    try:
        response = _ask(args, answer)
    except LocalGPTError as exc:
        if args.json:
            print_json({**answer, "error": str(exc)})
        raise
    if args.json:
        print_json(answer)
    elif not response.endswith("\n"):
        print()
    return 0


def _ask(args: argparse.Namespace, answer: dict[str, str]) -> str:
    """Run the turn, filling `answer` as it goes (streamed text, session, model) so that a
    failure still reports what happened; returns the response."""
    from localgpt_ls.agent.events import TextDelta
    from localgpt_ls.agent.sessions import new_session_id
    from localgpt_ls.engine import Engine

    engine = Engine()
    show = _printer(not args.json)
    streamed: list[str] = []

    def on_event(event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            streamed.append(event.text)
            answer["response"] = "".join(streamed)
        show(event)

    # Chosen here so a failed turn can still name the session that keeps the question.
    session_id = new_session_id()
    try:
        result = asyncio.run(engine.agent.chat(
            args.question, session_id, args.model, on_event=on_event,
            approver=None if args.json else _terminal_approver()))
    except LocalGPTError:
        sessions = engine.agent.sessions
        if sessions.exists(session_id):  # not when refused before it began (unknown model)
            answer["session_id"] = session_id
            answer["model"] = sessions.open(session_id).model or answer["model"]
        raise
    finally:
        engine.close()
    answer.update(response=result.response, model=result.model, session_id=result.session_id)
    return result.response


def greeting(model: str, memory_only: bool, session_id: str | None) -> str:
    """The chat's first line: which session, which model (or that none is set up, in words:
    "memory-only" is a mode name, not something a new user can read), and how to get help."""
    session = f"resuming session {session_id}" if session_id else "new session"
    if memory_only:
        said = f"{session}. No model is configured, so answers show what your memory holds"
    else:
        said = f"{session}, using {model}"
    return f"LocalGPT chat, {said}. /help lists commands, Ctrl-D leaves."


class ChatREPL:
    """The interactive loop. One asyncio.run per turn, so Ctrl-C cancels just that turn."""

    def __init__(self, engine: Engine, model: str | None, session_id: str | None) -> None:
        self.engine = engine
        self.agent: Agent = engine.agent
        self.model = model
        self.session_id = session_id
        self.interactive = sys.stdin.isatty()
        self.approver = _terminal_approver()

    def run(self) -> int:
        if self.interactive:
            self._history()
            choice = asyncio.run(self.agent.resolve_model(self.model))
            print(greeting(choice.label, choice.memory_only, self.session_id))
        while True:
            try:
                line = input("you> ") if self.interactive else sys.stdin.readline()
            except EOFError:
                break
            except KeyboardInterrupt:
                print()
                continue
            if not self.interactive and line == "":
                break
            line = line.strip()
            if not line:
                continue
            try:
                if line.startswith("/"):
                    if self.command(line) == "quit":
                        break
                else:
                    self.turn(line)
            except LocalGPTError as exc:
                print(f"error: {exc}", file=sys.stderr)
        if self.interactive:
            print()
        return 0

    def turn(self, message: str, system_extra: str | None = None) -> None:
        from localgpt_ls.agent.sessions import new_session_id

        # The id is chosen here, not by the agent, so a turn that fails or is cancelled still
        # tells us which session holds the message: the next message continues that one
        # (not a fresh session, nor whichever session another process touched last).
        session_id = self.session_id or new_session_id()
        try:
            result = asyncio.run(self.agent.chat(message, session_id, self.model,
                                                 on_event=_printer(True),
                                                 approver=self.approver,
                                                 system_extra=system_extra))
        except KeyboardInterrupt:
            print("\n[cancelled: the reply was stopped; your message is kept]", file=sys.stderr)
            self._continue_in(session_id)
            return
        except LocalGPTError:
            self._continue_in(session_id)
            raise
        self.session_id = result.session_id
        if not result.response.endswith("\n"):
            print()

    def _continue_in(self, session_id: str) -> None:
        """After a failed turn, stay in its session if one was created (a turn refused before
        that, e.g. an unknown model, leaves nothing to continue)."""
        if self.agent.sessions.exists(session_id):
            self.session_id = session_id

    def command(self, line: str) -> str | None:
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name in ("/quit", "/exit", "/q"):
            return "quit"
        if name == "/help":
            print(HELP)
        elif name == "/new":
            self.session_id = None
            print("New session: it starts with your next message.")
        elif name == "/model":
            if rest:
                choice = asyncio.run(self.agent.resolve_model(rest))
                self.model = rest
                print(f"Model: {choice.label}")
            else:
                choice = asyncio.run(self.agent.resolve_model(self.model))
                print(f"Model: {choice.label}")
        elif name == "/memory":
            self.memory(rest)
        elif name == "/sessions":
            for info in self.agent.sessions.list()[:20]:
                mark = "*" if info.id == self.session_id else " "
                print(f"{mark} {info.id}  {info.messages:3d} msgs  {info.model:<28} "
                      f"{info.preview}")
        elif name == "/resume":
            target = rest or self.agent.sessions.latest()
            if not target:
                print("No sessions yet.")
            else:
                session = self.agent.sessions.open(target)
                self.session_id = session.id
                print(f"Resumed {session.id} ({len(session.messages)} messages).")
        elif name == "/compact":
            if not self.session_id:
                print("Nothing to compact yet.")
            else:
                summary = asyncio.run(self.agent.compact(self.session_id, self.model))
                print("Compacted." if summary else "Too short to compact.")
        elif name == "/skills":
            self.skills()
        elif not self.skill(name[1:], rest):
            print(f"Unknown command {name}; /help lists them, /skills the skills.")
        return None

    def skills(self) -> None:
        from localgpt_ls.agent import skills

        found = skills.discover(self.engine.workspace)
        if not found:
            print("No skills yet: add skills/<name>/SKILL.md (front matter with name and "
                  "description) to the workspace.")
        for skill in found:
            how = f"/{skill.name}" if skill.user_invocable else skill.name
            note = f" (blocked: {skill.blocked})" if skill.blocked else ""
            print(f"  {how} - {skill.description} [{skill.path}]{note}")

    def skill(self, name: str, request: str) -> bool:
        """Run the skill `name` on `request`; False when there is no such skill."""
        from localgpt_ls.agent import skills

        found = skills.find(self.engine.workspace, name)
        if found is None or not found.user_invocable:
            return False
        if found.blocked:
            print(f"The skill {name} cannot run here: {found.blocked}.")
            return True
        message, extra = skills.invocation(found, request)
        self.turn(message, system_extra=extra)
        return True

    def memory(self, query: str) -> None:
        if not query:
            print("Usage: /memory QUERY")
            return
        index = self.engine.memory
        index.reindex()
        print_hits(index.search(query, limit=6))

    def _history(self) -> None:
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input still works
            return
        history = paths.home() / "chat_history"
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
        readline.set_history_length(1000)

        import atexit

        def save() -> None:
            try:
                history.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(history)
            except OSError:
                pass

        atexit.register(save)


def chat(args: argparse.Namespace) -> int:
    from localgpt_ls.engine import Engine

    engine = Engine()
    try:
        session_id = args.session
        if args.resume and not session_id:
            session_id = engine.agent.sessions.latest()
        if session_id and engine.agent.sessions.exists(session_id):
            engine.agent.sessions.open(session_id)  # fail early on a bad id
        return ChatREPL(engine, args.model, session_id).run()
    finally:
        engine.close()
