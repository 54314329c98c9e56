"""Groq, emulated."""

from __future__ import annotations

from typing import Any

from ..openai import Flavor
from ..server import STATUS_MESSAGES, Exchange, Reply, sse
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
    without,
)

# Recorded: chatcmpl-<uuid> ids, x_groq, usage_breakdown, timing fields in usage, reasoning
# as ``reasoning``, 404 model_not_found without ``param``, tool_use_failed as 400 and as an
# ``event: error`` after a 200. Documented: 400 for logprobs, logit_bias, top_logprobs,
# messages[].name and n != 1 (https://console.groq.com/docs/openai; wording unverified).


def groq_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kinds = {401: ("invalid_request_error", "invalid_api_key"),
             404: ("invalid_request_error", "model_not_found"),
             429: ("tokens", "rate_limit_exceeded"), 498: ("capacity_exceeded", None)}
    kind, code = kinds.get(status, ("invalid_request_error" if status < 500 else "internal_server_error", None))
    error: dict[str, Any] = {"message": "Invalid API Key" if status == 401 else message, "type": kind}
    if code:
        error["code"] = code
    return {"error": error}, ({"retry-after": "0"} if status == 429 else {})


def groq_400(message: str, code: str | None = None, **extra: Any) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "invalid_request_error", **extra}
    if code:
        error["code"] = code
    return refusal(400, {"error": error})


def broken_tool(request: dict[str, Any]) -> str | None:
    """A tool named ``broken_*`` makes the model produce arguments that fail validation."""
    names = [t.get("function", {}).get("name", "") for t in request.get("tools") or []]
    return next((n for n in names if n.startswith("broken_")), None)


def tool_use_failed(name: str) -> dict[str, Any]:
    return {"message": f"Tool call validation failed: tool call validation failed: parameters for "
            f"tool {name} did not match schema: errors: [missing properties: 'name']",
            "type": "invalid_request_error", "code": "tool_use_failed",
            "failed_generation": f'{{"name": "{name}", "arguments": {{}}}}'}


def groq_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    if request.get("n") not in (None, 1):
        return groq_400("'n' : number must be at most 1")
    for key in ("logprobs", "logit_bias", "top_logprobs"):
        if key in request:
            return groq_400(f"'{key}' : property '{key}' is unsupported")
    for i, message in enumerate(request.get("messages") or []):
        if "name" in message and message.get("role") != "function":
            return groq_400(f"'messages.{i}.name' : property 'name' is unsupported")
    model = missing(request)
    if model:
        return refusal(404, groq_error(404, f"The model `{model}` does not exist or you do not "
                                       "have access to it.")[0])
    tool = broken_tool(request)
    if tool and not request.get("stream"):
        return refusal(400, {"error": tool_use_failed(tool)})
    return None


def groq_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    return {"queue_time": 0.01, "prompt_tokens": prompt_tokens, "prompt_time": 0.002,
            "completion_tokens": completion_tokens, "completion_time": 0.03,
            "total_tokens": prompt_tokens + completion_tokens, "total_time": 0.032}


def groq_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_body(out)
    for choice in out["choices"]:
        if choice["message"].get("tool_calls"):
            choice["message"].pop("content", None)  # recorded: no content beside tool calls
    out["id"] = "chatcmpl-" + uuid_for(out["id"])
    out.update(service_tier="on_demand", usage_breakdown=None,
               x_groq={"id": "req_" + out["id"][-26:]})
    return add_thought(out, "reasoning", thought)


def groq_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [clean_chunk(c, "usage") for c in chunks]
    for c in out:
        c["id"] = "chatcmpl-" + uuid_for(c["id"])
    x_id = "req_" + out[0]["id"][-26:]
    out[0]["x_groq"] = {"id": x_id, "seed": 27718886}
    if thought:
        out = with_reasoning(out, [{"reasoning": p, "channel": "analysis"}
                                   for p in thought_pieces(thought)])
    usage = next((c["usage"] for c in chunks if c.get("usage")), None)
    finish = [c for c in out if c["choices"] and c["choices"][0].get("finish_reason")]
    if usage and finish:
        finish[-1]["x_groq"] = {"id": x_id, "usage": usage}
    if (request.get("stream_options") or {}).get("include_usage") and usage:
        out.append({**without(out[-1], "x_groq"), "choices": [], "usage": usage,
                    "x_groq": {"id": x_id, "usage": usage}})
    return [c for c in out if c["choices"] or c.get("usage")]


def groq_end_stream(events: list[str], request: dict[str, Any]) -> list[str]:
    """With a ``broken_*`` tool the stream fails after its first events, as recorded."""
    tool = broken_tool(request)
    if tool is None:
        return events
    return [*events[:3], groq_event_error(tool_use_failed(tool), 400)]


def groq_event_error(error: dict[str, Any], status: int) -> str:
    return sse({"error": {**error, "status_code": status}}, event="error")


def groq_failure(events: list[str], status: int, request: dict[str, Any]) -> list[str]:
    error = {"message": STATUS_MESSAGES.get(status, "Error"),
             "type": "internal_server_error" if status >= 500 else "invalid_request_error"}
    return [*events[:3], groq_event_error(error, status)]


GROQ = register(Spec(
    name="groq",
    base_paths=("/openai/v1",),
    flavor=Flavor("groq", usage=groq_usage, obfuscation=False, native_n=False,
                  always_usage=True),
    authorize=lambda ex: None if bearer_ok(ex) else refusal(401, groq_error(401, "")[0]),
    error=groq_error,
    refuse=groq_refuse,
    thinks=("openai/gpt-oss*", "qwen/qwen3*"),
    shape_body=groq_body,
    shape_stream=groq_stream,
    end_stream=groq_end_stream,
    stream_failure=groq_failure,
))
