"""OpenRouter SSE chunks -> ``ModelResponseChunk``.

The shared OpenAI translator does the rest (``: OPENROUTER PROCESSING`` comments never reach
it; repeated ``finish_reason`` and usage-on-a-choice chunks are normalised there). Here:
``delta.reasoning`` is also exposed as ``reasoning_content``, and a choice ending in
``finish_reason: "error"`` without an ``error`` member still raises.
https://openrouter.ai/docs/api-reference/streaming
"""

from __future__ import annotations

from typing import Any

from ..base import CallContext
from ..openai.stream import ChunkTranslator
from .errors import parse_error
from .response import generation_error, with_reasoning_content


class OpenRouterTranslator(ChunkTranslator):
    def __init__(self, ctx: CallContext) -> None:
        super().__init__(ctx, parse_error)

    def prepare(self, obj: dict[str, Any]) -> dict[str, Any]:
        choices = []
        for choice in obj.get("choices") or []:
            if choice.get("finish_reason") == "error":
                raise generation_error(choice, self._ctx)
            delta = choice.get("delta")
            choices.append({**choice, "delta": with_reasoning_content(delta)}
                           if isinstance(delta, dict) else choice)
        return {**obj, "choices": choices}
