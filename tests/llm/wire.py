"""Real wire formats of the three dialects, as the providers document them, for scripting
the fake server: a reply is some text and/or tool calls, streamed in small chunks."""

from __future__ import annotations

import json
from typing import Any

from tests.llm.fake_server import Reply, split

Call = tuple[str, str, Any]  # (id, name, arguments)


def _sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


def anthropic_body(text: str = "", calls: list[Call] | None = None, model: str = "claude-test",
                   stop_after: str | None = None) -> bytes:
    calls = calls or []
    out = [_sse("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "usage": {"input_tokens": 42, "output_tokens": 1}}}),
        _sse("ping", {"type": "ping"})]
    index = 0
    if text:
        out.append(_sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "text", "text": ""}}))
        half = len(text) // 2
        for piece in (text[:half], text[half:]):
            out.append(_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                    "delta": {"type": "text_delta",
                                                              "text": piece}}))
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    for call_id, name, args in calls:
        out.append(_sse("content_block_start", {
            "type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}}))
        encoded = json.dumps(args)
        for i in range(0, len(encoded), 5):
            out.append(_sse("content_block_delta", {
                "type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": encoded[i:i + 5]}}))
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    out.append(_sse("message_delta", {"type": "message_delta", "delta": {
        "stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 17}}))
    out.append(_sse("message_stop", {"type": "message_stop"}))
    body = b"".join(out)
    if stop_after:
        body = body[:body.index(stop_after.encode())]
    return body


def openai_body(text: str = "", calls: list[Call] | None = None, done: bool = True) -> bytes:
    calls = calls or []

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse(None, {"id": "chatcmpl-1", "object": "chat.completion.chunk",
                           "model": "gpt-test", "choices": [
                               {"index": 0, "delta": delta, "finish_reason": finish}]})

    out = [chunk({"role": "assistant", "content": ""})]
    half = len(text) // 2
    for piece in (text[:half], text[half:]):
        if piece:
            out.append(chunk({"content": piece}))
    for index, (call_id, name, args) in enumerate(calls):
        out.append(chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                          "function": {"name": name, "arguments": ""}}]}))
        # A str stands for raw (possibly broken) argument text, as a weak model might send.
        encoded = args if isinstance(args, str) else json.dumps(args)
        for i in range(0, len(encoded), 4):
            out.append(chunk({"tool_calls": [{"index": index, "function": {
                "arguments": encoded[i:i + 4]}}]}))
    out.append(chunk({}, "tool_calls" if calls else "stop"))
    out.append(_sse(None, {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
                           "usage": {"prompt_tokens": 40, "completion_tokens": 9}}))
    if done:
        out.append(_sse(None, "[DONE]"))
    return b"".join(out)


def ollama_body(text: str = "", calls: list[Call] | None = None) -> bytes:
    calls = calls or []
    lines = []
    for piece in (text[:len(text) // 2], text[len(text) // 2:]):
        if piece:
            lines.append({"model": "llama-test", "created_at": "2026-01-01T00:00:00Z",
                          "message": {"role": "assistant", "content": piece}, "done": False})
    if calls:
        lines.append({"model": "llama-test", "created_at": "2026-01-01T00:00:00Z",
                      "message": {"role": "assistant", "content": "", "tool_calls": [
                          {"function": {"name": name, "arguments": args}}
                          for _id, name, args in calls]}, "done": False})
    lines.append({"model": "llama-test", "created_at": "2026-01-01T00:00:01Z",
                  "message": {"role": "assistant", "content": ""}, "done": True,
                  "done_reason": "stop", "prompt_eval_count": 40, "eval_count": 9})
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def reply(dialect: str, text: str = "", calls: list[Call] | None = None, **kw: Any) -> Reply:
    """A 200 streaming reply in `dialect`, chunked into 7-byte pieces."""
    if dialect == "anthropic":
        return Reply(chunks=split(anthropic_body(text, calls)), **kw)
    if dialect == "openai":
        return Reply(chunks=split(openai_body(text, calls)), **kw)
    return Reply(chunks=split(ollama_body(text, calls)), content_type="application/x-ndjson",
                 **kw)
