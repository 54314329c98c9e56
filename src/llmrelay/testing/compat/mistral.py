"""Mistral La Plateforme, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import Flavor
from ..server import STATUS_MESSAGES, Exchange, Reply, sse
from .common import (
    bearer_ok,
    drop_none_usage,
    missing,
    plain_usage,
)
from .spec import (
    Chunk,
    EmbeddingSpec,
    Spec,
    clean_chunk,
    clean_message,
    refusal,
    register,
    thought_pieces,
    usage_on_finish,
    uuid_for,
    whole_tool_calls,
    with_reasoning,
    without,
)

# Recorded: hex ids, no system_fingerprint / logprobs; tool calls with ``index`` and no
# ``type``, content ""; Magistral content as a list of thinking/text chunks; usage on the
# finish chunk of every stream. The request model (mistralai ChatCompletionRequest) forbids
# other fields with 422.


MISTRAL_FIELDS = frozenset({
    "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed",
    "metadata", "response_format", "tools", "tool_choice", "presence_penalty",
    "frequency_penalty", "min_tokens", "repetition_penalty", "top_k", "logprobs", "top_logprobs",
    "prompt_logprobs", "top_prompt_logprobs", "n", "prediction", "parallel_tool_calls",
    "reasoning_effort", "prompt_mode", "guardrails", "prompt_cache_key", "service_tier",
    "safe_prompt"})
MISTRAL_MESSAGE_FIELDS = {
    "system": {"role", "content"}, "user": {"role", "content"},
    "assistant": {"role", "content", "tool_calls", "prefix"},
    "tool": {"role", "content", "tool_call_id", "name"}}
MISTRAL_TOOL_CHOICES = ("auto", "none", "any", "required")


def mistral_422(loc: list[Any], value: Any, kind: str = "extra_forbidden",
                msg: str = "Extra inputs are not permitted") -> Reply:
    detail = [{"type": kind, "loc": loc, "msg": msg, "input": value}]
    return refusal(422, {"object": "error", "message": {"detail": detail},
                         "type": "invalid_request_error", "param": None, "code": None})


def mistral_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    for key in request:
        if key not in MISTRAL_FIELDS:
            return mistral_422(["body", key], request[key])
    choice = request.get("tool_choice")
    if isinstance(choice, str) and choice not in MISTRAL_TOOL_CHOICES:
        return mistral_422(["body", "tool_choice"], choice, "enum",
                           "Input should be 'auto', 'none', 'any' or 'required'")
    for i, message in enumerate(request.get("messages") or []):
        allowed = MISTRAL_MESSAGE_FIELDS.get(message.get("role"), set())
        for key in message:
            if key not in allowed:
                return mistral_422(["body", "messages", i, key], message[key])
        ids = [c.get("id") for c in message.get("tool_calls") or []]
        ids += [message["tool_call_id"]] if "tool_call_id" in message else []
        for call_id in ids:
            if not (isinstance(call_id, str) and len(call_id) == 9 and call_id.isalnum()):
                # Reported wording (unverified).
                return refusal(400, {"object": "error", "message": (
                    f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9."),
                    "type": "invalid_request_message", "param": None, "code": "3230"})
    model = missing(request)
    if model:
        return refusal(400, {"object": "error", "message": f"Invalid model: {model}",
                             "type": "invalid_model", "param": None, "code": "1500"})
    return None


def mistral_read(request: dict[str, Any]) -> dict[str, Any]:
    """A tool's ``type`` defaults to ``function`` (recorded requests leave it out)."""
    tools = [{"type": "function", **t} for t in request.get("tools") or []]
    return {**request, "tools": tools} if tools else request


def mistral_message(message: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_message(message)
    if out.get("tool_calls"):
        out["content"] = ""
        out["tool_calls"] = [{"id": c["id"][-9:], "function": c["function"], "index": i}
                             for i, c in enumerate(out["tool_calls"])]
    else:
        out["tool_calls"] = None
    if thought and not out.get("tool_calls"):
        out["content"] = [{"type": "thinking", "thinking": [{"type": "text", "text": thought}]},
                          {"type": "text", "text": out["content"]}]
    return out


def mistral_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = without(out, "service_tier", "system_fingerprint")
    out["id"] = out["id"].removeprefix("chatcmpl-")
    out["choices"] = [{"index": c["index"], "message": mistral_message(c["message"], thought),
                       "finish_reason": c["finish_reason"]} for c in out["choices"]]
    return out


def mistral_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = []
    for chunk in usage_on_finish(whole_tool_calls(chunks)):
        chunk = drop_none_usage(clean_chunk(chunk, "system_fingerprint"))
        chunk["id"] = chunk["id"].removeprefix("chatcmpl-")
        for choice in chunk["choices"]:
            choice.pop("logprobs", None)
            if choice.get("finish_reason") and not choice["delta"]:
                choice["delta"] = {"content": ""}  # recorded
            for call in choice["delta"].get("tool_calls") or []:
                call.pop("type", None)
                call["id"] = call["id"][-9:]
        out.append(chunk)
    if thought:
        out = with_reasoning(out, [{"content": [{"type": "thinking", "thinking": [
            {"type": "text", "text": piece}]}]} for piece in thought_pieces(thought)])
    return out


def mistral_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    return {**plain_usage(prompt_tokens, completion_tokens, request),
            "prompt_tokens_details": {"cached_tokens": 0}}


def mistral_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    if status == 401:
        return {"detail": "Unauthorized"}, {}
    if status == 422:
        return {"object": "error", "message": {"detail": [
            {"type": "missing", "loc": ["body", "messages"], "msg": "Field required",
             "input": None}]}, "type": "invalid_request_error", "param": None, "code": None}, {}
    kinds = {429: ("rate_limited", "1300"), 400: ("invalid_request_error", None),
             404: ("not_found", None), 500: ("internal_server_error", None)}
    kind, code = kinds.get(status, ("invalid_request_error" if status < 500 else "service_unavailable", None))
    headers = {"retry-after": "0"} if status == 429 else {}
    message = "Rate limit exceeded" if status == 429 else message
    return {"object": "error", "message": message, "type": kind, "param": None, "code": code}, headers


def mistral_failure(events: list[str], status: int, request: dict[str, Any]) -> list[str]:
    """A mid-stream error as the API's error object (unverified)."""
    return [*events[:3], sse({"object": "error", "message": STATUS_MESSAGES.get(status, "Error"),
                              "type": "internal_server_error", "param": None, "code": status})]


def mistral_embed_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = str(request.get("model") or "")
    if missing(request) or "embed" not in model:
        return refusal(400, {"object": "error", "message": f"Invalid model: {model}",
                             "type": "invalid_model", "param": None, "code": "1500"})
    return None


# /v1/embeddings: the fields of mistralai's EmbeddingRequest, 256 inputs at most (the limit and
# its wording as reported from the live API), ``output_dimension`` on codestral-embed only.
MISTRAL_EMBEDDINGS = EmbeddingSpec(
    max_inputs=256,
    too_many=lambda n: refusal(400, {
        "object": "error", "message": "Too many inputs in request, split into more batches.",
        "type": "invalid_request_error", "param": None, "code": None}),
    fields=frozenset({"model", "input", "metadata", "output_dimension", "output_dtype",
                      "encoding_format"}),
    refuse_field=lambda key, value: mistral_422(["body", key], value),
    refuse=mistral_embed_refuse,
    dimensions=("output_dimension", ("codestral-embed*",)),
    size=lambda model: 1536 if model.startswith("codestral-embed") else 1024,
    extra=lambda request: {"id": uuid_for("embed", request.get("input")).replace("-", "")},
    usage=lambda tokens: plain_usage(tokens, 0, {}),
)

MISTRAL = register(Spec(
    name="mistral",
    base_paths=("/mistral/v1",),
    flavor=Flavor("mistral", usage=mistral_usage, obfuscation=False, always_usage=True),
    authorize=lambda ex: None if bearer_ok(ex) else refusal(401, {"detail": "Unauthorized"}),
    error=mistral_error,
    refuse=mistral_refuse,
    read=mistral_read,
    thinks=("magistral*",),
    shape_body=mistral_body,
    shape_stream=mistral_stream,
    stream_failure=mistral_failure,
    embeddings=MISTRAL_EMBEDDINGS,
))
