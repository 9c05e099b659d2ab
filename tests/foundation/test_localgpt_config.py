"""A LocalGPT user's config.toml loads: its keys that mean something here are honoured, the
rest are named in one warning line, and our own keys stay strict."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls import config as config_module
from localgpt_ls.config import load_config
from localgpt_ls.errors import ConfigError

# Every key of LocalGPT's documented full configuration reference (website/docs/
# configuration.md and config.example.toml of localgpt-app/localgpt), with its documented
# values; the comments are ours.
LOCALGPT_REFERENCE = """\
[agent]
default_model = "anthropic/claude-sonnet-4-5"
context_window = 128000
reserve_tokens = 8000

[providers.openai]
api_key = "${OPENAI_API_KEY}"
base_url = "https://api.openai.com/v1"

[providers.anthropic]
api_key = "${ANTHROPIC_API_KEY}"
base_url = "https://api.anthropic.com"

[providers.ollama]
endpoint = "http://localhost:11434"
model = "llama3"

[providers.glm]
api_key = "${GLM_API_KEY}"

[providers.claude_cli]
command = "claude"
model = "opus"
effort = "max"

[providers.gemini_cli]
command = "gemini"
model = "gemini-3.1-pro-preview"

[providers.codex_cli]
command = "codex"
model = "gpt-4o"

[providers.openai_compatible]
api_key = "${OPENROUTER_API_KEY}"
base_url = "https://openrouter.ai/api/v1"

[tools]
bash_timeout_ms = 10000
web_fetch_max_bytes = 1048576
require_approval = ["bash", "write_file"]
tool_output_max_chars = 8000
log_injection_warnings = true
use_content_delimiters = true

[heartbeat]
enabled = true
interval = "30m"
active_hours = { start = "09:00", end = "22:00" }
timezone = "America/Los_Angeles"

[memory]
workspace = "~/.local/share/localgpt/workspace"
chunk_size = 400
chunk_overlap = 80
embedding_provider = "local"
embedding_model = "all-MiniLM-L6-v2"
embedding_cache_dir = "~/.cache/localgpt/embeddings"

[server]
enabled = true
port = 31327
bind = "127.0.0.1"

[sandbox]
enabled = true
level = "auto"
timeout_secs = 120
max_output_bytes = 1048576
max_file_size_bytes = 52428800
max_processes = 64

[sandbox.allow_paths]
read = []
write = []

[sandbox.network]
policy = "deny"

[security]
strict_policy = false
disable_policy = false
disable_suffix = false

[logging]
level = "info"
path = "~/.local/state/localgpt/logs"

[telegram]
enabled = false
api_token = "${TELEGRAM_BOT_TOKEN}"
"""


def write(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fresh_notices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "_told", set())


def test_localgpt_reference_config_loads_with_one_warning(
        lg_env: Any, caplog: pytest.LogCaptureFixture) -> None:
    write(lg_env.home, LOCALGPT_REFERENCE)
    with caplog.at_level("WARNING", logger="localgpt_ls.config"):
        config = load_config()
    ignored = [r.getMessage() for r in caplog.records if "no effect here" in r.getMessage()]
    assert len(ignored) == 1
    for key in ("agent.reserve_tokens", "providers.ollama.model", "providers.claude_cli",
                "tools.log_injection_warnings", "server.enabled", "sandbox.level",
                "sandbox.network", "security", "logging", "telegram"):
        assert key in ignored[0]
    # What maps is honoured.
    assert config.tools.bash_timeout_ms == 10000  # [tools] wins over [sandbox] timeout_secs
    assert config.tools.web_fetch_max_bytes == 1048576
    assert config.tools.require_approval == ["shell", "write_file"]
    assert config.tools.tool_output_max_chars == 8000
    assert config.tools.shell_max_output_bytes == 1048576  # from [sandbox] max_output_bytes
    assert config.heartbeat.active_hours is not None
    assert (config.heartbeat.active_hours.start, config.heartbeat.active_hours.end,
            config.heartbeat.active_hours.timezone) == ("09:00", "22:00", "America/Los_Angeles")
    assert config.memory.embedding_model == "all-MiniLM-L6-v2"
    # The shipped model and a supported provider: nothing else to say.
    assert len(caplog.records) == 1


def test_sandbox_limits_apply_when_tools_says_nothing(lg_env: Any) -> None:
    write(lg_env.home, "[sandbox]\ntimeout_secs = 30\nmax_output_bytes = 4096\n")
    config = load_config()
    assert config.tools.bash_timeout_ms == 30_000
    assert config.tools.shell_max_output_bytes == 4096


def test_memory_keys_that_map(lg_env: Any) -> None:
    write(lg_env.home, '[memory]\nexternal_paths = ["~/notes"]\ntemporal_decay_lambda = 0.1\n')
    config = load_config()
    assert config.memory.paths == ["~/notes"]
    # exp(-0.1 * 7) is about one half: LocalGPT's documented example, as a half-life.
    assert config.memory.recency_half_life_days == pytest.approx(math.log(2) / 0.1)


def test_heartbeat_timezone_alone_sets_the_zone(lg_env: Any) -> None:
    write(lg_env.home, '[heartbeat]\ntimezone = "Europe/Berlin"\n')
    hours = load_config().heartbeat.active_hours
    assert hours is not None and hours.timezone == "Europe/Berlin"
    assert (hours.start, hours.end) == ("00:00", "24:00")


@pytest.mark.parametrize(("text", "warning"), [
    ('[memory]\nembedding_model = "BAAI/bge-small-en-v1.5"\n',
     "memory.embedding_model 'BAAI/bge-small-en-v1.5' is not shipped here"),
    ('[agent]\ndefault_model = "claude-cli/opus"\n',
     "agent.default_model 'claude-cli/opus' uses a provider this version does not have"),
    ('[tools]\nrequire_approval = ["web_search"]\n',
     "tools.require_approval names tools this version does not have: web_search"),
])
def test_values_that_cannot_work_here_warn(lg_env: Any, caplog: pytest.LogCaptureFixture,
                                           text: str, warning: str) -> None:
    path = write(lg_env.home, text)
    with caplog.at_level("WARNING", logger="localgpt_ls.config"):
        load_config()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and messages[0].startswith(f"{path}: {warning}")


@pytest.mark.parametrize(("text", "expected"), [
    ("[tools]\nweb_fetch_max_byte = 5\n", ":2: unknown key 'tools.web_fetch_max_byte' in "
     "[tools]; did you mean 'web_fetch_max_bytes'?"),
    ("[tools]\nshell_enable = true\n", "did you mean 'shell_enabled'?"),
    ("[agent]\nreserve_token = 1\n", "did you mean 'reserve_tokens'?"),
    ("[tools]\nbash_timeout_ms = \"10s\"\n", "'tools.bash_timeout_ms' has the wrong type"),
    ("[tools]\nweb_fetch_max_bytes = 10\n", "'tools.web_fetch_max_bytes' is out of range"),
])
def test_our_own_keys_stay_strict(lg_env: Any, text: str, expected: str) -> None:
    write(lg_env.home, text)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert expected in str(info.value)


def test_cli_warns_once_and_runs(lg_env: Any) -> None:
    write(lg_env.home, LOCALGPT_REFERENCE)
    result = subprocess.run([sys.executable, "-m", "localgpt_ls", "config", "show"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ")
    assert "agent.reserve_tokens" in lines[0]
    assert "bash_timeout_ms = 10000" in result.stdout
