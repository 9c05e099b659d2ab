"""Anthropic Messages API over httpx, streamed as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx

from localgpt_ls.llm.base import HTTPProvider
from localgpt_ls.llm.errors import ProtocolError, ProviderError, StreamCutError
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

API_VERSION = "2023-06-01"
STOP_REASONS = {"end_turn": "end", "stop_sequence": "end", "tool_use": "tool_use",
                "max_tokens": "max_tokens"}


def to_wire(messages: list[Message]) -> list[dict[str, Any]]:
    """Internal messages -> Anthropic messages. Tool results become tool_result blocks in a
    user message; consecutive same-role messages merge, as the API wants alternation."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            role = "user"
            blocks: list[dict[str, Any]] = [{
                "type": "tool_result", "tool_use_id": m.tool_call_id,
                "content": m.content or "(empty)", "is_error": m.is_error}]
        elif m.role == "assistant":
            role = "assistant"
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                       for c in m.tool_calls]
            if not blocks:
                blocks = [{"type": "text", "text": "(no reply)"}]
        else:
            role = "user"
            blocks = [{"type": "text", "text": m.content or "(empty)"}]
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


class AnthropicProvider(HTTPProvider):
    name = "anthropic"

    KEY_SETTING = "ANTHROPIC_API_KEY or [providers.anthropic] api_key in config.toml"
    URL_SETTING = "[providers.anthropic] base_url in config.toml"

    def __init__(self, model: str, api_key: str, base_url: str,
                 retry: RetryPolicy | None = None) -> None:
        api_key = header_key(self.name, api_key, self.KEY_SETTING) or ""
        base = endpoint_url(self.name, base_url, self.URL_SETTING, "https://api.anthropic.com")
        url = base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        endpoint = Endpoint(
            provider=self.name, url=url, model=model,
            key_hint=f"check {self.KEY_SETTING}",
            list_hint="model names look like claude-sonnet-4-5; see "
                      "https://docs.anthropic.com/en/docs/about-claude/models",
            secrets=(api_key,) if api_key else ())
        super().__init__(model, endpoint, retry)
        self._api_key = api_key

    def payload(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "max_tokens": request.max_tokens, "stream": True,
            "system": request.system, "messages": to_wire(request.messages)}
        if request.tools:
            body["tools"] = [{"name": t.name, "description": t.description,
                              "input_schema": t.parameters} for t in request.tools]
            if request.forbid_tools:
                body["tool_choice"] = {"type": "none"}
        return body

    async def stream(self, client: httpx.AsyncClient,
                     request: Request) -> AsyncGenerator[StreamEvent, None]:
        ep = self.endpoint
        headers = {"x-api-key": self._api_key, "anthropic-version": API_VERSION,
                   "content-type": "application/json", "accept": "text/event-stream"}
        response = await open_stream(client, ep, headers, self.payload(request), self.retry)
        try:
            # index -> [kind, id, name, text-or-json parts]
            blocks: dict[int, dict[str, Any]] = {}
            stop_reason = "end"
            usage = Usage()
            async for event, data in iter_sse(response, ep):
                if event == "ping":
                    continue
                obj = parse_json(ep, data)
                kind = obj.get("type", event) if isinstance(obj, dict) else event
                if kind == "error":
                    err = obj.get("error") or {}
                    raise ProviderError(ep.provider, f"the stream reported an error: "
                                        f"{err.get('type', 'error')}: {err.get('message', '')}; "
                                        "try again")
                if kind == "message_start":
                    u = (obj.get("message") or {}).get("usage") or {}
                    usage.input_tokens = u.get("input_tokens")
                elif kind == "content_block_start":
                    block = obj.get("content_block") or {}
                    blocks[obj.get("index", 0)] = {
                        "type": block.get("type"), "id": block.get("id"),
                        "name": block.get("name"), "parts": []}
                    if block.get("type") == "text" and block.get("text"):
                        yield TextChunk(block["text"])
                elif kind == "content_block_delta":
                    delta = obj.get("delta") or {}
                    current = blocks.get(obj.get("index", 0))
                    if delta.get("type") == "text_delta":
                        if delta.get("text"):
                            yield TextChunk(delta["text"])
                    elif delta.get("type") == "input_json_delta":
                        if current is None:
                            raise ProtocolError(ep.provider, "input_json_delta for an unknown "
                                                "content block")
                        current["parts"].append(delta.get("partial_json", ""))
                elif kind == "content_block_stop":
                    done = blocks.pop(obj.get("index", 0), None)
                    if done and done["type"] == "tool_use":
                        yield ToolCallReady(ToolCall(
                            id=done["id"] or f"toolu_{obj.get('index', 0)}",
                            name=done["name"] or "",
                            arguments=parse_arguments("".join(done["parts"]))))
                elif kind == "message_delta":
                    reason = (obj.get("delta") or {}).get("stop_reason")
                    if reason:
                        stop_reason = STOP_REASONS.get(reason, reason)
                    out = (obj.get("usage") or {}).get("output_tokens")
                    if out is not None:
                        usage.output_tokens = out
                elif kind == "message_stop":
                    yield usage
                    yield Stop(stop_reason)
                    return
            raise StreamCutError(ep.provider, "the stream ended before message_stop; the "
                                 "reply is incomplete, try again")
        finally:
            await response.aclose()
