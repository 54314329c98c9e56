"""Deterministic embedding vectors for the emulators, and OpenAI-shaped embedding answers.

The same input always gives the same unit vector; asking for fewer dimensions gives the
renormalised start of the same vector, as OpenAI's shortened embeddings are. Vectors are kept
JSON-encoded, so a thousand-input answer is built by joining strings, not by encoding floats.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from array import array
from functools import lru_cache
from typing import Any, Callable

from ..embedding_types import base64_of
from .generation import count_tokens

# Encoded vectors kept: enough for the tests' and benchmarks' batches (a little over 2,048),
# bounded in memory (about 20 kB each at 1,536 dimensions).
CACHE_SIZE = 2560


def input_key(value: Any) -> str:
    """A text, or a token-id list, as the key its vector is derived from."""
    return value if isinstance(value, str) else "tokens:" + ",".join(map(str, value))


def input_tokens(value: Any) -> int:
    """Tokens an input counts for: words of a text, or the length of a token-id list."""
    return count_tokens(value) if isinstance(value, str) else len(value)


def vector(key: str, dims: int) -> list[float]:
    """The unit vector for ``key`` with ``dims`` components."""
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    # Whole 32-bit words of the generator, so a shorter vector's numbers start a longer one's.
    raw = array("h", rng.randbytes(4 * ((dims + 1) // 2)))[:dims]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 8) for v in raw]


@lru_cache(maxsize=CACHE_SIZE)
def encoded(key: str, dims: int, encoding: str) -> str:
    """The vector as it appears in a JSON body: a list of floats, or OpenAI's base64 string."""
    values = vector(key, dims)
    return json.dumps(base64_of(values) if encoding == "base64" else values)


def json_vectors(inputs: list[Any], dims: int, encoding: str = "float") -> str:
    """A JSON array holding each input's vector."""
    return "[" + ",".join(encoded(input_key(v), dims, encoding) for v in inputs) + "]"


def prompt_usage(tokens: int) -> dict[str, Any]:
    return {"prompt_tokens": tokens, "total_tokens": tokens}


def openai_list(inputs: list[Any], model: str, dims: int, encoding: str,
                extra: dict[str, Any] | None = None,
                usage: Callable[[int], dict[str, Any]] = prompt_usage) -> bytes:
    """An OpenAI ``list`` of embeddings as JSON bytes; ``usage`` words the tokens of every
    input (OpenAI's ``prompt_tokens`` / ``total_tokens`` by default)."""
    tokens = sum(input_tokens(i) for i in inputs)
    items = ",".join(
        f'{{"object":"embedding","index":{i},"embedding":{encoded(input_key(v), dims, encoding)}}}'
        for i, v in enumerate(inputs)
    )
    tail = json.dumps({"model": model, "usage": usage(tokens), **(extra or {})})
    return f'{{"object":"list","data":[{items}],{tail[1:]}'.encode()


def input_list(value: Any) -> list[Any] | None:
    """OpenAI's ``input`` as a list of inputs (strings or token-id lists), or ``None`` when it
    is none of the accepted shapes."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, str) for v in value):
        return value
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [value]
    if all(isinstance(v, list) and v and all(isinstance(t, int) for t in v) for v in value):
        return value
    return None
