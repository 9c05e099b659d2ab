"""HTTP plumbing shared by the providers: timeouts, retries, error mapping, SSE and NDJSON.

Retries happen only while opening a request (429, 5xx, connection errors, a connection dropped
before the reply began), that is before a single token reached the caller, so a retry can never
duplicate text the user already saw.
A stream that breaks later is a StreamCutError and the turn fails cleanly.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from localgpt_ls.llm.errors import (
    AuthError,
    BadRequestError,
    ConnectionDroppedError,
    ModelNotFoundError,
    ProtocolError,
    ProviderError,
    ProviderSettingError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamCutError,
    UnreachableError,
)
from localgpt_ls.llm.types import clean_text

log = logging.getLogger("localgpt_ls.llm")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; `base` is configurable so tests stay fast."""

    max_retries: int = 3
    base: float = 0.5
    max_delay: float = 20.0
    # A Retry-After longer than this is not waited for: the error reaches the user instead.
    max_retry_after: float = 60.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base * (2 ** attempt))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class Timeouts:
    connect: float = 10.0
    read: float = 120.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.read,
                             pool=self.connect)


@dataclass
class Endpoint:
    """Who we are talking to, for error messages: provider name, URL, how the key is set."""

    provider: str
    url: str
    model: str
    key_hint: str = ""
    list_hint: str = ""
    secrets: tuple[str, ...] = ()


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Remove secrets from text that may echo them (provider error bodies, exceptions)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "********")
    return text


def _char_kind(ch: str) -> str:
    """How to name a character the user cannot see in their key, without showing the key."""
    if ch in "\r\n":
        return "a line break"
    if ch.isspace():
        return "a space"
    if not ch.isascii():
        return "a non-ASCII character"
    return "a control character"


def header_key(provider: str, key: str | None, where: str) -> str | None:
    """An API key ready to go in an HTTP header, or None when nothing is left of it.

    Surrounding whitespace is removed: a key read from a file (`$(cat key.txt)`) ends with a
    newline and a pasted one often carries spaces. A key that still holds a character no
    header can carry is refused here, before any request: sent as is, h11 rejects it with an
    error that quotes the raw header (the key) and httpx crashes on non-ASCII. The message
    names `where` the key was set and never shows the key itself.
    """
    if key is None or not key.strip():
        return None
    key = key.strip()
    bad = next((i for i, ch in enumerate(key) if not "!" <= ch <= "~"), None)
    if bad is not None:
        raise ProviderSettingError(
            provider, f"the API key in {where} cannot be sent in an HTTP header: character "
            f"{bad + 1} of {len(key)} is {_char_kind(key[bad])}; set it to the key alone, "
            "on one line, as the provider's console shows it")
    return key


def _check_headers(ep: Endpoint, headers: dict[str, str]) -> None:
    """Refuse header values HTTP cannot carry before h11 does: its error quotes the value,
    which may be the key. Providers clean their keys with header_key; this is the backstop."""
    for value in headers.values():
        if not all(" " <= ch <= "~" or ch == "\t" for ch in value):
            raise ProviderSettingError(ep.provider, "a request header holds a character HTTP "
                                       f"cannot carry (a line break or non-ASCII); {ep.key_hint}")


def _url_problem(url: str) -> str | None:
    """What makes `url` unusable as a provider endpoint, in words that do not repeat it (it may
    carry credentials), or None when httpx can send to it."""
    if not url:
        return "it is empty"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "it contains a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if "IPv6" in str(exc):
            return "a '[' or ']' around the host is unbalanced (IPv6 hosts go in brackets)"
        return "the port must be a number from 1 to 65535"
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it has no host name"
    if port == 0:
        return "the port must be a number from 1 to 65535"
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):  # IDNA rejects some host names (UnicodeError)
        return "the host name is not valid"
    return None


def endpoint_url(provider: str, url: str, setting: str, example: str) -> str:
    """`url` with surrounding whitespace and trailing slashes removed, once it is checked to be
    an http(s) URL httpx can send to.

    Checked where a provider is built so a typo in config.toml is one clear line naming
    `setting`, instead of a ValueError or OverflowError traceback from deep inside httpx.
    """
    url = url.strip()
    problem = _url_problem(url)
    if problem:
        raise ProviderSettingError(provider, f"{setting} is not a usable URL: {problem}; "
                                   f"expected http(s)://host[:port][/path], e.g. {example}")
    return url.rstrip("/")


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _provider_message(body: bytes) -> str:
    """The provider's own error text, from the usual JSON shapes or the raw body."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or err)[:300]
        if isinstance(err, str):
            return err[:300]
    return text[:300]


def error_for_status(ep: Endpoint, status: int, body: bytes,
                     retry_after: float | None = None) -> ProviderError:
    detail = redact(_provider_message(body), ep.secrets)
    said = f" ({detail})" if detail else ""
    if status in (401, 403):
        return AuthError(ep.provider, f"the API key was rejected{said}; {ep.key_hint}", status)
    if status == 404:
        return ModelNotFoundError(
            ep.provider, f"unknown model '{ep.model}' or wrong endpoint {ep.url}{said}; "
            f"{ep.list_hint}", status)
    if status == 429:
        wait = f" (the server asked to wait {retry_after:.0f}s)" if retry_after else ""
        return RateLimitError(ep.provider, f"rate limited{wait}{said}; wait a moment and try "
                              "again, or use another model with -m", status)
    if status >= 500:
        return ServerError(ep.provider, f"the server failed{said}; this is usually temporary, "
                           "try again shortly", status)
    return BadRequestError(ep.provider, f"the request was refused{said}", status)


def _unreachable(ep: Endpoint, exc: Exception) -> UnreachableError:
    reason = redact(str(exc) or type(exc).__name__, ep.secrets)
    return UnreachableError(ep.provider, f"cannot reach {ep.url} ({reason}); is the server "
                            "running and the URL right? " + ep.list_hint)


# Failures while sending the request or waiting for the status line, when no byte of a
# reply has reached the caller, so trying again cannot duplicate text the user saw.
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
DROPPED_ERRORS = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def _dropped(ep: Endpoint, exc: Exception, tries: int) -> ConnectionDroppedError:
    reason = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
                    ep.secrets)
    attempts = f"{tries} attempts" if tries > 1 else "1 attempt"
    return ConnectionDroppedError(
        ep.provider, f"{ep.url} closed the connection before replying ({reason}; "
        f"{attempts}); the server may have crashed or restarted, or a proxy cut the "
        "connection: try again, and check the server's log if it keeps happening")


async def open_stream(client: httpx.AsyncClient, ep: Endpoint, headers: dict[str, str],
                      payload: dict[str, Any], retry: RetryPolicy) -> httpx.Response:
    """POST `payload` and return the open streaming response (caller closes it).

    Retries 429/5xx, connection failures and connections dropped before the reply began, with
    backoff, honouring Retry-After. Once this returns, nothing is retried: the caller streams.
    """
    _check_headers(ep, headers)
    # Encoded here rather than by httpx (json=) so a stray lone surrogate anywhere in the
    # payload (a tool call's arguments) is replaced instead of failing the request.
    body = clean_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                                 allow_nan=False)).encode("utf-8")
    headers = {"content-type": "application/json", **headers}
    attempt = 0
    while True:
        failure: ProviderError
        wait: float | None = None  # the server's Retry-After, if it sent one
        try:
            request = client.build_request("POST", ep.url, headers=headers, content=body)
            response = await client.send(request, stream=True)
        except CONNECT_ERRORS as exc:
            failure, what = _unreachable(ep, exc), "cannot connect"
        except DROPPED_ERRORS as exc:
            failure, what = _dropped(ep, exc, attempt + 1), "connection dropped"
        except httpx.TimeoutException:
            raise ProviderTimeoutError(ep.provider, f"{ep.url} sent no answer in time; the "
                                       "model may be loading or overloaded: try again, or "
                                       "raise [agent] request_timeout in config.toml for a "
                                       "slow model") from None
        except httpx.LocalProtocolError:
            # Our request broke HTTP's rules; h11's text quotes the offending header (maybe
            # the key), so it is not shown. Nothing was sent: the server is not to blame.
            raise ProviderSettingError(ep.provider, "the request could not be sent (it broke "
                                       f"HTTP's rules); {ep.key_hint}") from None
        except httpx.TransportError as exc:
            raise _unreachable(ep, exc) from None
        else:
            if response.status_code < 400:
                log.debug("%s: %s -> %d", ep.provider, ep.url, response.status_code)
                return response
            try:
                said = await response.aread()
            except httpx.HTTPError:
                said = b""
            finally:
                await response.aclose()
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            log.info("%s: %s -> HTTP %d", ep.provider, ep.url, status)
            failure, what = error_for_status(ep, status, said, retry_after), f"HTTP {status}"
            if status not in RETRY_STATUSES or (
                    retry_after is not None and retry_after > retry.max_retry_after):
                raise failure
            wait = retry_after
        if attempt >= retry.max_retries:
            raise failure from None
        delay = wait if wait is not None else retry.delay(attempt)
        log.info("%s: %s, retry %d in %.2fs", ep.provider, what, attempt + 1, delay)
        attempt += 1
        await asyncio.sleep(delay)


async def iter_lines(response: httpx.Response, ep: Endpoint) -> AsyncIterator[str]:
    """Lines of a streaming body; transport failures become clear provider errors."""
    try:
        async for line in response.aiter_lines():
            yield line
    except httpx.ReadTimeout:
        raise ProviderTimeoutError(ep.provider, "the stream stalled (no data within [agent] "
                                   "request_timeout); try again, or raise it in config.toml for "
                                   "a slow model") from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise StreamCutError(ep.provider, f"the connection broke in the middle of the reply "
                             f"({type(exc).__name__}); try again") from None


async def iter_sse(response: httpx.Response, ep: Endpoint) -> AsyncIterator[tuple[str, str]]:
    """Server-sent events as (event name, data) pairs; multi-line data is joined with \\n."""
    event = ""
    data: list[str] = []
    async for line in iter_lines(response, ep):
        if not line:
            if data or event:
                yield event or "message", "\n".join(data)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    # An event without its closing blank line is incomplete (the stream was cut): dropped, as
    # the SSE spec says, so the provider reports a cut stream rather than bad JSON.


def parse_json(ep: Endpoint, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        snippet = redact(text[:80], ep.secrets)
        raise ProtocolError(ep.provider, f"the server sent malformed JSON in the stream "
                            f"({snippet!r}); is {ep.url} an endpoint of {ep.provider}?"
                            ) from None
