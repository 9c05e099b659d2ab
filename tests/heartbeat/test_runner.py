"""HeartbeatRunner: the run, delivery to the daily log and the door, de-duplication, status and
the schedule (first tick after one interval, active hours, back-off), with an injected clock."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from localgpt_ls.config import ActiveHours
from localgpt_ls.heartbeat import PROMPT, HeartbeatSkip
from localgpt_ls.llm.errors import ProviderError
from tests.heartbeat.conftest import ALERT, TASKS, FakeClock, Turn, make_runner


async def never_called(prompt: str) -> str:
    raise AssertionError("the model must not be called for a HEARTBEAT.md without tasks")


async def test_comment_only_heartbeat_never_calls_the_model(ws: Path) -> None:
    # The shipped template is headings and comments only.
    runner = make_runner(ws, never_called, FakeClock())
    result = await runner.run_once()
    assert result.label == "skipped:empty-file"
    assert not result.called_model
    assert runner.status()["outcome"] == "skipped:empty-file"


async def test_missing_heartbeat_file_still_runs(ws: Path) -> None:
    (ws / "HEARTBEAT.md").unlink()
    turn = Turn("HEARTBEAT_OK")
    result = await make_runner(ws, turn, FakeClock()).run_once()
    assert result.outcome == "ok"
    assert turn.prompts == [PROMPT]


async def test_ok_reply_delivers_nothing(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    shown: list[str] = []
    result = await make_runner(ws, Turn("**HEARTBEAT_OK** nothing due"), FakeClock()).run_once(
        shown.append)
    assert (result.outcome, result.delivered, shown) == ("ok", False, [])
    assert list((ws / "memory").iterdir()) == []


async def test_alert_reaches_daily_log_and_door_once_per_24h(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    clock = FakeClock(datetime(2026, 6, 15, 7, 5, tzinfo=UTC))
    runner = make_runner(ws, Turn(ALERT), clock,
                         active_hours=ActiveHours("00:00", "24:00", "Europe/Berlin"))
    daily = ws / "memory" / "2026-06-15.md"
    daily.write_text("# 2026-06-15\n\nMet Ana about the garden. ünïcode kept\n")
    shown: list[str] = []

    async def deliver(text: str) -> None:  # doors may deliver asynchronously
        shown.append(text)

    first = await runner.run_once(deliver)
    assert first.label == "alert" and first.delivered and first.daily_log == "memory/2026-06-15.md"
    assert shown == [ALERT]
    # 09:05 in Berlin; the user's text is intact and the entry follows it.
    assert daily.read_text() == ("# 2026-06-15\n\nMet Ana about the garden. ünïcode kept\n\n"
                                 f"## Heartbeat 09:05\n\n{ALERT}\n")

    clock.now += timedelta(hours=23)
    again = await runner.run_once(deliver)
    assert again.outcome == "alert" and again.duplicate and not again.delivered
    assert shown == [ALERT]
    assert daily.read_text().count("## Heartbeat") == 1

    clock.now += timedelta(hours=2)  # 25 h after the first delivery: a new day, delivered again
    third = await runner.run_once(deliver)
    assert third.delivered and shown == [ALERT, ALERT]
    assert "## Heartbeat 10:05" in (ws / "memory" / "2026-06-16.md").read_text()


async def test_dedupe_survives_a_restart(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    clock = FakeClock()
    assert (await make_runner(ws, Turn(ALERT), clock).run_once()).delivered
    fresh = make_runner(ws, Turn(f"  {ALERT}\n"), clock)  # a new process, same text
    assert (await fresh.run_once()).duplicate


async def test_daily_log_keeps_bytes_that_are_not_utf8(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    clock = FakeClock(datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC")))
    daily = ws / "memory" / "2026-06-15.md"
    daily.write_bytes(b"latin-1 notes: caf\xe9")  # no trailing newline either
    runner = make_runner(ws, Turn(ALERT), clock,
                         active_hours=ActiveHours("00:00", "24:00", "UTC"))
    assert (await runner.run_once()).delivered
    assert daily.read_bytes() == (b"latin-1 notes: caf\xe9\n\n## Heartbeat 10:00\n\n"
                                  + ALERT.encode() + b"\n")


async def test_broken_door_still_logs(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)

    def deliver(text: str) -> None:
        raise RuntimeError("editor went away")

    result = await make_runner(ws, Turn(ALERT), FakeClock()).run_once(deliver)
    assert result.delivered and result.daily_log


async def test_provider_failure_is_an_outcome_not_an_exception(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    runner = make_runner(ws, Turn(ProviderError("anthropic", "overloaded", 529)),
                         FakeClock())
    result = await runner.run_once()
    assert result.outcome == "failed"
    assert "529" in result.label
    assert runner.status()["outcome"] == result.label


async def test_turn_can_skip_with_a_reason(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    result = await make_runner(ws, Turn(HeartbeatSkip("no-model")), FakeClock()).run_once()
    assert result.label == "skipped:no-model"


async def test_one_run_at_a_time_across_runners(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    gate = asyncio.Event()

    async def slow(prompt: str) -> str:
        await gate.wait()
        return "HEARTBEAT_OK"

    first = make_runner(ws, slow, FakeClock())
    second = make_runner(ws, Turn(ALERT), FakeClock())  # another editor on the same workspace
    task = asyncio.create_task(first.run_once())
    await asyncio.sleep(0.01)
    assert (await second.run_once()).label == "skipped:busy"
    assert (await first.run_once()).label == "skipped:busy"
    gate.set()
    assert (await task).outcome == "ok"
    assert (await second.run_once()).outcome == "alert"


async def test_status_is_shared_through_disk(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    clock = FakeClock()
    await make_runner(ws, Turn(ALERT), clock).run_once()
    other = make_runner(ws, Turn("unused"), clock).status()
    assert other["outcome"] == "alert"
    assert other["last_run"] == clock.now.isoformat()
    assert other["delivered"] is True
    assert other["runner"] is None and other["next_run"] is None  # nobody runs the schedule
    assert other["interval"] == "30m" and other["enabled"] is True


async def run_until(runner_task: asyncio.Task[None], condition: object, timeout: float = 5) -> None:
    async def wait() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)
    await asyncio.wait_for(wait(), timeout)


async def test_schedule_first_tick_waits_one_interval(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    clock = FakeClock()
    start = clock.now
    turn = Turn("HEARTBEAT_OK")
    runs: list[datetime] = []
    seen: list[dict[str, object]] = []
    runner = make_runner(ws, turn, clock, interval="30m")
    orig = runner.run_once

    async def recording(deliver: object = None) -> object:
        runs.append(clock.now)
        seen.append(runner.status())  # what `heartbeat status` shows while this run is due
        return await orig(deliver)  # type: ignore[arg-type]

    runner.run_once = recording  # type: ignore[method-assign]
    task = asyncio.create_task(runner.run_forever(None))
    await run_until(task, lambda: len(runs) >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs[:3] == [start + timedelta(minutes=30 * n) for n in (1, 2, 3)]
    assert [s["next_run"] for s in seen[:3]] == [r.isoformat() for r in runs[:3]]
    assert all(s["runner"] == {"pid": os.getpid(), "this_process": True} for s in seen)
    assert runner.status()["next_run"] is None  # released on cancel


async def test_outside_active_hours_the_model_is_not_called(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    # 20:00 UTC = 22:00 Berlin; active 08:00-22:00 Berlin.
    clock = FakeClock(datetime(2026, 6, 15, 19, 30, tzinfo=UTC))
    turn = Turn("HEARTBEAT_OK")
    runner = make_runner(ws, turn, clock, interval="30m",
                         active_hours=ActiveHours("08:00", "22:00", "Europe/Berlin"))
    task = asyncio.create_task(runner.run_forever(None))
    await run_until(task, lambda: len(clock.slept) >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert turn.prompts == []
    assert runner.status()["outcome"] == "skipped:outside-active-hours"


async def test_failures_back_off_and_never_escape(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    clock = FakeClock()
    down = ProviderError("openai", "server error", 500)
    turn = Turn(down, down, down, "HEARTBEAT_OK")
    runner = make_runner(ws, turn, clock, interval="10m")
    task = asyncio.create_task(runner.run_forever(None))
    await run_until(task, lambda: len(clock.slept) >= 6)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # 10m, then 20m, 40m, 80m after three failures in a row, then back to 10m after a success.
    assert clock.slept[:6] == [600, 1200, 2400, 4800, 600, 600]


async def test_disabled_or_zero_interval_does_not_schedule(ws: Path) -> None:
    for config in ({"enabled": False}, {"interval": "0m"}):
        runner = make_runner(ws, never_called, FakeClock(), **config)
        await asyncio.wait_for(runner.run_forever(None), 1)
        assert runner.status()["enabled"] is False
        assert runner.status()["interval"] == "off"


@pytest.mark.parametrize(("config", "key"), [
    ({"interval": "every day"}, "interval"),
    ({"active_hours": ActiveHours("8am", "22:00", "UTC")}, "active_hours"),
    ({"active_hours": ActiveHours("08:00", "22:00", "Moon/Base")}, "timezone"),
])
async def test_bad_schedule_config_is_reported_not_raised(ws: Path, config: dict[str, object],
                                                          key: str) -> None:
    runner = make_runner(ws, never_called, FakeClock(), **config)
    await asyncio.wait_for(runner.run_forever(None), 1)
    status = runner.status()
    assert key in status["config_error"]
    assert status["outcome"].startswith("failed:")
    assert status["active_now"] is None


async def test_a_door_can_write_the_daily_log_itself_else_the_disk_does(ws: Path) -> None:
    (ws / "HEARTBEAT.md").write_text(TASKS)
    written: list[tuple[Path, str]] = []

    async def editor(path: Path, entry: str) -> bool:  # e.g. applyEdit into an open buffer
        written.append((path, entry))
        return True

    clock = FakeClock(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))
    runner = make_runner(ws, Turn(ALERT, "Another alert, different text."), clock,
                         active_hours=ActiveHours("00:00", "24:00", "UTC"))
    runner.log_writer = editor
    first = await runner.run_once()
    assert first.delivered and first.daily_log == "memory/2026-06-15.md"
    assert written == [(ws / "memory" / "2026-06-15.md", f"## Heartbeat 10:00\n\n{ALERT}\n")]
    assert not (ws / "memory" / "2026-06-15.md").exists()  # the editor has it, not the disk

    async def broken(path: Path, entry: str) -> bool:
        raise RuntimeError("the editor did not answer")

    runner.log_writer = broken
    second = await runner.run_once()
    assert second.delivered
    assert "Another alert" in (ws / "memory" / "2026-06-15.md").read_text()
