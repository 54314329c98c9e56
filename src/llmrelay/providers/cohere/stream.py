"""Cohere v2 chat SSE events -> OpenAI ``chat.completion.chunk`` objects, in order.

Events (https://docs.cohere.com/docs/streaming): ``message-start``; ``content-start`` /
``content-delta`` / ``content-end`` per text or thinking part; ``tool-plan-delta``;
``tool-call-start`` / ``-delta`` / ``-end`` per call; ``citation-start`` / ``-end``;
``message-end`` with the finish reason and usage; sometimes a trailing ``data: [DONE]``.
A failed generation ends with ``message-end`` ``finish_reason: ERROR`` (or ``TIMEOUT``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from pydantic_core import from_json

from ...exceptions import APIConnectionError
from ...streaming import ServerSentEvent
from ...types import ModelResponseChunk, Usage, delta_chunk
from ..base import CallContext
from .request import uses_functions
from .response import finish_reason, openai_logprobs, usage_of


def _message_delta(event: dict[str, Any]) -> dict[str, Any]:
    delta = event.get("delta") or {}
    return delta.get("message") or {}


class CohereStreamTranslator:
    """Keeps what a stream needs: the message id, whether the role went out, the usage ask."""

    def __init__(self, ctx: CallContext) -> None:
        self._model = ctx.model
        self._created = int(time.time())
        self._id = ""
        self._role_sent = False
        self._ended = False
        self._legacy = uses_functions(ctx.request)
        options = ctx.request.get("stream_options") or {}
        self._include_usage = bool(options.get("include_usage"))
        self._handlers: dict[str, Callable[[dict[str, Any]], list[ModelResponseChunk]]] = {
            "message-start": self._message_start,
            "content-delta": self._content_delta,
            "tool-plan-delta": self._tool_plan_delta,
            "tool-call-start": self._tool_call_start,
            "tool-call-delta": self._tool_call_delta,
            "citation-start": self._citation_start,
            "message-end": self._message_end,
        }

    def feed(self, event: ServerSentEvent) -> list[ModelResponseChunk]:
        if not event.data or event.data == "[DONE]":
            return []
        data = from_json(event.data)
        handler = self._handlers.get(data.get("type") or event.event or "")
        # content-start/-end, tool-call-end, citation-end and debug carry nothing to forward.
        return handler(data) if handler is not None else []

    def finish(self) -> list[ModelResponseChunk]:
        if not self._ended:
            raise APIConnectionError("cohere stream ended before its message-end event")
        return []

    def _chunk(self, delta: dict[str, Any], finish: str | None = None,
               logprobs: Any = None) -> ModelResponseChunk:
        if not self._role_sent:
            delta = {"role": "assistant", **delta}
            self._role_sent = True
        return delta_chunk(self._id, self._created, self._model, delta, finish, logprobs)

    def _message_start(self, event: dict[str, Any]) -> list[ModelResponseChunk]:
        self._id = event.get("id") or self._id
        return [self._chunk({"content": ""})]

    def _content_delta(self, event: dict[str, Any]) -> list[ModelResponseChunk]:
        content = _message_delta(event).get("content") or {}
        logprobs = openai_logprobs(event.get("logprobs"))
        if content.get("thinking"):
            return [self._chunk({"reasoning_content": content["thinking"]}, logprobs=logprobs)]
        if content.get("text") or logprobs:
            return [self._chunk({"content": content.get("text") or ""}, logprobs=logprobs)]
        return []

    def _tool_plan_delta(self, event: dict[str, Any]) -> list[ModelResponseChunk]:
        plan = _message_delta(event).get("tool_plan")
        return [self._chunk({"reasoning_content": plan})] if plan else []

    def _tool_call_start(self, event: dict[str, Any]) -> list[ModelResponseChunk]:
        call = _message_delta(event).get("tool_calls") or {}
        index = int(event.get("index") or 0)
        function = call.get("function") or {}
        fragment = {"name": function.get("name") or "", "arguments": function.get("arguments") or ""}
        if self._legacy:
            # Legacy ``functions`` answer with one function_call: the first call only.
            return [self._chunk({"function_call": fragment})] if index == 0 else []
        return [self._chunk({"tool_calls": [{
            "index": index, "id": call.get("id") or f"call_{index}", "type": "function",
            "function": fragment}]})]

    def _tool_call_delta(self, event: dict[str, Any]) -> list[ModelResponseChunk]:
        call = _message_delta(event).get("tool_calls") or {}
        arguments = (call.get("function") or {}).get("arguments")
        index = int(event.get("index") or 0)
        if not arguments or (self._legacy and index != 0):
            return []
        if self._legacy:
            return [self._chunk({"function_call": {"arguments": arguments}})]
        return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})]

    def _citation_start(self, event: dict[str, Any]) -> list[ModelResponseChunk]:
        # Same extra as the non-streamed ``message.citations``; OpenAI readers ignore it.
        citation = _message_delta(event).get("citations")
        return [self._chunk({"citations": [citation]})] if citation else []

    def _message_end(self, event: dict[str, Any]) -> list[ModelResponseChunk]:
        delta = event.get("delta") or {}
        self._ended = True
        finish = finish_reason(delta.get("finish_reason"), legacy=self._legacy,
                               detail=delta.get("error"), response=event)
        chunks = [self._chunk({}, finish)]
        if self._include_usage:
            usage = usage_of(delta.get("usage")) or Usage.of(0, 0)
            chunks.append(ModelResponseChunk.model_validate({
                "id": self._id, "created": self._created, "model": self._model,
                "choices": [], "usage": usage}))
        return chunks
