"""xAI, emulated."""

from __future__ import annotations

from typing import Any

from ..generation import count_tokens
from ..openai import Flavor, openai_usage
from ..server import Exchange, Reply
from .common import (
    add_thought,
    bearer_ok,
    clean_body,
    missing,
)
from .spec import (
    Chunk,
    Spec,
    clean_chunk,
    refusal,
    register,
    thought_pieces,
    uuid_for,
    with_reasoning,
)

# Errors are {"code": "<gRPC status text>", "error": "<message>"}; a wrong key is a 400
# (reported in public issues). Reasoning models refuse penalties and stop; reasoningEffort
# only on grok-3-mini (https://docs.x.ai/docs/guides/reasoning).


XAI_CODES = {400: "Client specified an invalid argument",
             401: "The request does not have valid authentication credentials",
             403: "The caller does not have permission to execute the specified operation",
             404: "Some requested entity was not found",
             429: "Some resource has been exhausted",
             500: "Internal error", 503: "The service is currently unavailable"}


def xai_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    code = XAI_CODES.get(status, XAI_CODES[500] if status >= 500 else XAI_CODES[400])
    return {"code": code, "error": message}, ({"retry-after": "0"} if status == 429 else {})


def xai_authorize(ex: Exchange) -> Reply | None:
    if bearer_ok(ex):
        return None
    key = ex.headers.get("authorization", "").removeprefix("Bearer ")
    return refusal(400, xai_error(400, f"Incorrect API key provided: {key[:2]}***{key[-2:]}. "
                                  "You can obtain an API key from https://console.x.ai.")[0])


def xai_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = str(request.get("model") or "")
    reasoning = (model.startswith(("grok-3-mini", "grok-4", "grok-code"))
                 and "non-reasoning" not in model)
    wire = {"presence_penalty": "presencePenalty", "frequency_penalty": "frequencyPenalty",
            "stop": "stop"}
    for key, name in wire.items():
        if reasoning and key in request:
            return refusal(400, xai_error(400, f"Argument not supported on this model: {name}")[0])
    if "reasoning_effort" in request and not model.startswith("grok-3-mini"):
        return refusal(400, xai_error(400, "Argument not supported on this model: reasoningEffort")[0])
    absent = missing(request)
    if absent:
        return refusal(404, xai_error(404, f"The model {absent} does not exist or your team does not "
                                      "have access to it.")[0])
    return None


def xai_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    usage = openai_usage(prompt_tokens, completion_tokens, request)
    return {**usage, "num_sources_used": 0}


def xai_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_body(out)
    out["id"] = uuid_for(out["id"])
    out = add_thought(out, "reasoning_content", thought)
    if thought:
        out["usage"]["completion_tokens_details"]["reasoning_tokens"] = count_tokens(thought)
    return out


def xai_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [clean_chunk(c) for c in chunks]
    for c in out:
        c["id"] = uuid_for(c["id"])
    if thought:
        out = with_reasoning(out, [{"reasoning_content": p} for p in thought_pieces(thought)])
    return out


XAI = register(Spec(
    name="xai",
    base_paths=("/xai/v1",),
    flavor=Flavor("xai", usage=xai_usage, obfuscation=False),
    authorize=xai_authorize,
    error=xai_error,
    refuse=xai_refuse,
    thinks=("grok-3-mini*",),
    shape_body=xai_body,
    shape_stream=xai_stream,
))
