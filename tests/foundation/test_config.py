"""config.toml: defaults, strict errors a user can act on, secrets, and the JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from localgpt_ls.config import Config, load_config, parse_config, to_dict
from localgpt_ls.errors import ConfigError

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "config.schema.json").read_text())


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localgpt_ls", *args],
                          capture_output=True, text=True, timeout=60)


def write_config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_gives_working_defaults(lg_env: Any) -> None:
    config = load_config()
    assert config.agent.default_model == "auto"
    assert config.memory.embedding_provider == "local"
    assert config.workspace() == lg_env.workspace.resolve()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[agent]\nmax_tokens = 1\nmax_tokns = 3\n", ":3: unknown key 'agent.max_tokns'"),
        ("[agent]\nmax_tokns = 3\n", "did you mean 'max_tokens'?"),
        ("[memroy]\n", "unknown key 'memroy' in the top level; did you mean 'memory'?"),
        ("[heartbeat.active_hours]\nstrat = '09:00'\n", "did you mean 'start'?"),
        ("[agent]\nmax_tokens = \"many\"\n", ":2: 'agent.max_tokens' has the wrong type"),
        ("[memory]\nembedding_provider = \"gpu\"\n", "expected one of 'local', 'openai'"),
        ("[heartbeat]\nenabled = 1\n", "expected true or false"),
        ("[memory]\npaths = \"notes\"\n", "expected a list of strings"),
        ("[agent\nmax_tokens = 1\n", "not valid TOML"),
        ("[agent]\nmax_tokens = \n", "line 2"),
        ("[agent]\nmax_tokens = 5\nrequest_timeout = 0\n",
         ":3: 'agent.request_timeout' is out of range (expected a number of seconds above 0"),
        ("[agent]\nmax_retries = -1\n", ":2: 'agent.max_retries' is out of range"),
        ("[server]\nport = 99999\n",
         ":2: 'server.port' is out of range (expected a port number from 1 to 65535"),
        ("[server]\nport = 0\n", ":2: 'server.port' is out of range"),
        ("[memory]\nchunk_size = 0\n",
         ":2: 'memory.chunk_size' is out of range (expected a whole number of tokens from 16 "
         "to 8192"),
        ("[memory]\nchunk_size = -5\n", ":2: 'memory.chunk_size' is out of range"),
        ("[memory]\nchunk_overlap = -1\n", ":2: 'memory.chunk_overlap' is out of range"),
        ("[memory]\nchunk_size = 400\nchunk_overlap = 1000\n",
         ":3: 'memory.chunk_overlap' is out of range (expected a whole number of tokens smaller "
         "than chunk_size (400), from 0 to 399)"),
        ("[memory]\nchunk_size = 64\nchunk_overlap = 64\n", "smaller than chunk_size (64)"),
        ("[memory]\nchunk_size = 50\n",
         ":2: 'memory.chunk_size' is out of range (expected more than chunk_overlap, 80 by "
         "default"),
        ("[memory]\nrecency_half_life_days = -1\n",
         ":2: 'memory.recency_half_life_days' is out of range (expected a number of days, 0"),
        ("[memory]\nrecency_half_life_days = \"30d\"\n",
         ":2: 'memory.recency_half_life_days' has the wrong type (expected a number"),
        ("[agent]\nrequest_timeout = \"5\"\n",
         ":2: 'agent.request_timeout' has the wrong type (expected a number, got str '5')"),
        ("[agent]\nrequest_timeout = true\n",
         ":2: 'agent.request_timeout' has the wrong type (expected a number, got bool True)"),
    ],
)
def test_bad_config_is_one_clear_error(lg_env: Any, text: str, expected: str) -> None:
    path = write_config(lg_env.home, text)
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text",
    ["[agent]\nmax_tokns = 3\n", "[agent]\nmax_tokens = 'x'\n", "[agent\n"],
    ids=["unknown-key", "wrong-type", "bad-toml"],
)
def test_cli_reports_config_errors_without_traceback(lg_env: Any, text: str) -> None:
    write_config(lg_env.home, text)
    result = run_cli("config", "show")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("localgpt: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_whole_number_is_a_fine_float(lg_env: Any) -> None:
    write_config(lg_env.home, "[agent]\nrequest_timeout = 5\n")
    timeout = load_config().agent.request_timeout
    assert timeout == 5.0 and isinstance(timeout, float)


def test_utf8_bom_is_accepted(lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_bytes(b"\xef\xbb\xbf[agent]\nmax_tokens = 7\n")
    assert load_config().agent.max_tokens == 7
    (lg_env.home / "config.toml").write_bytes(b"\xef\xbb\xbf[agent]\nmax_tokns = 7\n")
    with pytest.raises(ConfigError, match=r"config.toml:2: unknown key 'agent.max_tokns'"):
        load_config()


def test_non_utf8_config_is_reported(lg_env: Any) -> None:
    (lg_env.home / "config.toml").write_bytes(b"[agent]\ndefault_model = \"\xff\"\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config()


def test_secrets_expand_from_environment(lg_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-test-123")
    write_config(lg_env.home, '[providers.openai]\napi_key = "${MY_KEY}"\n'
                              '[providers.anthropic]\napi_key = "${UNSET_VAR_XYZ}"\n')
    config = load_config()
    assert config.providers.openai.api_key == "sk-test-123"
    assert config.providers.anthropic.api_key is None


def test_config_show_masks_secrets(lg_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(lg_env.home, '[providers.anthropic]\napi_key = "sk-ant-secret"\n')
    result = run_cli("config", "show")
    assert result.returncode == 0, result.stderr
    assert "sk-ant-secret" not in result.stdout
    assert "********" in result.stdout


def test_config_init_writes_a_file_that_loads_back(lg_env: Any) -> None:
    assert run_cli("config", "init").returncode == 0
    path = lg_env.home / "config.toml"
    assert load_config(path) == parse_config(path.read_text(), path)
    assert load_config(path).agent == Config().agent
    again = run_cli("config", "init")
    assert again.returncode == 2 and "--force" in again.stderr
    assert run_cli("config", "path").stdout.strip() == str(path)


def test_config_init_when_home_is_a_file_is_one_clear_line(
        lg_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "home-file"
    blocker.write_text("x")
    monkeypatch.setenv("LOCALGPT_HOME", str(blocker))
    for command in (("config", "init"), ("config", "show"), ("init",)):
        result = run_cli(*command)
        assert result.returncode == 2, command
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("localgpt: error: ")
        assert len(result.stderr.strip().splitlines()) == 1
        assert f"LOCALGPT_HOME ({blocker}) is a file, not a folder" in result.stderr


def _schema_keys(node: dict[str, Any], prefix: str = "", deprecated: bool = False) -> set[str]:
    """Dotted keys of the schema: ours, or (deprecated=True) LocalGPT's that load with a
    warning."""
    keys = set()
    for name, sub in node.get("properties", {}).items():
        dotted = f"{prefix}{name}"
        if bool(sub.get("deprecated")) == deprecated:
            keys.add(dotted)
        if deprecated or not sub.get("deprecated"):
            keys |= _schema_keys(sub, dotted + ".", deprecated)
    return keys


def _class_keys(cls: type, prefix: str = "") -> set[str]:
    keys = set()
    for field in attrs.fields(cls):
        if field.metadata.get("internal"):
            continue
        dotted = f"{prefix}{field.name}"
        keys.add(dotted)
        inner = field.type
        for candidate in (inner, *getattr(inner, "__args__", ())):
            if isinstance(candidate, type) and attrs.has(candidate):
                keys |= _class_keys(candidate, dotted + ".")
    return keys


def test_schema_and_classes_have_the_same_keys() -> None:
    assert _schema_keys(SCHEMA) == _class_keys(Config)


def test_schema_lists_the_localgpt_keys_the_loader_accepts() -> None:
    from localgpt_ls import config_compat as compat

    accepted = {f"{section}.{name}" if section else name
                for table in (compat.IGNORED, compat.MAPPED)
                for section, names in table.items() for name in names}
    accepted |= {"sandbox"} | {f"sandbox.{n}" for n in
                               (*compat.SANDBOX_MAPPED, *compat.SANDBOX_IGNORED)}
    assert _schema_keys(SCHEMA, deprecated=True) == accepted


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


@pytest.mark.parametrize(
    "config",
    [Config(), parse_config("[heartbeat.active_hours]\nstart='22:00'\nend='06:00'\n", Path("x"))],
    ids=["defaults", "overnight"],
)
def test_configs_validate_against_schema(config: Config) -> None:
    jsonschema.validate(_drop_none(to_dict(config, redact=False)), SCHEMA)


def test_schema_states_the_loaders_ranges() -> None:
    from localgpt_ls.config import RANGES

    for r in RANGES:
        prop = SCHEMA["properties"][r.section]["properties"][r.key]
        lower = "exclusiveMinimum" if r.exclusive_minimum else "minimum"
        assert prop.get(lower) == r.minimum, f"{r.section}.{r.key} {lower}"
        assert prop.get("maximum") == r.maximum, f"{r.section}.{r.key} maximum"


def test_recency_is_off_by_default_and_configurable(lg_env: Any) -> None:
    assert Config().memory.recency_half_life_days == 0
    write_config(lg_env.home, "[memory]\nrecency_half_life_days = 30\n")
    assert load_config().memory.recency_half_life_days == 30.0


def test_in_range_values_load(lg_env: Any) -> None:
    write_config(lg_env.home, "[memory]\nchunk_size = 16\nchunk_overlap = 15\n"
                              "[server]\nport = 65535\n")
    config = load_config()
    assert (config.memory.chunk_size, config.memory.chunk_overlap) == (16, 15)
    assert config.server.port == 65535


def test_daemon_with_a_bad_port_is_one_clear_line(lg_env: Any) -> None:
    write_config(lg_env.home, "[server]\nport = 99999\n")
    result = run_cli("daemon")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("localgpt: error: ")
    assert "'server.port' is out of range" in result.stderr


def test_schema_rejects_what_the_loader_rejects() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"agent": {"max_tokns": 3}}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"memory": {"embedding_provider": "gpu"}}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"agent": {"request_timeout": 0}}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"server": {"port": 99999}}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"memory": {"chunk_size": 0}}, SCHEMA)
