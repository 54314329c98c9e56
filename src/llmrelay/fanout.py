"""``n > 1`` on providers that answer one choice per request: n requests, one answer.

Choices are renumbered in request order and usage is summed, since every request was billed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator, Sequence

from .validation import validate_n

if TYPE_CHECKING:
    from .providers.base import Adapter
    from .types import ModelResponse, ModelResponseChunk, Usage


def fan_out_count(adapter: "Adapter", params: dict[str, Any]) -> int:
    """How many single-choice requests stand in for one call (1: the provider does ``n``)."""
    n = params.get("n") or 1
    validate_n(n)  # before n requests are prepared: an unbounded n would exhaust memory
    return 1 if adapter.native_n or not isinstance(n, int) else max(n, 1)


def sum_usage(usages: Sequence["Usage | None"]) -> "Usage | None":
    from .types import Usage

    present = [u for u in usages if u is not None]
    if not present:
        return None
    totals: dict[str, Any] = {}
    for usage in present:
        _add(totals, usage.model_dump(exclude_none=True))
    return Usage.model_validate(totals)


def _add(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, bool):
            into.setdefault(key, value)
        elif isinstance(value, (int, float)):
            into[key] = into.get(key, 0) + value
        elif isinstance(value, dict):
            _add(into.setdefault(key, {}), value)
        else:
            into.setdefault(key, value)


def merge_responses(responses: Sequence["ModelResponse"]) -> "ModelResponse":
    """One response holding every choice of ``responses``, renumbered, with usage summed."""
    first = responses[0]
    choices: list[Any] = []
    for response in responses:
        for choice in response.choices:
            choices.append(choice.model_copy(update={"index": len(choices)}))
    return first.model_copy(
        update={"choices": choices, "usage": sum_usage([r.usage for r in responses])}
    )


def reindex_chunk(chunk: "ModelResponseChunk", index: int) -> "ModelResponseChunk":
    return chunk.model_copy(
        update={"choices": [c.model_copy(update={"index": index}) for c in chunk.choices]}
    )


def chain_streams(streams: Iterator[Iterator["ModelResponseChunk"]]) -> Iterator["ModelResponseChunk"]:
    """Stream choice 0, then choice 1, ...; usage-only chunks become one summed chunk at the end."""
    usage_chunks = []
    for index, stream in enumerate(streams):
        for chunk in stream:
            if not chunk.choices and chunk.usage is not None:
                usage_chunks.append(chunk)
            else:
                yield reindex_chunk(chunk, index)
    if usage_chunks:
        yield usage_chunks[-1].model_copy(update={"usage": sum_usage([c.usage for c in usage_chunks])})


async def achain_streams(
    streams: AsyncIterator[AsyncIterator["ModelResponseChunk"]],
) -> AsyncIterator["ModelResponseChunk"]:
    """The async twin of ``chain_streams``."""
    usage_chunks = []
    index = 0
    async for stream in streams:
        async for chunk in stream:
            if not chunk.choices and chunk.usage is not None:
                usage_chunks.append(chunk)
            else:
                yield reindex_chunk(chunk, index)
        index += 1
    if usage_chunks:
        yield usage_chunks[-1].model_copy(update={"usage": sum_usage([c.usage for c in usage_chunks])})
