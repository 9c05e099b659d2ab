"""OpenAI Chat Completions over httpx (SSE). Any base_url: OpenAI, LM Studio, llama.cpp
server, vLLM. The API key is optional because local servers do not need one."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import urlparse

import httpx

from localgpt_ls.llm.base import HTTPProvider
from localgpt_ls.llm.errors import ProviderError, StreamCutError
from localgpt_ls.llm.transport import (
    Endpoint,
    RetryPolicy,
    endpoint_url,
    header_key,
    iter_sse,
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

FINISH_REASONS = {"stop": "end", "tool_calls": "tool_use", "function_call": "tool_use",
                  "length": "max_tokens"}


def to_wire(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id,
                        "content": m.content or "(empty)"})
        elif m.role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": m.content or None}
            if m.tool_calls:
                item["tool_calls"] = [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                    for c in m.tool_calls]
            elif not m.content:
                item["content"] = ""
            out.append(item)
        else:
            out.append({"role": "user", "content": m.content})
    return out


class OpenAIProvider(HTTPProvider):
    name = "openai"

    KEY_SETTING = "OPENAI_API_KEY or [providers.openai] api_key in config.toml"
    URL_SETTING = "[providers.openai] base_url in config.toml"

    def __init__(self, model: str, api_key: str | None, base_url: str,
                 retry: RetryPolicy | None = None) -> None:
        api_key = header_key(self.name, api_key, self.KEY_SETTING)
        base = endpoint_url(self.name, base_url, self.URL_SETTING,
                            "https://api.openai.com/v1 or http://localhost:1234/v1")
        self._official = urlparse(base).hostname == "api.openai.com"
        endpoint = Endpoint(
            provider=self.name, url=base + "/chat/completions", model=model,
            key_hint=f"check {self.KEY_SETTING}",
            list_hint=f"list the server's models with `curl {base}/models`",
            secrets=(api_key,) if api_key else ())
        super().__init__(model, endpoint, retry)
        self._api_key = api_key

    def payload(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "stream": True, "stream_options": {"include_usage": True},
            "messages": to_wire(request.system, request.messages)}
        # OpenAI's newer models only take max_completion_tokens; local servers know max_tokens.
        body["max_completion_tokens" if self._official else "max_tokens"] = request.max_tokens
        if request.tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools]
            if request.forbid_tools:
                body["tool_choice"] = "none"
        return body

    async def stream(self, client: httpx.AsyncClient,
                     request: Request) -> AsyncGenerator[StreamEvent, None]:
        ep = self.endpoint
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        response = await open_stream(client, ep, headers, self.payload(request), self.retry)
        try:
            calls: dict[int, dict[str, Any]] = {}
            finish: str | None = None
            usage = Usage()
            async for _event, data in iter_sse(response, ep):
                if data.strip() == "[DONE]":
                    for event in self._finish(calls, usage, finish):
                        yield event
                    return
                obj = parse_json(ep, data)
                if not isinstance(obj, dict):
                    continue
                if obj.get("error"):
                    err = obj["error"]
                    text = err.get("message", err) if isinstance(err, dict) else err
                    raise ProviderError(ep.provider, f"the stream reported an error: {text}; "
                                        "try again")
                if obj.get("usage"):
                    usage.input_tokens = obj["usage"].get("prompt_tokens")
                    usage.output_tokens = obj["usage"].get("completion_tokens")
                for choice in obj.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        yield TextChunk(delta["content"])
                    for tc in delta.get("tool_calls") or []:
                        # Deltas for one call share an index; id and name come first.
                        slot = calls.setdefault(tc.get("index", len(calls)),
                                                {"id": None, "name": "", "args": []})
                        if tc.get("id"):
                            slot["id"] = tc["id"]
                        fn = tc.get("function") or {}
                        if fn.get("name"):
                            slot["name"] += fn["name"]
                        if fn.get("arguments"):
                            slot["args"].append(fn["arguments"])
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            if finish is not None:
                # Some servers end without [DONE] once they sent a finish_reason.
                for event in self._finish(calls, usage, finish):
                    yield event
                return
            raise StreamCutError(ep.provider, "the stream ended before [DONE]; the reply is "
                                 "incomplete, try again")
        finally:
            await response.aclose()

    def _finish(self, calls: dict[int, dict[str, Any]], usage: Usage,
                finish: str | None) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for index in sorted(calls):
            slot = calls[index]
            events.append(ToolCallReady(ToolCall(
                id=slot["id"] or f"call_{index}", name=slot["name"],
                arguments=parse_arguments("".join(slot["args"])))))
        events.append(usage)
        reason = FINISH_REASONS.get(finish or "stop", finish or "end")
        if calls:
            reason = "tool_use"
        events.append(Stop(reason))
        return events
