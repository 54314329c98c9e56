"""Golden translation cases for Gemini (tests/golden/gemini/<case>/), no network.

``input.json`` is a call (``model``, ``messages``, OpenAI params and extras, ``drop_params``);
``request.json`` the ``generateContent`` body it must build; ``response.json`` +
``expected.json`` a GenerateContentResponse and the ``ModelResponse`` it must become;
``stream.sse`` + ``expected_chunks.jsonl`` raw SSE and its chunks; ``error.json`` the exception
(``class``, ``match``, optional ``status_code`` and ``chunks_before``) that building, parsing or
streaming must raise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.call import Call, prepare
from llmrelay.providers.gemini import ADAPTER
from llmrelay.providers.gemini.stream import GeminiStreamDecoder
from llmrelay.transport import Response
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.helpers import visible

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "gemini"
DEFAULT_INPUT = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hi"}]}


def cases(*files: str, without: tuple[str, ...] = ()) -> list[Any]:
    folders = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
    return [pytest.param(p, id=p.name) for p in folders
            if all((p / f).exists() for f in files) and not any((p / w).exists() for w in without)]


def read(case: Path, name: str) -> Any:
    return json.loads((case / name).read_text())


def prepare_call(model: str, messages: list[dict[str, Any]], params: dict[str, Any], *,
                 api_key: str | None = "AIza-golden", api_base: str | None = None,
                 drop_params: bool = False) -> Call:
    return prepare(model, messages, params, api_key=api_key, api_base=api_base, options={},
                   timeout=None, force_timeout=None, azure=False, logger_fn=None, verbose=False,
                   num_retries=None, drop_params=drop_params, extra_headers=None, extra_body=None)


def prepare_case(case: Path) -> Call:
    spec = read(case, "input.json") if (case / "input.json").exists() else dict(DEFAULT_INPUT)
    params = {k: v for k, v in spec.items() if k not in ("model", "messages", "drop_params")}
    return prepare_call(spec["model"], spec["messages"], params, drop_params=spec.get("drop_params", False))


def dump(model: ModelResponse | ModelResponseChunk) -> dict[str, Any]:
    out = model.model_dump(exclude_none=True)
    out.pop("created")
    return out


def translate_stream(call: Call, raw: bytes, sink: list[ModelResponseChunk], step: int = 17) -> None:
    """Raw bytes through Gemini's decoder in small slices (as a socket delivers them)."""
    translator = call.adapter.stream_translator(call.ctx)
    decoder = GeminiStreamDecoder()
    for start in range(0, len(raw), step):
        for event in decoder.feed(raw[start:start + step]):
            sink += translator.feed(event)
    for event in decoder.flush():
        sink += translator.feed(event)
    sink += translator.finish()
    sink[:] = visible(call, sink)


def expect_error(case: Path) -> Any:
    spec = read(case, "error.json")
    return pytest.raises(getattr(llmrelay, spec["class"]), match=spec["match"]), spec


def test_golden_cases_are_many() -> None:
    assert len(cases("request.json")) >= 35
    assert len(cases("response.json")) >= 20
    assert len(cases("stream.sse")) >= 15


@pytest.mark.parametrize("case", cases("request.json"))
def test_request(case: Path) -> None:
    assert prepare_case(case).request.json == read(case, "request.json")


@pytest.mark.parametrize("case", cases("input.json", "error.json", without=("stream.sse", "response.json")))
def test_request_refused(case: Path) -> None:
    raises, spec = expect_error(case)
    with raises as info:
        prepare_case(case)
    assert type(info.value).__name__ == spec["class"]
    assert info.value.provider == "gemini"


@pytest.mark.parametrize("case", cases("response.json", "expected.json"))
def test_response(case: Path) -> None:
    call = prepare_case(case)
    result = call.adapter.parse_response(read(case, "response.json"), call.ctx)
    assert isinstance(result, ModelResponse)
    assert dump(result) == read(case, "expected.json")


@pytest.mark.parametrize("case", cases("response.json", "error.json"))
def test_response_refused(case: Path) -> None:
    call = prepare_case(case)
    raises, spec = expect_error(case)
    with raises as info:
        call.parse(Response(200, [], (case / "response.json").read_bytes(), None))
    assert type(info.value).__name__ == spec["class"]
    assert info.value.response == read(case, "response.json")


@pytest.mark.parametrize("step", [1, 7, 17, 4096])
@pytest.mark.parametrize("case", cases("stream.sse", "expected_chunks.jsonl"))
def test_stream(case: Path, step: int) -> None:
    chunks: list[ModelResponseChunk] = []
    translate_stream(prepare_case(case), (case / "stream.sse").read_bytes(), chunks, step)
    lines = (case / "expected_chunks.jsonl").read_text().splitlines()
    assert [dump(c) for c in chunks] == [json.loads(line) for line in lines if line.strip()]
    assert len({c.created for c in chunks}) == 1  # one timestamp for the whole stream


@pytest.mark.parametrize("step", [1, 5, 17, 4096])
@pytest.mark.parametrize("case", cases("stream.sse", "error.json"))
def test_stream_error(case: Path, step: int) -> None:
    chunks: list[ModelResponseChunk] = []
    raises, spec = expect_error(case)
    with raises as info:
        translate_stream(prepare_case(case), (case / "stream.sse").read_bytes(), chunks, step)
    assert type(info.value).__name__ == spec["class"]
    assert len(chunks) == spec["chunks_before"]
    if "status_code" in spec:
        assert info.value.status_code == spec["status_code"]


def test_stream_error_carries_the_retry_delay() -> None:
    chunks: list[ModelResponseChunk] = []
    with pytest.raises(llmrelay.RateLimitError) as info:
        translate_stream(prepare_case(GOLDEN / "stream_error_bare_json_mid_stream"),
                         (GOLDEN / "stream_error_bare_json_mid_stream" / "stream.sse").read_bytes(), chunks)
    assert info.value.retry_after == 12.5 and info.value.code == "RESOURCE_EXHAUSTED"


def test_url_headers_and_stream_flag() -> None:
    call = prepare_call("gemini/gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {"stream": True},
                        api_key="AIza-x", api_base="https://proxy.example/google/")
    assert call.request.method == "POST"
    assert call.request.url == ("https://proxy.example/google/v1beta/models/gemini-2.5-flash:"
                                "streamGenerateContent?alt=sse")
    assert call.request.stream is True
    assert dict(call.request.headers) == {"x-goog-api-key": "AIza-x", "content-type": "application/json"}
    assert "key=" not in call.request.url  # keys in URLs end up in logs
    assert "AIza-x" not in repr(call.request)


@pytest.mark.parametrize(("base", "model", "url"), [
    ("https://generativelanguage.googleapis.com", "gemini-2.5-flash",
     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
    ("https://gw.example/v1beta", "models/gemini-2.5-flash",
     "https://gw.example/v1beta/models/gemini-2.5-flash:generateContent"),
    ("https://gw.example/v1", "gemini-2.0-flash", "https://gw.example/v1/models/gemini-2.0-flash:generateContent"),
])
def test_endpoint(base: str, model: str, url: str) -> None:
    from llmrelay.providers.gemini.request import endpoint

    assert endpoint(base, model, stream=False) == url


def test_adapter_fields() -> None:
    assert (ADAPTER.name, ADAPTER.api_key_env, ADAPTER.default_base_url, ADAPTER.base_url_env,
            ADAPTER.native_n) == ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
                                  "https://generativelanguage.googleapis.com", "GEMINI_API_BASE", True)


@pytest.mark.parametrize(("model", "expected"), [
    ("gemini-2.5-flash", ("gemini", "gemini-2.5-flash")),
    ("gemini/gemini-3-pro-preview", ("gemini", "gemini-3-pro-preview")),
    ("gemini/gemma-3-27b-it", ("gemini", "gemma-3-27b-it")),
    ("Gemini-2.0-Flash", ("gemini", "Gemini-2.0-Flash")),
])
def test_routing(model: str, expected: tuple[str, str]) -> None:
    assert llmrelay.get_provider(model) == expected


@pytest.mark.parametrize(("model", "param", "expected"), [
    ("gemini-2.5-flash", "temperature", True),
    ("gemini-2.5-flash", "seed", True),
    ("gemini-2.5-flash", "n", True),
    ("gemini-2.5-flash", "logprobs", True),
    ("gemini-2.5-flash", "reasoning_effort", True),
    ("gemini-3-pro-preview", "reasoning_effort", True),
    ("gemini-2.0-flash", "reasoning_effort", False),
    ("gemini-1.5-pro", "thinking", False),
    ("gemini-2.5-flash", "logit_bias", False),
    ("gemini-2.5-flash", "user", False),
    ("gemini-2.5-flash", "parallel_tool_calls", False),
    ("gemini-2.5-flash", "tools", True),
])
def test_supports_follows_the_table(model: str, param: str, expected: bool) -> None:
    assert llmrelay.supports(model, param) is expected


def test_missing_key_names_both_variables() -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        llmrelay.completion(model="gemini-2.5-flash", messages=[{"role": "user", "content": "Hi"}])


@pytest.mark.parametrize("var", ["GEMINI_API_KEY", "GOOGLE_API_KEY"])
def test_key_and_base_from_environment(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "AIza-env")
    monkeypatch.setenv("GEMINI_API_BASE", "https://env.example")
    call = prepare_call("gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {}, api_key=None)
    assert call.request.url == "https://env.example/v1beta/models/gemini-2.5-flash:generateContent"
    assert call.request.headers["x-goog-api-key"] == "AIza-env"


def test_gemini_key_wins_over_google_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-google")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-gemini")
    call = prepare_call("gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {}, api_key=None)
    assert call.request.headers["x-goog-api-key"] == "AIza-gemini"
