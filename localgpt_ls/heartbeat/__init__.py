"""The heartbeat: a background check of HEARTBEAT.md while an editor or the daemon runs.

OpenClaw classic semantics. `schedule` (interval, active hours), `rules` (the empty-file rule and
the HEARTBEAT_OK token rule), `lock` (one runner per workspace across processes), `store` (status
and 24 h de-duplication on disk) and `runner` (HeartbeatRunner, which ties them together around
an injected turn function). A result goes to the daily log through `localgpt_ls/daily_log.py`,
the one writer of that file.
"""

from __future__ import annotations

from localgpt_ls.heartbeat.runner import (
    PROMPT,
    HeartbeatResult,
    HeartbeatRunner,
    HeartbeatSkip,
    TurnFn,
)

__all__ = ["PROMPT", "HeartbeatResult", "HeartbeatRunner", "HeartbeatSkip", "TurnFn"]
