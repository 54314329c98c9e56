"""``stream_chunk_builder``: rebuild the ``ModelResponse`` a stream of chunks stands for."""

from __future__ import annotations

from typing import Any, Iterable

from .exceptions import BadRequestError
from .types import ModelResponse, ModelResponseChunk


def stream_chunk_builder(chunks: Iterable[ModelResponseChunk | dict[str, Any]]) -> ModelResponse:
    """Join content, tool-call and function-call fragments per choice; keep the last usage.

    >>> chunks = list(llmrelay.completion(model="gpt-4o-mini", messages=msgs, stream=True))
    >>> llmrelay.stream_chunk_builder(chunks).choices[0].message.content
    """
    items = [c if isinstance(c, ModelResponseChunk) else ModelResponseChunk.model_validate(c)
             for c in chunks]
    if not items:
        raise BadRequestError("stream_chunk_builder needs at least one chunk")
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    extras: dict[str, Any] = {}
    for chunk in items:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            state = choices.setdefault(
                choice.index,
                {"content": [], "extras": {}, "tools": {}, "function": None, "finish": None,
                 "refusal": [], "logprobs": None},
            )
            delta = choice.delta
            if delta.content:
                state["content"].append(delta.content)
            if delta.refusal:
                state["refusal"].append(delta.refusal)
            _merge_extras(state["extras"], delta.model_extra or {})
            _merge_logprobs(state, choice.logprobs)
            for call in delta.tool_calls or []:
                slot = state["tools"].setdefault(
                    call.index, {"id": None, "name": "", "arguments": []}
                )
                if call.id:
                    slot["id"] = call.id
                if call.function is not None:
                    if call.function.name:
                        slot["name"] = call.function.name
                    if call.function.arguments:
                        slot["arguments"].append(call.function.arguments)
            if delta.function_call is not None:
                fn = state["function"] = state["function"] or {"name": "", "arguments": []}
                if delta.function_call.name:
                    fn["name"] = delta.function_call.name
                if delta.function_call.arguments:
                    fn["arguments"].append(delta.function_call.arguments)
            if choice.finish_reason:
                state["finish"] = choice.finish_reason
        for key in ("system_fingerprint",):
            if getattr(chunk, key, None):
                extras[key] = getattr(chunk, key)
    first = items[0]
    built = []
    for index in sorted(choices):
        state = choices[index]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(state["content"]) or None,
        }
        if state["refusal"]:
            message["refusal"] = "".join(state["refusal"])
        message.update(state["extras"])
        if state["tools"]:
            message["tool_calls"] = [
                {"id": slot["id"] or f"call_{index}_{i}", "type": "function",
                 "function": {"name": slot["name"], "arguments": "".join(slot["arguments"])}}
                for i, slot in sorted(state["tools"].items())
            ]
        if state["function"]:
            fn = state["function"]
            message["function_call"] = {"name": fn["name"], "arguments": "".join(fn["arguments"])}
        built.append({"index": index, "message": message, "finish_reason": state["finish"],
                      "logprobs": state["logprobs"]})
    return ModelResponse.model_validate(
        {"id": first.id, "created": first.created, "model": first.model, "choices": built,
         "usage": usage.model_dump(exclude_none=True) if usage is not None else None, **extras}
    )


def _merge_extras(into: dict[str, Any], extras: dict[str, Any]) -> None:
    """Provider extras on deltas: text fragments join (``reasoning_content``), lists extend
    (``thinking_blocks``, ``citations``, ``reasoning_details``), anything else is the latest."""
    for key, value in extras.items():
        if value is None:
            continue
        have = into.get(key)
        if isinstance(value, str) and isinstance(have, str):
            into[key] = have + value
        elif isinstance(value, list) and isinstance(have, list):
            into[key] = have + value
        else:
            into[key] = list(value) if isinstance(value, list) else value


def _merge_logprobs(state: dict[str, Any], logprobs: Any) -> None:
    """``logprobs.content`` entries, in stream order."""
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
        return
    if state["logprobs"] is None:
        state["logprobs"] = {"content": []}
    state["logprobs"]["content"].extend(logprobs["content"])
