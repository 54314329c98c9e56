"""OpenAI Chat Completions and Embeddings emulator (``POST /v1/chat/completions``,
``POST /v1/embeddings``).

The shapes follow the recorded traffic in shared/recorded/openai: ``chat.completion`` bodies
with full usage details, data-only SSE with ``obfuscation`` padding, a final usage chunk only
with ``stream_options.include_usage``, then ``data: [DONE]``. Azure and OpenRouter reuse the
generator here with their own ``Flavor``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterator

from .generation import count_tokens, example_for, reply_text, truncate, words
from .server import Exchange, JSONReply, Reply, SSEReply, error_body, provider_error, route, sse
from .vectors import input_list, openai_list

CREATED = 1767225600
REASONING_MODELS = ("o1*", "o3*", "o4*", "gpt-5*")


def same(obj: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    return obj


def no_deltas(request: dict[str, Any]) -> list[dict[str, Any]]:
    return []


def openai_usage(prompt_tokens: int, completion_tokens: int, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def openai_stream_failure(events: list[str], status: int, request: dict[str, Any]) -> list[str]:
    """OpenAI: a few chunks, then ``data: {"error": ...}`` and the connection ends."""
    error = {"message": "The server had an error while processing your request. Sorry about that!",
             "type": "server_error", "param": None, "code": None}
    return [*events[:3], sse({"error": error})]


@dataclass(frozen=True)
class Flavor:
    """What differs between the OpenAI-compatible APIs around one shared generator.

    ``shape_body`` / ``shape_chunk`` give a ``chat.completion`` body / a chunk the provider's
    own fields (they receive the request too); ``lead_deltas`` are deltas streamed before the
    answer (OpenRouter's reasoning); ``prelude`` are SSE blocks sent first (Azure's prompt
    filter event, OpenRouter's comments); ``native_n`` is false where ``n`` is ignored.
    """

    provider: str
    id_prefix: str = "chatcmpl-"
    resolve_model: Callable[[str], str] = lambda m: m
    shape_body: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] = same
    shape_chunk: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] = same
    lead_deltas: Callable[[dict[str, Any]], list[dict[str, Any]]] = no_deltas
    prelude: tuple[str, ...] = ()
    always_usage: bool = False
    obfuscation: bool = True
    native_n: bool = True
    usage: Callable[[int, int, dict[str, Any]], dict[str, Any]] = openai_usage
    stream_failure: Callable[[list[str], int, dict[str, Any]], list[str]] = openai_stream_failure


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def stable_id(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return prefix + digest[:24]


def chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function the model calls: none after a tool result or with ``tool_choice: none``."""
    tools: list[dict[str, Any]] = [
        t["function"] for t in body.get("tools") or [] if t.get("type") == "function"
    ]
    tools += body.get("functions") or []
    messages = body.get("messages") or []
    if not tools or (messages and messages[-1].get("role") in ("tool", "function")):
        return None
    choice = body.get("tool_choice", body.get("function_call"))
    if choice == "none":
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or choice).get("name")
        return next((t for t in tools if t.get("name") == name), tools[0])
    return tools[0]


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The deterministic assistant message, finish reason and token counts for a request."""
    messages = body.get("messages") or []
    prompt = last_user_text(messages)
    prompt_tokens = sum(count_tokens(text_of(m.get("content"))) for m in messages) + 3
    tool = chosen_tool(body)
    legacy = bool(body.get("functions")) and not body.get("tools")
    if tool is not None:
        arguments = json.dumps(example_for(tool.get("parameters") or {}))
        call_id = stable_id("call_", prompt, tool["name"])
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if legacy:
            message["function_call"] = {"name": tool["name"], "arguments": arguments}
            finish = "function_call"
        else:
            message["tool_calls"] = [{"id": call_id, "type": "function",
                                      "function": {"name": tool["name"], "arguments": arguments}}]
            finish = "tool_calls"
        return {"message": message, "finish": finish, "prompt_tokens": prompt_tokens,
                "completion_tokens": count_tokens(arguments) + 5}
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        text = json.dumps(example_for((fmt.get("json_schema") or {}).get("schema") or {}))
    elif fmt.get("type") == "json_object":
        text = json.dumps({"answer": reply_text(prompt)})
    else:
        text = reply_text(prompt)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    text, cut = truncate(text, limit)
    for stop in ([body["stop"]] if isinstance(body.get("stop"), str) else body.get("stop") or []):
        if stop and stop in text:
            text, cut = text[: text.index(stop)], False
    return {"message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
            "finish": "length" if cut else "stop", "prompt_tokens": prompt_tokens,
            "completion_tokens": count_tokens(text)}


def choice_count(body: dict[str, Any], flavor: Flavor) -> int:
    return int(body.get("n") or 1) if flavor.native_n else 1


def completion_body(body: dict[str, Any], flavor: Flavor, model: str) -> dict[str, Any]:
    n = choice_count(body, flavor)
    a = answer(body)
    choices = [
        {"index": i, "message": a["message"], "logprobs": None, "finish_reason": a["finish"]}
        for i in range(n)
    ]
    out = {
        "id": stable_id(flavor.id_prefix, body.get("messages")),
        "object": "chat.completion",
        "created": CREATED,
        "model": flavor.resolve_model(model),
        "choices": choices,
        "usage": flavor.usage(a["prompt_tokens"], a["completion_tokens"] * n, body),
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
    return flavor.shape_body(out, body)


def stream_events(body: dict[str, Any], flavor: Flavor, model: str) -> Iterator[str]:
    """The SSE blocks of a streamed answer, in OpenAI's order."""
    a = answer(body)
    base = {"id": stable_id(flavor.id_prefix, body.get("messages")),
            "object": "chat.completion.chunk", "created": CREATED,
            "model": flavor.resolve_model(model), "service_tier": "default",
            "system_fingerprint": "fp_emulator"}
    counter = itertools.count()  # a long answer's chunks each get one

    def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> str:
        obj = {**base, "choices": [{"index": index, "delta": delta, "logprobs": None,
                                    "finish_reason": finish}],
               "usage": None}
        if flavor.obfuscation:
            obj["obfuscation"] = "x" * (next(counter) % 7 + 4)
        return sse(flavor.shape_chunk(obj, body))

    yield from flavor.prelude
    message = a["message"]
    for index in range(choice_count(body, flavor)):
        for delta in flavor.lead_deltas(body):
            yield chunk(delta, index=index)
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            args = call["function"]["arguments"]
            yield chunk({"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": call["id"], "type": "function",
                 "function": {"name": call["function"]["name"], "arguments": ""}}],
                "refusal": None}, index=index)
            for start in range(0, len(args), 8):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[start:start + 8]}}]},
                            index=index)
        elif message.get("function_call"):
            fn = message["function_call"]
            yield chunk({"role": "assistant", "content": None,
                         "function_call": {"name": fn["name"], "arguments": ""}, "refusal": None},
                        index=index)
            yield chunk({"function_call": {"arguments": fn["arguments"]}}, index=index)
        else:
            yield chunk({"role": "assistant", "content": "", "refusal": None}, index=index)
            for piece in words(message["content"]):
                yield chunk({"content": piece}, index=index)
        yield chunk({}, a["finish"], index=index)
    options = body.get("stream_options") or {}
    if options.get("include_usage") or flavor.always_usage:
        n = choice_count(body, flavor)
        obj = {**base, "choices": [],
               "usage": flavor.usage(a["prompt_tokens"], a["completion_tokens"] * n, body)}
        yield sse(flavor.shape_chunk(obj, body))
    yield sse("[DONE]")


def check_request(ex: Exchange, flavor: Flavor, model: str) -> Reply | None:
    """The 400s the real API gives for requests it cannot take."""
    body = ex.body
    if not isinstance(body, dict):
        return provider_error(flavor.provider, 400, "We could not parse the JSON body of your request.")
    if not body.get("messages"):
        return _invalid(flavor, "Missing required parameter: 'messages'.", "messages",
                        "missing_required_parameter")
    if any(fnmatchcase(model, p) for p in REASONING_MODELS):
        if "max_tokens" in body:
            return _invalid(flavor, "Unsupported parameter: 'max_tokens' is not supported with this "
                            "model. Use 'max_completion_tokens' instead.", "max_tokens",
                            "unsupported_parameter")
        for param in ("temperature", "top_p"):
            if param in body and body[param] != 1:
                return _invalid(flavor, f"Unsupported value: '{param}' does not support "
                                f"{body[param]} with this model. Only the default (1) value is "
                                "supported.", param, "unsupported_value")
    for i, message in enumerate(body["messages"]):
        if message.get("role") not in ("system", "developer", "user", "assistant", "tool", "function"):
            return _invalid(flavor, f"Invalid value: '{message.get('role')}'. Supported values are: "
                            "'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
                            f"messages[{i}].role", "invalid_value")
    return None


def _invalid(flavor: Flavor, message: str, param: str, code: str) -> JSONReply:
    reply = provider_error(flavor.provider, 400, message)
    # Only OpenAI-shaped envelopes (OpenAI's, Azure's passthrough) name the param and code.
    if isinstance(reply.body.get("error"), dict) and "param" in reply.body["error"]:
        reply.body["error"].update(param=param, code=code)
    return reply


def serve_chat(ex: Exchange, flavor: Flavor, model: str,
               headers: dict[str, str] | None = None) -> Reply:
    """A chat completion (JSON or SSE) with the provider's response ``headers``."""
    headers = headers or {}
    invalid = check_request(ex, flavor, model)
    if invalid is not None:
        return invalid
    if ex.body.get("stream"):
        events = list(stream_events(ex.body, flavor, model))
        fault = ex.emulator.take_fault(flavor.provider, ex.path, ("stream_error",))
        if fault is not None:
            events = flavor.stream_failure(events, fault.status, ex.body)
        return SSEReply(events, headers)
    return JSONReply(200, completion_body(ex.body, flavor, model), headers)


OPENAI = Flavor("openai", resolve_model=lambda m: m if m[-10:-5].isdigit() else f"{m}-2024-07-18")


@error_body("openai")
def openai_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    types = {401: ("invalid_request_error", "invalid_api_key"), 404: ("invalid_request_error", "model_not_found"),
             429: ("requests", "rate_limit_exceeded"), 500: ("server_error", None),
             503: ("server_error", None)}
    kind, code = types.get(status, ("invalid_request_error", None))
    headers = {"x-request-id": "req_emulator_error"}
    if status == 429:
        headers.update({"retry-after": "0", "retry-after-ms": "20"})
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers


def unauthorized(ex: Exchange) -> Reply | None:
    """OpenAI's 401 for a missing or wrong ``Authorization: Bearer`` key."""
    auth = ex.headers.get("authorization", "")
    if auth == f"Bearer {ex.api_key}":
        return None
    shown = auth.removeprefix("Bearer ")
    masked = f"{shown[:3]}*****{shown[-4:]}" if shown else ""
    message = (f"Incorrect API key provided: {masked}. You can find your API key at "
               "https://platform.openai.com/account/api-keys." if shown else
               "You didn't provide an API key. You need to provide your API key in an "
               "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
    return provider_error("openai", 401, message)


@route("openai", "POST", r"/v1/chat/completions")
def chat_completions(ex: Exchange) -> Reply:
    refused = unauthorized(ex)
    if refused is not None:
        return refused
    model = (ex.body or {}).get("model") if isinstance(ex.body, dict) else None
    if not model:
        return _invalid(OPENAI, "you must provide a model parameter", "model", "missing_required_parameter")
    if model.startswith("missing-"):
        return provider_error("openai", 404, f"The model `{model}` does not exist or you do not "
                              "have access to it.")
    return serve_chat(ex, OPENAI, model, {"x-request-id": "req_emulator",
                                          "openai-version": "2020-10-01",
                                          "openai-processing-ms": "1"})


# Vector sizes of OpenAI's embedding models (https://platform.openai.com/docs/guides/embeddings).
EMBEDDING_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
                        "text-embedding-ada-002": 1536}
MAX_EMBEDDING_INPUTS = 2048
# What OpenAI answers for an input list it refuses (empty, too long, an empty string).
INVALID_INPUT = ("'$.input' is invalid. Please check the API reference: "
                 "https://platform.openai.com/docs/api-reference.")


def check_embedding_request(body: Any, provider: str, model: str,
                            max_inputs: int, too_many: str) -> Reply | list[Any]:
    """The inputs of an OpenAI-style embeddings request, or the 400 the API gives for it."""
    if not isinstance(body, dict):
        return provider_error(provider, 400, "We could not parse the JSON body of your request.")
    inputs = input_list(body.get("input"))
    if inputs is None or any(v == "" for v in inputs):
        return provider_error(provider, 400, INVALID_INPUT)
    if len(inputs) > max_inputs:
        return provider_error(provider, 400, too_many)
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return provider_error(provider, 400, "'$.encoding_format' is invalid. Please check the "
                              "API reference: https://platform.openai.com/docs/api-reference.")
    dims = body.get("dimensions")
    if dims is not None:
        if model.endswith("ada-002"):
            return provider_error(provider, 400,
                                  "This model does not support specifying dimensions.")
        if not isinstance(dims, int) or not 1 <= dims <= EMBEDDING_DIMENSIONS.get(model, 3072):
            return provider_error(provider, 400, f"Invalid value for 'dimensions' = {dims}.")
    return inputs


def embedding_reply(body: dict[str, Any], inputs: list[Any], model: str, shown_model: str,
                    headers: dict[str, str], extra: dict[str, Any] | None = None) -> Reply:
    dims = body.get("dimensions") or EMBEDDING_DIMENSIONS.get(model, 1536)
    data = openai_list(inputs, shown_model, dims, body.get("encoding_format", "float"), extra)
    return JSONReply(200, data, headers)


@route("openai", "POST", r"/v1/embeddings")
def embeddings(ex: Exchange) -> Reply:
    refused = unauthorized(ex)
    if refused is not None:
        return refused
    model = ex.body.get("model") if isinstance(ex.body, dict) else None
    if not model:
        return _invalid(OPENAI, "you must provide a model parameter", "model",
                        "missing_required_parameter")
    if model.startswith("missing-"):
        return provider_error("openai", 404, f"The model `{model}` does not exist or you do not "
                              "have access to it.")
    inputs = check_embedding_request(ex.body, "openai", model, MAX_EMBEDDING_INPUTS,
                                     INVALID_INPUT)
    if not isinstance(inputs, list):
        return inputs
    return embedding_reply(ex.body, inputs, model, model, {
        "x-request-id": "req_emulator", "openai-version": "2020-10-01",
        "openai-processing-ms": "1", "openai-model": model})
