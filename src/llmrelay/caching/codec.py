"""Cached values: the answer's OpenAI JSON (pydantic-core's serializer), zlib-compressed when
the backend stores it outside the process and it is large enough to gain.

One tag byte leads every value, so a value written by another version or damaged on disk is
recognised as unreadable instead of misread.
"""

from __future__ import annotations

import zlib
from typing import Any, TypeVar

__all__ = ["decode", "encode"]

PLAIN = b"\x01"
ZLIB = b"\x02"

# zlib level 1: on chat answers (0.8 to 20 KB of JSON) it compresses as well as level 6 (within
# 3%) in two thirds of the time; see README "Caching" for the measurements.
LEVEL = 1

R = TypeVar("R")


def encode(record: Any, compress_from: int | None) -> bytes:
    """``record`` (a pydantic response) as stored bytes; compressed from ``compress_from``
    bytes of JSON on (``None``: never)."""
    raw: bytes = type(record).__pydantic_serializer__.to_json(record)
    if compress_from is not None and len(raw) >= compress_from:
        return ZLIB + zlib.compress(raw, LEVEL)
    return PLAIN + raw


def decode(value: bytes, cls: type[R]) -> R:
    """The response ``value`` holds; ``ValueError`` when it is not one we wrote."""
    tag = value[:1]
    if tag == PLAIN:
        body = value[1:]
    elif tag == ZLIB:
        try:
            body = zlib.decompress(value[1:])
        except zlib.error as exc:
            raise ValueError(f"cached value does not decompress: {exc}") from exc
    else:
        raise ValueError(f"cached value has an unknown format tag {tag!r}")
    record: R = cls.__pydantic_validator__.validate_json(body)  # type: ignore[attr-defined]
    return record
