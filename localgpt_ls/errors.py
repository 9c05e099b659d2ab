"""Errors the user sees: one line that says what went wrong and what to do next."""

from __future__ import annotations


class LocalGPTError(Exception):
    """An error meant for the user; doors print `str(error)` and never a traceback."""

    exit_code = 2


class ConfigError(LocalGPTError):
    """config.toml cannot be read, parsed or structured."""


class PathSafetyError(LocalGPTError):
    """A path given by the user or the model would leave the workspace."""
