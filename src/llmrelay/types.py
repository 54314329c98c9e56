"""Response types in the OpenAI wire shape, and the request's TypedDicts.

Responses are pydantic models with ``extra="allow"``: provider extras (Azure filter results,
OpenRouter ``provider``/``cost``) survive, and attribute and dict access both work.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Literal, Union

from pydantic import Field
from typing_extensions import TypedDict

from .meta import CallMeta
from .records import Record
from .usage import CompletionTokensDetails, PromptTokensDetails, Usage

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


class FunctionCall(Record):
    name: str
    arguments: str


class ToolCall(Record):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(Record):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None


class Choice(Record):
    index: int = 0
    message: Message = Field(default_factory=Message)
    finish_reason: str | None = None
    logprobs: Any | None = None


class ModelResponse(Record):
    """An OpenAI ``chat.completion`` object; ``meta`` says how the call went (not part of the
    OpenAI shape, so not in ``model_dump()``)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    @property
    def meta(self) -> CallMeta:
        return meta_of(self)


def meta_of(response: Record) -> CallMeta:
    """The ``CallMeta`` kept beside a response's fields (in ``__dict__``, where pydantic neither
    dumps nor compares it); made empty on first read for a response built by hand."""
    meta: CallMeta | None = response.__dict__.get("_meta")
    if meta is None:
        meta = CallMeta(usage=getattr(response, "usage", None))
        attach_meta(response, meta)
    return meta


def attach_meta(response: Record, meta: CallMeta) -> None:
    response.__dict__["_meta"] = meta


class ChunkFunction(Record):
    name: str | None = None
    arguments: str | None = None


class ChunkToolCall(Record):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChunkFunction | None = None


class Delta(Record):
    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChunkToolCall] | None = None
    function_call: ChunkFunction | None = None


class ChunkChoice(Record):
    index: int = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: str | None = None
    logprobs: Any | None = None


class ModelResponseChunk(Record):
    """An OpenAI ``chat.completion.chunk`` object."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


_validate_chunk = ModelResponseChunk.__pydantic_validator__.validate_python
_validate_choice = ChunkChoice.__pydantic_validator__.validate_python
_new = object.__new__
_set = object.__setattr__
# pydantic-core's validators called directly (``model_validate`` adds a Python-level wrapper).
response_of: Callable[[Any], ModelResponse] = ModelResponse.__pydantic_validator__.validate_python
response_from_json: Callable[[bytes], ModelResponse] = (
    ModelResponse.__pydantic_validator__.validate_json)


def delta_chunk(
    id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    logprobs: Any = None,
    index: int = 0,
) -> ModelResponseChunk:
    """A one-choice chunk, built the fast way: stream translators make one per event.

    The choice (with its delta: the provider's values) is validated by pydantic-core; the
    chunk around it, whose fields are the stream's id, creation time and model, is assembled
    directly once those are checked to be exactly ``str``, ``int``, ``str`` (~30% of the cost
    of validating the whole chunk). It is the chunk the validator would have made: the same
    fields, in the same order, with the same fields set."""
    if type(id) is str and type(created) is int and type(model) is str:
        choice = _validate_choice({"index": index, "delta": delta, "finish_reason": finish_reason,
                                   "logprobs": logprobs})
        chunk = _new(ModelResponseChunk)
        _set(chunk, "__dict__", {"id": id, "object": "chat.completion.chunk", "created": created,
                                 "model": model, "choices": [choice], "usage": None,
                                 "system_fingerprint": None})
        _set(chunk, "__pydantic_fields_set__", {"id", "created", "model", "choices"})
        _set(chunk, "__pydantic_extra__", {})
        _set(chunk, "__pydantic_private__", None)
        return chunk
    validated: ModelResponseChunk = _validate_chunk(
        {"id": id, "created": created, "model": model,
         "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason,
                      "logprobs": logprobs}]}
    )
    return validated
