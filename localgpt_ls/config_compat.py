"""LocalGPT's own config.toml, read here: we share its home folder and file name.

LocalGPT documents keys this version has no use for (`[agent] reserve_tokens`, `[sandbox]`,
`[telegram]`, ...). Refusing them would stop a LocalGPT user at their first command, so they
are taken apart before the strict check: those that mean something here are moved onto our
keys, the rest are named in one notice and dropped. Everything else stays strict, so a typo in
one of our own keys is still an error (with LocalGPT's names among the suggestions).
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localgpt_ls.config import Config

# LocalGPT keys with no effect here, by section ("" is the top level). A name that is a table
# in LocalGPT's docs (providers.xai, tools.web_search, sandbox.network) goes whole.
IGNORED: dict[str, tuple[str, ...]] = {
    "": ("security", "logging", "telegram"),
    "agent": ("reserve_tokens",),
    "providers": ("xai", "claude_cli", "gemini_cli", "codex_cli", "openai_compatible", "glm",
                  "gemini", "vertex", "github_copilot"),
    "providers.ollama": ("model",),
    "tools": ("log_injection_warnings", "use_content_delimiters", "web_search"),
    "heartbeat": ("timeout",),
    "memory": ("backend", "embedding_cache_dir"),
    "server": ("enabled",),
}
# LocalGPT keys whose meaning moves onto one of ours (see translate).
MAPPED: dict[str, tuple[str, ...]] = {
    "heartbeat": ("timezone",),
    "memory": ("external_paths", "temporal_decay_lambda"),
}
# The [sandbox] table: two limits apply to our shell; the kernel-level knobs do not exist here
# (the shell always runs under bubblewrap with no network).
SANDBOX_MAPPED = ("timeout_secs", "max_output_bytes")
SANDBOX_IGNORED = ("enabled", "level", "max_file_size_bytes", "max_processes", "allow_paths",
                   "network")

SHIPPED_EMBEDDING_MODELS = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2",
                            "all-minilm-l6-v2-int8"}
MODEL_PROVIDERS = ("anthropic", "openai", "ollama")
# Tool names [tools] require_approval may list (LocalGPT calls the shell "bash").
TOOL_NAMES = ("memory_search", "memory_get", "memory_append", "heartbeat_done", "read_file",
              "write_file", "edit_file", "web_fetch", "shell", "skill")
TOOL_ALIASES = {"bash": "shell"}


def keys_in(section: list[str]) -> list[str]:
    """LocalGPT's key names in `section`, so a near-miss can be told its closest spelling."""
    name = ".".join(section)
    names = [*IGNORED.get(name, ()), *MAPPED.get(name, ())]
    if name == "":
        names.append("sandbox")
    if name == "sandbox":
        names += [*SANDBOX_MAPPED, *SANDBOX_IGNORED]
    return names


def _table(data: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    node: Any = data
    for part in dotted.split(".") if dotted else ():
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def translate(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(data with LocalGPT's keys moved or removed, notices). `data` itself is not changed."""
    data = copy.deepcopy(data)
    dropped: list[str] = []
    notices: list[str] = []

    for section, names in IGNORED.items():
        table = _table(data, section)
        if table is None:
            continue
        for name in names:
            if name in table:
                del table[name]
                dropped.append(f"{section}.{name}" if section else name)

    tools = data.get("tools") if isinstance(data.get("tools"), dict) else None
    sandbox = data.pop("sandbox", None)
    if isinstance(sandbox, dict):
        for key, value in sandbox.items():
            ours = {"timeout_secs": "bash_timeout_ms",
                    "max_output_bytes": "shell_max_output_bytes"}.get(key)
            if ours is None or not _is_number(value):
                dropped.append(f"sandbox.{key}")
                continue
            if tools is None:
                tools = data["tools"] = {}
            # [tools] wins where both are given: it is the more specific of the two.
            tools.setdefault(ours, int(value * 1000) if key == "timeout_secs" else int(value))
    elif sandbox is not None:
        dropped.append("sandbox")

    if tools is not None and isinstance(tools.get("require_approval"), list):
        tools["require_approval"] = [TOOL_ALIASES.get(n, n) if isinstance(n, str) else n
                                     for n in tools["require_approval"]]

    heartbeat = _table(data, "heartbeat")
    if heartbeat is not None and "timezone" in heartbeat:
        zone = heartbeat.pop("timezone")
        hours = heartbeat.setdefault("active_hours", {})
        if isinstance(hours, dict) and isinstance(zone, str):
            hours.setdefault("timezone", zone)
        else:
            dropped.append("heartbeat.timezone")

    memory = _table(data, "memory")
    if memory is not None:
        if "external_paths" in memory:
            extra = memory.pop("external_paths")
            paths = memory.setdefault("paths", [])
            if isinstance(extra, list) and isinstance(paths, list):
                paths.extend(p for p in extra if p not in paths)
            else:
                dropped.append("memory.external_paths")
        if "temporal_decay_lambda" in memory:
            rate = memory.pop("temporal_decay_lambda")
            # LocalGPT weighs a note by exp(-rate * age_days); ours halves every N days.
            if _is_number(rate) and rate > 0:
                memory.setdefault("recency_half_life_days", math.log(2) / rate)
            elif not (_is_number(rate) and rate == 0):
                dropped.append("memory.temporal_decay_lambda")

    if dropped:
        notices.append("LocalGPT settings with no effect here are ignored: "
                       + ", ".join(dropped))
    return data, notices


def check(config: Config) -> list[str]:
    """Notices about values that load but will not do what a LocalGPT user expects."""
    notices = []
    mem = config.memory
    if (mem.embedding_provider == "local" and mem.embedding_model
            and mem.embedding_model.strip().lower() not in SHIPPED_EMBEDDING_MODELS):
        notices.append(f"memory.embedding_model {mem.embedding_model!r} is not shipped here; "
                       "the local provider uses all-MiniLM-L6-v2 (remove the key to silence "
                       "this)")
    model = config.agent.default_model.strip()
    provider, sep, _ = model.partition("/")
    if sep and provider not in MODEL_PROVIDERS and model not in config.agent.aliases:
        notices.append(f"agent.default_model {model!r} uses a provider this version does not "
                       f"have ({', '.join(MODEL_PROVIDERS)}); set e.g. \"anthropic/"
                       "claude-sonnet-4-5\" or \"auto\"")
    unknown = [n for n in config.tools.require_approval if n not in TOOL_NAMES]
    if unknown:
        notices.append("tools.require_approval names tools this version does not have: "
                       + ", ".join(unknown))
    return notices
