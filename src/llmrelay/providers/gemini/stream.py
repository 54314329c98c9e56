"""Gemini ``streamGenerateContent?alt=sse`` -> OpenAI chunks. Each event is a partial response
with only new parts; no terminator; a failing stream ends with a bare JSON error object.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json

from ...exceptions import APIConnectionError, APIError
from ...streaming import ServerSentEvent, SSEDecoder
from ...types import ModelResponseChunk, delta_chunk
from ..base import CallContext
from .errors import stream_error
from .response import (
    candidate_index,
    finish_reason,
    is_legacy,
    logprobs_of,
    response_id,
    tool_call,
    usage_fields,
)

# Function calls arrive whole (never split); the finish reason comes on a candidate's last event;
# every event has a ``usageMetadata`` snapshot (the last counts). The body just ends, so one that
# ends before every candidate finished was cut. The error Gemini writes when it gives up
# mid-stream is pretty-printed JSON outside SSE framing: ``GeminiStreamDecoder`` hands it to the
# translator as an event of its own.
_raw_json = json.JSONDecoder()
_RAW_START = re.compile(rb"\n[\[{]")


class GeminiStreamDecoder:
    """SSE events (``SSEDecoder``), plus each bare JSON value that starts at the beginning of a
    line (Gemini's mid-stream error)."""

    __slots__ = ("_line_start", "_raw", "_sse")

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._raw: bytes | None = None
        self._line_start = True

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        if self._raw is not None:
            self._raw += chunk
            return self._take_raw()
        at = self._raw_start(chunk)
        if at < 0:
            if chunk:
                self._line_start = chunk.endswith(b"\n")
            return self._sse.feed(chunk)
        events = self._sse.feed(chunk[:at]) + self._sse.flush()
        self._raw = chunk[at:]
        return events + self._take_raw()

    def flush(self) -> list[ServerSentEvent]:
        events = self._sse.flush()
        if self._raw is not None and self._raw.strip():
            events.append(ServerSentEvent(self._raw.decode("utf-8", "replace").strip()))
        self._raw = None
        return events

    def _raw_start(self, chunk: bytes) -> int:
        if self._line_start and chunk[:1] in (b"{", b"["):
            return 0
        match = _RAW_START.search(chunk)  # one regex pass: bytes.find is slow on JSON's many "{"
        return match.start() + 1 if match else -1

    def _take_raw(self) -> list[ServerSentEvent]:
        """The raw JSON value once it is complete; what follows it is read as SSE again."""
        assert self._raw is not None
        text = self._raw.decode("utf-8", "ignore").lstrip()
        try:
            _, end = _raw_json.raw_decode(text)
        except ValueError:
            return []  # not complete yet (or not JSON: ``flush`` hands it over as it is)
        self._raw, self._line_start = None, True
        rest = text[end:].lstrip()
        return [ServerSentEvent(text[:end])] + (self.feed(rest.encode()) if rest else [])


@dataclass
class Candidate:
    """What one streamed candidate has said so far."""

    started: bool = False
    calls: int = 0
    finished: bool = False


class GeminiStreamTranslator:
    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx
        self._include_usage = bool((ctx.request.get("stream_options") or {}).get("include_usage"))
        self._legacy = is_legacy(ctx)
        self._id = ""
        self._model = ctx.model
        self._created = int(time.time())
        self._usage: Any = None
        self._candidates: dict[int, Candidate] = {}
        self._blocked = False

    def feed(self, event: ServerSentEvent) -> list[ModelResponseChunk]:
        if not event.data:
            return []
        data = from_json(event.data)
        if type(data) is not dict:
            if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
                data = data[0]  # the JSON-array form
            else:
                raise APIError("gemini sent a stream event that is not a JSON object", response=event.data)
        if "error" in data and isinstance(data["error"], dict):
            raise stream_error(data, self._ctx)
        if not self._id:
            self._id = response_id(data)
            self._model = data.get("modelVersion") or self._model
        usage = data.get("usageMetadata")
        if usage:
            self._usage = usage
        candidates = data.get("candidates")
        if candidates:
            if len(candidates) == 1:
                return self._candidate(candidates[0], 0)
            out: list[ModelResponseChunk] = []
            for position, candidate in enumerate(candidates):
                out += self._candidate(candidate, position)
            return out
        if (data.get("promptFeedback") or {}).get("blockReason"):
            self._blocked = True
            return [self._chunk(0, {"role": "assistant"}, "content_filter")]
        return []

    def finish(self) -> list[ModelResponseChunk]:
        if not self._blocked and (not self._candidates
                                  or not all(c.finished for c in self._candidates.values())):
            raise APIConnectionError("gemini stream ended before its finish reason")
        if not self._include_usage:
            return []
        return [ModelResponseChunk.model_validate(
            {"id": self._id, "created": self._created, "model": self._model, "choices": [],
             "usage": usage_fields(self._usage)})]

    def _candidate(self, candidate: dict[str, Any], position: int) -> list[ModelResponseChunk]:
        index = candidate_index(candidate, position)
        state = self._candidates.get(index)
        if state is None:
            state = self._candidates[index] = Candidate()
        out = []
        logprobs = candidate.get("logprobsResult")  # rides on the event's first chunk
        if logprobs is not None:
            logprobs = logprobs_of(logprobs)
        content = candidate.get("content")
        for part in (content.get("parts") or () if content else ()):
            delta = self._delta(part, index, state)
            if delta:
                if not state.started:
                    delta, state.started = {"role": "assistant", **delta}, True
                out.append(self._chunk(index, delta, logprobs=logprobs))
                logprobs = None
        reason = candidate.get("finishReason")
        if reason is None:
            return out
        finish = finish_reason(reason, has_calls=bool(state.calls), legacy=self._legacy)
        if finish and not state.finished:
            state.finished = True
            out.append(self._chunk(index, {} if state.started else {"role": "assistant"}, finish))
        return out

    def _delta(self, part: dict[str, Any], index: int, state: Candidate) -> dict[str, Any] | None:
        text = part.get("text")
        if text is not None:
            if not text or type(text) is not str:
                return None
            return {"reasoning_content": text} if part.get("thought") else {"content": text}
        if "functionCall" in part:
            call = tool_call(part, self._id, index, state.calls)
            state.calls += 1
            if self._legacy:  # a legacy function_call holds one call; later ones have no slot
                return {"function_call": call["function"]} if state.calls == 1 else None
            return {"tool_calls": [{"index": state.calls - 1, **call}]}
        return None

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None,
               logprobs: Any = None) -> ModelResponseChunk:
        return delta_chunk(self._id, self._created, self._model, delta, finish, logprobs, index)
