"""Provider errors: each names the provider, the HTTP status when there is one, and what to do.

They are LocalGPTError subclasses so every door shows them as one line. Messages are built from
the provider name, the endpoint and the provider's own error text (redacted): never from
request headers, so an API key cannot leak into a message.
"""

from __future__ import annotations

from localgpt_ls.errors import ConfigError, LocalGPTError


class ProviderError(LocalGPTError):
    """A model provider failed. `retryable` errors are retried before any token streamed."""

    retryable = False

    def __init__(self, provider: str, message: str, status: int | None = None) -> None:
        self.provider = provider
        self.status = status
        prefix = f"{provider}: HTTP {status}: " if status else f"{provider}: "
        super().__init__(prefix + message)


class AuthError(ProviderError):
    """401/403: the key is missing, wrong or lacks access."""


class ModelNotFoundError(ProviderError):
    """404: the model (or the endpoint path) does not exist."""


class BadRequestError(ProviderError):
    """400/422: the provider rejected the request."""


class RateLimitError(ProviderError):
    retryable = True


class ServerError(ProviderError):
    retryable = True


class UnreachableError(ProviderError):
    """The endpoint cannot be reached: refused, DNS, connect timeout."""

    retryable = True


class ConnectionDroppedError(ProviderError):
    """The server took the request and closed the connection before any reply: a crash or
    restart, or a proxy in between. Nothing reached the user, so it is retried."""

    retryable = True


class ProviderTimeoutError(ProviderError):
    """No data for longer than the read timeout."""


class StreamCutError(ProviderError):
    """The stream stopped before the provider said it was complete."""


class ProtocolError(ProviderError):
    """The provider sent something that is not its documented wire format."""


class NoKeyError(ProviderError):
    """A provider that needs a key has none configured."""


class ProviderSettingError(ProviderError, ConfigError):
    """A provider setting (API key, base_url, endpoint) cannot be used as it is.

    Raised before any request is made, so the message names the setting to fix, never its
    value when that may be a secret; the CLI exits 2 as for any other config error."""
