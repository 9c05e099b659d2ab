"""HeartbeatRunner: one check of HEARTBEAT.md now (`run_once`) or on a schedule (`run_forever`).

The model call is an injected dependency, `turn(prompt) -> reply`: the Engine passes the agent's
session-less turn, tests pass a plain function. The clock and the sleep are injected too, so the
schedule is tested without waiting.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from localgpt_ls import daily_log
from localgpt_ls.config import HeartbeatConfig
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.heartbeat import rules, schedule
from localgpt_ls.heartbeat.lock import OwnerLock, run_lock
from localgpt_ls.heartbeat.store import DedupeStore, StatusStore
from localgpt_ls.workspace import relative_to_workspace

log = logging.getLogger(__name__)

PROMPT = ("Read HEARTBEAT.md if it exists (workspace context). Follow it strictly. Do not infer or "
          "repeat old tasks from prior chats. If nothing needs attention, reply HEARTBEAT_OK.")

TurnFn = Callable[[str], Awaitable[str]]
DeliverFn = Callable[[str], Any]  # may return an awaitable
Clock = Callable[[], datetime]
SleepFn = Callable[[float], Awaitable[Any]]
# (daily log path, entry text) -> True when the door wrote the entry itself (an editor applying
# it to the open document), False to let the runner append it to the file on disk.
LogWriter = Callable[[Path, str], Awaitable[bool]]

# After N failures in a row the next run waits interval * 2**N, at most this many intervals.
MAX_BACKOFF_FACTOR = 8


class HeartbeatSkip(Exception):
    """Raised by a turn function that cannot run now for a known reason (e.g. no model is
    configured): the run is recorded as `skipped:<reason>` instead of failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class HeartbeatResult:
    """One heartbeat run. `outcome` is ok | alert | skipped | failed; `reason` says why for the
    last two. `response` is the model's raw reply, `text` what reached (or would reach) the user.
    """

    outcome: str
    started_at: datetime
    duration_ms: int = 0
    reason: str | None = None
    response: str = ""
    text: str = ""
    delivered: bool = False
    duplicate: bool = False
    daily_log: str | None = None
    called_model: bool = field(default=False)

    @property
    def label(self) -> str:
        """"ok", "alert", "skipped:<reason>" or "failed:<error>" (status and CLI use this)."""
        return f"{self.outcome}:{self.reason}" if self.reason else self.outcome

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.label,
            "response": self.response,
            "text": self.text,
            "delivered": self.delivered,
            "duplicate": self.duplicate,
            "daily_log": self.daily_log,
            "called_model": self.called_model,
            "started_at": self.started_at.isoformat(),
            "duration_ms": self.duration_ms,
        }


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


class HeartbeatRunner:
    """The heartbeat of one workspace (see the package docstring for the rules)."""

    def __init__(self, workspace: Path, config: HeartbeatConfig, turn: TurnFn, *,
                 clock: Clock = utc_now, sleep: SleepFn = asyncio.sleep,
                 lock_poll_seconds: float = 2.0, turn_timeout_seconds: float = 600.0,
                 log_writer: LogWriter | None = None) -> None:
        self.workspace = workspace
        self.config = config
        self._turn = turn
        self._clock = clock
        self._sleep = sleep
        self._lock_poll = lock_poll_seconds
        self._turn_timeout = turn_timeout_seconds
        self._owner = OwnerLock(workspace)
        self._run_lock = run_lock(workspace)
        self._status = StatusStore(workspace)
        self._dedupe = DedupeStore(workspace)
        self._running = False
        # Set by a door that must edit open documents itself (the language server).
        self.log_writer = log_writer  # an editor door's (Engine.editor.append)

    # -- configuration -------------------------------------------------------------------

    def interval(self) -> timedelta | None:
        """The configured interval; None when disabled or "0m". Raises ConfigError if bad."""
        if not self.config.enabled:
            return None
        return schedule.parse_interval(self.config.interval)

    def window(self) -> schedule.Window | None:
        return schedule.Window.from_config(self.config.active_hours)

    # -- one run -------------------------------------------------------------------------

    async def run_once(self, deliver: DeliverFn | None = None) -> HeartbeatResult:
        """Check HEARTBEAT.md now, ignoring interval and active hours.

        Skips without calling the model when the file has no task, or when another run (this
        process or another) is in progress. A real result goes to the daily log and `deliver`,
        unless the same text was delivered within 24 h. Never raises for provider errors: they
        become `failed:<error>`.
        """
        started = self._clock()
        t0 = time.monotonic()
        if self._running:
            return HeartbeatResult("skipped", started, reason="busy")
        try:
            got = self._run_lock.try_acquire()
        except OSError as exc:  # state folder not writable: say so instead of crashing a door
            return HeartbeatResult("failed", started,
                                   reason=f"cannot take the heartbeat lock: {_one_line(exc)}")
        if not got:
            return HeartbeatResult("skipped", started, reason="busy")
        self._running = True
        try:
            result = await self._run_locked(started, deliver)
            result.duration_ms = int((time.monotonic() - t0) * 1000)
            self._record(result)
            return result
        finally:
            self._running = False
            self._run_lock.release()

    async def _run_locked(self, started: datetime, deliver: DeliverFn | None) -> HeartbeatResult:
        reason = self._skip_reason()
        if reason:
            return HeartbeatResult("skipped", started, reason=reason)
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that lands as the turn finishes, and then the schedule would never stop.
            async with asyncio.timeout(self._turn_timeout):
                reply = await self._turn(PROMPT)
        except HeartbeatSkip as skip:
            return HeartbeatResult("skipped", started, reason=skip.reason)
        except TimeoutError:
            return HeartbeatResult("failed", started, called_model=True,
                                   reason=f"no reply within {self._turn_timeout:.0f} s")
        except Exception as exc:  # a provider error must never escape into a door
            log.warning("heartbeat turn failed: %s", exc)
            return HeartbeatResult("failed", started, reason=_one_line(exc), called_model=True)
        reply = reply or ""
        verdict = rules.strip_token(reply)
        if not verdict.deliver:
            return HeartbeatResult("ok", started, response=reply, called_model=True)
        result = HeartbeatResult("alert", started, response=reply, text=verdict.text,
                                 called_model=True)
        await self._deliver(result, deliver)
        return result

    def _skip_reason(self) -> str | None:
        """The empty-file rule; a missing or unreadable file does not skip."""
        path = self.workspace / "HEARTBEAT.md"
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return None
        return "empty-file" if rules.is_effectively_empty(text) else None

    async def _deliver(self, result: HeartbeatResult, deliver: DeliverFn | None) -> None:
        now = self._clock()
        if self._dedupe.seen_recently(result.text, now):
            result.duplicate = True
            return
        try:
            local = schedule.local_time(self._safe_window(), now)
            path = daily_log.path(self.workspace, local.date())
            entry = daily_log.heartbeat_entry(result.text, local)
            if not await self._door_wrote(path, entry):
                await asyncio.to_thread(daily_log.append, self.workspace, path, entry,
                                        daily_log.header(local.date()))
            result.daily_log = relative_to_workspace(self.workspace, path)
            result.delivered = True
        except (OSError, LocalGPTError) as exc:
            log.warning("heartbeat: cannot write the daily log: %s", exc)
        if deliver is not None:
            try:
                shown = deliver(result.text)
                if inspect.isawaitable(shown):
                    await shown
                result.delivered = True
            except Exception as exc:  # a broken door must not lose the log entry
                log.warning("heartbeat: delivery callback failed: %s", exc)
        if result.delivered:
            try:
                self._dedupe.remember(result.text, now)
            except OSError as exc:  # worst case the same alert is shown again tomorrow
                log.warning("heartbeat: cannot save the delivery record: %s", exc)

    async def _door_wrote(self, path: Path, entry: str) -> bool:
        if self.log_writer is None:
            return False
        try:
            return await self.log_writer(path, entry)
        except Exception as exc:  # the disk is the fallback whatever the door's trouble
            log.warning("heartbeat: the door could not write the daily log: %s", exc)
            return False

    def _safe_window(self) -> schedule.Window | None:
        try:
            return self.window()
        except LocalGPTError:
            return None

    def _record(self, result: HeartbeatResult) -> None:
        try:
            self._status.update(last_run=result.started_at.isoformat(), outcome=result.label,
                                duration_ms=result.duration_ms, response=result.response[:2000],
                                delivered=result.delivered, duplicate=result.duplicate)
        except OSError as exc:
            log.warning("heartbeat: cannot save status: %s", exc)

    # -- the schedule --------------------------------------------------------------------

    async def run_forever(self, deliver: DeliverFn | None = None, *,
                          on_result: Callable[[HeartbeatResult], Any] | None = None) -> None:
        """Run on the schedule until cancelled; never raises anything but CancelledError.

        Only the process holding the workspace's owner lock runs; the others poll the lock and
        take over when its holder exits. The first run comes one interval after taking over.
        Outside active hours a tick is recorded as skipped. Failures back off: after N in a row
        the next run waits interval * 2**N (at most 8 intervals). `on_result` sees every
        scheduled result (a door refreshes its display with it).
        """
        try:
            interval = self.interval()
            self.window()  # a bad [heartbeat.active_hours] stops the schedule here, once
        except LocalGPTError as exc:
            log.warning("heartbeat disabled: %s", exc)
            self._safe_status_update(outcome=f"failed:{_one_line(exc)}", next_run=None)
            return
        if interval is None:
            return
        failures = 0
        try:
            while True:
                try:
                    owner = self._owner.try_acquire()
                except OSError as exc:  # e.g. the state folder is not writable: retry later
                    log.warning("heartbeat: cannot take the schedule lock: %s", exc)
                    owner = False
                if not owner:
                    await self._sleep(self._lock_poll)
                    continue
                try:
                    failures = await self._tick(interval, failures, deliver, on_result)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # keep the door alive whatever happens
                    log.exception("heartbeat tick failed")
                    failures += 1
                    self._safe_status_update(outcome=f"failed:{_one_line(exc)}")
                    await self._sleep(min(interval.total_seconds(), 60.0))
        finally:
            if self._owner.held:
                self._safe_status_update(next_run=None)
                self._owner.release()

    async def _tick(self, interval: timedelta, failures: int, deliver: DeliverFn | None,
                    on_result: Callable[[HeartbeatResult], Any] | None) -> int:
        """Wait for the next run, then run it; returns the new count of failures in a row."""
        delay = interval * min(2 ** failures, MAX_BACKOFF_FACTOR)
        next_at = self._clock() + delay
        self._safe_status_update(next_run=next_at.isoformat())
        while (left := (next_at - self._clock()).total_seconds()) > 0:
            await self._sleep(left)
        started = self._clock()
        if not schedule.is_active(self.window(), started):
            result = HeartbeatResult("skipped", started, reason="outside-active-hours")
            self._record(result)
        else:
            result = await self.run_once(deliver)
        if on_result is not None:
            on_result(result)
        if result.outcome == "failed":
            return failures + 1
        return failures if result.reason == "outside-active-hours" else 0

    def _safe_status_update(self, **fields: Any) -> None:
        try:
            self._status.update(**fields)
        except OSError as exc:
            log.warning("heartbeat: cannot save status: %s", exc)

    # -- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Last run, outcome, duration and next run, as any process last saved them."""
        data = self._status.read()
        owner = self._owner.owner()
        config_error = None
        try:
            interval = self.interval()
            window = self.window()
        except LocalGPTError as exc:
            interval, window, config_error = None, None, str(exc)
        hours = self.config.active_hours
        return {
            "workspace": str(self.workspace),
            "enabled": self.config.enabled and interval is not None,
            "interval": schedule.format_interval(interval),
            "active_hours": None if hours is None else {
                "start": hours.start, "end": hours.end, "timezone": hours.timezone},
            "active_now": schedule.is_active(window, self._clock()) if not config_error else None,
            "config_error": config_error,
            "last_run": data.get("last_run"),
            "outcome": data.get("outcome"),
            "duration_ms": data.get("duration_ms"),
            "delivered": data.get("delivered"),
            # an alert already delivered within 24 h, so not again (delivered is then false)
            "duplicate": data.get("duplicate"),
            "response": data.get("response"),
            # A next_run saved by a process that has exited means nothing: show it only while
            # some process holds the schedule.
            "next_run": data.get("next_run") if owner else None,
            "runner": owner,
        }

    def close(self) -> None:
        """Give up the schedule (another process may take over); safe to call twice."""
        self._owner.release()
        self._run_lock.release()
