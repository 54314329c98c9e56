"""Replicate prediction SSE (``urls.stream``) -> ``ModelResponseChunk``.

Events (https://replicate.com/docs/topics/predictions/streaming): ``output`` carries plain text
(several ``data:`` lines are one piece joined by newlines), ``logs`` is ignored, ``error``
carries ``{"detail": ...}`` and raises, ``done`` ends the stream with ``{}`` or
``{"reason": "canceled" | "error"}``. The stream names neither the prediction (its id comes from the
create answer, through ``ctx.state``), a stop reason nor token counts, so the final chunk says
``stop`` and no usage chunk follows.
"""

from __future__ import annotations

import json
from typing import Any

from ...exceptions import APIConnectionError, InternalServerError
from ...streaming import ServerSentEvent
from ...types import ChunkChoice, Delta, ModelResponseChunk
from ..base import CallContext
from .errors import canceled_error, prediction_error


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


class PredictionStreamTranslator:
    """Feeds named SSE events; comments never reach it and events after ``done`` are ignored."""

    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx
        # The stream does not name its prediction; the create answer did (``ctx.state``).
        self._id: str | None = ctx.state.get("prediction_id")
        self._created: int | None = ctx.state.get("created")
        self._started = False
        self._done = False

    def _chunk(self, delta: Delta, finish: str | None = None) -> ModelResponseChunk:
        chunk = ModelResponseChunk(
            id=self._id or "replicate-stream",
            model=self._ctx.model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
        )
        if self._created is not None:
            chunk.created = self._created
        return chunk

    def feed(self, event: ServerSentEvent) -> list[ModelResponseChunk]:
        if self._done:
            return []
        if self._id is None and event.id:
            # No prediction id on the stream; its first event id (``<unix time>:<n>``) is stable.
            self._id = "replicate-" + event.id.split(":")[0]
        if event.event == "output":
            if not self._started:
                self._started = True
                return [self._chunk(Delta(role="assistant", content=event.data))]
            return [self._chunk(Delta(content=event.data))] if event.data else []
        if event.event == "error":
            payload = _json_or_text(event.data)
            detail = payload.get("detail") if isinstance(payload, dict) else payload
            raise prediction_error(detail if isinstance(detail, str) else event.data, None)
        if event.event == "done":
            self._done = True
            payload = _json_or_text(event.data)
            reason = payload.get("reason") if isinstance(payload, dict) else None
            if reason == "canceled":
                raise canceled_error(None)
            if reason == "error":
                raise InternalServerError("Replicate prediction failed", code="prediction_failed")
            delta = Delta() if self._started else Delta(role="assistant", content="")
            return [self._chunk(delta, "stop")]
        return []

    def finish(self) -> list[ModelResponseChunk]:
        if not self._done:
            raise APIConnectionError("Replicate stream ended before its done event")
        return []


def stream_translator(ctx: CallContext) -> PredictionStreamTranslator:
    return PredictionStreamTranslator(ctx)
