"""The OpenAI-compatible providers the family emulator serves, each as recorded (Mistral,
Groq, DeepSeek, Ollama: shared/recorded) or documented. Where a detail is not from a
recording or the provider's docs, the comment says "(unverified)".

Model names starting with ``missing-`` do not exist on any of them.
"""

from __future__ import annotations

from typing import Any

from .compat import (
    Chunk,
    Spec,
    clean_chunk,
    clean_message,
    openai_style_failure,
    refusal,
    register,
    thought_pieces,
    usage_on_finish,
    uuid_for,
    whole_tool_calls,
    with_reasoning,
    without,
)
from .generation import count_tokens
from .openai import CREATED, Flavor, openai_usage, stable_id
from .server import STATUS_MESSAGES, Exchange, RawReply, Reply, sse


def bearer_ok(ex: Exchange) -> bool:
    return ex.headers.get("authorization") == f"Bearer {ex.api_key}"


def plain_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def drop_none_usage(chunk: Chunk) -> Chunk:
    return chunk if chunk.get("usage") is not None else without(chunk, "usage")


def missing(request: dict[str, Any]) -> str | None:
    model = str(request.get("model") or "")
    return model if model.rpartition("/")[2].startswith("missing-") else None


def add_thought(out: dict[str, Any], field: str, thought: str | None) -> dict[str, Any]:
    """Every choice's message with the reasoning text under ``field``."""
    if thought:
        for choice in out["choices"]:
            choice["message"][field] = thought
        tokens = count_tokens(thought)
        out["usage"]["completion_tokens"] += tokens
        out["usage"]["total_tokens"] += tokens
    return out


def clean_body(out: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = without(out, "service_tier", *keys)
    out["choices"] = [{**c, "message": clean_message(c["message"])} for c in out["choices"]]
    return out


# ---- Mistral --------------------------------------------------------------------------------
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
))


# ---- Groq -----------------------------------------------------------------------------------
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


# ---- DeepSeek -------------------------------------------------------------------------------
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


def deepseek_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    if request.get("model") not in DEEPSEEK_MODELS:
        return refusal(400, deepseek_error(400, "Model Not Exist")[0])
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


# ---- xAI ------------------------------------------------------------------------------------
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


# ---- Together AI, Fireworks AI --------------------------------------------------------------
# OpenAI's envelope (Together's 401 wording from public issues; Fireworks' bodies
# unverified); usage on the last stream chunk without asking (unverified for both).

def openai_envelope(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def together_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    if status == 401:
        return openai_envelope(401, "Invalid API key provided. You can find your API key at "
                               "https://api.together.xyz/settings/api-keys.", "invalid_api_key"), {}
    return openai_envelope(status, message), ({"retry-after": "0"} if status == 429 else {})


def together_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = missing(request)
    if model:
        return refusal(400, openai_envelope(400, f"Unable to access model {model}. Please visit "
                                            "https://api.together.ai/models to view the list of "
                                            "supported models.", "model_not_available"))
    return None


def usage_always_on_finish(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [drop_none_usage(clean_chunk(c)) for c in usage_on_finish(chunks)]
    return [{**c, "id": uuid_for(c["id"])} for c in out]


def id_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_body(out)
    out["id"] = uuid_for(out["id"])
    return out


def think_in_content(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    """Reasoning models that write their thinking into ``content`` (``<think>``...)."""
    out = id_body(out, request, thought)
    if thought:
        for choice in out["choices"]:
            if isinstance(choice["message"].get("content"), str):
                choice["message"]["content"] = f"<think>{thought}</think>\n{choice['message']['content']}"
    return out


TOGETHER = register(Spec(
    name="together_ai",
    base_paths=("/together/v1",),
    flavor=Flavor("together_ai", usage=plain_usage, obfuscation=False, always_usage=True),
    authorize=lambda ex: None if bearer_ok(ex) else refusal(401, together_error(401, "")[0]),
    error=together_error,
    refuse=together_refuse,
    thinks=("deepseek-ai/deepseek-r1*",),
    shape_body=think_in_content,
    shape_stream=usage_always_on_finish,
))


def fireworks_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    if status == 401:
        message = "The API key you provided is invalid."
    body = {"error": {"object": "error", "type": "invalid_request_error" if status < 500
                      else "internal_server_error", "message": message}}
    return body, ({"retry-after": "0"} if status == 429 else {})


def fireworks_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    if missing(request):
        return refusal(404, fireworks_error(404, "Model not found, inaccessible, and/or not "
                                            "deployed")[0])
    return None


FIREWORKS = register(Spec(
    name="fireworks_ai",
    base_paths=("/inference/v1",),
    flavor=Flavor("fireworks_ai", usage=plain_usage, obfuscation=False, always_usage=True),
    authorize=lambda ex: None if bearer_ok(ex) else refusal(401, fireworks_error(401, "")[0]),
    error=fireworks_error,
    refuse=fireworks_refuse,
    shape_body=id_body,
    shape_stream=usage_always_on_finish,
))


# ---- Perplexity -----------------------------------------------------------------------------
# A wrong key gets the proxy's HTML 401 page; an unknown model 400 invalid_model (both from
# public issues). Stream chunks say "chat.completion", carry the text so far as ``message``
# beside the ``delta``, running usage totals and the citations on every chunk (reported).

PERPLEXITY_401 = (b"<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
                  b"<center><h1>401 Authorization Required</h1></center>\r\n"
                  b"<hr><center>openresty/1.27.4</center>\r\n</body>\r\n</html>\r\n")
CITATIONS = ["https://example.com/emulator-a", "https://example.com/emulator-b"]
SEARCH_RESULTS = [{"title": "Emulator A", "url": CITATIONS[0], "date": "2026-01-01"},
                  {"title": "Emulator B", "url": CITATIONS[1], "date": None}]


def perplexity_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kind = "invalid_model" if status == 400 else ("internal_server_error" if status >= 500
                                                  else "invalid_request_error")
    return ({"error": {"message": message, "type": kind, "code": status}},
            {"retry-after": "0"} if status == 429 else {})


def perplexity_authorize(ex: Exchange) -> Reply | None:
    if bearer_ok(ex):
        return None
    return RawReply(401, PERPLEXITY_401, {"content-type": "text/html"})


def perplexity_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = str(request.get("model") or "")
    if not model.startswith("sonar"):
        return refusal(400, perplexity_error(400, f"Invalid model '{model}'. Permitted models can "
                                             "be found in the documentation at "
                                             "https://docs.perplexity.ai/getting-started/models.")[0])
    return None


def perplexity_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    return {**plain_usage(prompt_tokens, completion_tokens, request),
            "search_context_size": "low", "citation_tokens": 0, "num_search_queries": 1,
            "cost": {"input_tokens_cost": 0.0, "output_tokens_cost": 0.0,
                     "request_cost": 0.005, "total_cost": 0.005}}


def perplexity_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = think_in_content(without(out, "system_fingerprint"), request, thought)
    out["choices"] = [{**c, "delta": {"role": "assistant", "content": ""}}
                      for c in out["choices"]]
    return {**out, "citations": CITATIONS, "search_results": SEARCH_RESULTS}


def perplexity_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    pieces = [c for c in chunks if c.get("choices")]
    if thought:
        pieces = with_reasoning(pieces, [{"content": "<think>"}] + [
            {"content": p} for p in thought_pieces(thought)] + [{"content": "</think>\n"}])
    usage = next((c["usage"] for c in chunks if c.get("usage")), None) or {}
    out, text = [], ""
    for i, chunk in enumerate(pieces):
        choice = chunk["choices"][0]
        text += choice["delta"].get("content") or ""
        done = i + 1 == len(pieces)
        running = perplexity_usage(usage.get("prompt_tokens", 0), i + 1 if not done else
                                   usage.get("completion_tokens", 0), request)
        out.append({"id": uuid_for(chunk["id"]), "model": chunk["model"], "created": CREATED,
                    "usage": running, "citations": CITATIONS, "search_results": SEARCH_RESULTS,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "finish_reason": choice.get("finish_reason"),
                                 "message": {"role": "assistant", "content": text},
                                 "delta": {"role": "assistant",
                                           "content": choice["delta"].get("content") or ""}}]})
    return out


PERPLEXITY = register(Spec(
    name="perplexity",
    base_paths=("/perplexity",),
    flavor=Flavor("perplexity", usage=perplexity_usage, obfuscation=False, native_n=False,
                  always_usage=True),
    authorize=perplexity_authorize,
    error=perplexity_error,
    refuse=perplexity_refuse,
    thinks=("sonar-reasoning*",),
    shape_body=perplexity_body,
    shape_stream=perplexity_stream,
))


# ---- Ollama ---------------------------------------------------------------------------------
# Recorded: chatcmpl-<n> ids, fp_ollama, ``reasoning``; no key is checked. Documented (unknown
# model 404 wording from public issues): n and tool_choice are ignored; tool calls arrive
# whole in one chunk.

def ollama_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kind = "invalid_request_error" if status < 500 else "api_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}, {}


def ollama_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = missing(request)
    if model:
        return refusal(404, {"error": {"message": f'model "{model}" not found, try pulling it first',
                                       "type": "api_error", "param": None, "code": None}})
    return None


def ollama_id(chunk: dict[str, Any]) -> dict[str, Any]:
    return {**chunk, "id": f"chatcmpl-{int(stable_id('', chunk['id'])[:6], 16) % 1000}",
            "system_fingerprint": "fp_ollama"}


def ollama_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = ollama_id(clean_body(out))
    out["choices"] = [without(c, "logprobs") for c in out["choices"]]
    for choice in out["choices"]:
        if choice["message"].get("tool_calls"):
            choice["message"]["content"] = ""  # recorded
    return add_thought(out, "reasoning", thought)


def ollama_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [ollama_id(clean_chunk(c, "usage") if c.get("choices") else without(c, "service_tier"))
           for c in whole_tool_calls(chunks)]
    for chunk in out:
        chunk["choices"] = [without(c, "logprobs") for c in chunk["choices"]]
    if thought:
        out = with_reasoning(out, [{"role": "assistant", "content": "", "reasoning": p}
                                   for p in thought_pieces(thought)])
    return out


OLLAMA = register(Spec(
    name="ollama",
    base_paths=("/ollama/v1",),
    flavor=Flavor("ollama", usage=plain_usage, obfuscation=False, native_n=False),
    authorize=lambda ex: None,
    error=ollama_error,
    refuse=ollama_refuse,
    thinks=("qwen3*", "gpt-oss*", "deepseek-r1*"),
    shape_body=ollama_body,
    shape_stream=ollama_stream,
))


# ---- hosted vLLM ----------------------------------------------------------------------------
# vLLM's OpenAI server: ``{"error": "Unauthorized"}`` from its --api-key middleware (source),
# errors in OpenAI's envelope with ``code`` the status, the context-window wording, ``n``
# native, reasoning as ``reasoning``. ``/vllm/v1`` was started with --api-key,
# ``/vllm/open/v1`` without.

VLLM_CONTEXT = 32768


def vllm_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kinds = {400: "BadRequestError", 404: "NotFoundError", 429: "TooManyRequests"}
    kind = kinds.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}, {}


def vllm_authorize(ex: Exchange) -> Reply | None:
    if ex.path.startswith("/vllm/open/") or bearer_ok(ex):
        return None
    return refusal(401, {"error": "Unauthorized"})


def vllm_refuse(ex: Exchange, request: dict[str, Any]) -> Reply | None:
    model = missing(request)
    if model:
        return refusal(404, vllm_error(404, f"The model `{model}` does not exist.")[0])
    wanted = request.get("max_completion_tokens") or request.get("max_tokens") or 0
    if wanted > VLLM_CONTEXT:
        prompt = 12
        return refusal(400, vllm_error(400, (
            f"This model's maximum context length is {VLLM_CONTEXT} tokens. However, you "
            f"requested {prompt + wanted} tokens ({prompt} in the messages, {wanted} in the "
            "completion). Please reduce the length of the messages or completion."))[0])
    return None


def vllm_body(out: dict[str, Any], request: dict[str, Any], thought: str | None) -> dict[str, Any]:
    out = clean_body(out, "system_fingerprint")
    out["choices"] = [{**c, "stop_reason": None} for c in out["choices"]]
    out.update(prompt_logprobs=None, kv_transfer_params=None)
    return add_thought(out, "reasoning", thought)


def vllm_stream(chunks: list[Chunk], request: dict[str, Any], thought: str | None) -> list[Chunk]:
    out = [clean_chunk(c, "system_fingerprint") for c in chunks]
    if thought:
        out = with_reasoning(out, [{"reasoning": p} for p in thought_pieces(thought)])
    return out


def vllm_failure(events: list[str], status: int, request: dict[str, Any]) -> list[str]:
    return [*events[:3], sse(vllm_error(status, STATUS_MESSAGES.get(status, "Error"))[0])]


HOSTED_VLLM = register(Spec(
    name="hosted_vllm",
    base_paths=("/vllm/v1", "/vllm/open/v1"),
    flavor=Flavor("hosted_vllm", obfuscation=False),
    authorize=vllm_authorize,
    error=vllm_error,
    refuse=vllm_refuse,
    thinks=("*qwen3*",),
    shape_body=vllm_body,
    shape_stream=vllm_stream,
    stream_failure=vllm_failure,
))

SPECS = (MISTRAL, GROQ, DEEPSEEK, XAI, TOGETHER, FIREWORKS, PERPLEXITY, OLLAMA, HOSTED_VLLM)
__all__ = ["SPECS", "openai_style_failure"]
