"""OpenAI-shaped response bodies -> ``ModelResponse`` (shared by Azure and OpenRouter)."""

from __future__ import annotations

from typing import Any

from ...exceptions import APIError
from ...types import ModelResponse, response_from_json, response_of
from ..base import CallContext


def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
    """The body already is a ``chat.completion``; an ``error`` member means it failed."""
    if isinstance(body, dict) and body.get("error"):
        error = body["error"]
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise APIError(f"{ctx.provider} returned an error in a 200 body: {message}", response=body)
    return with_choices(response_of(body), ctx)


def with_choices(response: ModelResponse, ctx: CallContext) -> ModelResponse:
    """``response``, which must have a choice: a chat completion without one answers nothing
    (the caller's ``choices[0]`` would fail far from the cause)."""
    if not response.choices:
        raise APIError(f"{ctx.provider} returned a chat completion without choices")
    return response


def parse_raw(content: bytes, ctx: CallContext) -> ModelResponse | None:
    """The usual answer, validated straight from its bytes (one pass in pydantic-core, where
    parsing and then validating takes two); ``None`` for one with an ``error`` member."""
    response = response_from_json(content)
    extra = response.__pydantic_extra__
    return None if (extra and extra.get("error")) or not response.choices else response
