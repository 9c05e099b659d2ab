"""config.toml as typed classes.

Every key has a default, so an empty or missing file is a working configuration. Reading is
strict: bad TOML, an unknown key or a wrong type is a `ConfigError` naming the file, the line or
key, and what is expected, so a typo never silently turns a setting off.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
from attrs import define, field

from localgpt_ls import config_compat, paths
from localgpt_ls.errors import ConfigError

log = logging.getLogger("localgpt_ls.config")

EmbeddingProvider = Literal["local", "openai", "ollama", "none"]


@define
class AgentConfig:
    default_model: str = "auto"
    max_tokens: int = 4096
    context_window: int = 128_000
    max_tool_rounds: int = 8
    aliases: dict[str, str] = field(factory=dict)
    # Seconds to wait for the provider's next bytes, the first included (a local model that is
    # still loading sends nothing): raise it for a slow local model.
    request_timeout: float = 120.0
    # Retries after a rate limit (429), a failing or overloaded provider (5xx) or a failed
    # connection, with backoff; 0 reports the first failure at once.
    max_retries: int = 3


@define
class AnthropicConfig:
    api_key: str | None = None
    base_url: str = "https://api.anthropic.com"


@define
class OpenAIConfig:
    api_key: str | None = None
    base_url: str = "https://api.openai.com/v1"


@define
class OllamaConfig:
    endpoint: str = "http://localhost:11434"


@define
class ProvidersConfig:
    anthropic: AnthropicConfig = field(factory=AnthropicConfig)
    openai: OpenAIConfig = field(factory=OpenAIConfig)
    ollama: OllamaConfig = field(factory=OllamaConfig)


@define
class MemoryConfig:
    workspace: str | None = None
    embedding_provider: EmbeddingProvider = "local"
    embedding_model: str | None = None
    chunk_size: int = 400
    chunk_overlap: int = 80
    paths: list[str] = field(factory=list)
    # Days after which a daily log (memory/YYYY-MM-DD.md) counts half in search, so recent days
    # rank first; MEMORY.md and knowledge never fade. 0 turns it off.
    recency_half_life_days: float = 0.0


@define
class ActiveHours:
    start: str = "00:00"
    end: str = "24:00"
    timezone: str = "local"


@define
class HeartbeatConfig:
    enabled: bool = True
    interval: str = "30m"
    active_hours: ActiveHours | None = None


@define
class ServerConfig:
    bind: str = "127.0.0.1"
    port: int = 31327
    auth_token: str | None = None
    allowed_hosts: list[str] = field(factory=list)


# Tools that always ask the user before each run, whatever [tools] require_approval says.
ALWAYS_APPROVED = ("shell", "write_file", "edit_file")


@define
class ToolsConfig:
    # More tools that ask before each run (LocalGPT's key; "bash" is read as "shell"). The
    # list only adds: shell and file edits ask whether or not they are named here.
    require_approval: list[str] = field(factory=list)
    # Characters of one tool result the model sees (longer results are cut and say so).
    tool_output_max_chars: int = 12_000
    web_fetch_enabled: bool = True
    web_fetch_max_bytes: int = 1_048_576
    web_fetch_timeout: float = 20.0
    # The sandboxed shell is off until the user turns it on (it still asks before every run).
    shell_enabled: bool = False
    bash_timeout_ms: int = 10_000
    shell_max_output_bytes: int = 65_536
    # Exact commands that may run where nobody can approve (the heartbeat, `localgpt mcp`).
    shell_allow_unattended: list[str] = field(factory=list)


@define
class Config:
    agent: AgentConfig = field(factory=AgentConfig)
    providers: ProvidersConfig = field(factory=ProvidersConfig)
    memory: MemoryConfig = field(factory=MemoryConfig)
    heartbeat: HeartbeatConfig = field(factory=HeartbeatConfig)
    server: ServerConfig = field(factory=ServerConfig)
    tools: ToolsConfig = field(factory=ToolsConfig)
    source: Path | None = field(default=None, metadata={"internal": True})
    # What loading had to say without failing (LocalGPT keys that do nothing here).
    notices: list[str] = field(factory=list, metadata={"internal": True})

    def workspace(self) -> Path:
        return paths.resolve_workspace(self.memory.workspace)


for _cls in (AgentConfig, AnthropicConfig, OpenAIConfig, OllamaConfig, ProvidersConfig,
             MemoryConfig, ActiveHours, HeartbeatConfig, ServerConfig, ToolsConfig, Config):
    # Annotations are strings under `from __future__ import annotations`; resolve them once so
    # the unknown-key walk below can see nested classes.
    attrs.resolve_types(_cls)

# Keys whose values are secrets: `${VAR}` expands in them and they are never printed.
SECRET_KEYS = {("providers", "anthropic", "api_key"), ("providers", "openai", "api_key"),
               ("server", "auth_token")}

_converter = cattrs.Converter(forbid_extra_keys=True)


def _structure_strict_int(value: Any, _type: type) -> int:
    # cattrs would turn "12" or 3.7 into an int; a config file that says so is a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__} {value!r}")
    return value


def _structure_strict_float(value: Any, _type: type) -> float:
    # cattrs would take "5" or true as a number; a whole number is a fine float (timeout = 5).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def _structure_strict_str(value: Any, _type: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _structure_strict_bool(value: Any, _type: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__} {value!r}")
    return value


def _structure_str_list(value: Any, _type: type) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of strings, got {type(value).__name__} {value!r}")
    return [_structure_strict_str(v, str) for v in value]


_converter.register_structure_hook_func(lambda t: t == list[str], _structure_str_list)
_converter.register_structure_hook(int, _structure_strict_int)
_converter.register_structure_hook(float, _structure_strict_float)
_converter.register_structure_hook(str, _structure_strict_str)
_converter.register_structure_hook(bool, _structure_strict_bool)

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_secret(value: str | None) -> str | None:
    """Expand `${VAR}` from the environment; an unset variable leaves the secret unset."""
    if value is None:
        return None
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        got = os.environ.get(m.group(1))
        if got is None:
            missing = True
            return ""
        return got

    expanded = _VAR.sub(sub, value)
    return None if missing or not expanded else expanded


def _known_keys(cls: type) -> list[str]:
    return [a.name for a in attrs.fields(cls) if not a.metadata.get("internal")]


def _find_line(text: str, section: list[str], key: str) -> int | None:
    """Best-effort line of `key` inside `[section]`; tomllib reports no positions for keys."""
    header = ".".join(section)
    in_section = not section
    key_re = re.compile(rf"^\s*(\"?){re.escape(key)}\1\s*=")
    header_re = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
    for number, line in enumerate(text.splitlines(), start=1):
        m = header_re.match(line)
        if m:
            name = m.group(1).replace('"', "")
            if name == ".".join([*section, key]):
                return number
            in_section = name == header
            continue
        if in_section and key_re.match(line):
            return number
    return None


def _check_unknown_keys(data: Any, cls: type, where: list[str], file: Path, text: str) -> None:
    """Reject unknown keys with the closest valid name, before cattrs sees the data."""
    if not isinstance(data, dict) or not attrs.has(cls):
        return
    known = _known_keys(cls)
    for key, value in data.items():
        if key not in known:
            line = _find_line(text, where, key)
            place = f"{file}:{line}" if line else str(file)
            dotted = ".".join([*where, key])
            close = difflib.get_close_matches(
                key, known + config_compat.keys_in([*where]), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            section = f"[{'.'.join(where)}]" if where else "the top level"
            raise ConfigError(f"{place}: unknown key '{dotted}' in {section}; {hint}")
        attr = attrs.fields_dict(cls)[key]
        inner = _attrs_class_of(attr.type)
        if inner is not None:
            _check_unknown_keys(value, inner, [*where, key], file, text)


def _attrs_class_of(tp: Any) -> type | None:
    if isinstance(tp, type) and attrs.has(tp):
        return tp
    for arg in getattr(tp, "__args__", ()) or ():
        if isinstance(arg, type) and attrs.has(arg):
            return arg
    return None


def _describe(exc: BaseException, tp: Any) -> str:
    args = getattr(tp, "__args__", None)
    if args and all(isinstance(a, str) for a in args):
        return f"expected one of {', '.join(repr(a) for a in args)}"
    if isinstance(exc, TypeError | ValueError) and str(exc).startswith("expected"):
        return str(exc)
    target = _attrs_class_of(tp)
    if target is not None:
        return "expected a table like [section.key]"
    name = getattr(tp, "__name__", str(tp))
    return f"expected {name}"


def _type_error_message(exc: Exception, file: Path, text: str) -> str:
    """Turn a cattrs validation error into 'file:line: key: expected ...'."""
    for message in cattrs.transform_error(exc, path="config", format_exception=_describe):
        # cattrs says e.g. "invalid value for type, expected int @ config.agent.max_tokens".
        detail, _, where = message.partition(" @ ")
        keys = where.split(".")[1:]
        line = _find_line(text, keys[:-1], keys[-1]) if keys else None
        place = f"{file}:{line}" if line else str(file)
        return f"{place}: '{'.'.join(keys)}' has the wrong type ({detail})"
    return f"{file}: {exc}"


@define(frozen=True)
class Range:
    """Numbers a key's type allows but that would break something (a zero timeout fails every
    call, port 99999 cannot be bound, chunk_size 0 cuts notes into thousands of scraps).
    schemas/config.schema.json states the same bounds (a test compares them)."""

    section: str
    key: str
    minimum: float
    maximum: float | None
    expected: str  # what to write instead, for the error message
    exclusive_minimum: bool = False

    def allows(self, value: float) -> bool:
        above = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        return above and (self.maximum is None or value <= self.maximum)


MIN_CHUNK_TOKENS = 16  # about one sentence: less and a note falls apart into scraps
MAX_CHUNK_TOKENS = 8192

RANGES = (
    Range("agent", "request_timeout", 0, None,
          "a number of seconds above 0, e.g. 300 for a slow local model", exclusive_minimum=True),
    Range("agent", "max_retries", 0, 20, "a whole number from 0 to 20"),
    Range("memory", "chunk_size", MIN_CHUNK_TOKENS, MAX_CHUNK_TOKENS,
          f"a whole number of tokens from {MIN_CHUNK_TOKENS} to {MAX_CHUNK_TOKENS}; "
          "400 is the default"),
    Range("memory", "chunk_overlap", 0, MAX_CHUNK_TOKENS - 1,
          "a whole number of tokens from 0 up to less than chunk_size; 80 is the default"),
    Range("memory", "recency_half_life_days", 0, None,
          "a number of days, 0 (off) or more, e.g. 30: a 30-day-old daily log counts half"),
    Range("server", "port", 1, 65535, "a port number from 1 to 65535; 31327 is the default"),
    Range("tools", "tool_output_max_chars", 500, 1_000_000,
          "a number of characters from 500 to 1000000; 12000 is the default"),
    Range("tools", "web_fetch_max_bytes", 1024, 100_000_000,
          "a number of bytes from 1024 to 100000000; 1048576 (1 MB) is the default"),
    Range("tools", "web_fetch_timeout", 0, 300,
          "a number of seconds above 0, at most 300; 20 is the default", exclusive_minimum=True),
    Range("tools", "bash_timeout_ms", 100, 3_600_000,
          "milliseconds from 100 to 3600000; 10000 is the default"),
    Range("tools", "shell_max_output_bytes", 1024, 10_000_000,
          "a number of bytes from 1024 to 10000000; 65536 is the default"),
)


def _out_of_range(file: Path, text: str, section: str, key: str, expected: str) -> ConfigError:
    line = _find_line(text, [section], key)
    place = f"{file}:{line}" if line else str(file)
    return ConfigError(f"{place}: '{section}.{key}' is out of range (expected {expected})")


def _check_ranges(config: Config, file: Path, text: str) -> None:
    """Reject values outside RANGES, and an overlap that is not smaller than its chunk."""
    for r in RANGES:
        if not r.allows(getattr(getattr(config, r.section), r.key)):
            raise _out_of_range(file, text, r.section, r.key, r.expected)
    mem = config.memory
    if mem.chunk_overlap < mem.chunk_size:
        return
    if _find_line(text, ["memory"], "chunk_overlap") is None:
        # Only chunk_size was written: the default overlap is what no longer fits.
        raise _out_of_range(file, text, "memory", "chunk_size",
                            f"more than chunk_overlap, {mem.chunk_overlap} by default; raise "
                            f"chunk_size or set chunk_overlap below it")
    raise _out_of_range(file, text, "memory", "chunk_overlap",
                        f"a whole number of tokens smaller than chunk_size "
                        f"({mem.chunk_size}), from 0 to {mem.chunk_size - 1}")


def parse_config(text: str, file: Path) -> Config:
    """Structure the text of a config file; raises ConfigError with file and line."""
    # Windows editors (Notepad) save UTF-8 with a byte-order mark, which TOML does not allow.
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}; fix the line or run "
                          f"`localgpt config init --force` for a fresh file") from None
    data, notices = config_compat.translate(data)
    _check_unknown_keys(data, Config, [], file, text)
    try:
        config = _converter.structure(data, Config)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise ConfigError(_type_error_message(exc, file, text)) from None
    _check_ranges(config, file, text)
    config.providers.anthropic.api_key = expand_secret(config.providers.anthropic.api_key)
    config.providers.openai.api_key = expand_secret(config.providers.openai.api_key)
    config.server.auth_token = expand_secret(config.server.auth_token)
    config.source = file
    config.notices = [f"{file}: {n}" for n in notices + config_compat.check(config)]
    return config


def load_config(file: Path | None = None) -> Config:
    """Read `$LOCALGPT_HOME/config.toml` (or `file`); a missing file means all defaults."""
    file = file or paths.config_path()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        why = paths.home_problem() or exc.strerror
        raise ConfigError(f"{file}: cannot read the config file: {why}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    config = parse_config(text, file)
    for notice in config.notices:
        if notice not in _told:
            _told.add(notice)
            log.warning("%s", notice)
    return config


# Notices already logged by this process: a door that reloads its config says each one once.
_told: set[str] = set()


def to_dict(config: Config, redact: bool = True) -> dict[str, Any]:
    """The config as plain data (for `config show`); secrets are masked unless redact=False."""
    data: dict[str, Any] = _converter.unstructure(config)
    data.pop("source", None)
    data.pop("notices", None)
    if redact:
        for section, *rest in SECRET_KEYS:
            node = data[section]
            for key in rest[:-1]:
                node = node[key]
            if node.get(rest[-1]):
                node[rest[-1]] = "********"
    return data


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for the shapes above (tables, strings, numbers, bools, lists)."""
    scalars: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict) and not (prefix.endswith("aliases") or key == "aliases"):
            name = f"{prefix}.{key}" if prefix else key
            body = to_toml(value, name)
            tables.append(f"[{name}]\n{body}" if body.strip() else f"[{name}]\n")
        else:
            scalars.append(f"{key} = {_toml_value(value)}")
    out = "\n".join(scalars)
    if scalars:
        out += "\n"
    if tables:
        out += ("\n" if scalars else "") + "\n".join(tables)
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
