"""Model names: `provider/model`, aliases, and "auto" (the first provider that is available).

"auto" never fails: with no key and no local Ollama it resolves to memory-only mode, where the
assistant answers from memory search alone and says how to configure a model.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass

import httpx

from localgpt_ls.config import Config
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.llm.anthropic import AnthropicProvider
from localgpt_ls.llm.base import Provider
from localgpt_ls.llm.errors import NoKeyError, ProviderSettingError
from localgpt_ls.llm.ollama import OllamaProvider
from localgpt_ls.llm.openai import OpenAIProvider
from localgpt_ls.llm.transport import RetryPolicy, endpoint_url, header_key

log = logging.getLogger("localgpt_ls.llm")

PROVIDERS = ("anthropic", "openai", "ollama")
MEMORY_ONLY = "memory-only"
BUILTIN_ALIASES = {
    "opus": "anthropic/claude-opus-4-5",
    "sonnet": "anthropic/claude-sonnet-4-5",
    "haiku": "anthropic/claude-haiku-4-5",
    "gpt": "openai/gpt-5",
    "gpt-mini": "openai/gpt-5-mini",
}
AUTO_DEFAULTS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-5-mini"}
OLLAMA_PROBE_TIMEOUT = 0.3


@dataclass(frozen=True)
class ModelChoice:
    """A resolved model. provider is one of PROVIDERS or MEMORY_ONLY."""

    provider: str
    model: str = ""

    @property
    def label(self) -> str:
        return MEMORY_ONLY if self.provider == MEMORY_ONLY else f"{self.provider}/{self.model}"

    @property
    def memory_only(self) -> bool:
        return self.provider == MEMORY_ONLY


def aliases(config: Config) -> dict[str, str]:
    """Built-in aliases overlaid with [agent] aliases from config.toml."""
    return {**BUILTIN_ALIASES, **config.agent.aliases}


KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def _key_and_source(config: Config, provider: str) -> tuple[str | None, str]:
    """The provider's API key, config.toml first then the environment, with surrounding
    whitespace removed (a blank value counts as unset), and where it was set, so a message
    about a bad key can say which setting to fix."""
    section = config.providers.anthropic if provider == "anthropic" else config.providers.openai
    configured = (section.api_key or "").strip()
    if configured:
        return configured, f"[providers.{provider}] api_key in config.toml"
    env = KEY_ENV[provider]
    from_env = os.environ.get(env, "").strip()
    if from_env:
        return from_env, f"the {env} environment variable"
    return None, ""


def anthropic_key(config: Config) -> str | None:
    return _key_and_source(config, "anthropic")[0]


def openai_key(config: Config) -> str | None:
    return _key_and_source(config, "openai")[0]


def checked_key(config: Config, provider: str) -> str | None:
    """The key as it will be sent; one that cannot go in a header is a clear error naming
    its setting (checked here, not in "auto", so a bad key is reported, not skipped)."""
    key, where = _key_and_source(config, provider)
    return header_key(provider, key, where)


OLLAMA_PORT = 11434


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """("host", "port" or "") of `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6
    address; None when it is none of those."""
    if hostport.startswith("["):
        end = hostport.find("]")
        rest = hostport[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            return None
        return hostport[1:end], rest[1:]
    if hostport.count(":") > 1:  # "::" or "fe80::1": an IPv6 address without brackets
        try:
            ipaddress.IPv6Address(hostport)
        except ValueError:
            return None
        return hostport, ""
    host, _, port = hostport.partition(":")
    return host, port


def ollama_host_url(value: str) -> str:
    """OLLAMA_HOST as Ollama's own clients read it, so the variable set for `ollama serve`
    also finds that server: no scheme means http on port 11434 (http:// alone means 80,
    https:// 443), no host means 127.0.0.1, a path is kept, an invalid port falls back to the
    default, and the "listen everywhere" addresses 0.0.0.0 and :: mean loopback for a client.

    A value that is not host[:port] at all comes back as given, for endpoint_url to refuse.
    """
    value = value.strip().strip("\"'").strip()
    scheme, sep, rest = value.partition("://")
    default_port = {"http": 80, "https": 443}.get(scheme, OLLAMA_PORT) if sep else OLLAMA_PORT
    if not sep:
        scheme, rest = "http", value
    hostport, _, path = rest.partition("/")
    parts = _split_host_port(hostport)
    if parts is None:
        return f"{scheme}://{rest}"
    host, port_text = parts
    host = host or "127.0.0.1"
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
    if port is None:
        if port_text:
            log.warning("OLLAMA_HOST has an invalid port; using %d as Ollama does", default_port)
        port = default_port
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and ip.is_unspecified:
        host = "127.0.0.1" if ip.version == 4 else "::1"
    if ":" in host:
        host = f"[{host}]"
    path = path.strip("/")
    return f"{scheme}://{host}:{port}" + (f"/{path}" if path else "")


def ollama_setting(config: Config) -> tuple[str, str]:
    """(URL, where it was set): [providers.ollama] endpoint, or OLLAMA_HOST when the config
    keeps the default."""
    configured = config.providers.ollama.endpoint
    host = os.environ.get("OLLAMA_HOST", "").strip()
    if host and configured == "http://localhost:11434":
        return ollama_host_url(host), "the OLLAMA_HOST environment variable"
    return configured, OllamaProvider.URL_SETTING


def ollama_endpoint(config: Config) -> str:
    return ollama_setting(config)[0]


def parse_model(name: str, config: Config) -> ModelChoice:
    """`provider/model` or an alias -> ModelChoice, without touching the network.

    "auto" is not handled here (see resolve_model)."""
    table = aliases(config)
    seen = set()
    while name in table and name not in seen:
        seen.add(name)
        name = table[name]
    if name == MEMORY_ONLY:
        return ModelChoice(MEMORY_ONLY)
    provider, sep, model = name.partition("/")
    if sep and provider in PROVIDERS and model:
        return ModelChoice(provider, model)
    if not sep and name.startswith("claude"):
        return ModelChoice("anthropic", name)
    known = ", ".join(sorted(table))
    raise LocalGPTError(f"unknown model '{name}': use provider/model (anthropic/..., openai/..., "
                        f"ollama/...) or an alias ({known}); add aliases under [agent.aliases] "
                        "in config.toml")


async def _first_model(url: str, read: str, timeout: float) -> str | None:
    """The first model a server lists at `url` (`read`: the JSON list's key, "models" for
    Ollama's name, "data" for OpenAI's id), or None when it does not answer that quickly."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
            if response.status_code != 200:
                return None
            listed = response.json().get(read) or []
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, AttributeError, OverflowError,
            OSError):
        return None
    field = "id" if read == "data" else "name"
    names = [m.get(field) or m.get("model") for m in listed if isinstance(m, dict)]
    return next((n for n in names if isinstance(n, str) and n), None)


async def probe_ollama(endpoint: str, timeout: float = OLLAMA_PROBE_TIMEOUT) -> str | None:
    """The first installed model of an Ollama that answers quickly, else None.

    "auto" must never fail, so an endpoint that is not even a valid URL counts as no Ollama
    (memory-only mode still answers); naming the model explicitly reports the bad setting."""
    try:
        base = endpoint_url("ollama", endpoint, "the Ollama endpoint", OllamaProvider.URL_EXAMPLE)
    except ProviderSettingError as exc:
        log.info("not probing Ollama: %s", exc)
        return None
    return await _first_model(base + "/api/tags", "models", timeout)


async def probe_openai_server(base_url: str, timeout: float = OLLAMA_PROBE_TIMEOUT
                              ) -> str | None:
    """The first model of the OpenAI-compatible server at `[providers.openai] base_url` (LM
    Studio, llama.cpp, vLLM) when it is not OpenAI's own and answers quickly, else None."""
    if "api.openai.com" in base_url:
        return None
    try:
        base = endpoint_url("openai", base_url, "[providers.openai] base_url",
                            "http://localhost:1234/v1")
    except ProviderSettingError as exc:
        log.info("not probing the OpenAI-compatible server: %s", exc)
        return None
    return await _first_model(base + "/models", "data", timeout)


async def resolve_model(name: str | None, config: Config) -> ModelChoice:
    """The model to use: `name`, else [agent] default_model; "auto" picks Anthropic if a key is
    set, else OpenAI if a key is set, else the first model of a local OpenAI-compatible server
    set as `[providers.openai] base_url`, else a running Ollama, else memory-only mode."""
    name = (name or config.agent.default_model or "auto").strip()
    if name != "auto":
        return parse_model(name, config)
    if anthropic_key(config):
        return ModelChoice("anthropic", AUTO_DEFAULTS["anthropic"])
    if openai_key(config):
        return ModelChoice("openai", AUTO_DEFAULTS["openai"])
    served = await probe_openai_server(config.providers.openai.base_url)
    if served:
        return ModelChoice("openai", served)
    found = await probe_ollama(ollama_endpoint(config))
    if found:
        return ModelChoice("ollama", found)
    log.info("no model configured: memory-only mode")
    return ModelChoice(MEMORY_ONLY)


def retry_policy(max_retries: int = 3) -> RetryPolicy:
    """The retry policy (`[agent] max_retries`); LOCALGPT_RETRY_BASE (seconds) shortens the
    backoff for tests."""
    policy = RetryPolicy(max_retries=max_retries)
    base = os.environ.get("LOCALGPT_RETRY_BASE")
    if base:
        try:
            policy.base = max(0.0, float(base))
            policy.max_delay = max(policy.base, 0.001) * 8
        except ValueError:
            pass
    return policy


def build_provider(choice: ModelChoice, config: Config,
                   retry: RetryPolicy | None = None) -> Provider:
    """The provider object for a resolved model; a missing key is a clear error."""
    retry = retry or retry_policy(config.agent.max_retries)
    if choice.provider == "anthropic":
        key = checked_key(config, "anthropic")
        if not key:
            raise NoKeyError("anthropic", "no API key: set ANTHROPIC_API_KEY or api_key under "
                             "[providers.anthropic] in config.toml (api_key = "
                             "\"${ANTHROPIC_API_KEY}\" reads it from the environment)")
        return AnthropicProvider(choice.model, key, config.providers.anthropic.base_url, retry)
    if choice.provider == "openai":
        key = checked_key(config, "openai")
        base = config.providers.openai.base_url
        if not key and "api.openai.com" in base:
            raise NoKeyError("openai", "no API key: set OPENAI_API_KEY or api_key under "
                             "[providers.openai]; for a local server (LM Studio, llama.cpp, "
                             "vLLM) set base_url instead")
        return OpenAIProvider(choice.model, key, base, retry)
    if choice.provider == "ollama":
        endpoint, where = ollama_setting(config)
        return OllamaProvider(choice.model, endpoint, retry, setting=where)
    raise LocalGPTError(f"no provider for '{choice.label}'")
