"""Token usage in the OpenAI shape: prompt and completion counts with their details."""

from __future__ import annotations

from typing import Any

from pydantic import NonNegativeInt

from .records import Record

__all__ = ["CompletionTokensDetails", "PromptTokensDetails", "Usage"]


# Counts are never negative: a provider that reports one sent an answer that cannot be
# understood, and its parser's validation error becomes an ``APIError`` (``call.parse_with``)
# rather than a negative cost.


class PromptTokensDetails(Record):
    cached_tokens: NonNegativeInt | None = None
    audio_tokens: NonNegativeInt | None = None


class CompletionTokensDetails(Record):
    reasoning_tokens: NonNegativeInt | None = None
    audio_tokens: NonNegativeInt | None = None
    accepted_prediction_tokens: NonNegativeInt | None = None
    rejected_prediction_tokens: NonNegativeInt | None = None


class Usage(Record):
    prompt_tokens: NonNegativeInt = 0
    completion_tokens: NonNegativeInt = 0
    total_tokens: NonNegativeInt = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None

    @classmethod
    def of(
        cls,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        **extra: Any,
    ) -> "Usage":
        """Usage from counts; ``total_tokens`` is their sum."""
        return cls(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
            prompt_tokens_details=(
                None if cached_tokens is None else PromptTokensDetails(cached_tokens=cached_tokens)
            ),
            completion_tokens_details=(
                None
                if reasoning_tokens is None
                else CompletionTokensDetails(reasoning_tokens=reasoning_tokens)
            ),
            **extra,
        )
