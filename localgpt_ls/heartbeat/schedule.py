"""When the heartbeat may run: the interval ("30m", "1h30m", "0m" = off) and active hours.

Everything here is a pure function of its inputs (no reading of the wall clock), so the scheduler
is testable with an injected clock and behaves the same in every time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from localgpt_ls.config import ActiveHours
from localgpt_ls.errors import ConfigError

_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*([dhms])")
_WHOLE = re.compile(r"^(?:\d+\s*[dhms]\s*)+$")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_interval(text: str) -> timedelta | None:
    """Parse "30m", "1h30m", "45s", "2h", "1d"; a bare number means minutes.

    Returns None when the interval is zero ("0m"): the heartbeat is off. Anything else that does
    not parse is a ConfigError naming the key and the accepted forms, so a typo never silently
    turns the heartbeat off or makes it run every second.
    """
    raw = text.strip().lower()
    if raw.isdigit():
        seconds = int(raw) * 60
    elif raw and _WHOLE.match(raw):
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(raw))
    else:
        raise ConfigError(f"[heartbeat] interval: cannot read {text!r}; use a duration like "
                          "\"30m\", \"1h30m\" or \"45s\" (\"0m\" turns the heartbeat off)")
    return timedelta(seconds=seconds) if seconds > 0 else None


def format_interval(interval: timedelta | None) -> str:
    """The inverse of parse_interval for display ("1h30m", "off")."""
    if interval is None:
        return "off"
    seconds = int(interval.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _parse_hhmm(value: str, key: str, allow_24: bool) -> int:
    """Minutes since midnight for "HH:MM"; "24:00" only where it means end of day."""
    m = _HHMM.match(value.strip())
    if not m:
        raise ConfigError(f"[heartbeat.active_hours] {key}: cannot read {value!r}; "
                          "use 24-hour \"HH:MM\" like \"08:00\"")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours == 24 and minutes == 0:
        if not allow_24:
            raise ConfigError(f"[heartbeat.active_hours] {key}: \"24:00\" is only valid as the "
                              "end; use \"00:00\" for midnight at the start")
        return 24 * 60
    if hours > 23 or minutes > 59:
        raise ConfigError(f"[heartbeat.active_hours] {key}: {value!r} is not a time of day; "
                          "use \"00:00\" to \"23:59\" (or \"24:00\" as the end)")
    return hours * 60 + minutes


def resolve_timezone(name: str) -> tzinfo | None:
    """An IANA zone, or None for "local" (the machine's zone at the moment of the check)."""
    if name.strip().lower() in ("local", ""):
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[heartbeat.active_hours] timezone: unknown zone {name!r}; use an IANA "
                          "name like \"Europe/Berlin\" or \"local\"") from None


@dataclass(frozen=True)
class Window:
    """Active hours as minutes of the local day: [start, end); overnight when start > end."""

    start: int
    end: int
    zone: tzinfo | None  # None = the machine's local zone

    @classmethod
    def from_config(cls, hours: ActiveHours | None) -> Window | None:
        """None means "always active" (no [heartbeat.active_hours] table)."""
        if hours is None:
            return None
        return cls(start=_parse_hhmm(hours.start, "start", allow_24=False),
                   end=_parse_hhmm(hours.end, "end", allow_24=True),
                   zone=resolve_timezone(hours.timezone))

    def local(self, now: datetime) -> datetime:
        """`now` (timezone-aware) seen in the window's zone."""
        return now.astimezone(self.zone) if self.zone is not None else now.astimezone()

    def contains(self, now: datetime) -> bool:
        """Start inclusive, end exclusive; start == end is an empty window (never runs)."""
        local = self.local(now)
        minute = local.hour * 60 + local.minute
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end  # overnight, e.g. 22:00-06:00


def active_hours_problem(hours: ActiveHours | None) -> str | None:
    """Why `[heartbeat.active_hours]` keeps the heartbeat from ever running (it cannot be read,
    or the window is empty), or None when it can run. The runner and the editor's HEARTBEAT.md
    diagnostics both ask here, so "8:00" and "Local" are fine for both."""
    try:
        window = Window.from_config(hours)
    except ConfigError as exc:
        return f"{exc}; until then the heartbeat never runs"
    if hours is not None and window is not None and window.start == window.end:
        return (f"active_hours start and end are both {hours.start}: the window is empty and "
                "the heartbeat never runs")
    return None


def is_active(window: Window | None, now: datetime) -> bool:
    return window is None or window.contains(now)


def local_time(window: Window | None, now: datetime) -> datetime:
    """The time the user reads: in the active-hours zone when one is set, else the machine's."""
    return window.local(now) if window is not None else now.astimezone()
