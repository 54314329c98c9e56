"""Gemini's stream decoder: SSE events, plus the bare JSON error Gemini writes into the body of a
failing 200 stream (pretty-printed, not ``data:``-prefixed), whatever the byte boundaries."""

from __future__ import annotations

import json
import random

import pytest

from llmrelay.providers.gemini.stream import GeminiStreamDecoder
from llmrelay.streaming import ServerSentEvent, SSEDecoder

EVENTS = [{"candidates": [{"content": {"parts": [{"text": f"w{i} {{not json}} [x]"}], "role": "model"}}]}
          for i in range(4)]
SSE = "".join("data: " + json.dumps(e) + "\r\n\r\n" for e in EVENTS)
ERROR = {"error": {"code": 429, "message": "Quota {exceeded} \"really\" ] [", "status": "RESOURCE_EXHAUSTED"}}
RAW = json.dumps(ERROR, indent=2) + "\n"


def decode(data: bytes, cuts: list[int]) -> list[ServerSentEvent]:
    decoder, out, start = GeminiStreamDecoder(), [], 0
    for cut in [*cuts, len(data)]:
        out += decoder.feed(data[start:cut])
        start = cut
    return out + decoder.flush()


def test_plain_sse_matches_the_sse_decoder() -> None:
    reference = SSEDecoder()
    expected = reference.feed(SSE.encode()) + reference.flush()
    assert decode(SSE.encode(), []) == expected
    assert [json.loads(e.data) for e in expected] == EVENTS


@pytest.mark.parametrize("seed", range(30))
def test_bare_error_after_events_at_random_boundaries(seed: int) -> None:
    data = (SSE + RAW).encode()
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 40)))
    events = decode(data, cuts)
    assert [json.loads(e.data) for e in events] == [*EVENTS, ERROR]


@pytest.mark.parametrize("raw", [RAW, "[" + RAW + "]\n", json.dumps(ERROR) + "\n", RAW.replace("\n", "\r\n")])
def test_error_forms_byte_by_byte(raw: str) -> None:
    data = (SSE + raw).encode()
    events = decode(data, list(range(1, len(data))))
    assert json.loads(events[-1].data) in (ERROR, [ERROR])
    assert len(events) == len(EVENTS) + 1


def test_error_as_the_whole_body() -> None:
    assert [json.loads(e.data) for e in decode(RAW.encode(), [3, 10])] == [ERROR]


def test_events_after_the_error_are_still_read() -> None:
    data = (RAW + SSE).encode()
    assert [json.loads(e.data) for e in decode(data, [5, 50, 120])] == [ERROR, *EVENTS]


def test_an_unfinished_error_is_handed_over_at_the_end() -> None:
    events = decode((SSE + RAW[:40]).encode(), [17])
    assert events[-1].data == RAW[:40].strip()  # the translator reports it as malformed


def test_braces_inside_data_lines_are_not_raw_json() -> None:
    data = b'data: {"a": "x\\n{y"}\r\n\r\n'
    assert [e.data for e in decode(data, [9])] == ['{"a": "x\\n{y"}']


@pytest.mark.parametrize("seed", range(10))
def test_other_framings_go_through_the_general_decoder(seed: int) -> None:
    """LF framing (a proxy), comments, ``data:`` without a space, multi-line data: all read as
    the SSE rules say, at any boundary."""
    blocks = ["data: " + json.dumps(EVENTS[0]), ": keep-alive", "data:" + json.dumps(EVENTS[1]),
              "data: " + json.dumps(EVENTS[2])[:20] + "\ndata: " + json.dumps(EVENTS[2])[20:]]
    for sep in ("\r\n\r\n", "\n\n"):
        text = sep.join(blocks) + sep
        data = text.encode()
        reference = SSEDecoder()
        expected = [e.data for e in reference.feed(data) + reference.flush()]
        rng = random.Random(seed)
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 12)))
        assert [e.data for e in decode(data, cuts)] == expected
        assert len(expected) == 3


def test_a_body_without_a_final_blank_line_is_flushed() -> None:
    data = ("data: " + json.dumps(EVENTS[0]) + "\r\n\r\ndata: " + json.dumps(EVENTS[1])).encode()
    assert [json.loads(e.data) for e in decode(data, [30])] == EVENTS[:2]
