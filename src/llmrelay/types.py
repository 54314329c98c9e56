"""Response types in the OpenAI wire shape, and the request's TypedDicts.

Responses are pydantic models with ``extra="allow"``: provider extras (Azure filter results,
OpenRouter ``provider``/``cost``) survive, and attribute and dict access both work.
"""

from __future__ import annotations

import time
from typing import Any, Iterator, Literal, Union

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

__all__ = [
    "OPENAI_PARAMS",
    "ChatRequest",
    "Choice",
    "ChunkChoice",
    "ChunkFunction",
    "ChunkToolCall",
    "CompletionTokensDetails",
    "Delta",
    "FunctionCall",
    "Message",
    "ModelResponse",
    "ModelResponseChunk",
    "PromptTokensDetails",
    "ToolCall",
    "Usage",
]


class ChatRequest(TypedDict, total=False):
    """An OpenAI Chat Completions request; provider extras ride along as further keys."""

    model: str
    messages: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    function_call: Union[str, dict[str, Any]]
    tools: list[dict[str, Any]]
    tool_choice: Union[str, dict[str, Any]]
    parallel_tool_calls: bool
    temperature: float
    top_p: float
    n: int
    stream: bool
    stream_options: dict[str, Any]
    stop: Union[str, list[str]]
    max_tokens: int
    max_completion_tokens: int
    presence_penalty: float
    frequency_penalty: float
    logit_bias: dict[str, float]
    user: str
    seed: int
    response_format: dict[str, Any]
    logprobs: bool
    top_logprobs: int


# The OpenAI parameters of a request; any other key of a ChatRequest is a provider extra
# passed through by keyword (Anthropic ``top_k``, Replicate inputs, ...).
OPENAI_PARAMS: frozenset[str] = frozenset(ChatRequest.__annotations__) - {"model", "messages"}


class _Record(BaseModel):
    """Base of every response type: extras kept, dict-style access as in the OpenAI shape."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and getattr(self, key, None) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None)
        return default if value is None else value

    def keys(self) -> Iterator[str]:
        return iter(self.model_dump().keys())

    def json(self, **kwargs: Any) -> str:  # type: ignore[override]
        return self.model_dump_json(**kwargs)


class FunctionCall(_Record):
    name: str
    arguments: str


class ToolCall(_Record):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Record):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None


class Choice(_Record):
    index: int = 0
    message: Message = Field(default_factory=Message)
    finish_reason: str | None = None
    logprobs: Any | None = None


class PromptTokensDetails(_Record):
    cached_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(_Record):
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class Usage(_Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
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


class ModelResponse(_Record):
    """An OpenAI ``chat.completion`` object."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class ChunkFunction(_Record):
    name: str | None = None
    arguments: str | None = None


class ChunkToolCall(_Record):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChunkFunction | None = None


class Delta(_Record):
    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChunkToolCall] | None = None
    function_call: ChunkFunction | None = None


class ChunkChoice(_Record):
    index: int = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: str | None = None
    logprobs: Any | None = None


class ModelResponseChunk(_Record):
    """An OpenAI ``chat.completion.chunk`` object."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


_validate_chunk = ModelResponseChunk.__pydantic_validator__.validate_python


def delta_chunk(
    id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    logprobs: Any = None,
) -> ModelResponseChunk:
    """A one-choice chunk, built the fast way: stream translators make one per event, so
    this calls pydantic-core's validator directly, skipping ``model_validate``'s wrapper."""
    chunk: ModelResponseChunk = _validate_chunk(
        {"id": id, "created": created, "model": model,
         "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                      "logprobs": logprobs}]}
    )
    return chunk
