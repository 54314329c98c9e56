"""Embeddings in the OpenAI wire shape: the request one batch carries, and the response.

``EmbeddingResponse`` is OpenAI's ``list`` of ``embedding`` objects with ``usage``; like
``ModelResponse`` it keeps ``meta`` beside its fields.
"""

from __future__ import annotations

import base64
import gc
import sys
from array import array
from typing import Any, Literal, Sequence, Union

from pydantic import Field, SkipValidation
from typing_extensions import Annotated, TypedDict

from .meta import CallMeta
from .records import Record
from .types import meta_of
from .usage import CompletionTokensDetails, PromptTokensDetails, Usage

__all__ = ["CollectorPause", "Embedding", "EmbeddingRequest", "EmbeddingResponse",
           "EmbeddingUsage", "base64_of", "embedding_response"]

# The OpenAI parameters of an embedding request besides model and input; any other key of an
# EmbeddingRequest is a provider extra (Cohere ``input_type``, Gemini ``task_type``).
EMBEDDING_PARAMS = frozenset({"dimensions", "encoding_format", "user"})


class EmbeddingRequest(TypedDict, total=False):
    """One request's worth of an embedding call. ``input`` is always a list here: strings, or
    token-id lists; no longer than the model's batch limit. ``encoding_format`` is ``float`` or
    ``base64`` as the caller asked (the parser answers in that format)."""

    model: str
    input: list[Any]
    dimensions: int
    encoding_format: str
    user: str


class EmbeddingUsage(Usage):
    """OpenAI's embeddings usage: only ``prompt_tokens`` and ``total_tokens`` are shown; the
    completion side reads as zero, so the object still prices and sums like any ``Usage``."""

    completion_tokens: int = Field(default=0, ge=0, exclude=True, repr=False)
    prompt_tokens_details: PromptTokensDetails | None = Field(default=None, exclude=True,
                                                             repr=False)
    completion_tokens_details: CompletionTokensDetails | None = Field(default=None, exclude=True,
                                                                     repr=False)

    @classmethod
    def of_prompt(cls, tokens: int) -> "EmbeddingUsage":
        return cls(prompt_tokens=tokens, total_tokens=tokens)


class Embedding(Record):
    """One vector: floats, or OpenAI's base64 string of little-endian float32 values.

    The vector is kept as the provider's parser built it: checking a thousand vectors of
    floats one number at a time would cost more than the rest of the call."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: Annotated[Union[list[float], str], SkipValidation]


class EmbeddingResponse(Record):
    """An OpenAI ``list`` of embeddings, ``data[i].index == i`` in input order; ``meta`` says how
    the call went (not part of the OpenAI shape, so not in ``model_dump()``)."""

    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage | None = None

    @property
    def meta(self) -> CallMeta:
        return meta_of(self)


def base64_of(vector: Sequence[float]) -> str:
    """A float vector as OpenAI's ``encoding_format="base64"`` gives it: little-endian float32
    bytes, base64-encoded.

    >>> base64_of([1.0])
    'AACAPw=='
    """
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


_validate_response = EmbeddingResponse.__pydantic_validator__.validate_python


class CollectorPause:
    """Holds off Python's cyclic garbage collector while llmrelay builds its small objects next
    to a freshly parsed answer.

    Right after a large answer is parsed, every collection walks each young container, which
    means every number of every fresh vector (measured: ~5 ms per 1,000 x 1,536 answer, more
    than the rest of the call). A raw client that stops at the parse leaves that walk to its
    caller's next allocation; pausing from the parse to the call's return does the same, no
    more. Only the thread that paused resumes, and only what it paused.
    """

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = False

    def hold(self) -> None:
        if not self.held and gc.isenabled():
            gc.disable()
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            gc.enable()


def embedding_response(obj: dict[str, Any]) -> EmbeddingResponse:
    """An ``EmbeddingResponse`` from its OpenAI-shaped dict, built with the collector paused
    (see ``CollectorPause``).

    Vectors are taken as they are, checked only as vectors: each a list whose first item is a
    number, or a base64 string (a ``null``, a number or an object where the vector should be
    raises ``ValueError``; a parser's caller makes it an ``APIError``)."""
    pause = CollectorPause()
    pause.hold()
    try:
        response: EmbeddingResponse = _validate_response(obj)
    finally:
        pause.release()
    for item in response.data:
        vector = item.embedding
        kind = type(vector)
        if kind is list:
            if vector and type(vector[0]) is not float and type(vector[0]) is not int:
                raise ValueError(f"embedding {item.index} is not a list of numbers: "
                                 f"it starts with {vector[0]!r:.60}")
        elif kind is not str:
            raise ValueError(f"embedding {item.index} is not a vector: {vector!r:.60}")
    return response
