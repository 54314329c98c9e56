"""Golden-case runner shared by the OpenAI-family providers (OpenAI, Azure, OpenRouter).

A case folder holds ``input.json`` (a call: model, messages, params, settings, env) and any of
``request.json`` (the HTTP request it must build), ``response.json`` + ``expected.json`` (a
provider body and the ``ModelResponse`` it must become), ``stream.sse`` +
``expected_chunks.jsonl`` (raw SSE and the chunks it must become), ``error.json`` (the
exception building or parsing must raise).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay.call import Call, prepare
from llmrelay.streaming import SSEDecoder
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.helpers import visible

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def cases(provider: str, *files: str) -> list[Any]:
    """The case folders of ``provider`` holding every one of ``files``, as pytest params."""
    folders = sorted(p for p in (GOLDEN / provider).iterdir() if p.is_dir())
    return [pytest.param(p, id=p.name) for p in folders if all((p / f).exists() for f in files)]


def read(case: Path, name: str) -> Any:
    return json.loads((case / name).read_text())


def prepare_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> Call:
    spec = read(case, "input.json")
    for var, value in spec.get("env", {}).items():
        monkeypatch.setenv(var, value)
    settings = spec.get("settings", {})
    return prepare(
        spec["model"],
        spec["messages"],
        dict(spec.get("params", {})),
        api_key=settings.get("api_key", "sk-golden"),
        api_base=settings.get("api_base"),
        options=dict(settings.get("options", {})),
        timeout=None,
        force_timeout=None,
        azure=settings.get("azure", False),
        logger_fn=None,
        verbose=False,
        num_retries=None,
        drop_params=settings.get("drop_params", False),
        extra_headers=settings.get("extra_headers"),
        extra_body=settings.get("extra_body"),
    )


def built_request(call: Call) -> dict[str, Any]:
    r = call.request
    return {"method": r.method, "url": r.url, "headers": dict(r.headers), "body": r.json,
            "stream": r.stream}


def parse_response(call: Call, body: Any) -> ModelResponse:
    result = call.adapter.parse_response(body, call.ctx)
    assert isinstance(result, ModelResponse)
    return result


def translate_stream(call: Call, raw: str, slice_size: int = 23) -> list[ModelResponseChunk]:
    """Raw SSE text through the decoder (in small byte slices, as a socket delivers it) and
    the adapter's translator."""
    translator = call.adapter.stream_translator(call.ctx)
    decoder = SSEDecoder()
    data = raw.encode()
    chunks: list[ModelResponseChunk] = []
    for start in range(0, len(data), slice_size):
        for event in decoder.feed(data[start:start + slice_size]):
            chunks += translator.feed(event)
    for event in decoder.flush():
        chunks += translator.feed(event)
    chunks += translator.finish()
    return visible(call, chunks)


def dump(model: ModelResponse | ModelResponseChunk) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


def expected_chunks(case: Path) -> list[dict[str, Any]]:
    lines = (case / "expected_chunks.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]
