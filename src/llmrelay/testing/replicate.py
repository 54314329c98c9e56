"""Replicate predictions emulator: creates (official-model and versioned), ``Prefer: wait``,
polling, cancel, and the SSE stream behind ``urls.stream``.

Shapes follow shared/recorded/replicate and the replicate-python cassettes: 201 predictions with
``urls.get/cancel/stream``, problem-details errors, ``: hi`` comments and plain-text ``output``
events split over several ``data:`` lines, ``event: done``. Scripted by model name (official
endpoint): ``polls-N`` finishes on the N-th poll (``Prefer: wait`` answers it ``starting``),
``fails`` ends ``failed`` with a model error, ``no-stream`` has no ``urls.stream``, owner
``missing`` is a 404. A prompt over ``CONTEXT_TOKENS`` words fails as too long.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from typing import Any, cast

from .generation import count_tokens, reply_text, words
from .server import Exchange, JSONReply, Reply, SSEReply, error_body, provider_error, route

CREATED = 1767225600
CONTEXT_TOKENS = 4096
OOM_ERROR = "CUDA out of memory. Tried to allocate 2.00 GiB"
INTERRUPTED_ERROR = "Prediction interrupted; please retry (code: PA)"
ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
VERSION_ID = re.compile(r"[0-9a-f]{64}")
INTEGER_INPUTS = ("max_tokens", "max_new_tokens", "min_tokens", "min_new_tokens", "seed", "top_k")
NUMBER_INPUTS = ("temperature", "top_p", "presence_penalty", "frequency_penalty",
                 "repetition_penalty")
STRING_INPUTS = ("prompt", "system_prompt", "stop_sequences", "prompt_template")
TERMINAL = ("succeeded", "failed", "canceled")
TITLES = {400: "Bad request", 401: "Unauthenticated", 402: "Payment required",
          403: "Forbidden", 404: "Not found", 422: "Input validation failed",
          429: "Request was throttled", 500: "Internal server error",
          502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}

_lock = threading.Lock()


@error_body("replicate")
def replicate_error(status: int, message: str) -> tuple[Any, dict[str, str]]:
    """RFC 7807 problem details, as Replicate answers every API error."""
    headers = {"content-type": "application/problem+json"}
    detail = message
    if status == 429:
        headers["retry-after"] = "1"
        detail = "Request was throttled. Expected available in 1 second."
    elif status == 401:
        detail = "You did not pass a valid authentication token"
    return {"title": TITLES.get(status, message), "detail": detail, "status": status}, headers


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONReply:
    return JSONReply(status, {"title": title, "detail": detail, "status": status, **extra},
                     {"content-type": "application/problem+json"})


def denied(ex: Exchange) -> Reply | None:
    """401 unless ``Authorization`` carries the key (Replicate takes ``Bearer`` and ``Token``)."""
    scheme, _, token = ex.headers.get("authorization", "").partition(" ")
    if scheme in ("Bearer", "Token") and token == ex.api_key:
        return None
    return provider_error("replicate", 401, "Unauthenticated")


def _state(ex: Exchange) -> dict[str, Any]:
    return ex.emulator.state.setdefault(  # type: ignore[no-any-return]
        "replicate", {"counter": 0, "runs": {}, "streams": {}, "canceled": []})


def _stable_id(*parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).digest()
    return "".join(ID_ALPHABET[b % 32] for b in digest[:26])


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1e6):06d}Z"


def invalid_input(inputs: Any) -> JSONReply | None:
    """The 422 Replicate gives when ``input`` does not fit the model's schema."""
    fields: list[dict[str, str]] = []
    if not isinstance(inputs, dict):
        fields.append({"type": "invalid_type", "field": "input",
                       "description": "Invalid type. Expected: object, given: "
                       + type(inputs).__name__.replace("NoneType", "null")})
    else:
        if "prompt" not in inputs:
            fields.append({"type": "required", "field": "input", "description": "prompt is required"})
        for keys, kind, ok in ((INTEGER_INPUTS, "integer", (int,)), (NUMBER_INPUTS, "number", (int, float)),
                               (STRING_INPUTS, "string", (str,))):
            for key in keys:
                value = inputs.get(key)
                if value is not None and (not isinstance(value, ok) or isinstance(value, bool)):
                    fields.append({"type": "invalid_type", "field": f"input.{key}",
                                   "description": f"Invalid type. Expected: {kind}, given: "
                                   + type(value).__name__})
    if not fields:
        return None
    detail = "".join(f"- {f['field']}: {f['description']}\n" for f in fields)
    return problem(422, "Input validation failed", detail, invalid_fields=fields)


def generate(inputs: dict[str, Any]) -> dict[str, Any]:
    """Output pieces, token counts and any model error for an input."""
    prompt, system = inputs["prompt"], inputs.get("system_prompt") or ""
    prompt_tokens = count_tokens(prompt) + count_tokens(system)
    if prompt_tokens > CONTEXT_TOKENS:
        return {"pieces": [], "prompt_tokens": prompt_tokens,
                "error": f"This model's maximum context length is {CONTEXT_TOKENS} tokens. However,"
                         f" you requested {prompt_tokens} tokens in the prompt."}
    text = reply_text(prompt).replace(". You said:", ".\nYou said:")
    stops = [s for s in str(inputs.get("stop_sequences") or "").split(",") if s]
    cuts = [text.index(s) for s in stops if s in text]
    if cuts:
        text = text[: min(cuts)]
    pieces = words(text) if text else []
    limit = inputs.get("max_tokens") or inputs.get("max_new_tokens")
    if isinstance(limit, int) and limit > 0:
        pieces = pieces[:limit]
    return {"pieces": pieces, "prompt_tokens": prompt_tokens, "error": None}


def create(ex: Exchange, model: str, version: str, name: str) -> Reply:
    body = ex.body if isinstance(ex.body, dict) else {}
    inputs = body.get("input")
    invalid = invalid_input(inputs)
    if invalid is not None:
        return invalid
    polls = re.search(r"polls-(\d+)", name)
    result = generate(cast("dict[str, Any]", inputs))
    if "fails" in name:
        result["error"] = OOM_ERROR
    with _lock:
        state = _state(ex)
        state["counter"] += 1
        seq = state["counter"]
        pid = _stable_id("prediction", seq, model, inputs)
        created = CREATED + seq
        base = ex.emulator.url + "/v1"
        urls = {"cancel": f"{base}/predictions/{pid}/cancel", "get": f"{base}/predictions/{pid}"}
        if "no-stream" not in name:
            sid = _stable_id("stream", pid) + _stable_id("stream2", pid)
            urls["stream"] = f"{base}/streams/{sid}"
            state["streams"][sid] = pid
        prediction: dict[str, Any] = {
            "id": pid, "model": model, "version": version, "input": inputs, "logs": "",
            "data_removed": False, "error": None, "status": "starting",
            "created_at": _stamp(created + 0.25), "urls": urls,
        }
        if body.get("stream"):
            prediction["stream"] = True
        waited = ex.headers.get("prefer", "").startswith("wait")
        needed = int(polls.group(1)) if polls else (0 if waited else 1)
        run = {"prediction": prediction, "result": result, "needed": needed, "polls": 0,
               "created": created}
        state["runs"][pid] = run
        if needed == 0:
            _finish(run)
        reply = json.loads(json.dumps(prediction))
    headers = {"content-type": "application/json; charset=utf-8", "ratelimit-remaining": "599",
               "ratelimit-reset": "1"}
    if waited:
        headers["preference-applied"] = "wait"
    return JSONReply(201, reply, headers)


def _output(run: dict[str, Any], count: int | None = None) -> list[str]:
    pieces: list[str] = run["result"]["pieces"]
    return [""] + (pieces if count is None else pieces[:count])


def _finish(run: dict[str, Any], status: str | None = None) -> None:
    """End a run: ``succeeded`` (or ``failed`` when its model errs), or ``status`` if given."""
    prediction, result = run["prediction"], run["result"]
    if prediction["status"] in TERMINAL:
        return
    pieces = result["pieces"]
    status = status or ("failed" if result["error"] else "succeeded")
    predict_time = round(0.05 + 0.02 * len(pieces), 6)
    prediction.update(status=status, started_at=_stamp(run["created"] + 0.5),
                      completed_at=_stamp(run["created"] + 0.5 + predict_time))
    if status == "succeeded":
        prediction["output"] = _output(run)
        prediction["metrics"] = {
            "predict_time": predict_time, "total_time": round(predict_time + 0.5, 6),
            "input_token_count": result["prompt_tokens"], "output_token_count": len(pieces),
            "tokens_per_second": round(len(pieces) / predict_time, 3),
        }
    else:
        prediction["output"] = _output(run, 2) if status == "failed" and pieces else None
        prediction["metrics"] = {"predict_time": predict_time}
        if status == "failed":
            prediction["error"] = result["error"]


def _lookup(ex: Exchange) -> dict[str, Any] | None:
    return _state(ex)["runs"].get(ex.match["id"])  # type: ignore[no-any-return]


def _not_found() -> JSONReply:
    return problem(404, "Not found", "The requested resource could not be found.")


@route("replicate", "POST", r"/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions")
def create_for_model(ex: Exchange) -> Reply:
    refused = denied(ex)
    if refused is not None:
        return refused
    owner, name = ex.match["owner"], ex.match["name"]
    if owner == "missing":
        return _not_found()
    version = "dp-" + hashlib.sha256(f"{owner}/{name}".encode()).hexdigest()[:32]
    return create(ex, f"{owner}/{name}", version, name)


@route("replicate", "POST", r"/v1/predictions")
def create_for_version(ex: Exchange) -> Reply:
    refused = denied(ex)
    if refused is not None:
        return refused
    version = ex.body.get("version") if isinstance(ex.body, dict) else None
    if not isinstance(version, str) or not VERSION_ID.fullmatch(version):
        return problem(422, "Invalid version or not permitted",
                       "The specified version does not exist (or perhaps you don't have "
                       "permission to use it?)")
    return create(ex, "emulator/llm", version, "")


@route("replicate", "GET", r"/v1/predictions/(?P<id>[0-9a-z]+)")
def get_prediction(ex: Exchange) -> Reply:
    refused = denied(ex)
    if refused is not None:
        return refused
    with _lock:
        run = _lookup(ex)
        if run is None:
            return _not_found()
        prediction = run["prediction"]
        if prediction["status"] not in TERMINAL:
            run["polls"] += 1
            if run["polls"] >= run["needed"]:
                _finish(run)
            else:
                share = len(run["result"]["pieces"]) * run["polls"] // run["needed"]
                prediction.update(status="processing", started_at=_stamp(run["created"] + 0.5),
                                  output=_output(run, share))
        reply = json.loads(json.dumps(prediction))
    return JSONReply(200, reply, {"content-type": "application/json; charset=utf-8",
                                  "ratelimit-remaining": "59999", "ratelimit-reset": "1"})


@route("replicate", "POST", r"/v1/predictions/(?P<id>[0-9a-z]+)/cancel")
def cancel_prediction(ex: Exchange) -> Reply:
    refused = denied(ex)
    if refused is not None:
        return refused
    with _lock:
        run = _lookup(ex)
        if run is None:
            return _not_found()
        _state(ex)["canceled"].append(ex.match["id"])
        _finish(run, "canceled")
        reply = json.loads(json.dumps(run["prediction"]))
    return JSONReply(200, reply, {"content-type": "application/json; charset=utf-8"})


def event(kind: str, event_id: str, data: str) -> str:
    """One SSE block; text with newlines goes over several ``data:`` lines."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {kind}\nid: {event_id}\n{lines}\n"


@route("replicate", "GET", r"/v1/streams/(?P<sid>[0-9a-z]+)")
def stream_prediction(ex: Exchange) -> Reply:
    """The output as it is generated; the real stream lives on another host with no API auth."""
    with _lock:
        pid = _state(ex)["streams"].get(ex.match["sid"])
        run = _state(ex)["runs"].get(pid) if pid else None
        if run is None:
            return _not_found()
        fault = ex.emulator.take_fault("replicate", ex.path, ("stream_error",))
        if fault is not None and not run["result"]["error"]:
            run["result"]["error"] = INTERRUPTED_ERROR
        canceled = run["prediction"]["status"] == "canceled"
        _finish(run)
        error = run["result"]["error"]
    clock = run["created"] + 1
    events = [": hi\n\n"]
    pieces = [] if canceled else _output(run, 2 if error else None)
    for i, piece in enumerate(pieces):
        events.append(event("output", f"{clock}:{i}", piece))
    ending = len(events) - 1
    if canceled:
        events.append(event("done", f"{clock}:{ending}", json.dumps({"reason": "canceled"})))
    elif error:
        events.append(event("error", f"{clock}:{ending}", json.dumps({"detail": error})))
        events.append(event("done", f"{clock}:{ending + 1}", json.dumps({"reason": "error"})))
    else:
        events.append(event("done", f"{clock}:{ending}", "{}"))
    return SSEReply(events)
