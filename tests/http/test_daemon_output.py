"""What `localgpt daemon` prints on its terminal: its own lines, not other libraries' chatter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.http.live_daemon import (
    offline_config,
    start_daemon,
    stop_daemon,
    wait_indexed,
    write_notes,
)


@pytest.mark.parametrize("log", ["", "debug"])
def test_the_terminal_shows_no_library_info_lines_unless_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: str) -> None:
    """At the default level the MCP SDK's "StreamableHTTP session manager started" (info) is
    noise to a user; LOCALGPT_LOG=debug still shows everything."""
    home, workspace = tmp_path / "home", tmp_path / ".localgpt" / "workspace"
    home.mkdir()
    workspace.mkdir(parents=True)
    offline_config(home)
    write_notes(workspace)
    if log:
        monkeypatch.setenv("LOCALGPT_LOG", log)
    else:
        monkeypatch.delenv("LOCALGPT_LOG", raising=False)
    daemon = start_daemon(home, workspace)
    try:
        wait_indexed(daemon)
    finally:
        stop_daemon(daemon)
    said = "".join(daemon.output)
    if log:
        assert "StreamableHTTP session manager started" in said
    else:
        assert "StreamableHTTP" not in said, said
        assert said.startswith("LocalGPT daemon "), said
    assert "Traceback" not in said
