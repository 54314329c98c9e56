"""OpenRouter response bodies -> ``ModelResponse``.

OpenAI's shape plus ``provider``, ``native_finish_reason`` and ``message.reasoning``; the
reasoning text is also exposed as ``reasoning_content``, the name other providers' thinking
uses here. ``finish_reason: "error"`` has no OpenAI equivalent and is raised.
https://openrouter.ai/docs/api-reference/overview#responses
"""

from __future__ import annotations

from typing import Any

from ...exceptions import APIError
from ...types import ModelResponse, response_of
from ..base import CallContext
from ..openai.response import with_choices
from ..openai.stream import stream_error_status
from .errors import parse_error


def with_reasoning_content(part: dict[str, Any]) -> dict[str, Any]:
    """``part`` (a message or delta) with ``reasoning`` copied to ``reasoning_content``."""
    reasoning = part.get("reasoning")
    if isinstance(reasoning, str) and reasoning and "reasoning_content" not in part:
        return {**part, "reasoning_content": reasoning}
    return part


def generation_error(choice: dict[str, Any], ctx: CallContext) -> APIError:
    native = choice.get("native_finish_reason")
    detail = f" (upstream finish reason {native!r})" if native else ""
    return APIError(f"{ctx.provider} reports that generation failed{detail}")


def parse_response(body: Any, ctx: CallContext) -> ModelResponse:
    if not isinstance(body, dict):
        raise APIError(f"{ctx.provider} returned a body that is not an object", response=body)
    # Errors during generation come back in a 200 body; ``error.code`` holds the status.
    if body.get("error"):
        raise parse_error(stream_error_status(body["error"]), body, {}, ctx)
    choices = []
    for choice in body.get("choices") or []:
        if choice.get("finish_reason") == "error":
            raise generation_error(choice, ctx)
        message = choice.get("message")
        choices.append({**choice, "message": with_reasoning_content(message)}
                       if isinstance(message, dict) else choice)
    return with_choices(response_of({**body, "choices": choices}), ctx)
