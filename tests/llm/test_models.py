"""Model names, aliases and "auto"."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localgpt_ls.config import parse_config
from localgpt_ls.errors import LocalGPTError
from localgpt_ls.llm.errors import NoKeyError, ProviderSettingError
from localgpt_ls.llm.models import (
    ModelChoice,
    build_provider,
    ollama_endpoint,
    parse_model,
    resolve_model,
)
from tests.llm.conftest import SECRET
from tests.llm.fake_server import FakeServer, Reply, free_port


def cfg(text: str = "") -> Any:
    return parse_config(text, Path("config.toml"))


def no_ollama() -> str:
    return f'[providers.ollama]\nendpoint = "http://127.0.0.1:{free_port()}"\n'


def test_names_and_aliases() -> None:
    config = cfg('[agent.aliases]\nlocal = "ollama/qwen3:8b"\nfast = "haiku"\n')
    assert parse_model("openai/gpt-4.1", config) == ModelChoice("openai", "gpt-4.1")
    assert parse_model("sonnet", config).provider == "anthropic"
    assert parse_model("gpt-mini", config).provider == "openai"
    assert parse_model("local", config) == ModelChoice("ollama", "qwen3:8b")
    assert parse_model("fast", config) == parse_model("haiku", config)
    assert parse_model("ollama/llama3.2:3b", config).model == "llama3.2:3b"
    with pytest.raises(LocalGPTError, match=r"unknown model 'mystery'.*aliases"):
        parse_model("mystery", config)


async def test_auto_prefers_anthropic_then_openai(lg_env: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config = cfg(no_ollama())
    monkeypatch.setenv("OPENAI_API_KEY", "k1")
    assert (await resolve_model(None, config)).provider == "openai"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k2")
    assert (await resolve_model("auto", config)).provider == "anthropic"


@contextlib.contextmanager
def listing(path: str, body: bytes) -> Iterator[FakeServer]:
    """A loopback server answering GET `path` with the JSON `body` (a model list)."""
    server = FakeServer()
    server.gets[path] = Reply(chunks=[body], content_type="application/json")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_auto_finds_a_running_ollama(lg_env: Any) -> None:
    with listing("/api/tags", b'{"models": [{"name": "qwen3:4b"}, {"name": "llama3.2"}]}'
                 ) as server:
        choice = await resolve_model(None, cfg(f'[providers.ollama]\nendpoint = "{server.url}"\n'))
    assert choice == ModelChoice("ollama", "qwen3:4b")


async def test_auto_uses_the_local_openai_compatible_server_set_as_base_url(lg_env: Any
                                                                         ) -> None:
    """The README's LM Studio setup (only `base_url`, no key) chats with the server's model
    instead of staying memory-only; unreachable, it falls through as before."""
    with listing("/v1/models", b'{"object": "list", "data": [{"id": "qwen2.5-7b-instruct", '
                 b'"object": "model"}]}') as server:
        settings = cfg(f'[providers.openai]\nbase_url = "{server.url}/v1"\n' + no_ollama())
        choice = await resolve_model(None, settings)
    assert choice == ModelChoice("openai", "qwen2.5-7b-instruct")
    assert (await resolve_model(None, settings)).memory_only


async def test_auto_without_anything_is_memory_only(lg_env: Any) -> None:
    choice = await resolve_model(None, cfg(no_ollama()))
    assert choice.memory_only and choice.label == "memory-only"


def test_explicit_model_without_key_says_how_to_set_it(lg_env: Any) -> None:
    with pytest.raises(NoKeyError, match="ANTHROPIC_API_KEY"):
        build_provider(ModelChoice("anthropic", "claude-x"), cfg())
    # A local OpenAI-compatible server needs no key.
    local = cfg('[providers.openai]\nbase_url = "http://127.0.0.1:1234/v1"\n')
    assert build_provider(ModelChoice("openai", "qwen"), local).name == "openai"


@pytest.mark.parametrize("dialect", ["anthropic", "openai"])
@pytest.mark.parametrize("source", ["env", "config"])
@pytest.mark.parametrize("bad", [f"{SECRET}\nsk-second-line", f"{SECRET}\u00e9", f"{SECRET} x",
                                 f"{SECRET}\x1b"])
def test_key_that_cannot_go_in_a_header_is_refused_without_echo(
        dialect: str, source: str, bad: str, lg_env: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Sent as is, h11 refused such a key with an error quoting it (and blaming the server)
    or httpx crashed on non-ASCII; now it is refused up front, naming where it was set."""
    env = f"{dialect.upper()}_API_KEY"
    if source == "env":
        monkeypatch.setenv(env, bad)
        config = cfg(no_ollama())
    else:
        config = cfg(no_ollama() + f"[providers.{dialect}]\napi_key = {json.dumps(bad)}\n")
    with pytest.raises(ProviderSettingError) as info:
        build_provider(ModelChoice(dialect, "m"), config)
    message = str(info.value)
    assert message.startswith(f"{dialect}: the API key in ")
    assert (env if source == "env" else f"[providers.{dialect}] api_key") in message
    assert "cannot be sent in an HTTP header" in message and "cannot reach" not in message
    assert SECRET not in message and SECRET[:8] not in message
    assert info.value.exit_code == 2 and "\n" not in message


@pytest.mark.parametrize("padding", ["\n", "\r\n", "  ", "\t"])
def test_key_with_surrounding_whitespace_is_stripped(padding: str, lg_env: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", f"{padding}{SECRET}{padding}")
    provider = build_provider(ModelChoice("anthropic", "m"), cfg(no_ollama()))
    assert provider.endpoint.secrets == (SECRET,)  # type: ignore[attr-defined]
    # A key that is only whitespace is no key: the error says how to set one.
    monkeypatch.setenv("ANTHROPIC_API_KEY", padding)
    with pytest.raises(NoKeyError):
        build_provider(ModelChoice("anthropic", "m"), cfg())


@pytest.mark.parametrize(("dialect", "url", "why"), [
    ("openai", "http://[bad/v1", "unbalanced"),
    ("openai", "http://127.0.0.1:99999/v1", "port must be a number from 1 to 65535"),
    ("anthropic", "api.anthropic.com", "must start with http:// or https://"),
    ("anthropic", "https://api.anthropic .com", "space"),
    ("ollama", "http://127.0.0.1:99999", "port must be a number"),
    ("ollama", "http://:11434", "no host name"),
])
def test_malformed_base_url_is_one_clear_line(dialect: str, url: str, why: str,
                                              lg_env: Any) -> None:
    """Such URLs crashed with a ValueError or OverflowError traceback from urllib/httpx."""
    key = "" if dialect == "ollama" else f'api_key = "{SECRET}"\n'
    setting = "endpoint" if dialect == "ollama" else "base_url"
    config = cfg(f'[providers.{dialect}]\n{key}{setting} = "{url}"\n')
    with pytest.raises(ProviderSettingError) as info:
        build_provider(ModelChoice(dialect, "m"), config)
    message = str(info.value)
    assert message.startswith(f"{dialect}: [providers.{dialect}] {setting} in config.toml is "
                              "not a usable URL: ")
    assert why in message and "expected http(s)://host[:port][/path]" in message
    assert info.value.exit_code == 2


async def test_auto_treats_a_broken_ollama_endpoint_as_no_ollama(
        lg_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for endpoint in ("http://127.0.0.1:99999", "http://[bad", "nonsense"):
        choice = await resolve_model(None, cfg(f'[providers.ollama]\nendpoint = "{endpoint}"\n'))
        assert choice.memory_only
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:99999:1")
    assert (await resolve_model(None, cfg())).memory_only
    with pytest.raises(ProviderSettingError, match="OLLAMA_HOST environment variable"):
        build_provider(ModelChoice("ollama", "m"), cfg())


@pytest.mark.parametrize(("value", "url"), [
    ("0.0.0.0", "http://127.0.0.1:11434"),  # the usual server-side setting
    ("0.0.0.0:11435", "http://127.0.0.1:11435"),
    ("::", "http://[::1]:11434"),
    ("[::]:8080", "http://[::1]:8080"),
    (":56789", "http://127.0.0.1:56789"),
    ("gpu-box", "http://gpu-box:11434"),
    ("gpu-box:5678/ollama/", "http://gpu-box:5678/ollama"),
    ("https://ollama.example.com", "https://ollama.example.com:443"),
    ("http://10.0.0.2", "http://10.0.0.2:80"),  # an explicit scheme implies its own port
    ("'0.0.0.0' ", "http://127.0.0.1:11434"),
])
def test_ollama_host_follows_ollamas_client_rules(value: str, url: str, lg_env: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """OLLAMA_HOST=0.0.0.0 became http://0.0.0.0 (port 80), so auto never found the server
    that the same variable made listen on 11434."""
    monkeypatch.setenv("OLLAMA_HOST", value)
    assert ollama_endpoint(cfg()) == url
    # The config's own endpoint, when set, wins over the variable.
    custom = cfg('[providers.ollama]\nendpoint = "http://127.0.0.1:7000"\n')
    assert ollama_endpoint(custom) == "http://127.0.0.1:7000"


@pytest.mark.parametrize("form", ["0.0.0.0:{port}", ":{port}"])
async def test_auto_finds_ollama_through_a_server_side_ollama_host(
        form: str, lg_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with listing("/api/tags", b'{"models": [{"name": "qwen3:4b"}]}') as server:
        monkeypatch.setenv("OLLAMA_HOST", form.format(port=server.httpd.server_address[1]))
        choice = await resolve_model(None, cfg())
    assert choice == ModelChoice("ollama", "qwen3:4b")
