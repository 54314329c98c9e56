"""Malformed provider answers, end to end: seeded mutations of real answers (the golden cases and
the recordings) sent back through a transport interceptor to ``completion`` / ``acompletion`` /
``embedding``, so every answer takes the path a network answer takes.

The outcome of each case must be a response (or a finished stream), or an ``llmrelay.APIError``
naming the provider, never another exception, a hang, or a key in the error.
``tests/test_malformed_answers.py`` runs a fixed sample; ``python -m tests.malformed --cases N``
runs more (``--seed``, ``--provider``, ``--kind``) and prints what escaped.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import random
import signal
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import llmrelay
from llmrelay import transport
from llmrelay.eventstream import EventStreamDecoder, HeaderValue, encode_message
from tests.helpers import call as run_call

ROOT = Path(__file__).resolve().parent
GOLDEN = ROOT / "golden"
RECORDED = ROOT / "recorded"

KEY = "sk-FUZZSECRET-0123456789abcdef"
AWS_SECRET = "FUZZSECRETaws/0123456789abcdef"
SECRETS = (KEY, AWS_SECRET)
MESSAGES = [{"role": "user", "content": "Hi"}]

COMPAT = ("mistral", "groq", "deepseek", "xai", "together_ai", "fireworks_ai", "perplexity",
          "ollama", "hosted_vllm")
PROVIDERS = ("openai", "azure", "anthropic", "cohere", "replicate", "openrouter", "gemini",
             "bedrock", *COMPAT)

# A plain model per provider, and what else its calls need.
MODEL = {
    "openai": "gpt-4o-mini", "azure": "azure/my-gpt-4o", "anthropic": "claude-sonnet-4-5",
    "cohere": "cohere/command-r", "replicate": "replicate/meta/meta-llama-3-8b-instruct",
    "openrouter": "openrouter/openai/gpt-4o-mini", "gemini": "gemini/gemini-2.5-flash",
    "bedrock": "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    "mistral": "mistral/mistral-small-latest", "groq": "groq/llama-3.3-70b-versatile",
    "deepseek": "deepseek/deepseek-chat", "xai": "xai/grok-3",
    "together_ai": "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "fireworks_ai": "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
    "perplexity": "perplexity/sonar", "ollama": "ollama/llama3.2",
    "hosted_vllm": "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
}
EMBED_MODEL = {
    "openai": "text-embedding-3-small", "cohere": "cohere/embed-v4.0",
    "gemini": "gemini/gemini-embedding-001", "bedrock": "bedrock/amazon.titan-embed-text-v2:0",
    "bedrock-cohere": "bedrock/cohere.embed-english-v3",
}


def credentials(provider: str) -> dict[str, Any]:
    if provider == "bedrock":
        return {"aws_access_key_id": "AKIDFUZZ", "aws_secret_access_key": AWS_SECRET,
                "aws_region_name": "us-east-1"}
    out: dict[str, Any] = {"api_key": KEY}
    if provider in ("azure", "hosted_vllm"):
        out["api_base"] = "https://fuzz.invalid/v1"
    return out


# ---- seeds ---------------------------------------------------------------------------------


@dataclass
class Seed:
    """One valid (or at least well-formed) answer to mutate. ``kind``: ``body`` (a 200 JSON
    body), ``stream`` (raw stream bytes), ``error`` (an error body with ``status``) or
    ``embed`` (an embeddings body, ``inputs`` long)."""

    provider: str
    kind: str
    name: str
    call: dict[str, Any]
    content: bytes
    status: int = 200
    inputs: int = 1


def _spec(provider: str, case: Path) -> dict[str, Any]:
    """The completion() arguments of a golden case (its input.json, else a plain call)."""
    path = case / "input.json"
    if not path.exists():
        return {"model": MODEL[provider], "messages": MESSAGES}
    spec = json.loads(path.read_text())
    if "params" in spec or "settings" in spec:
        params = dict(spec.get("params", {}))
        params["drop_params"] = spec.get("settings", {}).get("drop_params", False)
    else:
        params = {k: v for k, v in spec.items() if k not in ("model", "messages")}
    params.pop("env", None)
    model = spec["model"]
    prefix = {"bedrock": "bedrock/", "cohere": "cohere/"}.get(provider, "")
    if prefix and not model.startswith(prefix):
        model = prefix + model
    return {"model": model, "messages": spec["messages"], **params}


def _frames(case: Path) -> bytes:
    lines = (case / "stream.jsonl").read_text().splitlines()
    return b"".join(encode_message(m["headers"], json.dumps(m["payload"]).encode())
                    for m in map(json.loads, lines) if m)


def golden_seeds(provider: str) -> list[Seed]:
    out: list[Seed] = []
    folder = GOLDEN / provider
    if not folder.is_dir():
        return out
    for case in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            spec = _spec(provider, case)
        except (ValueError, KeyError):
            continue
        if (case / "response.json").exists():
            out.append(Seed(provider, "body", f"golden/{case.name}", spec,
                            (case / "response.json").read_bytes()))
        if (case / "stream.sse").exists():
            out.append(Seed(provider, "stream", f"golden/{case.name}", {**spec, "stream": True},
                            (case / "stream.sse").read_bytes()))
        if (case / "stream.jsonl").exists():
            out.append(Seed(provider, "stream", f"golden/{case.name}", {**spec, "stream": True},
                            _frames(case)))
    return out


def recorded_seeds(provider: str, source: str | None = None) -> list[Seed]:
    """The recordings of ``source`` (default: the provider's own) as seeds for ``provider``."""
    out: list[Seed] = []
    folder = RECORDED / (source or provider)
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        rec = json.loads(path.read_text())
        response, request = rec["response"], rec["request"]
        name = f"recorded/{source or provider}/{path.stem}"
        spec = {"model": MODEL[provider], "messages": MESSAGES}
        if "embed" in request["path"]:
            body = request.get("body") or {}
            inputs = body.get("input") or body.get("texts") or body.get("requests") or [1]
            model = EMBED_MODEL.get(provider)
            if provider == "bedrock" and "cohere" in request["path"]:
                model = EMBED_MODEL["bedrock-cohere"]
            if model is None:
                continue
            spec = {"model": model}
            if body.get("encoding_format") == "base64":
                spec["encoding_format"] = "base64"
            if response["status"] >= 400:
                out.append(Seed(provider, "error", name, spec,
                                json.dumps(response["body"]).encode(), response["status"]))
            elif "body" in response:
                n = len(inputs) if isinstance(inputs, list) else 1
                out.append(Seed(provider, "embed", name, spec,
                                json.dumps(response["body"]).encode(), inputs=n))
            continue
        if response["status"] >= 400:
            out.append(Seed(provider, "error", name, spec,
                            json.dumps(response.get("body")).encode(), response["status"]))
        elif "sse" in response:
            out.append(Seed(provider, "stream", name, {**spec, "stream": True},
                            response["sse"].encode()))
        elif "body_base64" in response:
            out.append(Seed(provider, "stream", name, {**spec, "stream": True},
                            base64.b64decode(response["body_base64"])))
        elif "body" in response and provider != "replicate":
            out.append(Seed(provider, "body", name, spec, json.dumps(response["body"]).encode()))
    return out


GENERIC_ERRORS = [
    {"error": {"message": "Something went wrong", "type": "server_error", "code": None}},
    {"type": "error", "error": {"type": "api_error", "message": "Internal error"}},
    {"error": {"code": 400, "message": "Bad", "status": "INVALID_ARGUMENT"}},
    {"message": "Bad thing", "__type": "ValidationException"},
    {"detail": "Invalid input", "status": 422, "title": "Unprocessable"},
    {"id": "abc", "message": "invalid request"},
]


def seeds(provider: str) -> list[Seed]:
    out = golden_seeds(provider) + recorded_seeds(provider)
    if provider in COMPAT or provider in ("azure", "openrouter"):
        # The OpenAI wire: OpenAI's own answers are valid answers of theirs too.
        for seed in golden_seeds("openai") + recorded_seeds(provider, "openai"):
            if seed.kind in ("body", "stream", "error"):
                seed = copy.copy(seed)
                seed.provider = provider
                seed.call = {**seed.call, "model": MODEL[provider]}
                seed.call = {k: v for k, v in seed.call.items() if k not in ("logprobs",
                                                                          "top_logprobs")}
                out.append(seed)
    model = MODEL[provider]
    for i, body in enumerate(GENERIC_ERRORS):
        for status in (400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 529):
            out.append(Seed(provider, "error", f"generic/{i}/{status}",
                            {"model": model, "messages": MESSAGES}, json.dumps(body).encode(),
                            status))
    return out


# ---- mutations -----------------------------------------------------------------------------

HTML = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway"
        b"</h1><p>cloudflare</p></body></html>")

# Replacement values: wrong types, empties, extremes, the unknown.
VALUES: list[Callable[[random.Random, Any], Any]] = [
    lambda r, v: None,
    lambda r, v: "weird_future_value",
    lambda r, v: "",
    lambda r, v: 7,
    lambda r, v: -5,
    lambda r, v: 1.5,
    lambda r, v: 10**30,
    lambda r, v: -(10**30),
    lambda r, v: True,
    lambda r, v: [],
    lambda r, v: {},
    lambda r, v: [v],
    lambda r, v: {"x": v},
    lambda r, v: str(v),
    lambda r, v: "{not json",
    lambda r, v: "\udcff",  # not encodable
    lambda r, v: {"type": "weird_future_type", "text": "x"},
    lambda r, v: [{"type": "weird_future_type"}],
]


def _nodes(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _nodes(v, (*path, i))


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return obj


def _delete(obj: Any, path: tuple[Any, ...]) -> Any:
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return obj


def mutate_json(rng: random.Random, obj: Any, steps: int | None = None) -> tuple[Any, list[str]]:
    """``obj`` (a copy) with 1-3 random edits, and what they were."""
    obj = copy.deepcopy(obj)
    what: list[str] = []
    for _ in range(steps or rng.choice((1, 1, 1, 2, 3))):
        nodes = list(_nodes(obj))
        path, value = rng.choice(nodes)
        op = rng.random()
        if op < 0.3 and path:
            obj = _delete(obj, path)
            what.append(f"del {'.'.join(map(str, path))}")
        elif op < 0.4 and isinstance(value, list) and value:
            obj = _set(obj, path, [])
            what.append(f"empty {'.'.join(map(str, path))}")
        elif op < 0.45 and isinstance(value, list) and value:
            obj = _set(obj, path, [*value, copy.deepcopy(rng.choice(value))])
            what.append(f"dup item {'.'.join(map(str, path))}")
        else:
            new = rng.choice(VALUES)(rng, copy.deepcopy(value))
            if new == "\udcff":
                new = "bad \\udcff"
            obj = _set(obj, path, new)
            what.append(f"set {'.'.join(map(str, path))}={json.dumps(new)[:40]}")
    return obj, what


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    op = rng.randrange(7)
    if op == 0:
        cut = rng.randrange(len(data) + 1)
        return data[:cut], f"truncate at {cut}"
    if op == 1:
        at = rng.randrange(len(data) + 1)
        return data[:at] + b"\xff\xfe\xc3" + data[at:], f"non-utf8 at {at}"
    if op == 2:
        return b"", "empty body"
    if op == 3:
        return HTML, "html page"
    if op == 4:
        return rng.choice([b"[]", b"null", b"42", b'"text"', b"true", b"{}", b"[{}]"]), "json not object"
    if op == 5:
        return data + b"\n<trailing garbage>", "trailing garbage"
    return data.replace(b"{", b"{\"\xff\": 1, ", 1), "non-utf8 key"


def mutate_body(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if rng.random() < 0.8:
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if obj is not None:
            new, what = mutate_json(rng, obj)
            return json.dumps(new).encode(), "; ".join(what)
    return mutate_bytes(rng, data)


def _sse_blocks(data: bytes) -> list[bytes]:
    text = data.replace(b"\r\n", b"\n")
    return [b for b in text.split(b"\n\n") if b.strip()]


def _mutate_sse_block(rng: random.Random, block: bytes) -> tuple[bytes, str]:
    lines = block.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            try:
                obj = json.loads(payload)
            except ValueError:
                break
            new, what = mutate_json(rng, obj)
            lines[i] = b"data: " + json.dumps(new).encode()
            return b"\n".join(lines), "; ".join(what)
    return block, "(block not json)"


def mutate_sse(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    blocks = _sse_blocks(data)
    if not blocks:
        return mutate_bytes(rng, data)
    op = rng.randrange(10)
    i = rng.randrange(len(blocks))
    if op <= 3:
        blocks[i], what = _mutate_sse_block(rng, blocks[i])
        what = f"event {i}: {what}"
    elif op == 4:
        del blocks[i]
        what = f"drop event {i}"
    elif op == 5:
        blocks.insert(i, blocks[i])
        what = f"duplicate event {i}"
    elif op == 6:
        j = rng.randrange(len(blocks))
        blocks[i], blocks[j] = blocks[j], blocks[i]
        what = f"swap events {i},{j}"
    elif op == 7:
        blocks[i] = rng.choice([b"data: {\"x", b"data: [1,2", b"event: weird_future\ndata: {}",
                                b"data: \xff\xfe", b"data: null", b"data: 42", b"data: []",
                                b"data: \"str\"", b"event: error\ndata: {}",
                                b"event: error\ndata: not json"])
        what = f"garbage event {i}: {blocks[i]!r}"
    elif op == 8:
        raw = b"\n\n".join(blocks) + b"\n\n"
        cut = rng.randrange(len(raw) + 1)
        return raw[:cut], f"cut at byte {cut}"
    else:
        blocks = blocks[:i]
        what = f"keep first {i} events"
    return b"\n\n".join(blocks) + b"\n\n", what


def _frames_of(data: bytes) -> list[Any]:
    return EventStreamDecoder().feed(data)


def mutate_frames(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    messages = [(dict(m.headers), m.payload) for m in _frames_of(data)]
    if not messages:
        return mutate_bytes(rng, data)
    op = rng.randrange(11)
    i = rng.randrange(len(messages))
    what = ""
    if op <= 3:
        headers, payload = messages[i]
        try:
            new, edits = mutate_json(rng, json.loads(payload))
            messages[i] = (headers, json.dumps(new).encode())
            what = f"message {i} ({headers.get(':event-type')}): {'; '.join(edits)}"
        except ValueError:
            what = "(payload not json)"
    elif op == 4:
        del messages[i]
        what = f"drop message {i}"
    elif op == 5:
        messages.insert(i, messages[i])
        what = f"duplicate message {i}"
    elif op == 6:
        headers, payload = messages[i]
        kind = rng.choice(["weirdFutureEvent", "", "messageStart", "contentBlockStop"])
        messages[i] = ({**headers, ":event-type": kind}, payload)
        what = f"message {i} event-type -> {kind!r}"
    elif op == 7:
        headers, payload = messages[i]
        exc = rng.choice(["throttlingException", "weirdException", "", "validationException"])
        body = rng.choice([payload, b'{"message": "boom"}', b"not json", b"", b"[]", b"null"])
        messages[i] = ({":message-type": "exception", ":exception-type": exc,
                        ":content-type": "application/json"}, body)
        what = f"message {i} -> exception {exc!r} {body[:30]!r}"
    elif op == 8:
        headers, payload = messages[i]
        messages[i] = ({k: v for k, v in headers.items()
                        if k != rng.choice([":message-type", ":event-type", ":content-type"])},
                       payload)
        what = f"message {i}: a header dropped"
    elif op == 9:
        headers, payload = messages[i]
        messages[i] = ({**headers, ":message-type": rng.choice(["error", "weird", ""]),
                        ":error-code": "Boom", ":error-message": "it broke"}, payload)
        what = f"message {i}: message-type error/unknown"
    else:
        headers, payload = messages[i]
        messages[i] = ({**headers, "x-int": HeaderValue(2, -1)}, payload)
        what = f"message {i}: extra int8 header"
    raw = b"".join(encode_message(h, p) for h, p in messages)
    return raw, what


def mutate_frame_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    op = rng.randrange(4)
    if op == 0 and data:
        at = rng.randrange(len(data))
        return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:], f"flip byte {at}"
    if op == 1:
        cut = rng.randrange(len(data) + 1)
        return data[:cut], f"cut at byte {cut}"
    if op == 2:
        # A prelude with a wrong total length (prelude CRC recomputed, so only the length is off).
        import struct
        import zlib
        total = rng.choice([0, 1, 15, 16, 2**31, len(data) + 100])
        prelude = struct.pack(">II", total, 0)
        return prelude + struct.pack(">I", zlib.crc32(prelude)) + data, f"bad length {total}"
    return rng.choice([HTML, b"", b"{\"message\": \"x\"}"]), "not an event stream"


def mutate_stream(rng: random.Random, seed: Seed) -> tuple[bytes, str]:
    if seed.provider == "bedrock":
        if rng.random() < 0.75:
            return mutate_frames(rng, seed.content)
        return mutate_frame_bytes(rng, seed.content)
    if rng.random() < 0.9:
        return mutate_sse(rng, seed.content)
    return mutate_bytes(rng, seed.content)


# ---- running a case ------------------------------------------------------------------------


@dataclass
class Case:
    seed: Seed
    content: bytes
    mutation: str
    slices: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.seed.provider}:{self.seed.kind}:{self.seed.name} [{self.mutation}]"


REPLICATE_CREATE = (GOLDEN / "replicate" / "response_stream_create_opens_stream" /
                    "response.json").read_bytes()


class Interceptor:
    """Answers every request with the case's answer (streams sliced as the case says);
    Replicate's prediction create, before a stream, with a valid prediction. After a few
    requests (a poll that never ends) it answers 500."""

    replaying = True

    def __init__(self, case: Case) -> None:
        self.case = case
        self.sent = 0

    def _answer(self, request: Any, asynchronous: bool) -> Any:
        self.sent += 1
        case = self.case
        headers = {"content-type": "application/json"}
        if self.sent > 4:
            return transport.replayed(500, headers, b'{"error": "fuzz: too many requests"}',
                                      asynchronous=asynchronous)
        if case.seed.kind == "stream" and not request.stream:
            return transport.replayed(201, headers, REPLICATE_CREATE, asynchronous=asynchronous)
        if request.stream and case.seed.kind == "stream":
            chunks, pos = [], 0
            sizes = case.slices or [len(case.content) or 1]
            k = 0
            while pos < len(case.content):
                size = sizes[k % len(sizes)]
                chunks.append(case.content[pos:pos + size])
                pos += size
                k += 1
            ctype = ("application/vnd.amazon.eventstream" if case.seed.provider == "bedrock"
                     else "text/event-stream")
            return transport.replayed(200, {"content-type": ctype}, b"", chunks,
                                      asynchronous=asynchronous)
        return transport.replayed(case.seed.status, headers, case.content,
                                  [case.content] if request.stream else None,
                                  asynchronous=asynchronous)

    def send(self, request: Any, timeout: Any) -> Any:
        return self._answer(request, False)

    async def asend(self, request: Any, timeout: Any) -> Any:
        return self._answer(request, True)


@dataclass
class Outcome:
    kind: str  # "ok", "api_error", "escaped", "bad_error", "hang", "bad_answer"
    detail: str
    cls: str = ""


class _Hang(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang()


def _where(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/llmrelay/" in f.filename]
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.filename.split('/src/')[-1]}:{f.lineno} ({f.name})"


ALLOWED_FINISH = {None, "stop", "length", "tool_calls", "function_call", "content_filter"}


# Providers whose answers are OpenAI's own shape: a finish reason is passed on as sent
# (README, "OpenAI": responses come back as OpenAI sent them).
OPENAI_WIRE = {"openai", "azure", "openrouter", *COMPAT}


def check_answer(result: Any, seed: Seed) -> str | None:
    """What is wrong with an answer given as a success, or ``None``.

    Embedding vectors are checked as vectors (a list of numbers, or a base64 string), not number
    by number: the parsers take the floats as sent, by design (``embedding_types.Embedding``)."""
    if seed.kind == "embed" or "messages" not in seed.call:
        dumped = result.model_dump()
        for i, item in enumerate(dumped["data"]):
            if item["index"] != i:
                return f"embedding {i} has index {item['index']}"
            emb = item["embedding"]
            if isinstance(emb, list):
                if emb and (isinstance(emb[0], bool) or not isinstance(emb[0], (int, float))):
                    return f"embedding {i} starts with {str(emb[0])[:40]}"
            elif not isinstance(emb, str):
                return f"embedding {i} is {str(emb)[:60]}"
        if len(dumped["data"]) != seed.inputs:
            return f"{len(dumped['data'])} embeddings for {seed.inputs} inputs"
        json.dumps(dumped)
        return None
    items = result if isinstance(result, list) else [result]
    if not isinstance(result, list) and not result.choices:
        return "a response without choices"
    for item in items:
        dumped = item.model_dump()
        json.dumps(dumped)
        for choice in dumped.get("choices") or []:
            if (choice.get("finish_reason") not in ALLOWED_FINISH
                    and seed.provider not in OPENAI_WIRE):
                return f"finish_reason {choice.get('finish_reason')!r}"
            part = choice.get("message") or choice.get("delta") or {}
            content = part.get("content")
            if content is not None and not isinstance(content, str):
                return f"content is {type(content).__name__}"
            for call in part.get("tool_calls") or []:
                args = (call.get("function") or {}).get("arguments")
                if args is not None and not isinstance(args, str):
                    return f"tool arguments are {type(args).__name__}"
        usage = dumped.get("usage")
        if usage:
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                value = usage.get(name)
                if value is not None and (not isinstance(value, int) or value < 0):
                    return f"usage.{name} = {value!r}"
    if isinstance(result, list) and result:
        llmrelay.stream_chunk_builder(result)  # a delivered stream rebuilds
    return None


class Observer:
    """A callback on every call, so the paths that follow a call to its end (stream taps, the
    rebuilt response of a stream) run for every case; it remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def on_success(self, event: Any) -> None:
        self.events.append(("success", event))

    def on_failure(self, event: Any) -> None:
        self.events.append(("failure", event))


OBSERVER = Observer()


def _run(case: Case, mode: str) -> Any:
    seed = case.seed
    kwargs = {**seed.call, **credentials(seed.provider), "num_retries": 0}
    if "messages" not in seed.call:
        kwargs["input"] = [f"text {i}" for i in range(seed.inputs)]
        if mode == "sync":
            return llmrelay.embedding(**kwargs)
        return asyncio.run(llmrelay.aembedding(**kwargs))
    return run_call(mode, **kwargs)


def run_case(case: Case, mode: str = "sync", timeout: int = 10) -> Outcome:
    previous = transport.set_interceptor(Interceptor(case))
    if OBSERVER not in llmrelay.callbacks:
        llmrelay.callbacks.append(OBSERVER)
    OBSERVER.events.clear()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        try:
            result = _run(case, mode)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    except _Hang:
        return Outcome("hang", f"no answer in {timeout}s")
    except llmrelay.APIError as exc:
        name = type(exc).__name__
        text = f"{exc} {exc!r} {exc.message} {exc.response!r}"
        leaked = [s for s in SECRETS if s in text]
        if leaked:
            return Outcome("bad_error", f"{name} shows a secret", name)
        if exc.provider != case.seed.provider and case.seed.provider not in str(exc):
            return Outcome("bad_error", f"{name} provider={exc.provider!r}: {exc}", name)
        if case.seed.kind == "error" and exc.status_code != case.seed.status:
            return Outcome("bad_error", f"{name} status {exc.status_code} for "
                           f"{case.seed.status}: {exc}", name)
        return Outcome("api_error", f"{name}: {str(exc)[:120]}", name)
    except Exception as exc:
        return Outcome("escaped", f"{type(exc).__name__}: {str(exc)[:160]} at {_where(exc)}",
                       type(exc).__name__)
    finally:
        transport.set_interceptor(previous)
    if case.seed.kind == "error":
        return Outcome("bad_answer", f"status {case.seed.status} answered as a success", "ok")
    try:
        problem = check_answer(result, case.seed)
    except Exception as exc:
        return Outcome("bad_answer", f"answer does not dump: {exc!r} at {_where(exc)}", "ok")
    if problem:
        return Outcome("bad_answer", problem, "ok")
    if [kind for kind, _ in OBSERVER.events] != ["success"]:
        return Outcome("bad_answer", f"callbacks told {OBSERVER.events!r:.200}", "ok")
    return Outcome("ok", "", "ok")


def make_cases(provider: str, count: int, rng: random.Random, kinds: tuple[str, ...] | None = None
               ) -> list[Case]:
    pools: dict[str, list[Seed]] = {}
    for s in seeds(provider):
        if kinds is None or s.kind in kinds:
            pools.setdefault(s.kind, []).append(s)
    out: list[Case] = []
    if not pools:
        return out
    names = sorted(pools)
    for _ in range(count):
        seed = rng.choice(pools[rng.choice(names)])
        if seed.kind == "stream":
            content, what = mutate_stream(rng, seed)
            slices = [rng.randint(1, 64) for _ in range(5)] if rng.random() < 0.5 else []
            out.append(Case(seed, content, what, slices))
        else:
            content, what = mutate_body(rng, seed.content)
            out.append(Case(seed, content, what))
    return out


def main() -> None:
    import argparse
    import collections
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200, help="cases per provider")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--provider", action="append")
    parser.add_argument("--kind", action="append")
    parser.add_argument("--async-too", action="store_true", help="compare acompletion")
    parser.add_argument("--show", type=int, default=3, help="examples per finding")
    parser.add_argument("--baseline", action="store_true", help="the seeds unmutated")
    args = parser.parse_args()
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_API_BASE", "_API_TOKEN")) or var.startswith("AWS_"):
            del os.environ[var]
    tally: collections.Counter[str] = collections.Counter()
    findings: dict[str, list[str]] = collections.defaultdict(list)
    for provider in args.provider or PROVIDERS:
        rng = random.Random(f"{args.seed}/{provider}")
        if args.baseline:
            cases = [Case(s, s.content, "unmutated") for s in seeds(provider)]
        else:
            cases = make_cases(provider, args.cases, rng, tuple(args.kind) if args.kind else None)
        for case in cases:
            outcome = run_case(case)
            tally[outcome.kind] += 1
            if outcome.kind not in ("ok", "api_error"):
                key = f"{outcome.kind}: {outcome.detail.split(' at ')[-1] if outcome.kind == 'escaped' else outcome.detail[:60]}"
                findings[key].append(f"{case.label} -> {outcome.detail}")
            if args.async_too:
                other = run_case(case, "async")
                tally["async_total"] += 1
                if other.cls != outcome.cls:
                    tally["async_differs"] += 1
                    findings[f"async differs: {outcome.cls} vs {other.cls}"].append(
                        f"{case.label} -> sync {outcome.detail} / async {other.detail}")
    for key, examples in sorted(findings.items(), key=lambda kv: -len(kv[1])):
        print(f"\n[{len(examples)}] {key}")
        for example in examples[:args.show]:
            print("   ", example[:400])
    print("\n", dict(tally))


if __name__ == "__main__":
    main()
