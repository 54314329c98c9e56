"""The family emulator's machinery: a provider ``Spec``, the handler that serves one, and the
small chunk and body rewrites the providers share."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable, Mapping

from ..generation import words
from ..openai import Flavor, check_request, completion_body, last_user_text, stream_events
from ..server import Exchange, JSONReply, Reply, SSEReply, error_body, provider_error, route, sse
from ..vectors import input_list, openai_list, prompt_usage

Chunk = dict[str, Any]


def keep_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    return out


def keep_chunks(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    return chunks


def no_refusal(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    return None


@dataclass(frozen=True)
class EmbeddingSpec:
    """A provider's ``/embeddings`` endpoint (OpenAI's shape).

    ``max_inputs`` and ``too_many`` (its refusal of a longer list); ``fields``: the request
    keys it takes (others: ``refuse_field``'s answer); ``refuse``: its answer for a model it
    does not serve; ``dimensions``: the key that sizes vectors and the models that take it;
    ``size``: a model's default vector size; ``token_ids``: inputs may be token lists;
    ``extra``: fields the answer adds (an ``id``); ``usage``: how it words the tokens.
    """

    max_inputs: int
    too_many: Callable[[int], Reply]
    fields: frozenset[str] = frozenset({"model", "input", "dimensions", "encoding_format",
                                        "user"})
    refuse_field: Callable[[str, Any], Reply] | None = None
    refuse: Callable[[Exchange, dict[str, Any]], Reply | None] = no_refusal
    dimensions: tuple[str, tuple[str, ...]] = ("dimensions", ("*",))
    size: Callable[[str], int] = lambda model: 768
    token_ids: bool = False
    extra: Callable[[dict[str, Any]], dict[str, Any]] = lambda request: {}
    usage: Callable[[int], dict[str, Any]] = prompt_usage


@dataclass(frozen=True)
class Spec:
    """One provider of the family.

    ``base_paths``: where it answers (the first is ``Emulator.base_url``); ``read`` gives
    the request as OpenAI's generator should see it (defaults the provider fills in); ``authorize``
    returns the provider's auth failure or ``None``; ``refuse`` its own 4xx for a request it
    cannot take; ``thinks``: model globs that reason (``thought`` is then the reasoning
    text); ``shape_body`` / ``shape_stream`` give OpenAI's answer the provider's shape;
    ``end_stream`` has the last word on a stream's encoded events (Groq's ``event: error``);
    ``stream_failure`` turns the events into a stream that fails the way the provider's do;
    ``error`` words a scripted error status.
    """

    name: str
    base_paths: tuple[str, ...]
    flavor: Flavor
    authorize: Callable[[Exchange], Reply | None]
    error: Callable[[int, str], tuple[Any, dict[str, str]]]
    refuse: Callable[[Exchange, dict[str, Any]], Reply | None] = no_refusal
    read: Callable[[dict[str, Any]], dict[str, Any]] = lambda request: request
    thinks: tuple[str, ...] = ()
    shape_body: Callable[[dict[str, Any], dict[str, Any], str | None], dict[str, Any]] = keep_body
    shape_stream: Callable[[list[Chunk], dict[str, Any], str | None], list[Chunk]] = keep_chunks
    prelude: tuple[str, ...] = ()
    done: bool = True
    end_stream: Callable[[list[str], dict[str, Any]], list[str]] | None = None
    stream_failure: Callable[[list[str], int, dict[str, Any]], list[str]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    embeddings: EmbeddingSpec | None = None


def register(spec: Spec) -> Spec:
    """Serve ``spec`` at each of its base paths and word its scripted errors."""
    def handler(ex: Exchange) -> Reply:
        return serve(ex, spec)

    def embed(ex: Exchange) -> Reply:
        return serve_embeddings(ex, spec)

    for base in spec.base_paths:
        route(spec.name, "POST", re.escape(base) + r"/chat/completions")(handler)
        if spec.embeddings is not None:
            route(spec.name, "POST", re.escape(base) + r"/embeddings")(embed)
    error_body(spec.name)(spec.error)
    return spec


def serve_embeddings(ex: Exchange, spec: Spec) -> Reply:
    """The OpenAI-shaped embeddings answer, after the provider's own refusals."""
    assert spec.embeddings is not None
    embeddings = spec.embeddings
    denied = spec.authorize(ex)
    if denied is not None:
        return denied
    request = ex.body if isinstance(ex.body, dict) else {}
    for key in request:
        if key not in embeddings.fields:
            if embeddings.refuse_field is not None:
                return embeddings.refuse_field(key, request[key])
            return provider_error(spec.name, 400, f"Unrecognized request argument supplied: {key}")
    refused = embeddings.refuse(ex, request)
    if refused is not None:
        return refused
    model = str(request.get("model") or "")
    inputs = input_list(request.get("input"))
    if inputs is None or (not embeddings.token_ids and not all(isinstance(i, str) for i in inputs)):
        return provider_error(spec.name, 400, "input must be a string or a list of strings")
    if len(inputs) > embeddings.max_inputs:
        return embeddings.too_many(len(inputs))
    key, sized = embeddings.dimensions
    dims = request.get(key)
    if dims is not None and not any(fnmatchcase(model, p) for p in sized):
        return provider_error(spec.name, 400, f"{key} is not supported by model {model}")
    size = dims or embeddings.size(model)
    data = openai_list(inputs, model, size, request.get("encoding_format") or "float",
                       embeddings.extra(request), embeddings.usage)
    return JSONReply(200, data, dict(spec.headers))


def thought_for(spec: Spec, request: dict[str, Any]) -> str | None:
    """The reasoning text of a thinking model (same input, same text)."""
    model = str(request.get("model") or "").lower()
    if not any(fnmatchcase(model, p) for p in spec.thinks):
        return None
    prompt = " ".join(last_user_text(request.get("messages") or []).split())[:80]
    return f"The user wrote: {prompt}. A short friendly answer will do."


def serve(ex: Exchange, spec: Spec) -> Reply:
    denied = spec.authorize(ex)
    if denied is not None:
        return denied
    request = ex.body if isinstance(ex.body, dict) else {}
    model = str(request.get("model") or "")
    invalid = check_request(ex, spec.flavor, model)
    if invalid is not None:
        return invalid
    refused = spec.refuse(ex, request)
    if refused is not None:
        return refused
    request = spec.read(request)
    thought = thought_for(spec, request)
    if request.get("stream"):
        chunks = [json.loads(e[6:]) for e in stream_events(request, spec.flavor, model)
                  if e.startswith("data: {")]
        events = [*spec.prelude, *(sse(c) for c in spec.shape_stream(chunks, request, thought))]
        if spec.done:
            events.append(sse("[DONE]"))
        if spec.end_stream is not None:
            events = spec.end_stream(events, request)
        fault = ex.emulator.take_fault(spec.name, ex.path, ("stream_error",))
        if fault is not None:
            failure = spec.stream_failure or openai_style_failure
            events = failure(events, fault.status, request)
        return SSEReply(events, dict(spec.headers))
    out = completion_body(request, spec.flavor, model)
    return JSONReply(200, spec.shape_body(out, request, thought), dict(spec.headers))


# ---- helpers the specs share ----------------------------------------------------------------


def uuid_for(*parts: Any) -> str:
    """A stable UUID-shaped id (DeepSeek, Groq, Perplexity ids look like this)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(parts, sort_keys=True, default=str)))


def without(obj: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


def clean_chunk(chunk: Chunk, *keys: str) -> Chunk:
    """A chunk without OpenAI-only keys (``service_tier``, ``obfuscation``, ...) and
    without the ``refusal`` of its deltas."""
    out = without(chunk, "service_tier", "obfuscation", *keys)
    out["choices"] = [{**c, "delta": without(c.get("delta") or {}, "refusal")}
                      for c in out.get("choices") or []]
    return out


def clean_message(message: dict[str, Any]) -> dict[str, Any]:
    return without(message, "refusal", "annotations")


def usage_on_finish(chunks: list[Chunk]) -> list[Chunk]:
    """The usage-only chunk folded into the last chunk that has a finish reason."""
    usage = next((c["usage"] for c in chunks if not c.get("choices") and c.get("usage")), None)
    kept = [c for c in chunks if c.get("choices")]
    if usage is not None:
        last = max(i for i, c in enumerate(kept)
                   if any(ch.get("finish_reason") for ch in c["choices"]))
        kept[last] = {**kept[last], "usage": usage}
    return kept


def whole_tool_calls(chunks: list[Chunk]) -> list[Chunk]:
    """Argument fragments joined into the chunk that opened the call: providers that send a
    tool call in one piece (Mistral, Ollama)."""
    out: list[Chunk] = []
    for chunk in chunks:
        calls = [tc for c in chunk.get("choices") or []
                 for tc in (c.get("delta") or {}).get("tool_calls") or []]
        opened = out[-1]["choices"][0]["delta"].get("tool_calls") if out and out[-1].get(
            "choices") else None
        if calls and opened and not calls[0].get("id"):
            fn = opened[0]["function"]
            fn["arguments"] += calls[0]["function"].get("arguments") or ""
            continue
        out.append(chunk)
    return out


def with_reasoning(chunks: list[Chunk], deltas: list[dict[str, Any]]) -> list[Chunk]:
    """``deltas`` streamed right after the first chunk, with its identity."""
    if not chunks or not deltas:
        return chunks
    first = chunks[0]
    lead = [{**first, "choices": [{**first["choices"][0], "delta": d, "finish_reason": None}]}
            for d in deltas]
    return [first, *lead, *chunks[1:]]


def thought_pieces(thought: str) -> list[str]:
    return words(thought)


def openai_style_failure(events: list[str], status: int, request: dict[str, Any]) -> list[str]:
    """A few chunks, then ``data: {"error": ...}`` (OpenAI's way; the providers that do not
    document their own)."""
    error = {"message": "The server had an error while processing your request.",
             "type": "server_error", "param": None, "code": status}
    return [*events[:3], sse({"error": error})]


def provider_reply(provider: str, status: int, message: str) -> Reply:
    return provider_error(provider, status, message)


def refusal(status: int, body: Any, headers: Mapping[str, str] | None = None) -> JSONReply:
    return JSONReply(status, body, dict(headers or {}))
