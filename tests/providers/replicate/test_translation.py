"""Golden translation tests for Replicate: requests, prediction bodies, streams, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmrelay.exceptions import APIError, UnsupportedParamsError

from .golden import (
    cases,
    chunk_dict,
    error_dict,
    outcome,
    prepare_case,
    read,
    request_dict,
    translate,
)


@pytest.mark.parametrize("case", cases("input.json", "request.json"))
def test_request(case: Path) -> None:
    assert request_dict(prepare_case(case).request) == read(case, "request.json")


@pytest.mark.parametrize("case", cases("input.json", "error.json"))
def test_request_refused(case: Path) -> None:
    expected = read(case, "error.json")
    with pytest.raises(APIError) as info:
        prepare_case(case)
    assert type(info.value).__name__ == expected["type"]
    for part in expected["contains"]:
        assert part in info.value.message
    assert info.value.provider == "replicate"
    if "param" in expected:
        assert isinstance(info.value, UnsupportedParamsError)
        assert info.value.param == expected["param"]


@pytest.mark.parametrize("case", cases("input.json", "response.json", "expected.json"))
def test_response(case: Path) -> None:
    call = prepare_case(case)
    expected = read(case, "expected.json")
    if "error" in expected:
        with pytest.raises(APIError) as info:
            call.adapter.parse_response(read(case, "response.json"), call.ctx)
        assert error_dict(info.value) == expected["error"]
    else:
        assert outcome(call.adapter.parse_response(read(case, "response.json"), call.ctx)) == expected


@pytest.mark.parametrize("case", cases("input.json", "stream.sse"))
def test_stream(case: Path) -> None:
    call = prepare_case(case)
    chunks, error = translate(call, (case / "stream.sse").read_text())
    if (case / "expected_chunks.jsonl").exists():
        assert error is None
        lines = (case / "expected_chunks.jsonl").read_text().splitlines()
        assert [chunk_dict(c) for c in chunks] == [json.loads(x) for x in lines]
    else:
        expected = read(case, "expected.json")
        assert error is not None
        assert len(chunks) == expected["chunks_before"]
        assert error_dict(error) == expected["error"]


@pytest.mark.parametrize("case", cases("input.json", "http_error.json", "expected.json"))
def test_http_error(case: Path) -> None:
    call = prepare_case(case)
    http = read(case, "http_error.json")
    error = call.adapter.parse_error(http["status"], http["body"], http["headers"], call.ctx)
    assert error_dict(error) == read(case, "expected.json")["error"]
