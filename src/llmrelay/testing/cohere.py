"""Cohere API v2 emulator: ``POST /v2/chat``, plain and streamed, and ``POST /v2/embed``.

Shapes follow shared/recorded/cohere: ``{id, message, finish_reason, usage}`` bodies with
``usage.billed_units`` and ``usage.tokens`` (the latter includes Cohere's prompt template),
``event:``-named SSE ending in ``message-end`` then ``data: [DONE]``, and error bodies
``{"id", "message"}`` (401s: ``{"message"}`` only).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from fnmatch import fnmatchcase
from typing import Any, Iterator

from ..embedding_types import base64_of
from .generation import count_tokens, example_for, reply_text, truncate, words
from .server import (
    STATUS_MESSAGES,
    Exchange,
    JSONReply,
    Reply,
    SSEReply,
    error_body,
    provider_error,
    route,
    sse,
)
from .vectors import input_tokens, json_vectors, vector

# tokens.input_tokens counts Cohere's prompt template too (recorded: 4 billed, 70 processed).
TEMPLATE_TOKENS = 66
ROLES = ("system", "user", "assistant", "tool")
TOOL_CHOICES = ("REQUIRED", "NONE")
REASONING_MODELS = ("*reasoning*",)
FIELDS = frozenset({
    "model", "messages", "stream", "tools", "strict_tools", "documents", "citation_options",
    "response_format", "safety_mode", "max_tokens", "stop_sequences", "temperature", "seed",
    "frequency_penalty", "presence_penalty", "k", "p", "logprobs", "tool_choice", "thinking",
    "priority",
})

# Cohere's own wording for statuses scripted without a message
# (https://docs.cohere.com/reference/errors).
MESSAGES = {
    401: "invalid api token",
    402: "Please add or update your payment method to continue",
    429: "You are past the per minute request limit, please wait and try again later.",
    499: "request cancelled",
    500: "internal server error",
}


def stable_uuid(*parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return str(uuid.UUID(digest[:32]))


def short_id(*parts: Any) -> str:
    """Cohere's tool-call id suffix: 12 lower-case base-36 characters."""
    number = int(hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest(), 16)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(12):
        number, digit = divmod(number, 36)
        out += alphabet[digit]
    return out


@error_body("cohere")
def cohere_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    if message == STATUS_MESSAGES.get(status):
        message = MESSAGES.get(status, message.lower())
    if status == 401:
        return {"message": message}, {}
    return {"id": stable_uuid(status, message), "message": message}, {}


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text") or p.get("thinking") or "" for p in content
                        if isinstance(p, dict))
    return ""


def check_request(body: Any) -> str | None:
    """The 400 message the real API gives for a request it cannot take, if any."""
    if not isinstance(body, dict):
        return "invalid json syntax: the request body must be a JSON object"
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return f"invalid request: unknown field: parameter {unknown[0]} is not a valid field"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "invalid request: messages must not be empty"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            role = message.get("role") if isinstance(message, dict) else None
            return (f"invalid request: invalid role {role!r} at messages[{i}]; role must be one "
                    "of system, user, assistant, tool")
        if message["role"] == "tool" and not message.get("tool_call_id"):
            return f"invalid request: messages[{i}]: tool messages need a tool_call_id"
    if "tool_choice" in body and body["tool_choice"] not in TOOL_CHOICES:
        return "invalid request: tool_choice must be one of REQUIRED, NONE"
    for name in ("frequency_penalty", "presence_penalty"):
        if name in body and not 0 <= body[name] <= 1:
            return f"invalid request: {name} must be between 0 and 1 inclusive."
    if "p" in body and not 0.01 <= body["p"] <= 0.99:
        return "invalid request: p must be between 0.01 and 0.99 inclusive."
    return None


def chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function called: the first tool, unless ``NONE`` or a tool result was just given."""
    tools = [t.get("function") or {} for t in body.get("tools") or []]
    if not tools or body.get("tool_choice") == "NONE":
        return None
    if body["messages"][-1].get("role") == "tool":
        return None
    return tools[0]


def thinks(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking") or {}
    return (any(fnmatchcase(str(body.get("model")), p) for p in REASONING_MODELS)
            and thinking.get("type") != "disabled")


def tool_answer(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The reply after tool results, citing each result the way Cohere does."""
    results: list[tuple[str, str]] = []
    for message in reversed(body["messages"]):
        if message.get("role") != "tool":
            break
        results.insert(0, (message["tool_call_id"], text_of(message.get("content"))))
    text = "According to the tools:"
    citations = []
    for call_id, output in results:
        text += " "
        citations.append({"start": len(text), "end": len(text) + len(output), "text": output,
                          "sources": [{"type": "tool", "id": f"{call_id}:0",
                                       "tool_output": {"content": output}}],
                          "type": "TEXT_CONTENT"})
        text += output + "."
    return text, citations


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The deterministic message parts, finish reason and counts for a request."""
    messages = body["messages"]
    prompt = next((text_of(m.get("content")) for m in reversed(messages)
                   if m.get("role") == "user"), "")
    billed_in = sum(count_tokens(text_of(m.get("content"))) for m in messages)
    out: dict[str, Any] = {"thinking": None, "text": None, "tool_plan": None, "tool_calls": [],
                           "citations": [], "billed_in": billed_in}
    if thinks(body):
        out["thinking"] = f"The user wrote: {' '.join(prompt.split())[:80]}. I should answer."
    tool = chosen_tool(body)
    if tool is not None:
        name = tool.get("name") or "tool"
        arguments = json.dumps(example_for(tool.get("parameters") or {}), separators=(",", ":"))
        if out["thinking"] is None:
            out["tool_plan"] = f"I will use the {name} tool to answer this."
        out["tool_calls"] = [{"id": f"{name}_{short_id(prompt, name)}", "type": "function",
                              "function": {"name": name, "arguments": arguments}}]
        out["finish"] = "TOOL_CALL"
        out["billed_out"] = count_tokens(arguments) + count_tokens(out["tool_plan"] or "")
        return out
    fmt = body.get("response_format") or {}
    if messages[-1].get("role") == "tool":
        text, citations = tool_answer(body)
    elif fmt.get("type") == "json_object" and fmt.get("json_schema"):
        text, citations = json.dumps(example_for(fmt["json_schema"])), []
    elif fmt.get("type") == "json_object":
        text, citations = json.dumps({"answer": reply_text(prompt)}), []
    else:
        text, citations = reply_text(prompt), []
    text, cut = truncate(text, body.get("max_tokens"))
    finish = "MAX_TOKENS" if cut else "COMPLETE"
    for stop in body.get("stop_sequences") or []:
        if stop and stop in text:
            text, finish = text[: text.index(stop)], "STOP_SEQUENCE"
    out["text"] = text
    out["citations"] = [c for c in citations if c["end"] <= len(text)]
    out["finish"] = finish
    out["billed_out"] = count_tokens(text)
    return out


def usage(a: dict[str, Any]) -> dict[str, Any]:
    thinking = count_tokens(a["thinking"] or "")
    return {"billed_units": {"input_tokens": a["billed_in"], "output_tokens": a["billed_out"]},
            "tokens": {"input_tokens": a["billed_in"] + TEMPLATE_TOKENS,
                       "output_tokens": a["billed_out"] + thinking}}


def logprob(piece: str) -> dict[str, Any]:
    token = int(hashlib.sha256(piece.encode()).hexdigest()[:6], 16) % 100_000
    return {"text": piece, "token_ids": [token], "logprobs": [-round(0.01 + len(piece) % 7 / 10, 2)]}


def chat_body(body: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if a["tool_plan"]:
        message["tool_plan"] = a["tool_plan"]
    content = []
    if a["thinking"]:
        content.append({"type": "thinking", "thinking": a["thinking"]})
    if a["text"] is not None:
        content.append({"type": "text", "text": a["text"]})
    if content:
        message["content"] = content
    if a["tool_calls"]:
        message["tool_calls"] = a["tool_calls"]
    if a["citations"]:
        message["citations"] = a["citations"]
    reply: dict[str, Any] = {"id": stable_uuid(body["messages"]), "message": message,
                             "finish_reason": a["finish"], "usage": usage(a)}
    if body.get("logprobs") and a["text"]:
        reply["logprobs"] = [logprob(piece) for piece in words(a["text"])]
    return reply


def event(data: dict[str, Any]) -> str:
    return sse(data, data["type"])


def stream_events(body: dict[str, Any], a: dict[str, Any], error: str | None) -> Iterator[str]:
    """The v2 event sequence for an answer; ``error`` ends it early with a failed message-end."""
    events = [event({"id": stable_uuid(body["messages"]), "type": "message-start",
                     "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "",
                                           "tool_calls": [], "citations": []}}})]
    index = 0
    for kind, text in (("thinking", a["thinking"]), ("text", a["text"])):
        if text is None:
            continue
        events.append(event({"type": "content-start", "index": index,
                             "delta": {"message": {"content": {"type": kind, kind: ""}}}}))
        for piece in words(text):
            delta: dict[str, Any] = {"type": "content-delta", "index": index,
                                     "delta": {"message": {"content": {kind: piece}}}}
            if kind == "text" and body.get("logprobs"):
                delta["logprobs"] = logprob(piece)
            events.append(event(delta))
        if kind == "text":
            for i, citation in enumerate(a["citations"]):
                events.append(event({"type": "citation-start", "index": i,
                                     "delta": {"message": {"citations": citation}}}))
                events.append(event({"type": "citation-end", "index": i}))
        events.append(event({"type": "content-end", "index": index}))
        index += 1
    for piece in words(a["tool_plan"] or ""):
        if piece:
            events.append(event({"type": "tool-plan-delta",
                                 "delta": {"message": {"tool_plan": piece}}}))
    for i, call in enumerate(a["tool_calls"]):
        name, args = call["function"]["name"], call["function"]["arguments"]
        events.append(event({"type": "tool-call-start", "index": i, "delta": {"message": {
            "tool_calls": {"id": call["id"], "type": "function",
                           "function": {"name": name, "arguments": ""}}}}}))
        for start in range(0, len(args), 6):
            events.append(event({"type": "tool-call-delta", "index": i, "delta": {"message": {
                "tool_calls": {"function": {"arguments": args[start:start + 6]}}}}}))
        events.append(event({"type": "tool-call-end", "index": i}))
    end: dict[str, Any] = {"finish_reason": a["finish"], "usage": usage(a)}
    if error is not None:
        events = events[:3]
        end = {"finish_reason": error, "error": "internal server error" if error == "ERROR"
               else "the generation exceeded the allowed time", "usage": usage(a)}
    events.append(event({"type": "message-end", "delta": end}))
    events.append(sse("[DONE]"))
    yield from events


def unauthorized(ex: Exchange) -> Reply | None:
    scheme, _, token = ex.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return provider_error("cohere", 401, "no api key supplied")
    if token.strip() != ex.api_key:
        return provider_error("cohere", 401, "invalid api token")
    return None


@route("cohere", "POST", r"/v2/chat")
def chat(ex: Exchange) -> Reply:
    refused = unauthorized(ex)
    if refused is not None:
        return refused
    body = ex.body
    if isinstance(body, dict) and not body.get("model"):
        return provider_error("cohere", 400, "a model parameter is required for this endpoint.")
    invalid = check_request(body)
    if invalid is not None:
        return provider_error("cohere", 400, invalid)
    model = str(body["model"])
    if model.startswith("missing-"):
        return provider_error("cohere", 404, f"model '{model}' not found, make sure the correct "
                              "model ID was used and that you have access to the model.")
    a = answer(body)
    trace = {"x-debug-trace-id": stable_uuid("trace", body["messages"]).replace("-", "")}
    if body.get("stream"):
        fault = ex.emulator.take_fault("cohere", ex.path, ("stream_error",))
        # Cohere reports a failed generation in message-end, not with an HTTP status.
        error = None if fault is None else ("TIMEOUT" if fault.status in (408, 504) else "ERROR")
        return SSEReply(stream_events(body, a, error),
                        {"content-type": "text/event-stream", **trace})
    return JSONReply(200, chat_body(body, a), trace)


# /v2/embed (https://docs.cohere.com/reference/embed): vector sizes per model, the fields the
# endpoint takes, and its limits.
EMBED_DIMENSIONS = {"embed-v4.0": 1536, "embed-english-v3.0": 1024,
                    "embed-multilingual-v3.0": 1024, "embed-english-light-v3.0": 384,
                    "embed-multilingual-light-v3.0": 384}
EMBED_FIELDS = frozenset({"model", "texts", "images", "inputs", "input_type", "embedding_types",
                          "truncate", "output_dimension", "max_tokens", "priority"})
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")
MAX_TEXTS = 96


def check_embed(body: Any) -> str | None:
    """The 400 message /v2/embed gives for a request it cannot take, if any."""
    if not isinstance(body, dict):
        return "invalid json syntax: the request body must be a JSON object"
    unknown = sorted(set(body) - EMBED_FIELDS)
    if unknown:
        return f"invalid request: unknown field: parameter {unknown[0]} is not a valid field"
    texts = body.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return "invalid request: texts must be a list of strings"
    if len(texts) > MAX_TEXTS:
        return f"invalid request: total number of texts must be at most {MAX_TEXTS} - received {len(texts)}"
    if body.get("input_type") not in INPUT_TYPES:
        return ("invalid request: input_type must be one of search_document, search_query, "
                "classification, clustering, image")
    types = body.get("embedding_types")
    if not isinstance(types, list) or not types or any(t not in EMBEDDING_TYPES for t in types):
        return ("invalid request: embedding_types must be a list of float, int8, uint8, binary, "
                "ubinary, base64")
    dims = body.get("output_dimension")
    if dims is not None:
        if not str(body["model"]).startswith("embed-v4"):
            return "invalid request: output_dimension is only supported by embed-v4.0 and newer models"
        if dims not in (256, 512, 1024, 1536):
            return "invalid request: output_dimension must be one of 256, 512, 1024, 1536"
    return None


FLOATS = "<float vectors>"


def typed_vectors(kind: str, floats: list[list[float]]) -> list[Any]:
    """Each float vector as the requested embedding type (scalar and binary quantisation)."""
    if kind == "float":
        return floats
    if kind == "base64":
        return [base64_of(v) for v in floats]
    if kind in ("int8", "uint8"):
        shift = 0 if kind == "int8" else 128
        return [[max(-128, min(127, round(x * 1270))) + shift for x in v] for v in floats]
    packed = []
    for v in floats:
        bits = [1 if x > 0 else 0 for x in v]
        row = [int("".join(map(str, bits[i:i + 8])).ljust(8, "0"), 2) for i in range(0, len(bits), 8)]
        packed.append([b - 128 for b in row] if kind == "binary" else row)
    return packed


@route("cohere", "POST", r"/v2/embed")
def embed(ex: Exchange) -> Reply:
    refused = unauthorized(ex)
    if refused is not None:
        return refused
    body = ex.body
    if isinstance(body, dict) and not body.get("model"):
        return provider_error("cohere", 400, "a model parameter is required for this endpoint.")
    invalid = check_embed(body)
    if invalid is not None:
        return provider_error("cohere", 400, invalid)
    model = str(body["model"])
    if model.startswith("missing-") or not model.startswith("embed-"):
        return provider_error("cohere", 404, f"model '{model}' not found, make sure the correct "
                              "model ID was used and that you have access to the model.")
    texts = body["texts"]
    dims = body.get("output_dimension") or EMBED_DIMENSIONS.get(model, 1024)
    kinds = body["embedding_types"]
    floats = [] if kinds == ["float"] else [vector(text, dims) for text in texts]
    billed = sum(input_tokens(t) for t in texts)
    answer = json.dumps({
        "id": stable_uuid("embed", texts),
        # Float vectors are spliced in already encoded: encoding large answers float by float
        # would dominate the emulator's time.
        "embeddings": {kind: FLOATS if kind == "float" else typed_vectors(kind, floats)
                       for kind in kinds},
        "texts": texts,
        "meta": {"api_version": {"version": "2"},
                 "billed_units": {"input_tokens": billed, "image_tokens": 0}},
        "response_type": "embeddings_by_type",
    })
    if "float" in kinds:
        answer = answer.replace(json.dumps(FLOATS), json_vectors(texts, dims), 1)
    return JSONReply(200, answer.encode(),
                     {"x-debug-trace-id": stable_uuid("trace", texts).replace("-", "")})
