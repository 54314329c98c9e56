"""AWS Bedrock Runtime emulator: Converse, ConverseStream and InvokeModel (embeddings).

Every request is authenticated first as AWS's front end does (``testing.aws``: SigV4 over the
exact bytes received, or the Bearer key ``emulator.api_key``). Shapes follow
shared/recorded/bedrock: Converse bodies without id or model, ``x-amzn-RequestId``, errors as
``{"message"}`` with ``x-amzn-ErrorType``, and ConverseStream as binary event-stream messages
(with the ``p`` padding field) sent in pieces that split messages at odd places.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any, Iterator
from urllib.parse import unquote

from ..eventstream import encode_message
from . import aws
from .generation import count_tokens, example_for, reply_text, truncate, words
from .server import Exchange, JSONReply, Reply, SSEReply, error_body, gate, route
from .vectors import vector

# Model ids the emulator knows, after an optional inference-profile prefix or inside an ARN.
VENDORS = ("anthropic.claude", "amazon.nova", "meta.llama", "mistral.", "cohere.command",
           "openai.gpt-oss", "amazon.titan-embed", "cohere.embed", "deepseek.")
PROFILE = re.compile(r"(?:(?:us|eu|apac|global|us-gov|jp|au|ca)\.)?(?P<id>[a-z0-9-]+\..+)")
ARN = re.compile(r"arn:aws(?:-[a-z-]+)?:bedrock:[a-z0-9-]+:\d*:"
                 r"(?:foundation-model|inference-profile|application-inference-profile)/(?P<id>.+)")
# Models that take toolChoice "any" / "tool" (AWS: Claude, Nova, Mistral Large).
FORCED_CHOICE = ("anthropic.claude", "amazon.nova", "mistral.mistral-large")
CONTEXT_WINDOW = 200_000
PIECES = (1, 7, 13, 64, 3, 29, 250, 5, 11)  # sizes the stream is cut into, in turn

ERROR_TYPES = {
    400: "ValidationException", 401: "UnrecognizedClientException", 403: "AccessDeniedException",
    404: "ResourceNotFoundException", 408: "ModelTimeoutException", 424: "ModelErrorException",
    429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException",
}
ERROR_MESSAGES = {
    401: "The security token included in the request is invalid.",
    403: "You don't have access to the model with the specified model ID.",
    404: "Could not resolve the foundation model from the provided model identifier.",
    408: "Model has timed out in processing the request. Try your request again.",
    424: "Received error from the model while processing the request.",
    429: "Too many requests, please wait before trying again.",
    500: "The system encountered an unexpected error during processing. Try your request again.",
    503: "Bedrock is unable to process your request.",
}
# In-stream exceptions (ConverseStreamOutput members) by the status they stand for.
STREAM_EXCEPTIONS = {400: "validationException", 424: "modelStreamErrorException",
                     429: "throttlingException", 500: "internalServerException",
                     503: "serviceUnavailableException"}
NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def request_id(*parts: Any) -> str:
    return str(uuid.UUID(digest("request", *parts)[:32]))


def error_reply(status: int, kind: str, message: str, **extra: Any) -> JSONReply:
    headers = {"x-amzn-ErrorType": f"{kind}:{NAMESPACE}",
               "x-amzn-RequestId": request_id(status, kind, message)}
    return JSONReply(status, {"message": message, **extra}, headers)


@error_body("bedrock")
def bedrock_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    kind = ERROR_TYPES.get(status, "InternalServerException" if status >= 500 else "ValidationException")
    reply = error_reply(status, kind, ERROR_MESSAGES.get(status, message))
    return reply.body, dict(reply.headers)


def invalid(message: str) -> JSONReply:
    return error_reply(400, "ValidationException", message)


def model_id(ex: Exchange) -> str | None:
    """The model the path names (percent-decoded), when the emulator knows it."""
    raw = unquote(ex.match["model"])
    arn = ARN.fullmatch(raw)
    found = PROFILE.fullmatch(arn["id"] if arn else raw)
    if found is None or not found["id"].startswith(VENDORS) or "does-not-exist" in raw:
        return None
    return str(found["id"])


@gate("bedrock")
def authenticate(ex: Exchange) -> Reply | None:
    """AWS's front end: every request, scripted faults included, is authenticated first."""
    refusal = aws.check_auth(ex.method, ex.path, ex.query, ex.headers, ex.raw_body, ex.api_key)
    if refusal is None:
        return None
    return error_reply(403, refusal.type, refusal.message)


# ---- Converse ---------------------------------------------------------------------------------


def text_of(blocks: Any) -> str:
    parts = []
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        if "text" in block:
            parts.append(str(block["text"]))
        elif "toolResult" in block:
            parts.append(text_of(block["toolResult"].get("content")))
    return " ".join(parts)


# botocore ServiceTierType; a value outside it fails the service's own input validation.
SERVICE_TIERS = ("priority", "default", "flex", "reserved")


def check_converse(body: Any, model: str) -> Reply | None:
    """Body checks in the API's order, with its messages."""
    if not isinstance(body, dict):
        return invalid("Malformed input request, please reformat your input and try again.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return invalid("A conversation must start with a user message. Try again with a "
                       "conversation that starts with a user message.")
    config = body.get("inferenceConfig") or {}
    for field, low, high in (("temperature", 0, 1), ("topP", 0, 1)):
        value = config.get(field)
        if value is not None and not low <= value <= high:
            return invalid(f"1 validation error detected: Value '{value}' at 'inferenceConfig."
                           f"{field}' failed to satisfy constraint: Member must have value less "
                           f"than or equal to {high}")
    if config.get("maxTokens") is not None and config["maxTokens"] < 1:
        return invalid("1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' "
                       "failed to satisfy constraint: Member must have value greater than or equal to 1")
    tier = (body.get("serviceTier") or {}).get("type")
    if tier is not None and tier not in SERVICE_TIERS:
        return invalid(f"1 validation error detected: Value '{tier}' at 'serviceTier.type' failed "
                       "to satisfy constraint: Member must satisfy enum value set: "
                       f"[{', '.join(SERVICE_TIERS)}]")
    for i, message in enumerate(messages):
        expected = "user" if i % 2 == 0 else "assistant"
        if message.get("role") != expected:
            if i == 0:
                return invalid("A conversation must start with a user message. Try again with "
                               "a conversation that starts with a user message.")
            return invalid("A conversation must alternate between user and assistant roles. "
                           "Make sure the conversation alternates between user and assistant "
                           "roles and try again.")
        for j, block in enumerate(message.get("content") or []):
            if "text" in block and not str(block["text"]).strip():
                return invalid(f"The text field in the ContentBlock object at messages.{i}."
                               f"content.{j} is blank. Add text to the text field, and try again.")
    tools = (body.get("toolConfig") or {}).get("tools")
    uses_tools = any("toolUse" in b or "toolResult" in b
                     for m in messages for b in m.get("content") or [])
    if uses_tools and not tools:
        return invalid("The toolConfig field must be defined when using toolUse and "
                       "toolResult content blocks.")
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    forced = next((k for k in ("any", "tool") if k in choice), None)
    if forced and not model.startswith(FORCED_CHOICE):
        return invalid(f"This model doesn't support the toolConfig.toolChoice.{forced} field. "
                       f"Remove toolConfig.toolChoice.{forced} and try again.")
    return check_turns(body, model)


def check_turns(body: dict[str, Any], model: str) -> Reply | None:
    """Tool pairing and Claude's thinking rules, as the model behind Bedrock answers them."""
    messages = body["messages"]
    for i, message in enumerate(messages):
        if message["role"] != "user" or i == 0:
            continue
        asked = {b["toolUse"]["toolUseId"] for b in messages[i - 1].get("content") or []
                 if "toolUse" in b}
        answered = [b["toolResult"]["toolUseId"] for b in message.get("content") or []
                    if "toolResult" in b]
        if answered and set(answered) != asked:
            return invalid(f"Expected toolResult blocks at messages.{i}.content for the "
                           f"following Ids: {', '.join(sorted(asked))}")
    if not thinking_on(body, model):
        return None
    if any(k in ((body.get("toolConfig") or {}).get("toolChoice") or {}) for k in ("any", "tool")):
        return invalid("The model returned the following errors: Thinking may not be enabled "
                       "when tool_choice forces tool use.")
    last = next((i for i in range(len(messages) - 1, -1, -1)
                 if messages[i]["role"] == "assistant"), None)
    if last is None:
        return None
    blocks = messages[last].get("content") or []
    if any("toolUse" in b for b in blocks):
        first = blocks[0].get("reasoningContent") if blocks else None
        text = (first or {}).get("reasoningText") or {}
        if first is None:
            return invalid(f"The model returned the following errors: messages.{last}.content.0."
                           "type: Expected `thinking` or `redacted_thinking`, but found "
                           "`tool_use`. When `thinking` is enabled, a final `assistant` message "
                           "must start with a thinking block.")
        if "redactedContent" not in first and text.get("signature") != sign_thought(text.get("text", "")):
            return invalid(f"The model returned the following errors: messages.{last}.content.0: "
                           "Invalid `signature` in `thinking` block")
    return None


def thinking_on(body: dict[str, Any], model: str) -> bool:
    thinking = (body.get("additionalModelRequestFields") or {}).get("thinking") or {}
    return model.startswith("anthropic.claude") and thinking.get("type") in ("enabled", "adaptive")


def sign_thought(thought: str) -> str:
    return base64.b64encode(hashlib.sha256(("emulator:" + thought).encode()).digest() * 3).decode()


def input_tokens(body: dict[str, Any]) -> int:
    system = text_of(body.get("system"))
    return count_tokens(system) + sum(count_tokens(text_of(m.get("content")))
                                      for m in body["messages"]) + 3


def cached_prefix(body: dict[str, Any]) -> tuple[int, str]:
    """Tokens up to the last ``cachePoint`` (system, then messages; 0 without one) and a
    digest of that prefix."""
    blocks = [*(body.get("system") or []),
              *(b for m in body["messages"] for b in m.get("content") or [])]
    tokens, upto, end = 0, 0, 0
    for n, block in enumerate(blocks):
        if "cachePoint" in block:
            upto, end = tokens, n
        else:
            tokens += count_tokens(text_of([block]))
    return upto, digest(blocks[:end])


def chosen_tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The tools the model calls and whether it says something first (only under ``auto``)."""
    config = body.get("toolConfig") or {}
    tools = [t["toolSpec"] for t in config.get("tools") or [] if "toolSpec" in t]
    last = body["messages"][-1].get("content") or []
    if not tools or any("toolResult" in b for b in last):
        return [], False
    choice = config.get("toolChoice") or {"auto": {}}
    if "tool" in choice:
        return [t for t in tools if t["name"] == choice["tool"].get("name")][:1] or tools[:1], False
    if "any" in choice:
        return tools[:1], False
    return tools[:2], True


def answer(body: dict[str, Any], model: str, state: dict[str, Any]) -> dict[str, Any]:
    """The deterministic Converse response for a request."""
    messages = body["messages"]
    prompt = next((text_of(m.get("content")) for m in reversed(messages) if m["role"] == "user"), "")
    content: list[dict[str, Any]] = []
    if thinking_on(body, model):
        thought = f"The user said: {' '.join(prompt.split()[:12])}. A short answer fits."
        content.append({"reasoningContent": {"reasoningText": {
            "text": thought, "signature": sign_thought(thought)}}})
    tools, preamble = chosen_tools(body)
    config = body.get("inferenceConfig") or {}
    stop_reason = "end_turn"
    if tools:
        if preamble:
            content.append({"text": f"I'll use {tools[0]['name']} for this."})
        for n, tool in enumerate(tools):
            content.append({"toolUse": {
                "toolUseId": "tooluse_" + base64.urlsafe_b64encode(
                    bytes.fromhex(digest(prompt, tool["name"], n)[:32])).decode().rstrip("="),
                "name": tool["name"], "input": example_for(tool["inputSchema"].get("json"))}})
        stop_reason = "tool_use"
    else:
        text, cut = truncate(reply_text(prompt), config.get("maxTokens"))
        for stop in config.get("stopSequences") or []:
            if stop and stop in text:
                text, stop_reason, cut = text[: text.index(stop)], "stop_sequence", False
        if cut:
            stop_reason = "max_tokens"
        content.append({"text": text})
    output = sum(count_tokens(b.get("text") or json.dumps(b.get("toolUse", {}).get("input"))
                              if "reasoningContent" not in b
                              else b["reasoningContent"]["reasoningText"]["text"]) for b in content)
    return {"output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": usage(body, max(output, 1), state),
            "metrics": {"latencyMs": 100 + len(prompt) % 300}}


def usage(body: dict[str, Any], output: int, state: dict[str, Any]) -> dict[str, Any]:
    """Token counts; a prompt prefix up to a ``cachePoint`` is written once, then read."""
    total = input_tokens(body)
    prefix, key = cached_prefix(body)
    read = written = 0
    if prefix:
        seen = state.setdefault("bedrock_cache", set())
        if key in seen:
            read = prefix
        else:
            seen.add(key)
            written = prefix
    out: dict[str, Any] = {"inputTokens": total - read - written, "outputTokens": output,
                           "totalTokens": total + output}
    if prefix:
        out["cacheReadInputTokens"] = read
        out["cacheWriteInputTokens"] = written
    return out


def converse_reply(ex: Exchange, stream: bool) -> Reply:
    model = model_id(ex)
    if model is None:
        return invalid("The provided model identifier is invalid.")
    refused = check_converse(ex.body, model)
    if refused is not None:
        return refused
    if input_tokens(ex.body) > CONTEXT_WINDOW:
        return invalid("Input is too long for requested model.")
    response = answer(ex.body, model, ex.emulator.state)
    headers = {"x-amzn-RequestId": request_id(ex.body, model, stream)}
    if not stream:
        return JSONReply(200, response, headers)
    frames = list(stream_messages(response))
    fault = ex.emulator.take_fault("bedrock", ex.path, ("stream_error",))
    if fault is not None:
        frames = [*frames[:3], exception_frame(fault.status)]
    headers["content-type"] = "application/vnd.amazon.eventstream"
    return SSEReply(list(pieces(b"".join(frames))), headers)


@route("bedrock", "POST", r"/model/(?P<model>[^/]+)/converse")
def converse(ex: Exchange) -> Reply:
    return converse_reply(ex, stream=False)


@route("bedrock", "POST", r"/model/(?P<model>[^/]+)/converse-stream")
def converse_stream(ex: Exchange) -> Reply:
    return converse_reply(ex, stream=True)


# ---- ConverseStream framing -------------------------------------------------------------------


def padding(payload: dict[str, Any]) -> str:
    """The random-length ``p`` field real payloads carry (deterministic here)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return alphabet[: 2 + int(digest(payload)[:4], 16) % 58]


def event(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    body = {**payload, "p": padding(payload)}
    return encode_message(headers, json.dumps(body, separators=(",", ":")).encode())


def exception_frame(status: int) -> bytes:
    kind = STREAM_EXCEPTIONS.get(status, "internalServerException")
    payload: dict[str, Any] = {"message": ERROR_MESSAGES.get(status, "Stream failed.")}
    if kind == "modelStreamErrorException":
        payload.update(originalStatusCode=500, originalMessage="Model stream interrupted")
    headers = {":exception-type": kind, ":content-type": "application/json",
               ":message-type": "exception"}
    return encode_message(headers, json.dumps(payload).encode())


def stream_messages(response: dict[str, Any]) -> Iterator[bytes]:
    yield event("messageStart", {"role": "assistant"})
    for index, block in enumerate(response["output"]["message"]["content"]):
        if "toolUse" in block:
            use = block["toolUse"]
            yield event("contentBlockStart", {"contentBlockIndex": index, "start": {
                "toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}})
            arguments = json.dumps(use["input"])
            for start in range(0, len(arguments), 12):
                yield event("contentBlockDelta", {"contentBlockIndex": index, "delta": {
                    "toolUse": {"input": arguments[start:start + 12]}}})
        elif "reasoningContent" in block:
            text = block["reasoningContent"]["reasoningText"]
            for piece in words(text["text"]):
                yield event("contentBlockDelta", {"contentBlockIndex": index, "delta": {
                    "reasoningContent": {"text": piece}}})
            yield event("contentBlockDelta", {"contentBlockIndex": index, "delta": {
                "reasoningContent": {"signature": text["signature"]}}})
        else:
            for piece in words(block["text"]):
                yield event("contentBlockDelta", {"contentBlockIndex": index,
                                                  "delta": {"text": piece}})
        yield event("contentBlockStop", {"contentBlockIndex": index})
    yield event("messageStop", {"stopReason": response["stopReason"]})
    yield event("metadata", {"usage": response["usage"], "metrics": response["metrics"]})


def pieces(data: bytes) -> Iterator[bytes]:
    """The body in pieces of varying size, so messages (and preludes) straddle reads."""
    at, n = 0, 0
    while at < len(data):
        size = PIECES[n % len(PIECES)]
        yield data[at:at + size]
        at, n = at + size, n + 1


# ---- InvokeModel (embeddings) -----------------------------------------------------------------
# Bodies are checked as Bedrock's JSON-schema validation does, with its wording ("Malformed input
# request: #/texts: expected maximum item count: 96, ..."); answers follow the recordings and the
# model parameter pages (Titan: embeddingsByType always present on v2; Cohere: no token counts in
# the body). Every answer carries the token count in X-Amzn-Bedrock-Input-Token-Count.

TITAN_V2_KEYS = frozenset({"inputText", "dimensions", "normalize", "embeddingTypes"})
TITAN_V1_KEYS = frozenset({"inputText"})
COHERE_V3_KEYS = frozenset({"texts", "images", "input_type", "truncate", "embedding_types"})
COHERE_V4_KEYS = COHERE_V3_KEYS | {"inputs", "output_dimension", "max_tokens"}
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
TITAN_TEXT_LIMIT = 50_000  # characters (Titan v2; 8,192 tokens)
COHERE_V3_TEXT_LIMIT = 2048  # characters a text, checked before any truncation


def malformed(detail: str) -> JSONReply:
    return invalid(f"Malformed input request: {detail}, please reformat your input and try again.")


def unknown_keys(body: dict[str, Any], allowed: frozenset[str]) -> JSONReply | None:
    extra = sorted(set(body) - allowed)
    return malformed(f"#: extraneous key [{extra[0]}] is not permitted") if extra else None


def embedding_reply(out: dict[str, Any], tokens: int, *parts: Any) -> JSONReply:
    return JSONReply(200, out, {"x-amzn-RequestId": request_id(out.get("id"), *parts),
                                "x-amzn-bedrock-input-token-count": str(tokens),
                                "x-amzn-bedrock-invocation-latency": str(40 + tokens % 60)})


def titan(body: Any, model: str) -> Reply:
    if not isinstance(body, dict):
        return malformed("#: expected type: JSONObject, found: " + type(body).__name__)
    v2 = model.startswith("amazon.titan-embed-text-v2")
    refused = unknown_keys(body, TITAN_V2_KEYS if v2 else TITAN_V1_KEYS)
    if refused is not None:
        return refused
    text = body.get("inputText")
    if text is None:
        return malformed("#: required key [inputText] not found")
    if not isinstance(text, str):
        return malformed(f"#/inputText: expected type: String, found: {type(text).__name__}")
    if not 1 <= len(text) <= TITAN_TEXT_LIMIT:
        bound = "minLength: 1" if not text else f"maxLength: {TITAN_TEXT_LIMIT}"
        return malformed(f"#/inputText: expected {bound}, actual: {len(text)}")
    dimensions = body.get("dimensions", 1024 if v2 else 1536)  # v1 takes no dimensions
    if v2 and dimensions not in (256, 512, 1024):
        return malformed(f"#/dimensions: {dimensions} is not a valid enum value")
    types = body.get("embeddingTypes") or ["float"]
    bad = next((t for t in types if t not in ("float", "binary")), None)
    if bad is not None:
        return malformed(f"#/embeddingTypes/0: {bad} is not a valid enum value")
    embedding = vector(text, dimensions)
    if body.get("normalize") is False or not v2:
        embedding = [round(v * 7.5, 8) for v in embedding]  # not a unit vector
    tokens = count_tokens(text)
    out: dict[str, Any] = {"embedding": embedding, "inputTextTokenCount": tokens}
    if v2:
        out["embeddingsByType"] = {t: typed(embedding, t, packed=False) for t in types}
    return embedding_reply(out, tokens, text, model)


def typed(floats: list[float], kind: str, packed: bool = True) -> list[Any]:
    """A float vector as one of Cohere's embedding types; Titan's ``binary`` (``packed``
    false) keeps one sign bit a dimension where Cohere packs eight a byte."""
    if kind == "float":
        return floats
    if kind in ("int8", "uint8"):
        top = max((abs(v) for v in floats), default=1.0) or 1.0
        values = [max(-128, min(127, round(v / top * 127))) for v in floats]
        return values if kind == "int8" else [v + 128 for v in values]
    bits = [1 if v > 0 else 0 for v in floats]
    if not packed:
        return bits
    octets = [int("".join(map(str, bits[i:i + 8])).ljust(8, "0"), 2)
              for i in range(0, len(bits), 8)]
    return octets if kind == "ubinary" else [b - 128 for b in octets]


def cohere_embed(body: Any, model: str) -> Reply:
    if not isinstance(body, dict):
        return malformed("#: expected type: JSONObject, found: " + type(body).__name__)
    v4 = "embed-v4" in model
    refused = unknown_keys(body, COHERE_V4_KEYS if v4 else COHERE_V3_KEYS)
    if refused is not None:
        return refused
    if "input_type" not in body:
        return malformed("#: required key [input_type] not found")
    if body["input_type"] not in INPUT_TYPES:
        return malformed(f"#/input_type: {body['input_type']} is not a valid enum value")
    texts = body.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return malformed("#/texts: expected type: JSONArray, found: "
                         + type(texts).__name__)
    if len(texts) > 96:
        return malformed(f"#/texts: expected maximum item count: 96, found: {len(texts)}")
    if not v4:
        long = next((i for i, t in enumerate(texts) if len(t) > COHERE_V3_TEXT_LIMIT), None)
        if long is not None:
            return malformed(f"#/texts/{long}: expected maxLength: {COHERE_V3_TEXT_LIMIT}, "
                             f"actual: {len(texts[long])}")
    dimensions = body.get("output_dimension", 1536 if v4 else 1024)
    if dimensions not in (256, 512, 1024, 1536):
        return malformed(f"#/output_dimension: {dimensions} is not a valid enum value")
    kinds = body.get("embedding_types")
    bad = next((k for k in kinds or () if k not in EMBEDDING_TYPES), None)
    if bad is not None:
        return malformed(f"#/embedding_types/0: {bad} is not a valid enum value")
    vectors = [vector(t, dimensions) for t in texts]
    out: dict[str, Any] = {"id": request_id(body, model), "texts": texts}
    if v4 or kinds:
        # v4 answers by type even when no type was asked for (recorded).
        out.update(response_type="embeddings_by_type",
                   embeddings={k: [typed(v, k) for v in vectors] for k in kinds or ["float"]})
    else:
        out.update(response_type="embeddings_floats", embeddings=vectors)
    return embedding_reply(out, sum(count_tokens(t) for t in texts), model)


@route("bedrock", "POST", r"/model/(?P<model>[^/]+)/invoke")
def invoke(ex: Exchange) -> Reply:
    model = model_id(ex)
    if model is None:
        return invalid("The provided model identifier is invalid.")
    if model.startswith(("amazon.titan-embed-text-v2", "amazon.titan-embed-text-v1")):
        return titan(ex.body, model)
    if model.startswith("cohere.embed"):
        return cohere_embed(ex.body, model)
    return invalid(f"The emulator's InvokeModel answers embedding models only, not {model}")
