"""Anthropic Messages stream events -> OpenAI ``chat.completion.chunk`` objects.

Event order (https://docs.claude.com/en/docs/build-with-claude/streaming): ``message_start``,
per content block ``content_block_start`` / ``_delta`` / ``_stop``, ``message_delta`` (stop
reason, cumulative usage), ``message_stop``; ``ping`` anywhere; unknown events are ignored.
Tool calls get OpenAI indexes by their order among tool calls, not Anthropic's block index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from pydantic_core import from_json

from ...exceptions import APIConnectionError
from ...streaming import ServerSentEvent
from ...types import ModelResponseChunk, delta_chunk
from ..base import CallContext
from .errors import stream_error
from .request import JSON_TOOL
from .response import finish_reason, is_legacy, usage_fields, uses_json_tool


@dataclass
class Block:
    """What an open content block turns into: ``text``, ``tool`` (OpenAI tool call number
    ``ordinal``), ``function`` (legacy), ``json`` (the response_format tool: its input is the
    content), ``thinking``, ``redacted_thinking`` or ``ignored``."""

    kind: str
    ordinal: int = 0
    arguments_sent: bool = False
    thinking: str = ""
    signature: str = ""
    data: str = ""


class MessageStreamTranslator:
    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx
        self._include_usage = bool((ctx.request.get("stream_options") or {}).get("include_usage"))
        self._legacy = is_legacy(ctx)
        self._json_tool = uses_json_tool(ctx)
        self._id = ""
        self._model = ctx.model
        self._created = int(time.time())
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, Block] = {}
        self._tool_calls = 0
        self._answered_json = False
        self._stopped = False

    def feed(self, event: ServerSentEvent) -> list[ModelResponseChunk]:
        if not event.data:
            return []
        data = from_json(event.data)
        kind = data.get("type") or event.event
        if kind == "error" or event.event == "error":
            raise stream_error(data, self._ctx)
        handler = HANDLERS.get(str(kind))  # ping and unknown events: nothing
        return handler(self, data) if handler is not None else []

    def finish(self) -> list[ModelResponseChunk]:
        if not self._stopped:
            raise APIConnectionError("anthropic stream ended before message_stop")
        return []

    def _on_message_start(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        message = data["message"]
        self._id = message["id"]
        self._model = message.get("model") or self._model
        self._usage = dict(message.get("usage") or {})
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_content_block_start(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        block = data["content_block"]
        kind = block.get("type")
        if kind == "tool_use":
            return self._start_tool(data["index"], block)
        if kind in ("text", "thinking", "redacted_thinking"):
            self._blocks[data["index"]] = Block(kind, data=block.get("data") or "")
            text = block.get("text") or block.get("thinking")
            if text:  # blocks normally start empty; a non-empty start is still content
                return self._on_content_block_delta(
                    {"index": data["index"],
                     "delta": {"type": f"{kind}_delta", kind: text}})
            return []
        self._blocks[data["index"]] = Block("ignored")  # server tools, citations, ...
        return []

    def _start_tool(self, index: int, block: dict[str, Any]) -> list[ModelResponseChunk]:
        name = block.get("name") or ""
        if self._json_tool and name == JSON_TOOL:
            self._blocks[index] = Block("json")
            self._answered_json = True
            return []
        if self._legacy:
            # A legacy function_call holds one call; later parallel calls have nowhere to go.
            first = not any(b.kind == "function" for b in self._blocks.values())
            self._blocks[index] = Block("function" if first else "ignored")
            return [self._chunk({"function_call": {"name": name, "arguments": ""}})] if first else []
        self._blocks[index] = Block("tool", ordinal=self._tool_calls)
        self._tool_calls += 1
        return [self._chunk({"tool_calls": [
            {"index": self._blocks[index].ordinal, "id": block["id"], "type": "function",
             "function": {"name": name, "arguments": ""}}]})]

    def _on_content_block_delta(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        block = self._blocks.get(data["index"])
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if block is None or block.kind == "ignored":
            return []
        if kind == "text_delta":
            return [self._chunk({"content": delta["text"]})] if delta.get("text") else []
        if kind == "input_json_delta":
            return self._arguments(block, delta.get("partial_json") or "")
        if kind == "thinking_delta":
            block.thinking += delta.get("thinking") or ""
            return [self._chunk({"reasoning_content": delta["thinking"]})] if delta.get("thinking") else []
        if kind == "signature_delta":
            block.signature += delta.get("signature") or ""
        return []

    def _arguments(self, block: Block, fragment: str) -> list[ModelResponseChunk]:
        if not fragment:
            return []
        block.arguments_sent = True
        if block.kind == "json":
            return [self._chunk({"content": fragment})]
        if block.kind == "function":
            return [self._chunk({"function_call": {"arguments": fragment}})]
        return [self._chunk({"tool_calls": [{"index": block.ordinal, "function": {"arguments": fragment}}]})]

    def _on_content_block_stop(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        block = self._blocks.get(data["index"])
        if block is None:
            return []
        if block.kind in ("tool", "function", "json") and not block.arguments_sent:
            return self._arguments(block, "{}")  # an empty input streams no fragment at all
        if block.kind == "thinking":
            # The whole block, signature included, so the caller can send it back next turn.
            return [self._chunk({"thinking_blocks": [
                {"type": "thinking", "thinking": block.thinking, "signature": block.signature}]})]
        if block.kind == "redacted_thinking":
            return [self._chunk({"thinking_blocks": [{"type": "redacted_thinking", "data": block.data}]})]
        return []

    def _on_message_delta(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        usage = data.get("usage") or {}
        self._usage.update({k: v for k, v in usage.items() if v is not None})  # cumulative counts
        stop_reason = (data.get("delta") or {}).get("stop_reason")
        finish = finish_reason(stop_reason, legacy=self._legacy,
                               json_tool=self._answered_json and not self._tool_calls)
        return [self._chunk({}, finish)] if finish else []

    def _on_message_stop(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        self._stopped = True
        if not self._include_usage:
            return []
        return [ModelResponseChunk.model_validate(
            {"id": self._id, "created": self._created, "model": self._model, "choices": [],
             "usage": usage_fields(self._usage)})]

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> ModelResponseChunk:
        return delta_chunk(self._id, self._created, self._model, delta, finish)


Handler = Callable[[MessageStreamTranslator, dict[str, Any]], list[ModelResponseChunk]]
HANDLERS: dict[str, Handler] = {
    "message_start": MessageStreamTranslator._on_message_start,
    "content_block_start": MessageStreamTranslator._on_content_block_start,
    "content_block_delta": MessageStreamTranslator._on_content_block_delta,
    "content_block_stop": MessageStreamTranslator._on_content_block_stop,
    "message_delta": MessageStreamTranslator._on_message_delta,
    "message_stop": MessageStreamTranslator._on_message_stop,
}
