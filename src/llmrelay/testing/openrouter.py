"""OpenRouter emulator (``POST /api/v1/chat/completions``, ``POST /api/v1/embeddings``).

OpenAI's generator with OpenRouter's differences, as recorded in shared/recorded/openrouter:
``gen-`` ids, ``provider`` and ``native_finish_reason`` fields, ``role`` on every delta,
``: OPENROUTER PROCESSING`` comments before the data, usage (with ``cost``) always sent on a
last chunk that still holds an empty choice, ``reasoning`` text when it is requested, ``n``
ignored, and mid-stream failures as a data chunk with a top-level ``error``. Models must be
``<vendor>/<name>``; names starting with ``missing-`` are not valid model IDs.
"""

from __future__ import annotations

from typing import Any

from .generation import count_tokens, words
from .openai import (
    CREATED,
    INVALID_INPUT,
    Flavor,
    answer,
    check_embedding_request,
    embedding_reply,
    last_user_text,
    serve_chat,
)
from .server import STATUS_MESSAGES, Exchange, Reply, error_body, provider_error, route, sse

KEEPALIVE = ": OPENROUTER PROCESSING\n\n"
DEFAULT_MODEL = "openai/gpt-4o-mini"
# Upstream names as OpenRouter reports them in ``provider``.
VENDORS = {"openai": "OpenAI", "anthropic": "Anthropic", "google": "Google",
           "mistralai": "Mistral", "meta-llama": "Together", "x-ai": "xAI", "cohere": "Cohere"}


def upstream(model: str) -> str:
    vendor = model.partition("/")[0]
    return VENDORS.get(vendor, vendor.title())


def reasoning_text(request: dict[str, Any]) -> str | None:
    """The model's thinking, when ``reasoning`` (or ``reasoning_effort``) asks for it."""
    reasoning = request.get("reasoning")
    wanted = request.get("reasoning_effort") not in (None, "none") or (
        isinstance(reasoning, dict) and reasoning.get("enabled", True) is not False
        and reasoning.get("effort") != "none")
    if not wanted:
        return None
    prompt = " ".join(last_user_text(request.get("messages") or []).split())[:80]
    return f"The user wrote: {prompt}. A short friendly answer will do."


def shown_reasoning(request: dict[str, Any]) -> str | None:
    """Reasoning is billed either way; ``reasoning.exclude`` keeps it out of the response."""
    reasoning = request.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("exclude"):
        return None
    return reasoning_text(request)


def details(text: str) -> list[dict[str, Any]]:
    return [{"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}]


def usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    thinking = reasoning_text(request)
    reasoning_tokens = count_tokens(thinking) if thinking else 0
    completion_tokens += reasoning_tokens
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "cost": round((prompt_tokens * 15 + completion_tokens * 60) / 1e8, 10),
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens, "image_tokens": 0},
    }


def shape_body(out: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    out.pop("service_tier", None)
    reasoning = shown_reasoning(request)
    for choice in out["choices"]:
        message = {**choice["message"], "reasoning": reasoning}
        message.pop("annotations", None)
        if reasoning:
            message["reasoning_details"] = details(reasoning)
        if message.get("tool_calls"):
            message["tool_calls"] = [{**call, "index": i}
                                     for i, call in enumerate(message["tool_calls"])]
        choice["message"] = message
        choice["native_finish_reason"] = choice["finish_reason"]
    return {**out, "provider": upstream(out["model"])}


def shape_chunk(chunk: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """Every delta repeats ``role``; the usage chunk keeps one empty choice (as recorded,
    although the docs show ``choices: []``)."""
    chunk.pop("service_tier", None)
    if chunk.get("usage") is None:
        chunk.pop("usage", None)
    if not chunk["choices"]:
        chunk["choices"] = [{"index": 0, "delta": {"role": "assistant", "content": ""},
                             "finish_reason": None, "native_finish_reason": None,
                             "logprobs": None}]
    for choice in chunk["choices"]:
        delta = choice.get("delta") or {}
        delta.pop("refusal", None)
        content = None if delta.get("tool_calls") else ""
        choice["delta"] = {"role": "assistant", "content": content, **delta}
        choice["native_finish_reason"] = choice.get("finish_reason")
    return {**chunk, "provider": upstream(chunk["model"])}


def lead_deltas(request: dict[str, Any]) -> list[dict[str, Any]]:
    text = shown_reasoning(request)
    if not text:
        return []
    return [{"role": "assistant", "content": "", "reasoning": piece, "reasoning_details": details(piece)}
            for piece in words(text)]


def stream_failure(events: list[str], status: int, request: dict[str, Any]) -> list[str]:
    """As recorded: some chunks, then a chunk with a top-level ``error`` (``code`` is the
    status) beside an empty choice and usage, then ``[DONE]``."""
    model = request.get("model") or DEFAULT_MODEL
    a = answer(request)
    failure = {
        "id": f"gen-{CREATED}-emulatorfailure", "provider": upstream(model),
        "error": {"code": status, "message": STATUS_MESSAGES.get(status, "Provider returned error")},
        "model": model, "object": "chat.completion.chunk", "created": CREATED,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                     "finish_reason": None, "native_finish_reason": None, "logprobs": None}],
        "usage": usage(a["prompt_tokens"], 2, request),
    }
    data = [e for e in events if e.startswith("data: {")]
    return [KEEPALIVE, *data[:2], sse(failure), sse("[DONE]")]


OPENROUTER = Flavor(
    "openrouter",
    id_prefix=f"gen-{CREATED}-",
    shape_body=shape_body,
    shape_chunk=shape_chunk,
    lead_deltas=lead_deltas,
    prelude=(KEEPALIVE, KEEPALIVE),
    always_usage=True,
    obfuscation=False,
    native_n=False,
    usage=usage,
    stream_failure=stream_failure,
)


@error_body("openrouter")
def openrouter_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    """``{"error": {"message", "code": <status>, "metadata"?}, "user_id"}``."""
    if status == 401:
        return {"error": {"message": "No auth credentials found", "code": 401}}, {}
    headers: dict[str, str] = {}
    error: dict[str, Any] = {"message": message, "code": status}
    if status == 402:
        error["message"] = "Insufficient credits. Add more using https://openrouter.ai/settings/credits"
    if status == 429:
        error.update(message="Provider returned error", metadata={
            "provider_name": "OpenAI",
            "raw": "The model is temporarily rate-limited upstream. Please retry shortly."})
        headers["retry-after"] = "0"
    return {"error": error, "user_id": "user_emulator"}, headers


@route("openrouter", "POST", r"/api/v1/chat/completions")
def chat_completions(ex: Exchange) -> Reply:
    if ex.headers.get("authorization") != f"Bearer {ex.api_key}":
        return provider_error("openrouter", 401, "No auth credentials found")
    body = ex.body if isinstance(ex.body, dict) else {}
    # Without a model OpenRouter uses the account's default model.
    model = str(body.get("model") or DEFAULT_MODEL)
    vendor, _, name = model.partition("/")
    if not vendor or not name or name.startswith("missing-"):
        return provider_error("openrouter", 400, f"{model} is not a valid model ID")
    return serve_chat(ex, OPENROUTER, model, {"x-generation-id": f"gen-{CREATED}-emulator"})


@route("openrouter", "POST", r"/api/v1/embeddings")
def embeddings(ex: Exchange) -> Reply:
    """OpenAI's embeddings list; the model keeps its ``<vendor>/<name>`` form."""
    if ex.headers.get("authorization") != f"Bearer {ex.api_key}":
        return provider_error("openrouter", 401, "No auth credentials found")
    body = ex.body if isinstance(ex.body, dict) else {}
    model = str(body.get("model") or "")
    vendor, _, name = model.partition("/")
    if not vendor or not name or name.startswith("missing-"):
        return provider_error("openrouter", 400, f"{model} is not a valid model ID")
    inputs = check_embedding_request(ex.body, "openrouter", name, 2048, INVALID_INPUT)
    if not isinstance(inputs, list):
        return inputs
    return embedding_reply(body, inputs, name, model, {"x-generation-id": f"gen-emb-{CREATED}"})
