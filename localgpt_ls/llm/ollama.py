"""Ollama /api/chat over httpx: newline-delimited JSON, one object per line."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from localgpt_ls.llm.base import HTTPProvider
from localgpt_ls.llm.errors import ProviderError, StreamCutError
from localgpt_ls.llm.transport import (
    Endpoint,
    RetryPolicy,
    endpoint_url,
    iter_lines,
    open_stream,
    parse_json,
)
from localgpt_ls.llm.types import (
    Message,
    Request,
    Stop,
    StreamEvent,
    TextChunk,
    ToolCall,
    ToolCallReady,
    Usage,
    parse_arguments,
)

_ids = itertools.count(1)


def to_wire(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "content": m.content or "(empty)",
                        "tool_name": m.name or ""})
        elif m.role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": m.content}
            if m.tool_calls:
                item["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments}}
                                      for c in m.tool_calls]
            out.append(item)
        else:
            out.append({"role": "user", "content": m.content})
    return out


class OllamaProvider(HTTPProvider):
    name = "ollama"

    URL_SETTING = "[providers.ollama] endpoint in config.toml"
    URL_EXAMPLE = "http://localhost:11434"

    def __init__(self, model: str, endpoint: str, retry: RetryPolicy | None = None,
                 setting: str = URL_SETTING) -> None:
        base = endpoint_url(self.name, endpoint, setting, self.URL_EXAMPLE)
        ep = Endpoint(
            provider=self.name, url=base + "/api/chat", model=model,
            key_hint="Ollama needs no key; check the reverse proxy in front of it",
            list_hint=f"list installed models with `ollama list` (or GET {base}/api/tags), "
                      "pull one with `ollama pull <model>`, start the server with `ollama serve`")
        super().__init__(model, ep, retry)

    def payload(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "stream": True,
                                "messages": to_wire(request.system, request.messages),
                                "options": {"num_predict": request.max_tokens}}
        # Ollama has no tool_choice; leaving the tools out is how to ask for a text answer.
        if request.tools and not request.forbid_tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools]
        return body

    async def stream(self, client: httpx.AsyncClient,
                     request: Request) -> AsyncGenerator[StreamEvent, None]:
        ep = self.endpoint
        headers = {"content-type": "application/json"}
        response = await open_stream(client, ep, headers, self.payload(request), self.retry)
        try:
            saw_tool = False
            async for line in iter_lines(response, ep):
                if not line.strip():
                    continue
                obj = parse_json(ep, line)
                if not isinstance(obj, dict):
                    continue
                if obj.get("error"):
                    raise ProviderError(ep.provider, f"the stream reported an error: "
                                        f"{obj['error']}; try again")
                msg = obj.get("message") or {}
                if msg.get("content"):
                    yield TextChunk(msg["content"])
                for tc in msg.get("tool_calls") or []:
                    fn = tc.get("function") or {}
                    args = fn.get("arguments")
                    if isinstance(args, str):
                        args = parse_arguments(args)
                    saw_tool = True
                    yield ToolCallReady(ToolCall(
                        id=str(tc.get("id") or f"ollama_call_{next(_ids)}"),
                        name=str(fn.get("name") or ""), arguments=dict(args or {})))
                if obj.get("done"):
                    yield Usage(obj.get("prompt_eval_count"), obj.get("eval_count"))
                    reason = obj.get("done_reason") or "stop"
                    yield Stop("tool_use" if saw_tool else
                               {"stop": "end", "length": "max_tokens"}.get(reason, reason))
                    return
            raise StreamCutError(ep.provider, "the stream ended before done=true; the reply "
                                 "is incomplete, try again")
        finally:
            await response.aclose()
