"""DeepSeek, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import Flavor
from ..server import Exchange, Reply
from .common import (
    bearer_ok,
    clean_body,
)
from .spec import (
    Chunk,
    Spec,
    clean_chunk,
    refusal,
    register,
    thought_pieces,
    usage_on_finish,
    uuid_for,
    with_reasoning,
)

# Recorded: uuid ids, reasoning_content (first delta {"role", "content": null,
# "reasoning_content": ""}), ``usage: null`` on every chunk and the usage on the finish chunk
# when asked, cache hit/miss counts. Documented: two models; reasoner answers 400 to
# logprobs; 402 when the balance is spent; keep-alive comments under load; no ``n``.


DEEPSEEK_MODELS = ("deepseek-chat", "deepseek-reasoner")


def deepseek_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    if status == 401:
        return {"error": {"message": "Authentication Fails, Your api key: ****-key is invalid",
                          "type": "authentication_error", "param": None,
                          "code": "invalid_request_error"}}, {}
    if status == 402:
        message = "Insufficient Balance"
    kind = "unknown_error" if status == 402 else (
        "invalid_request_error" if status < 500 else "server_error")
    return ({"error": {"message": message, "type": kind, "param": None,
                       "code": "invalid_request_error"}},
            {"retry-after": "0"} if status == 429 else {})


# Message roles the API deserializes; any other is a 422 from its JSON extractor (wording and
# status from user reports, e.g. eclipse-theia/theia#15144; some quote it as a 400).
DEEPSEEK_ROLES = ("system", "user", "assistant", "tool")


def deepseek_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    if request.get("model") not in DEEPSEEK_MODELS:
        return refusal(400, deepseek_error(400, "Model Not Exist")[0])
    for i, message in enumerate(request.get("messages") or []):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in DEEPSEEK_ROLES:
            expected = ", ".join(f"`{r}`" for r in DEEPSEEK_ROLES)
            return refusal(422, deepseek_error(
                422, "Failed to deserialize the JSON body into the target type: "
                f"messages[{i}].role: unknown variant `{role}`, expected one of {expected}")[0])
    if request.get("model") == "deepseek-reasoner":
        for key in ("logprobs", "top_logprobs"):
            if key in request:  # wording unverified
                return refusal(400, deepseek_error(
                    400, f"deepseek-reasoner does not support the parameter `{key}`")[0])
    return None


def deepseek_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    reasoning = 12 if request.get("model") == "deepseek-reasoner" else 0
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens + reasoning,
            "total_tokens": prompt_tokens + completion_tokens + reasoning,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
            "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": prompt_tokens}


def deepseek_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_body(out)
    out["id"] = uuid_for(out["id"])
    for choice in out["choices"]:
        if thought:
            choice["message"]["reasoning_content"] = thought
        if choice["message"].get("tool_calls") and choice["message"].get("content") is None:
            choice["message"]["content"] = ""
    return out


def deepseek_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = []
    for chunk in usage_on_finish(chunks):
        chunk = clean_chunk(chunk)
        chunk["id"] = uuid_for(chunk["id"])
        chunk.setdefault("usage", None)
        for choice in chunk["choices"]:
            delta = choice["delta"]
            if choice.get("finish_reason") and not delta:
                delta["content"] = ""  # recorded
            if thought and "content" in delta:
                delta["reasoning_content"] = None
        out.append(chunk)
    if thought:
        out[0]["choices"][0]["delta"] = {"role": "assistant", "content": None,
                                         "reasoning_content": ""}
        out = with_reasoning(out, [{"content": None, "reasoning_content": p}
                                   for p in thought_pieces(thought)])
    return out


DEEPSEEK = register(Spec(
    name="deepseek",
    base_paths=("",),
    flavor=Flavor("deepseek", usage=deepseek_usage, obfuscation=False, native_n=False),
    authorize=lambda ex: None if bearer_ok(ex) else refusal(401, deepseek_error(401, "")[0]),
    error=deepseek_error,
    refuse=deepseek_refuse,
    thinks=("deepseek-reasoner",),
    shape_body=deepseek_body,
    shape_stream=deepseek_stream,
    prelude=(": keep-alive\n\n",),
))
