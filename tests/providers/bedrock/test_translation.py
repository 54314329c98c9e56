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
from llmrelay.call import Call
from llmrelay.eventstream import EventStreamDecoder, encode_message
from llmrelay.providers.bedrock import ADAPTER
from llmrelay.types import ModelResponse, ModelResponseChunk
from tests.providers import golden_cases
from tests.providers.golden_cases import (
    Golden,
    check_request,
    check_request_refused,
    check_response,
    check_response_refused,
    check_stream,
    check_stream_error,
    prepare_call,
    prepare_input,
    read,
)

GOLDEN = golden_cases.GOLDEN / "bedrock"
CREDENTIALS = {"aws_access_key_id": "AKIDGOLDEN", "aws_secret_access_key": "golden-secret",
               "aws_region_name": "us-east-1"}


def prepare_case(case: Path) -> Call:
    return prepare_input(read(case, "input.json"), api_key=None, prefix="bedrock/", **CREDENTIALS)


def dump(model: ModelResponse | ModelResponseChunk) -> dict[str, Any]:
    out = golden_cases.dump(model)
    assert out.pop("id").startswith("chatcmpl-")
    return out


def frames(case: Path) -> bytes:
    """stream.jsonl encoded to real binary frames, fed to the decoder in odd slices."""
    lines = (case / "stream.jsonl").read_text().splitlines()
    return b"".join(encode_message(m["headers"], json.dumps(m["payload"]).encode())
                    for m in map(json.loads, lines))


def decoder(call: Call) -> EventStreamDecoder:
    made = call.adapter.stream_decoder()
    assert isinstance(made, EventStreamDecoder)
    return made


BEDROCK = Golden("bedrock", prepare_case, frames, decoder, dump)


@pytest.mark.parametrize("case", BEDROCK.cases("request.json"))
def test_request(case: Path) -> None:
    check_request(BEDROCK, case)


@pytest.mark.parametrize("case", BEDROCK.cases("input.json", "error.json",
                                               without=("stream.jsonl", "response.json")))
def test_request_refused(case: Path) -> None:
    check_request_refused(BEDROCK, case)


@pytest.mark.parametrize("case", BEDROCK.cases("response.json", "expected.json"))
def test_response(case: Path) -> None:
    check_response(BEDROCK, case)


@pytest.mark.parametrize("case", BEDROCK.cases("response.json", "error.json"))
def test_response_refused(case: Path) -> None:
    check_response_refused(BEDROCK, case)


@pytest.mark.parametrize("case", BEDROCK.cases("stream.jsonl", "expected_chunks.jsonl"))
def test_stream(case: Path) -> None:
    chunks = check_stream(BEDROCK, case, 19)
    assert len({c.id for c in chunks}) == 1


@pytest.mark.parametrize("case", BEDROCK.cases("stream.jsonl", "error.json"))
def test_stream_error(case: Path) -> None:
    check_stream_error(BEDROCK, case, 19)


def test_every_case_is_exercised() -> None:
    """Each folder holds a complete case that one of the tests above reads."""
    for case in GOLDEN.iterdir():
        names = {p.name for p in case.iterdir()}
        assert "input.json" in names, case.name
        assert names & {"request.json", "expected.json", "expected_chunks.jsonl", "error.json"}, case.name


def test_url_headers_and_stream_flag() -> None:
    call = prepare_call("bedrock/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic"
                        ".claude-sonnet-4-20250514-v1:0", [{"role": "user", "content": "Hi"}],
                        {"stream": True}, api_key="bedrock-api-key", api_base="https://vpce.example/",
                        extra_headers={"X-Amzn-Bedrock-Trace": "ENABLED"})
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
