"""ConverseStream event-stream messages -> OpenAI ``chat.completion.chunk`` objects.

Order (PROVIDERS.md §9.5, recorded): ``messageStart``; per content block optional
``contentBlockStart`` (tool use only), ``contentBlockDelta``s, ``contentBlockStop``;
``messageStop`` (stop reason); ``metadata`` (usage) after it. An ``exception`` message ends the
stream with the matching error. Tool calls get OpenAI indexes by their order among tool calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from pydantic_core import from_json

from ...eventstream import EventStreamMessage
from ...exceptions import APIConnectionError, APIError
from ...types import ModelResponseChunk, delta_chunk
from ..base import CallContext
from .errors import stream_exception
from .request import JSON_TOOL, json_tool_wanted
from .response import finish_reason, is_legacy, mint_id, usage_fields


@dataclass
class Block:
    """What an open content block is: ``text``, ``tool`` (OpenAI tool call ``ordinal``),
    ``function`` (legacy), ``json`` (the response_format tool), ``reasoning`` or ``ignored``."""

    kind: str
    ordinal: int = 0
    arguments_sent: bool = False
    text: str = ""
    signature: str = ""
    redacted: str = ""


class ConverseStreamTranslator:
    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx
        self._include_usage = bool((ctx.request.get("stream_options") or {}).get("include_usage"))
        self._legacy = is_legacy(ctx)
        self._json_tool = json_tool_wanted(ctx.request)
        self._id = mint_id()
        self._model = ctx.model
        self._created = int(time.time())
        self._blocks: dict[int, Block] = {}
        self._tool_calls = 0
        self._answered_json = False
        self._stopped = False

    def feed(self, message: EventStreamMessage) -> list[ModelResponseChunk]:
        headers = message.headers
        kind = headers.get(":message-type")
        if kind == "event":
            handler = HANDLERS.get(headers.get(":event-type", ""))  # unknown events: nothing
            return handler(self, from_json(message.payload)) if handler is not None else []
        if kind == "exception":
            body = from_json(message.payload) if message.payload else {}
            raise stream_exception(str(headers.get(":exception-type") or ""), body, self._ctx)
        if kind == "error":
            code = str(headers.get(":error-code") or "")
            raise stream_exception(code, {"message": headers.get(":error-message") or code},
                                   self._ctx)
        raise APIError(f"bedrock sent an event-stream message of unknown type {kind!r}")

    def finish(self) -> list[ModelResponseChunk]:
        if not self._stopped:
            raise APIConnectionError("bedrock stream ended before messageStop")
        return []

    def _on_message_start(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_block_start(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        start = data.get("start") or {}
        index = data["contentBlockIndex"]
        use = start.get("toolUse")
        if not isinstance(use, dict):
            self._blocks[index] = Block("ignored")  # tool results, images: no OpenAI field
            return []
        name = use.get("name") or ""
        if self._json_tool and name == JSON_TOOL:
            self._blocks[index] = Block("json")
            self._answered_json = True
            return []
        if self._legacy:
            # A legacy function_call holds one call; later parallel calls have nowhere to go.
            first = not any(b.kind == "function" for b in self._blocks.values())
            self._blocks[index] = Block("function" if first else "ignored")
            return [self._chunk({"function_call": {"name": name, "arguments": ""}})] if first else []
        block = self._blocks[index] = Block("tool", ordinal=self._tool_calls)
        self._tool_calls += 1
        return [self._chunk({"tool_calls": [
            {"index": block.ordinal, "id": use["toolUseId"], "type": "function",
             "function": {"name": name, "arguments": ""}}]})]

    def _on_block_delta(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        delta = data.get("delta") or {}
        index = data["contentBlockIndex"]
        block = self._blocks.get(index)
        if "text" in delta:  # text blocks get no contentBlockStart
            if block is None:
                block = self._blocks[index] = Block("text")
            return [self._chunk({"content": delta["text"]})] if delta["text"] else []
        if "reasoningContent" in delta:
            if block is None:
                block = self._blocks[index] = Block("reasoning")
            reasoning = delta["reasoningContent"]
            block.signature += reasoning.get("signature") or ""
            block.redacted += reasoning.get("redactedContent") or ""
            text = reasoning.get("text")
            if text:
                block.text += text
                return [self._chunk({"reasoning_content": text})]
            return []
        if "toolUse" in delta and block is not None:
            return self._arguments(block, (delta["toolUse"] or {}).get("input") or "")
        return []

    def _arguments(self, block: Block, fragment: str) -> list[ModelResponseChunk]:
        if not fragment or block.kind == "ignored":
            return []
        block.arguments_sent = True
        if block.kind == "json":
            return [self._chunk({"content": fragment})]
        if block.kind == "function":
            return [self._chunk({"function_call": {"arguments": fragment}})]
        return [self._chunk({"tool_calls": [
            {"index": block.ordinal, "function": {"arguments": fragment}}]})]

    def _on_block_stop(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        block = self._blocks.get(data["contentBlockIndex"])
        if block is None:
            return []
        if block.kind in ("tool", "function", "json") and not block.arguments_sent:
            return self._arguments(block, "{}")  # an empty input streams no fragment at all
        if block.kind == "reasoning":
            # The whole block, signature included, so the caller can send it back next turn.
            if block.redacted and not block.text:
                whole = {"type": "redacted_thinking", "data": block.redacted}
            else:
                whole = {"type": "thinking", "thinking": block.text, "signature": block.signature}
            return [self._chunk({"thinking_blocks": [whole]})]
        return []

    def _on_message_stop(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        self._stopped = True
        finish = finish_reason(data.get("stopReason"), legacy=self._legacy,
                               json_tool=self._answered_json and not self._tool_calls)
        return [self._chunk({}, finish)]

    def _on_metadata(self, data: dict[str, Any]) -> list[ModelResponseChunk]:
        if not self._include_usage or "usage" not in data:
            return []
        return [ModelResponseChunk.model_validate(
            {"id": self._id, "created": self._created, "model": self._model, "choices": [],
             "usage": usage_fields(data["usage"])})]

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> ModelResponseChunk:
        return delta_chunk(self._id, self._created, self._model, delta, finish)


Handler = Callable[[ConverseStreamTranslator, dict[str, Any]], list[ModelResponseChunk]]
HANDLERS: dict[str, Handler] = {
    "messageStart": ConverseStreamTranslator._on_message_start,
    "contentBlockStart": ConverseStreamTranslator._on_block_start,
    "contentBlockDelta": ConverseStreamTranslator._on_block_delta,
    "contentBlockStop": ConverseStreamTranslator._on_block_stop,
    "messageStop": ConverseStreamTranslator._on_message_stop,
    "metadata": ConverseStreamTranslator._on_metadata,
}
