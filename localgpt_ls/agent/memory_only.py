"""The answer when no model is configured: what memory holds, and how to add a model.

Nothing crashes without a provider: every door still answers, from memory search alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from localgpt_ls import paths

SNIPPET_CHARS = 400

HOW_TO_CONFIGURE = """\
To get answers from a model, do one of:
  export ANTHROPIC_API_KEY=sk-ant-...     # Anthropic (used automatically)
  export OPENAI_API_KEY=sk-...            # OpenAI (used automatically)
  ollama serve && ollama pull llama3.2    # a local Ollama on http://localhost:11434 is found too
or put this in {config}:
  [agent]
  default_model = "anthropic/claude-sonnet-4-5"   # or "openai/gpt-5-mini", "ollama/llama3.2"

  [providers.anthropic]
  api_key = "${{ANTHROPIC_API_KEY}}"

  # any OpenAI-compatible server (LM Studio, llama.cpp, vLLM):
  # [providers.openai]
  # base_url = "http://localhost:1234/v1"
"""


def memory_only_reply(question: str, memory: Callable[[], Any] | None, limit: int = 3,
                      explain: bool = True, exclude: Collection[str] = ()) -> str:
    """Top memory results for the question, plus how to configure a model (`explain`; a chat
    session says it once, not on every turn)."""
    lines = ["No model is configured, so this is memory-only mode."]
    hits: list[Any] = []
    problem = ""
    if memory is not None and question.strip():
        try:
            hits = list(memory().search(question, limit=limit, exclude=exclude).results)
        except Exception as exc:  # memory-only must answer whatever the index does
            problem = f" (memory search failed: {exc})"
    if hits:
        lines.append(f"Here is what your memory holds for {question.strip()!r}:")
        lines.append("")
        for i, hit in enumerate(hits, 1):
            snippet = " ".join(str(hit.content).split())
            if len(snippet) > SNIPPET_CHARS:
                snippet = snippet[:SNIPPET_CHARS] + "…"
            lines.append(f"{i}. {hit.file}:{hit.line_start}-{hit.line_end} "
                         f"(score {float(hit.score):.2f})")
            lines.append(f"   {snippet}")
    else:
        lines.append(f"Your memory has nothing matching {question.strip()!r}{problem}.")
    lines.append("")
    if explain:
        lines.append(HOW_TO_CONFIGURE.format(config=paths.config_path()))
    else:
        lines.append("(Still no model configured; the first answer of this session shows how "
                     "to add one.)")
    return "\n".join(lines).rstrip() + "\n"
