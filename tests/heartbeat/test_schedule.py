"""Interval parsing and active hours (zones, overnight windows, 24:00, empty windows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from localgpt_ls.config import ActiveHours
from localgpt_ls.errors import ConfigError
from localgpt_ls.heartbeat.schedule import Window, format_interval, parse_interval


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("1h 30m", timedelta(hours=1, minutes=30)),
    ("2h", timedelta(hours=2)),
    ("45s", timedelta(seconds=45)),
    ("1d", timedelta(days=1)),
    ("15", timedelta(minutes=15)),
    (" 10M ", timedelta(minutes=10)),
    ("0m", None),
    ("0", None),
    ("0h0m", None),
])
def test_interval(text: str, expected: timedelta | None) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "30 minutes", "1.5h", "-5m", "m30", "30x"])
def test_bad_interval_is_a_clear_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match=r"\[heartbeat\] interval.*1h30m"):
        parse_interval(text)


def test_interval_round_trips_for_display() -> None:
    assert format_interval(parse_interval("1h30m")) == "1h30m"
    assert format_interval(None) == "off"


def at(zone: str, hhmm: str, day: int = 15) -> datetime:
    """A UTC instant that is `hhmm` on 2026-06-`day` in `zone` (what an injected clock gives)."""
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 6, day, h, m, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def window(start: str, end: str, tz: str) -> Window:
    w = Window.from_config(ActiveHours(start=start, end=end, timezone=tz))
    assert w is not None
    return w


@pytest.mark.parametrize(("start", "end", "tz", "local", "active"), [
    ("08:00", "22:00", "Europe/Berlin", "08:00", True),    # start inclusive
    ("08:00", "22:00", "Europe/Berlin", "07:59", False),
    ("08:00", "22:00", "Europe/Berlin", "21:59", True),
    ("08:00", "22:00", "Europe/Berlin", "22:00", False),   # end exclusive
    ("22:00", "06:00", "Asia/Tokyo", "23:30", True),       # overnight, before midnight
    ("22:00", "06:00", "Asia/Tokyo", "02:00", True),       # overnight, after midnight
    ("22:00", "06:00", "Asia/Tokyo", "06:00", False),
    ("22:00", "06:00", "Asia/Tokyo", "12:00", False),
    ("09:00", "24:00", "America/New_York", "23:59", True),  # 24:00 = end of day
    ("09:00", "24:00", "America/New_York", "00:00", False),
    ("00:00", "24:00", "UTC", "00:00", True),
    ("10:00", "10:00", "UTC", "10:00", False),             # start == end never runs
    ("10:00", "10:00", "UTC", "03:00", False),
])
def test_active_hours(start: str, end: str, tz: str, local: str, active: bool) -> None:
    assert window(start, end, tz).contains(at(tz, local)) is active


def test_the_same_instant_differs_by_zone() -> None:
    instant = datetime(2026, 1, 10, 7, 0, tzinfo=UTC)  # 08:00 Berlin, 02:00 New York
    assert window("08:00", "18:00", "Europe/Berlin").contains(instant)
    assert not window("08:00", "18:00", "America/New_York").contains(instant)


def test_local_zone_uses_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        w = window("09:00", "10:00", "local")
        assert w.contains(datetime(2026, 3, 1, 3, 45, tzinfo=UTC))  # 09:15 in Kolkata
        assert not w.contains(datetime(2026, 3, 1, 9, 15, tzinfo=UTC))
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("start", "end", "tz", "message"), [
    ("8am", "22:00", "UTC", "start.*HH:MM"),
    ("08:00", "25:00", "UTC", "end.*not a time of day"),
    ("24:00", "08:00", "UTC", "only valid as the end"),
    ("08:00", "22:00", "Mars/Olympus", "unknown zone"),
])
def test_bad_active_hours_are_clear_errors(start: str, end: str, tz: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Window.from_config(ActiveHours(start=start, end=end, timezone=tz))


def test_no_active_hours_means_always() -> None:
    assert Window.from_config(None) is None
