"""Golden-case runner for Replicate: a case folder holds ``input.json`` (a call: model, messages,
params, settings) and any of ``request.json`` / ``error.json`` (what building must give),
``response.json`` + ``expected.json`` (a prediction body and the response, follow-up or error
it becomes), ``stream.sse`` + ``expected_chunks.jsonl`` or ``expected.json`` (raw SSE and its
chunks or error), ``http_error.json`` + ``expected.json`` (an HTTP error and its exception).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay.call import Call, prepare
from llmrelay.exceptions import APIError
from llmrelay.providers.base import FollowUp, HTTPRequest
from llmrelay.streaming import SSEDecoder
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.helpers import visible

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "replicate"


def cases(*files: str) -> list[Any]:
    folders = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
    return [pytest.param(p, id=p.name) for p in folders if all((p / f).exists() for f in files)]


def read(case: Path, name: str) -> Any:
    return json.loads((case / name).read_text())


def prepare_case(case: Path) -> Call:
    spec = read(case, "input.json")
    settings = spec.get("settings", {})
    return prepare(
        spec["model"], spec["messages"], dict(spec.get("params", {})),
        api_key="r8_golden", api_base=settings.get("api_base"), options={},
        timeout=settings.get("timeout"), force_timeout=settings.get("force_timeout"),
        azure=False, logger_fn=None, verbose=False, num_retries=None,
        drop_params=settings.get("drop_params", False),
        extra_headers=settings.get("extra_headers"), extra_body=settings.get("extra_body"),
    )


def request_dict(r: HTTPRequest) -> dict[str, Any]:
    return {"method": r.method, "url": r.url, "headers": dict(r.headers), "body": r.json,
            "stream": r.stream}


def outcome(result: Any) -> dict[str, Any]:
    """A parse result as plain data: the response (no ``None`` fields) or the follow-up."""
    if isinstance(result, ModelResponse):
        return {"response": result.model_dump(exclude_none=True)}
    assert isinstance(result, FollowUp)
    return {"follow_up": {"request": request_dict(result.request), "delay": result.delay,
                          "cancel": None if result.cancel is None else request_dict(result.cancel)}}


def error_dict(exc: APIError) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message}
    if exc.code is not None:
        out["code"] = exc.code
    return out


def translate(call: Call, raw: str, slice_size: int = 17) -> tuple[list[ModelResponseChunk], APIError | None]:
    """Raw SSE through the decoder (in small byte slices) and the translator; the chunks made
    before any error, and the error."""
    translator = call.adapter.stream_translator(call.ctx)
    decoder = SSEDecoder()
    data = raw.encode()
    chunks: list[ModelResponseChunk] = []
    try:
        for start in range(0, len(data), slice_size):
            for event in decoder.feed(data[start:start + slice_size]):
                chunks += translator.feed(event)
        for event in decoder.flush():
            chunks += translator.feed(event)
        chunks += translator.finish()
    except APIError as exc:
        return visible(call, chunks), exc
    return visible(call, chunks), None


def chunk_dict(chunk: ModelResponseChunk) -> dict[str, Any]:
    out = chunk.model_dump(exclude_none=True)
    out.pop("created")
    return out
