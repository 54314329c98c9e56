"""Golden translation cases for Bedrock (tests/golden/bedrock/<case>/), no network.

``input.json`` is a call (``model``, ``messages``, OpenAI params and extras, ``drop_params``);
``request.json`` the Converse body it must build; ``response.json`` + ``expected.json`` a
Converse response and the ``ModelResponse`` it must become (the minted id aside);
``stream.jsonl`` event-stream messages (``headers``, ``payload``) that are encoded to real
binary frames, fed to the decoder at odd boundaries, and must give ``expected_chunks.jsonl``;
``error.json`` the exception (``class``, ``match``, optional ``status_code``, ``chunks_before``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay.call import Call, prepare
from llmrelay.eventstream import EventStreamDecoder, encode_message
from llmrelay.providers.bedrock import ADAPTER
from llmrelay.transport import Response
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.helpers import visible

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "bedrock"
CREDENTIALS = {"aws_access_key_id": "AKIDGOLDEN", "aws_secret_access_key": "golden-secret",
               "aws_region_name": "us-east-1"}


def cases(*files: str, without: tuple[str, ...] = ()) -> list[Any]:
    folders = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
    return [pytest.param(p, id=p.name) for p in folders
            if all((p / f).exists() for f in files) and not any((p / w).exists() for w in without)]


def read(case: Path, name: str) -> Any:
    return json.loads((case / name).read_text())


def prepare_case(case: Path) -> Call:
    spec = read(case, "input.json")
    params = {k: v for k, v in spec.items() if k not in ("model", "messages", "drop_params")}
    return prepare(
        f"bedrock/{spec['model']}", spec["messages"], {**params, **CREDENTIALS}, api_key=None,
        api_base=None, options={}, timeout=None, force_timeout=None, azure=False, logger_fn=None,
        verbose=False, num_retries=None, drop_params=spec.get("drop_params", False),
        extra_headers=None, extra_body=None,
    )


def dump(model: ModelResponse | ModelResponseChunk) -> dict[str, Any]:
    out = model.model_dump(exclude_none=True)
    out.pop("created")
    assert out.pop("id").startswith("chatcmpl-")
    return out


def frames(case: Path) -> bytes:
    lines = (case / "stream.jsonl").read_text().splitlines()
    return b"".join(encode_message(m["headers"], json.dumps(m["payload"]).encode())
                    for m in map(json.loads, lines))


def translate_stream(call: Call, data: bytes, sink: list[ModelResponseChunk]) -> None:
    """Binary frames through the decoder in odd slices (as a socket delivers them)."""
    translator = call.adapter.stream_translator(call.ctx)
    decoder = call.adapter.stream_decoder()
    assert isinstance(decoder, EventStreamDecoder)
    for start in range(0, len(data), 19):
        for message in decoder.feed(data[start:start + 19]):
            sink += translator.feed(message)
    for message in decoder.flush():
        sink += translator.feed(message)
    sink += translator.finish()
    sink[:] = visible(call, sink)


def expect_error(case: Path) -> Any:
    spec = read(case, "error.json")
    return pytest.raises(getattr(llmrelay, spec["class"]), match=spec["match"]), spec


@pytest.mark.parametrize("case", cases("request.json"))
def test_request(case: Path) -> None:
    assert prepare_case(case).request.json == read(case, "request.json")


@pytest.mark.parametrize("case", cases("input.json", "error.json",
                                        without=("stream.jsonl", "response.json")))
def test_request_refused(case: Path) -> None:
    raises, spec = expect_error(case)
    with raises as info:
        prepare_case(case)
    assert type(info.value).__name__ == spec["class"]
    assert info.value.provider == "bedrock"


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


@pytest.mark.parametrize("case", cases("stream.jsonl", "expected_chunks.jsonl"))
def test_stream(case: Path) -> None:
    chunks: list[ModelResponseChunk] = []
    translate_stream(prepare_case(case), frames(case), chunks)
    lines = (case / "expected_chunks.jsonl").read_text().splitlines()
    assert [dump(c) for c in chunks] == [json.loads(line) for line in lines if line.strip()]
    assert len({c.created for c in chunks}) == 1 and len({c.id for c in chunks}) == 1


@pytest.mark.parametrize("case", cases("stream.jsonl", "error.json"))
def test_stream_error(case: Path) -> None:
    chunks: list[ModelResponseChunk] = []
    raises, spec = expect_error(case)
    with raises as info:
        translate_stream(prepare_case(case), frames(case), chunks)
    assert type(info.value).__name__ == spec["class"]
    assert len(chunks) == spec["chunks_before"]
    if "status_code" in spec:
        assert info.value.status_code == spec["status_code"]


def test_every_case_is_exercised() -> None:
    """Each folder holds a complete case that one of the tests above reads."""
    for case in GOLDEN.iterdir():
        names = {p.name for p in case.iterdir()}
        assert "input.json" in names, case.name
        assert names & {"request.json", "expected.json", "expected_chunks.jsonl", "error.json"}, case.name


def test_url_headers_and_stream_flag() -> None:
    call = prepare("bedrock/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic"
                   ".claude-sonnet-4-20250514-v1:0", [{"role": "user", "content": "Hi"}],
                   {"stream": True}, api_key="bedrock-api-key", api_base="https://vpce.example/",
                   options={}, timeout=None, force_timeout=None, azure=False, logger_fn=None,
                   verbose=False, num_retries=None, drop_params=False,
                   extra_headers={"X-Amzn-Bedrock-Trace": "ENABLED"}, extra_body=None)
    assert call.request.url == ("https://vpce.example/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A"
                                "123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-"
                                "20250514-v1%3A0/converse-stream")
    assert call.request.stream is True
    assert dict(call.request.headers) == {"content-type": "application/json",
                                          "authorization": "Bearer bedrock-api-key",
                                          "X-Amzn-Bedrock-Trace": "ENABLED"}
    assert call.sign(call.request) is call.request  # a Bedrock API key: nothing to sign


def test_adapter_fields() -> None:
    assert (ADAPTER.name, ADAPTER.api_key_env, ADAPTER.default_base_url, ADAPTER.base_url_env,
            ADAPTER.native_n) == ("bedrock", ("AWS_BEARER_TOKEN_BEDROCK",), None,
                                  "BEDROCK_API_BASE", False)
    assert ADAPTER.stream_decoder is EventStreamDecoder


@pytest.mark.parametrize(("model", "param", "expected"), [
    ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "temperature", True),
    ("bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0", "top_k", True),
    ("bedrock/eu.anthropic.claude-sonnet-4-20250514-v1:0", "top_p", True),
    ("bedrock/global.anthropic.claude-sonnet-4-5-20250929-v1:0", "temperature", True),
    ("bedrock/apac.anthropic.claude-opus-4-7-v1:0", "temperature", False),
    ("bedrock/us.amazon.nova-micro-v1:0", "temperature", True),
    ("bedrock/us.amazon.nova-micro-v1:0", "seed", False),
    ("bedrock/us.amazon.nova-micro-v1:0", "user", False),
    ("bedrock/meta.llama3-1-70b-instruct-v1:0", "logit_bias", False),
    ("bedrock/meta.llama3-1-70b-instruct-v1:0", "parallel_tool_calls", False),
    ("bedrock/mistral.mistral-large-2407-v1:0", "tools", True),
])
def test_supports_follows_the_table(model: str, param: str, expected: bool) -> None:
    assert llmrelay.supports(model, param) is expected
