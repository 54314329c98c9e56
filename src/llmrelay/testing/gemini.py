"""Gemini API emulator (``POST /v1beta/models/{model}:generateContent``,
``:streamGenerateContent`` and ``:batchEmbedContents``, also under ``/v1``), shaped after
shared/recorded/gemini.
"""

from __future__ import annotations

import base64
import hashlib
import json
from fnmatch import fnmatchcase
from typing import Any, Iterator

from .gemini_checks import camel_get, conversation_problem, unknown_fields
from .generation import count_tokens, example_for, reply_text, truncate, words
from .server import Exchange, JSONReply, RawReply, Reply, SSEReply, error_body, route
from .vectors import encoded

# Recorded shapes: camelCase bodies with ``responseId``, ``modelVersion``, ``usageMetadata``
# (thoughts apart), ``index`` on candidates from 2.5 on, ``avgLogprobs`` on 2.0; streams of
# ``data:`` events with CRLF and no terminator, function calls whole then an empty text part.
# A wrong key is Google's 400 ``API_KEY_INVALID``; without ``alt=sse`` a stream is one JSON array;
# a failed stream ends with the bare error object. Models not ``gemini-``/``gemma-``/``learnlm-``
# (or ``gemini-missing*``) are 404.
JSON_TYPE = {"content-type": "application/json; charset=UTF-8"}
THINKING_MODELS = ("gemini-2.5*", "gemini-3*")
# Thinking cannot be turned off on 2.5 Pro (budget 128..32768): a zero budget is a 400.
ALWAYS_THINKING = "gemini-2.5-pro*"
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
                500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
         "cookie or other valid authentication credential. See "
         "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "You exceeded your current quota, please check your plan and billing details. For more "
         "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}
RETRY_DELAY = "0.5s"  # RetryInfo on a 429 (a protobuf Duration; real ones run to "37s")
UNREGISTERED = ("Method doesn't allow unregistered callers (callers without established identity)."
                " Please use API Key or other form of API consumer identity to call this API.")


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def error_object(status: int, message: str | None = None) -> dict[str, Any]:
    """Google's error envelope; 429s carry QuotaFailure, Help and RetryInfo details."""
    if status == 529:  # no such status at Google: an overloaded model is a 503
        status = 503
    error: dict[str, Any] = {"code": status, "message": message or MESSAGES.get(status, "Error"),
                             "status": STATUS_NAMES.get(status, "UNKNOWN")}
    if status == 429:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                 "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                 "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                 "quotaValue": "10"}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [
                {"description": "Learn more about Gemini API quotas",
                 "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": RETRY_DELAY},
        ]
    return {"error": error}


@error_body("gemini")
def gemini_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    return error_object(status), dict(JSON_TYPE)


def refuse(status: int, message: str) -> JSONReply:
    return JSONReply(status, error_object(status, message), dict(JSON_TYPE))


def bad_key() -> JSONReply:
    message = "API key not valid. Please pass a valid API key."
    body = error_object(400, message)
    body["error"]["details"] = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": message},
    ]
    return JSONReply(400, body, dict(JSON_TYPE))


def known_model(model: str) -> bool:
    return model.startswith(("gemini-", "gemma-", "learnlm-")) and not model.startswith("gemini-missing")


def check_request(ex: Exchange, model: str, method: str, version: str) -> Reply | None:
    """Key, body parse, model, then the conversation, in the order the API checks them."""
    key = ex.headers.get("x-goog-api-key") or ex.query.get("key")
    if not key:
        return refuse(403, UNREGISTERED)
    if key != ex.api_key:
        return bad_key()
    body = ex.body
    if not isinstance(body, dict):
        return refuse(400, "Invalid JSON payload received. Expected a JSON object.")
    problems = unknown_fields(body)
    if problems:
        return refuse(400, "\n".join(f"Invalid JSON payload received. {p}" for p in problems))
    if not known_model(model):
        return refuse(404, f"models/{model} is not found for API version {version}, or is not "
                           f"supported for {method}. Call ListModels to see the list of available "
                           "models and their supported methods.")
    contents = camel_get(body, "contents")
    if not contents:
        return refuse(400, "* GenerateContentRequest.contents: contents is not specified\n")
    problem = conversation_problem(contents, signatures=model.startswith("gemini-3"))
    if problem is None and fnmatchcase(model, ALWAYS_THINKING):
        thinking = camel_get(camel_get(body, "generationConfig") or {}, "thinkingConfig") or {}
        if camel_get(thinking, "thinkingBudget") == 0:
            problem = "Budget 0 is invalid. This model only works in thinking mode."
    return refuse(400, problem) if problem else None


# ---- the deterministic answer -------------------------------------------------------------


def texts(content: Any) -> str:
    out = []
    for part in (content or {}).get("parts") or []:
        if camel_get(part, "text"):
            out.append(camel_get(part, "text"))
        elif camel_get(part, "functionResponse") is not None:
            out.append(json.dumps(camel_get(camel_get(part, "functionResponse"), "response")))
    return " ".join(out)


def lowered(schema: Any) -> Any:
    """An OpenAPI-subset schema with JSON Schema type names, for ``example_for``."""
    if isinstance(schema, list):
        return [lowered(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: (v.lower() if k == "type" and isinstance(v, str) else lowered(v)) for k, v in schema.items()}


def declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for tool in camel_get(body, "tools") or []:
        for fn in camel_get(tool, "functionDeclarations") or []:
            schema = camel_get(fn, "parametersJsonSchema")
            found.append({"name": fn.get("name"),
                          "schema": schema if schema is not None else lowered(fn.get("parameters"))})
    return found


def chosen_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The functions the model calls: two under AUTO (parallel), the first allowed under ANY."""
    tools = declarations(body)
    last = body["contents"][-1]
    if not tools or any(camel_get(p, "functionResponse") is not None for p in last.get("parts") or []):
        return []
    config = camel_get(camel_get(body, "toolConfig") or {}, "functionCallingConfig") or {}
    mode = str(config.get("mode") or "AUTO").upper()
    if mode == "NONE":
        return []
    if mode == "ANY":
        allowed = camel_get(config, "allowedFunctionNames") or [t["name"] for t in tools]
        return [t for t in tools if t["name"] in allowed][:1] or tools[:1]
    return tools[:2]


def thinks(model: str, config: dict[str, Any]) -> bool:
    thinking = camel_get(config, "thinkingConfig") or {}
    return any(fnmatchcase(model, p) for p in THINKING_MODELS) and camel_get(thinking, "thinkingBudget") != 0


def signature(*parts: Any) -> str:
    return base64.b64encode(hashlib.sha256(json.dumps(parts).encode()).digest() * 3).decode()


def answer(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The deterministic GenerateContentResponse for a request."""
    contents = body["contents"]
    config = camel_get(body, "generationConfig") or {}
    prompt = next((texts(c) for c in reversed(contents) if c.get("role", "user") == "user"), "")
    system = texts(camel_get(body, "systemInstruction"))
    prompt_tokens = count_tokens(system) + sum(count_tokens(texts(c)) for c in contents) + 3
    thinking = thinks(model, config)
    thought = f"The user said: {' '.join(prompt.split()[:12])}. A short answer fits." if thinking else ""
    show = bool(camel_get(camel_get(config, "thinkingConfig") or {}, "includeThoughts"))
    calls = chosen_calls(body)
    count = int(camel_get(config, "candidateCount") or 1)
    candidates = [candidate(body, model, prompt, calls, thought if show else "", i) for i in range(count)]
    output = sum(count_tokens(p.get("text") or json.dumps(p.get("functionCall")))
                 for c in candidates for p in c["content"].get("parts", []) if not p.get("thought"))
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output,
                             "totalTokenCount": prompt_tokens + output + count_tokens(thought),
                             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
    if thought:
        usage["thoughtsTokenCount"] = count_tokens(thought)
    if model.startswith("gemini-2.0"):  # 2.0 breaks the answer's count down too
        usage["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": output}]
    return {"candidates": candidates, "usageMetadata": usage, "modelVersion": model,
            "responseId": base64.urlsafe_b64encode(bytes.fromhex(digest(contents, model)[:34])).decode()[:23]}


def candidate(body: dict[str, Any], model: str, prompt: str, calls: list[dict[str, Any]],
              thought: str, index: int) -> dict[str, Any]:
    config = camel_get(body, "generationConfig") or {}
    parts: list[dict[str, Any]] = [{"text": thought, "thought": True}] if thought else []
    finish = "STOP"
    thinking = thinks(model, config)
    if calls:
        for n, call in enumerate(calls):
            part: dict[str, Any] = {"functionCall": {"name": call["name"], "args": example_for(call["schema"])}}
            if n == 0 and thinking:
                part["thoughtSignature"] = signature(prompt, call["name"], index)
            parts.append(part)
    else:
        schema = camel_get(config, "responseJsonSchema")
        if schema is None:
            schema = lowered(camel_get(config, "responseSchema"))
        if camel_get(config, "responseMimeType") == "application/json":
            text = json.dumps(example_for(schema) if schema is not None else {}, indent=2)
        else:
            text = reply_text(prompt) + (f" (candidate {index + 1})" if index else "")
        text, cut = truncate(text, camel_get(config, "maxOutputTokens"))
        for stop in camel_get(config, "stopSequences") or []:
            if stop and stop in text:
                text, cut = text[: text.index(stop)], False
        finish = "MAX_TOKENS" if cut else "STOP"
        part = {"text": text}
        if model.startswith("gemini-3"):
            part["thoughtSignature"] = signature(prompt, index)  # Gemini 3 signs its last part
        parts.append(part)
    out: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "finishReason": finish}
    if not model.startswith("gemini-2.0"):
        out["index"] = index
    if model.startswith("gemini-2.0") or camel_get(config, "responseLogprobs"):
        out["avgLogprobs"] = -0.0125
    if camel_get(config, "responseLogprobs"):
        out["logprobsResult"] = logprobs(parts, int(camel_get(config, "logprobs") or 0))
    return out


def logprobs(parts: list[dict[str, Any]], top: int) -> dict[str, Any]:
    tokens = [w for p in parts if not p.get("thought") for w in words(p.get("text") or "") if w]
    chosen = [{"token": t, "logProbability": -0.0125} for t in tokens]
    result: dict[str, Any] = {"chosenCandidates": chosen, "logProbabilitySum": -0.0125 * len(tokens)}
    if top:
        result["topCandidates"] = [{"candidates": [c, *({"token": f"{c['token']}{k}", "logProbability": -2.5 * k}
                                                        for k in range(1, top))]} for c in chosen]
    return result


# ---- streams ------------------------------------------------------------------------------


def data_event(obj: dict[str, Any]) -> str:
    """One event as Gemini frames it: ``data: <json>`` and CRLF CRLF."""
    return "data: " + json.dumps(obj, separators=(",", ": ")) + "\r\n\r\n"


def stream_chunks(response: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The partial responses of a streamed answer: thoughts and text piece by piece, function
    calls whole, early events with only the prompt count, the last one with everything."""
    head = {"modelVersion": response["modelVersion"], "responseId": response["responseId"]}
    usage = response["usageMetadata"]
    early = {k: v for k, v in usage.items() if k in ("promptTokenCount", "promptTokensDetails")}
    early["totalTokenCount"] = usage["promptTokenCount"]
    for cand in response["candidates"]:
        index = {"index": cand["index"]} if "index" in cand else {}
        pieces: list[list[dict[str, Any]]] = []
        for part in cand["content"]["parts"]:
            if "functionCall" in part:
                if pieces and "functionCall" in pieces[-1][0]:
                    pieces[-1].append(part)
                else:
                    pieces.append([part])
                continue
            split = words(part["text"])
            for k, word in enumerate(split):
                piece: dict[str, Any] = {"text": word, **({"thought": True} if part.get("thought") else {})}
                if k == len(split) - 1 and "thoughtSignature" in part:
                    piece["thoughtSignature"] = part["thoughtSignature"]
                pieces.append([piece])
        if "functionCall" in cand["content"]["parts"][-1]:
            pieces.append([{"text": ""}])  # as recorded: an empty text part ends it
        for n, group in enumerate(pieces):
            last = n == len(pieces) - 1
            chunk: dict[str, Any] = {"content": {"parts": group, "role": "model"}, **index}
            if last:
                chunk["finishReason"] = cand["finishReason"]
            yield {"candidates": [chunk], "usageMetadata": usage if last else early, **head}


def stream_reply(ex: Exchange, response: dict[str, Any]) -> Reply:
    chunks = list(stream_chunks(response))
    if ex.query.get("alt") != "sse":
        return RawReply(200, json.dumps(chunks, indent=2).encode(), dict(JSON_TYPE))
    events = [data_event(c) for c in chunks]
    fault = ex.emulator.take_fault("gemini", ex.path, ("stream_error",))
    if fault is not None:
        events = [*events[:2], json.dumps(error_object(fault.status), indent=2) + "\n"]
    return SSEReply(events, {"content-type": "text/event-stream"})


@route("gemini", "POST", r"/(?P<version>v1beta|v1|v1alpha)/models/(?P<model>[^/:]+):"
                         r"(?P<method>generateContent|streamGenerateContent)")
def generate(ex: Exchange) -> Reply:
    model, method = ex.match.group("model"), ex.match.group("method")
    refused = check_request(ex, model, method, ex.match.group("version"))
    if refused is not None:
        return refused
    response = answer(ex.body, model)
    if method == "generateContent":
        return JSONReply(200, response, dict(JSON_TYPE))
    return stream_reply(ex, response)


# ---- embeddings ---------------------------------------------------------------------------

# batchEmbedContents (https://ai.google.dev/api/embeddings): the fields of a request entry, the
# task types, at most 100 entries; vector sizes per model; the 404 words the recorded one
# (which names embedContent for a batch call too).
EMBED_FIELDS = frozenset({"model", "content", "taskType", "task_type", "title",
                          "outputDimensionality", "output_dimensionality"})
TASK_TYPES = frozenset({"TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT",
                        "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING",
                        "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"})
MAX_EMBED_REQUESTS = 100
EMBED_SIZES = {"gemini-embedding-001": 3072, "text-embedding-004": 768, "embedding-001": 768}


def embedding_model(model: str) -> bool:
    return "embedding" in model and "missing" not in model


def embed_problem(entries: Any, model: str) -> str | None:
    """The 400 message for a batch the API refuses, if any."""
    if not isinstance(entries, list) or not entries:
        return "* BatchEmbedContentsRequest.requests: requests is not specified\n"
    if len(entries) > MAX_EMBED_REQUESTS:
        return (f"* BatchEmbedContentsRequest.requests: at most {MAX_EMBED_REQUESTS} requests "
                "can be in one batch\n")
    for i, item in enumerate(entries):
        unknown = sorted(set(item) - EMBED_FIELDS) if isinstance(item, dict) else ["(not an object)"]
        if unknown:
            return (f'Invalid JSON payload received. Unknown name "{unknown[0]}" at '
                    f"'requests[{i}]': Cannot find field.")
        if item.get("model") != f"models/{model}":
            return (f"* BatchEmbedContentsRequest.requests[{i}].model: the model of each request "
                    "must be the model of the batch\n")
        task = camel_get(item, "taskType")
        if task is not None and task not in TASK_TYPES:
            return (f"Invalid value at 'requests[{i}].task_type' (type.googleapis.com/"
                    f'google.ai.generativelanguage.v1beta.TaskType), "{task}"')
        if not texts(item.get("content")):
            return f"* BatchEmbedContentsRequest.requests[{i}].content: contents is not specified\n"
    return None


@route("gemini", "POST", r"/(?P<version>v1beta|v1|v1alpha)/models/(?P<model>[^/:]+):"
                         r"batchEmbedContents")
def batch_embed(ex: Exchange) -> Reply:
    model, version = ex.match.group("model"), ex.match.group("version")
    key = ex.headers.get("x-goog-api-key") or ex.query.get("key")
    if not key:
        return refuse(403, UNREGISTERED)
    if key != ex.api_key:
        return bad_key()
    if not embedding_model(model):
        return refuse(404, f"models/{model} is not found for API version {version}, or is not "
                           "supported for embedContent. Call ListModels to see the list of "
                           "available models and their supported methods.")
    entries = ex.body.get("requests") if isinstance(ex.body, dict) else None
    problem = embed_problem(entries, model)
    if problem is not None:
        return refuse(400, problem)
    assert isinstance(entries, list)
    values = []
    for item in entries:
        size = camel_get(item, "outputDimensionality") or EMBED_SIZES.get(model, 768)
        values.append('{"values":' + encoded(texts(item["content"]), size, "float") + "}")
    return JSONReply(200, ('{"embeddings":[' + ",".join(values) + "]}").encode(), dict(JSON_TYPE))
