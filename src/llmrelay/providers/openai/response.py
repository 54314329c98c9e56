"""OpenAI-shaped response bodies -> ``ModelResponse`` (shared by Azure and OpenRouter)."""

from __future__ import annotations

from typing import Any

from ...exceptions import APIError
from ...types import ModelResponse
from ..base import CallContext


def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
    """The body already is a ``chat.completion``; an ``error`` member means it failed."""
    if isinstance(body, dict) and body.get("error"):
        error = body["error"]
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise APIError(f"{ctx.provider} returned an error in a 200 body: {message}", response=body)
    return ModelResponse.model_validate(body)
