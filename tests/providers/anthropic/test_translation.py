"""Golden translation cases for Anthropic (tests/golden/anthropic/<case>/), no network.

``input.json`` is a call (``model``, ``messages``, OpenAI params and extras, ``drop_params``);
``request.json`` the Messages body it must build; ``response.json`` + ``expected.json`` a Message
and the ``ModelResponse`` it must become; ``stream.sse`` + ``expected_chunks.jsonl`` raw SSE and
its chunks; ``error.json`` the exception (``class``, ``match``, optional ``status_code`` and
``chunks_before``) that building, parsing or streaming must raise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.call import Call, prepare
from llmrelay.providers.anthropic import ADAPTER
from llmrelay.streaming import SSEDecoder
from llmrelay.transport import Response
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.helpers import visible

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "anthropic"
DEFAULT_INPUT = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}


def cases(*files: str, without: str | None = None) -> list[Any]:
    folders = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
    return [pytest.param(p, id=p.name) for p in folders
            if all((p / f).exists() for f in files) and not (without and (p / without).exists())]


def read(case: Path, name: str) -> Any:
    return json.loads((case / name).read_text())


def prepare_case(case: Path) -> Call:
    spec = read(case, "input.json") if (case / "input.json").exists() else dict(DEFAULT_INPUT)
    params = {k: v for k, v in spec.items() if k not in ("model", "messages", "drop_params")}
    return prepare(
        spec["model"], spec["messages"], params, api_key="sk-ant-golden", api_base=None, options={},
        timeout=None, force_timeout=None, azure=False, logger_fn=None, verbose=False,
        num_retries=None, drop_params=spec.get("drop_params", False), extra_headers=None,
        extra_body=None,
    )


def dump(model: ModelResponse | ModelResponseChunk) -> dict[str, Any]:
    out = model.model_dump(exclude_none=True)
    out.pop("created")
    return out


def translate_stream(call: Call, raw: str, sink: list[ModelResponseChunk]) -> None:
    """Raw SSE through the decoder in small slices (as a socket delivers it) and the translator."""
    translator = call.adapter.stream_translator(call.ctx)
    decoder, data = SSEDecoder(), raw.encode()
    for start in range(0, len(data), 17):
        for event in decoder.feed(data[start:start + 17]):
            sink += translator.feed(event)
    for event in decoder.flush():
        sink += translator.feed(event)
    sink += translator.finish()
    sink[:] = visible(call, sink)


def expect_error(case: Path) -> Any:
    spec = read(case, "error.json")
    return pytest.raises(getattr(llmrelay, spec["class"]), match=spec["match"]), spec


@pytest.mark.parametrize("case", cases("request.json"))
def test_request(case: Path) -> None:
    assert prepare_case(case).request.json == read(case, "request.json")


@pytest.mark.parametrize("case", cases("input.json", "error.json", without="stream.sse"))
def test_request_refused(case: Path) -> None:
    raises, spec = expect_error(case)
    with raises as info:
        prepare_case(case)
    assert type(info.value).__name__ == spec["class"]
    assert info.value.provider == "anthropic"


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


@pytest.mark.parametrize("case", cases("stream.sse", "expected_chunks.jsonl"))
def test_stream(case: Path) -> None:
    chunks: list[ModelResponseChunk] = []
    translate_stream(prepare_case(case), (case / "stream.sse").read_text(), chunks)
    lines = (case / "expected_chunks.jsonl").read_text().splitlines()
    assert [dump(c) for c in chunks] == [json.loads(line) for line in lines if line.strip()]
    created = {c.created for c in chunks}
    assert len(created) == 1  # one timestamp for the whole stream, as OpenAI sends


@pytest.mark.parametrize("case", cases("stream.sse", "error.json"))
def test_stream_error(case: Path) -> None:
    chunks: list[ModelResponseChunk] = []
    raises, spec = expect_error(case)
    with raises as info:
        translate_stream(prepare_case(case), (case / "stream.sse").read_text(), chunks)
    assert type(info.value).__name__ == spec["class"]
    assert len(chunks) == spec["chunks_before"]
    if "status_code" in spec:
        assert info.value.status_code == spec["status_code"]


def test_headers_url_and_stream_flag() -> None:
    call = prepare("anthropic/claude-haiku-4-5", [{"role": "user", "content": "Hi"}], {"stream": True},
                   api_key="sk-ant-x", api_base="https://proxy.example/anthropic/", options={},
                   timeout=None, force_timeout=None, azure=False, logger_fn=None, verbose=False,
                   num_retries=None, drop_params=False,
                   extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"}, extra_body=None)
    assert call.request.method == "POST"
    assert call.request.url == "https://proxy.example/anthropic/v1/messages"
    assert call.request.stream is True
    assert dict(call.request.headers) == {
        "x-api-key": "sk-ant-x", "anthropic-version": "2023-06-01",
        "content-type": "application/json", "anthropic-beta": "prompt-caching-2024-07-31"}


def test_base_url_ending_in_v1_is_not_doubled() -> None:
    from llmrelay.providers.anthropic.request import messages_url

    assert messages_url("https://api.anthropic.com") == "https://api.anthropic.com/v1/messages"
    assert messages_url("https://gw.example/v1") == "https://gw.example/v1/messages"


def test_adapter_fields() -> None:
    assert (ADAPTER.name, ADAPTER.api_key_env, ADAPTER.default_base_url, ADAPTER.base_url_env,
            ADAPTER.native_n) == ("anthropic", ("ANTHROPIC_API_KEY",), "https://api.anthropic.com",
                                  "ANTHROPIC_API_BASE", False)


@pytest.mark.parametrize(("model", "param", "expected"), [
    ("claude-3-5-sonnet-20241022", "temperature", True),
    ("claude-3-5-sonnet-20241022", "top_k", True),
    ("claude-sonnet-4-20250514", "top_p", True),
    ("claude-sonnet-4-5", "temperature", True),
    ("claude-opus-4-7", "temperature", False),
    ("claude-opus-4-7", "top_p", False),
    ("claude-sonnet-4-6", "top_k", False),
    ("anthropic/claude-opus-5", "temperature", False),
    ("claude-3-haiku-20240307", "logit_bias", False),
    ("claude-3-haiku-20240307", "seed", False),
    ("claude-3-haiku-20240307", "presence_penalty", False),
    ("claude-3-haiku-20240307", "tools", True),
])
def test_supports_follows_the_table(model: str, param: str, expected: bool) -> None:
    assert llmrelay.supports(model, param) is expected


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="ANTHROPIC_API_KEY"):
        llmrelay.completion(model="claude-haiku-4-5", messages=[{"role": "user", "content": "Hi"}])


def test_key_and_base_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env")
    monkeypatch.setenv("ANTHROPIC_API_BASE", "https://env.example")
    call = prepare("claude-haiku-4-5", [{"role": "user", "content": "Hi"}], {}, api_key=None,
                   api_base=None, options={}, timeout=None, force_timeout=None, azure=False,
                   logger_fn=None, verbose=False, num_retries=None, drop_params=False,
                   extra_headers=None, extra_body=None)
    assert call.request.url == "https://env.example/v1/messages"
    assert call.request.headers["x-api-key"] == "sk-ant-env"
