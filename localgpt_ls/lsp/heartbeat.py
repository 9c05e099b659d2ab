"""The heartbeat in the editor: the background schedule, two commands and a code lens.

- After `initialized` the server runs `Engine.heartbeat.run_forever` as a background task (the
  shutdown handler cancels every background task). Across editors on one workspace only one
  server runs it (the runner's file lock); the others stay idle and take over when it exits.
- A real result is shown with window/showMessage and appended to the daily log; when that log
  is open in the editor the entry goes in through workspace/applyEdit (the engine's editor
  bridge, `editor_bridge.py`), else the runner appends it to the file.
- `localgpt.heartbeatRun {}` runs one now -> the `heartbeat once --json` object;
  `localgpt.heartbeatStatus {}` -> the `heartbeat status --json` object.
- HEARTBEAT.md gets a code lens on its first line: "Run now · last: 10:30 OK".
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from localgpt_ls.errors import LocalGPTError
from localgpt_ls.lsp.errors import command_object
from localgpt_ls.lsp.feature import Feature

if TYPE_CHECKING:
    from localgpt_ls.lsp.server import LocalGPTServer

log = logging.getLogger("localgpt.lsp")

HEARTBEAT_RUN = "localgpt.heartbeatRun"
HEARTBEAT_STATUS = "localgpt.heartbeatStatus"

_OUTCOME_WORDS = {"ok": "OK", "alert": "alert", "skipped:empty-file": "no tasks",
                  "skipped:no-model": "no model", "skipped:outside-active-hours": "quiet hours",
                  "skipped:busy": "busy"}


def lens_title(status: dict[str, Any]) -> str:
    """"Run now · last: 10:30 OK" (local time of the last run), or "Run now · never run"."""
    last = status.get("last_run")
    if not last:
        return "Run now · never run"
    try:
        when = datetime.fromisoformat(last).astimezone().strftime("%H:%M")
    except ValueError:
        when = "?"
    outcome = str(status.get("outcome") or "")
    word = _OUTCOME_WORDS.get(outcome, "failed" if outcome.startswith("failed") else outcome)
    return f"Run now · last: {when} {word}"


def deliver(ls: LocalGPTServer, text: str) -> None:
    ls.show(f"LocalGPT heartbeat: {text}", types.MessageType.Info)


def refresh_lenses(ls: LocalGPTServer) -> None:
    """Ask the editor to re-read code lenses (the lens shows the last outcome)."""
    caps = ls.client_capabilities.workspace
    if caps and caps.code_lens and caps.code_lens.refresh_support:
        try:
            ls.workspace_code_lens_refresh(None)
        except Exception as exc:  # an old client: the lens updates on the next edit instead
            log.debug("code lens refresh failed: %s", exc)


def _is_heartbeat_file(ls: LocalGPTServer, uri: str) -> bool:
    path = ls.uri_path(uri)
    if path is None or path.name != "HEARTBEAT.md":
        return False
    try:
        return path.resolve().parent == ls.workspace_root.resolve()
    except OSError:
        return False


async def run_schedule(ls: LocalGPTServer) -> None:
    """The background task: never raises into the server (the runner backs off on failures)."""
    runner = ls.require_engine().heartbeat

    def on_alert(text: str) -> None:
        deliver(ls, text)

    try:
        runner.interval()
        runner.window()
    except LocalGPTError as exc:  # say so once; the rest of the server works on
        ls.show(f"LocalGPT: the heartbeat is off: {exc}")
        return
    try:
        await runner.run_forever(on_alert, on_result=lambda _result: refresh_lenses(ls))
    except Exception:  # run_forever already swallows failures; this is belt and braces
        log.exception("heartbeat schedule stopped")


def start(ls: LocalGPTServer) -> None:
    """Start the schedule once the workspace is known (called after `initialized`)."""
    if ls.engine is None:
        return
    ls.spawn(run_schedule(ls))


class Heartbeat(Feature):
    """The heartbeat schedule while the editor is open, its commands and its code lens."""

    def start(self) -> None:
        start(self.server)

    async def code_lenses(self, uri: str) -> list[types.CodeLens]:
        return await heartbeat_lens(self.server, uri)

    def commands(self) -> dict[str, Any]:
        async def heartbeat_status(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            command_object(HEARTBEAT_STATUS, arguments)
            engine = ls.require_engine()
            status: dict[str, Any] = await ls.run_blocking(engine.heartbeat.status)
            return status

        async def heartbeat_run(ls: LocalGPTServer, *arguments: Any) -> dict[str, Any]:
            command_object(HEARTBEAT_RUN, arguments)
            engine = ls.require_engine()
            result = await engine.heartbeat.run_once(lambda text: deliver(ls, text))
            refresh_lenses(ls)
            data: dict[str, Any] = result.to_dict()
            return data

        return {HEARTBEAT_STATUS: heartbeat_status, HEARTBEAT_RUN: heartbeat_run}


async def heartbeat_lens(ls: LocalGPTServer, uri: str) -> list[types.CodeLens]:
    """"Run now · last: 10:30 OK" on the first line of HEARTBEAT.md."""
    if ls.engine is None or not _is_heartbeat_file(ls, uri):
        return []
    status = await ls.run_blocking(ls.engine.heartbeat.status)
    start_of_file = types.Range(types.Position(0, 0), types.Position(0, 0))
    return [types.CodeLens(range=start_of_file, command=types.Command(
        title=lens_title(status), command=HEARTBEAT_RUN, arguments=[{}]))]
