"""Golden-case tests shared by the OpenAI-family providers; each provider's
``test_translation.py`` instantiates them over its own case folders."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmrelay
from llmrelay.exceptions import APIError
from tests.providers.openai.golden import (
    built_request,
    dump,
    expected_chunks,
    parse_response,
    prepare_case,
    read,
    translate_stream,
)


def check_error(raised: APIError, case: Path) -> None:
    spec = read(case, "error.json")
    expected = getattr(llmrelay, spec["class"])
    if spec.get("exact_class"):
        assert type(raised) is expected, repr(raised)
    else:
        assert isinstance(raised, expected), repr(raised)
    for text in spec.get("contains", []):
        assert text in str(raised), (text, str(raised))
    for attr in ("param", "status_code", "code"):
        if attr in spec:
            assert getattr(raised, attr) == spec[attr], (attr, getattr(raised, attr))


def check_request(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if (case / "error.json").exists() and not (case / "request.json").exists():
        with pytest.raises(APIError) as info:
            prepare_case(case, monkeypatch)
        check_error(info.value, case)
        return
    assert built_request(prepare_case(case, monkeypatch)) == read(case, "request.json")


def check_response(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    call = prepare_case(case, monkeypatch)
    body = read(case, "response.json")
    if (case / "error.json").exists():
        with pytest.raises(APIError) as info:
            parse_response(call, body)
        check_error(info.value, case)
        return
    assert dump(parse_response(call, body)) == read(case, "expected.json")


def check_stream(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    call = prepare_case(case, monkeypatch)
    raw = (case / "stream.sse").read_text()
    if (case / "error.json").exists():
        spec = read(case, "error.json")
        translator = call.adapter.stream_translator(call.ctx)
        seen = []
        with pytest.raises(APIError) as info:
            from llmrelay.streaming import SSEDecoder

            decoder = SSEDecoder()
            for event in decoder.feed(raw.encode()) + decoder.flush():
                seen += translator.feed(event)
        assert len(seen) == spec.get("after_chunks", 0)
        check_error(info.value, case)
        return
    chunks = translate_stream(call, raw)
    assert [dump(c) for c in chunks] == expected_chunks(case)
    # The same bytes in one piece give the same chunks.
    assert [dump(c) for c in translate_stream(call, raw, len(raw) + 1)] == expected_chunks(case)
