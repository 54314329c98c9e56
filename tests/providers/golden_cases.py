"""Golden translation cases for the providers with their own wire format (Anthropic, Bedrock,
Gemini; Cohere for the finder, reader and stream feeder): tests/golden/<provider>/<case>/.

A case folder holds ``input.json`` (a call: ``model``, ``messages``, ``drop_params``, the rest
OpenAI params and extras) and any of ``request.json`` (the body it must build), ``response.json``
+ ``expected.json`` (a provider body and the ``ModelResponse`` it must become), a raw stream +
``expected_chunks.jsonl`` (the chunks it must become), ``error.json`` (the exception: ``class``,
``match``, optional ``status_code`` and ``chunks_before``, that building, parsing or streaming
must raise). Each provider's ``test_translation.py`` describes its cases with a ``Golden`` and
runs the ``check_*`` functions below over them; what only one provider does stays in its file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

import llmrelay
from llmrelay.call import Call, prepare
from llmrelay.providers.base import StreamTranslator
from llmrelay.streaming import StreamDecoder
from llmrelay.transport import Response
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.helpers import visible

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
INPUT_KEYS = ("model", "messages", "drop_params")


def cases(provider: str, *files: str, without: tuple[str, ...] = ()) -> list[Any]:
    """The case folders of ``provider`` holding every one of ``files`` and none of ``without``,
    as pytest params named after the folder."""
    folders = sorted(p for p in (GOLDEN / provider).iterdir() if p.is_dir())
    return [pytest.param(p, id=p.name) for p in folders
            if all((p / f).exists() for f in files) and not any((p / w).exists() for w in without)]


def read(case: Path, name: str) -> Any:
    return json.loads((case / name).read_text())


def case_input(case: Path, default: dict[str, Any] | None = None) -> dict[str, Any]:
    """The case's ``input.json``; ``default`` (a copy) where the case has none and one is given."""
    if default is not None and not (case / "input.json").exists():
        return dict(default)
    spec: dict[str, Any] = read(case, "input.json")
    return spec


def expected_chunks(case: Path) -> list[Any]:
    lines = (case / "expected_chunks.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def prepare_call(model: str, messages: list[dict[str, Any]], params: dict[str, Any], *,
                 api_key: str | None = None, api_base: str | None = None, drop_params: bool = False,
                 extra_headers: dict[str, str] | None = None) -> Call:
    """``llmrelay.call.prepare`` with the defaults a plain call has."""
    return prepare(model, messages, params, api_key=api_key, api_base=api_base, options={},
                   timeout=None, force_timeout=None, azure=False, logger_fn=None, verbose=False,
                   num_retries=None, drop_params=drop_params, extra_headers=extra_headers,
                   extra_body=None)


def prepare_input(spec: dict[str, Any], *, api_key: str | None, prefix: str = "",
                  api_base: str | None = None, **extra: Any) -> Call:
    """An ``input.json``-shaped call prepared: ``prefix`` before the model, ``extra`` params added."""
    params = {k: v for k, v in spec.items() if k not in INPUT_KEYS}
    return prepare_call(prefix + spec["model"], spec["messages"], {**params, **extra}, api_key=api_key,
                        api_base=api_base, drop_params=spec.get("drop_params", False))


def dump(model: ModelResponse | ModelResponseChunk) -> dict[str, Any]:
    out = model.model_dump(exclude_none=True)
    out.pop("created")
    return out


def feed_stream(translator: StreamTranslator, decoder: StreamDecoder, data: bytes, step: int,
                sink: list[Any]) -> None:
    """Raw bytes through ``decoder`` in ``step``-byte slices (as a socket delivers them) and
    ``translator``; the chunks go to ``sink`` as they come, so an error leaves those made before it."""
    for start in range(0, len(data), step):
        for event in decoder.feed(data[start:start + step]):
            sink += translator.feed(event)
    for event in decoder.flush():
        sink += translator.feed(event)
    sink += translator.finish()


def translate_stream(call: Call, decoder: StreamDecoder, data: bytes, step: int,
                     sink: list[ModelResponseChunk]) -> None:
    """``feed_stream`` through the call's translator, leaving in ``sink`` the chunks a caller sees."""
    feed_stream(call.adapter.stream_translator(call.ctx), decoder, data, step, sink)
    sink[:] = visible(call, sink)


def expect_error(case: Path) -> Any:
    """``pytest.raises`` for the case's ``error.json``, and the spec."""
    spec = read(case, "error.json")
    return pytest.raises(getattr(llmrelay, spec["class"]), match=spec["match"]), spec


@dataclass(frozen=True)
class Golden:
    """One provider's golden cases: ``name`` (its folder, and the ``provider`` its errors
    carry), how a case becomes a call, where its raw stream is and what decodes it."""

    name: str
    prepare: Callable[[Path], Call]
    stream: Callable[[Path], bytes]
    decoder: Callable[[Call], StreamDecoder]
    dump: Callable[[ModelResponse | ModelResponseChunk], dict[str, Any]] = dump

    def cases(self, *files: str, without: tuple[str, ...] = ()) -> list[Any]:
        return cases(self.name, *files, without=without)

    def translate(self, case: Path, sink: list[ModelResponseChunk], step: int) -> None:
        call = self.prepare(case)
        translate_stream(call, self.decoder(call), self.stream(case), step, sink)


def check_request(golden: Golden, case: Path) -> None:
    assert golden.prepare(case).request.json == read(case, "request.json")


def check_request_refused(golden: Golden, case: Path) -> None:
    raises, spec = expect_error(case)
    with raises as info:
        golden.prepare(case)
    assert type(info.value).__name__ == spec["class"]
    assert info.value.provider == golden.name


def check_response(golden: Golden, case: Path) -> None:
    call = golden.prepare(case)
    result = call.adapter.parse_response(read(case, "response.json"), call.ctx)
    assert isinstance(result, ModelResponse)
    assert golden.dump(result) == read(case, "expected.json")


def check_response_refused(golden: Golden, case: Path) -> None:
    call = golden.prepare(case)
    raises, spec = expect_error(case)
    with raises as info:
        call.parse(Response(200, [], (case / "response.json").read_bytes(), None))
    assert type(info.value).__name__ == spec["class"]
    assert info.value.response == read(case, "response.json")


def check_stream(golden: Golden, case: Path, step: int) -> list[ModelResponseChunk]:
    """The case's stream gives its expected chunks, all with one timestamp (as OpenAI sends);
    the chunks, for what a provider checks besides."""
    chunks: list[ModelResponseChunk] = []
    golden.translate(case, chunks, step)
    assert [golden.dump(c) for c in chunks] == expected_chunks(case)
    assert len({c.created for c in chunks}) == 1  # one timestamp for the whole stream
    return chunks


def check_stream_error(golden: Golden, case: Path, step: int) -> None:
    chunks: list[ModelResponseChunk] = []
    raises, spec = expect_error(case)
    with raises as info:
        golden.translate(case, chunks, step)
    assert type(info.value).__name__ == spec["class"]
    assert len(chunks) == spec["chunks_before"]
    if "status_code" in spec:
        assert info.value.status_code == spec["status_code"]
