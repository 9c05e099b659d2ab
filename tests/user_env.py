"""How tests and benchmarks start a localgpt process as a user would: the user's environment
without any provider key from the developer's shell (no test may reach a real provider), with
LOCALGPT_HOME and LOCALGPT_WORKSPACE pointing at the test's own folders."""

from __future__ import annotations

import os
from pathlib import Path

PROVIDER_ENV = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OLLAMA_HOST", "LOCALGPT_WORKSPACE",
                "LOCALGPT_HOME")


def user_env(home: Path, workspace: Path) -> dict[str, str]:
    """This process's environment, cleaned, for a child `localgpt` over home and workspace;
    unbuffered, so a test reading its output sees each line when it is written."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace), PYTHONUNBUFFERED="1")
    return env
