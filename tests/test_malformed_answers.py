"""Malformed, truncated or surprising provider answers raise ``llmrelay.APIError`` naming the
provider (or give a correct response), never a bare ``KeyError`` / ``TypeError`` /
``ValidationError``, a hang, a key in the message, or a silently wrong answer.

The fuzz cases are seeded mutations of the golden cases and recordings (``tests/malformed.py``,
which ``python -m tests.malformed --cases N`` runs at length); the targeted cases below pin the
root causes it found.
"""

from __future__ import annotations

import asyncio
import json
import random
import warnings
from typing import Any

import pytest

import llmrelay
from llmrelay import transport
from llmrelay.concurrently import arun_all
from llmrelay.eventstream import encode_message
from llmrelay.testing import Emulator
from tests import malformed
from tests.helpers import MESSAGES, call
from tests.malformed import PROVIDERS, Case, Seed, make_cases, run_case

KINDS = ("body", "stream", "error", "embed")
CASES_PER_PROVIDER = 60


def fuzz_cases() -> list[Any]:
    params = []
    for provider in PROVIDERS:
        rng = random.Random(f"regression/{provider}")
        for i, case in enumerate(make_cases(provider, CASES_PER_PROVIDER, rng)):
            params.append(pytest.param(case, id=f"{provider}-{case.seed.kind}-{i}"))
    return params


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    # Vectors are not checked number by number (by design): dumping one with a string inside
    # makes pydantic warn, which is the harness's doing, not the library's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("case", fuzz_cases())
def test_fuzzed_answer(case: Case) -> None:
    outcome = run_case(case)
    assert outcome.kind in ("ok", "api_error"), f"{case.label}: {outcome.detail}"


@pytest.mark.parametrize("case", fuzz_cases()[::7])
def test_fuzzed_answer_async_raises_the_same(case: Case) -> None:
    assert run_case(case, "async").cls == run_case(case).cls


# ---- targeted: what the fuzzing found --------------------------------------------------------


def answer(provider: str, content: bytes, *, kind: str = "body", status: int = 200,
           mode: str = "sync", **call: Any) -> Any:
    """``content`` as the answer to a plain call of ``provider``; the response, or the error."""
    spec = {"model": malformed.MODEL[provider], "messages": MESSAGES, **call}
    if kind == "embed":
        spec = {"model": malformed.EMBED_MODEL[provider]}
    if kind == "stream":
        spec["stream"] = True
    case = Case(Seed(provider, kind, "targeted", spec, content, status), content, "targeted")
    previous = transport.set_interceptor(malformed.Interceptor(case))
    try:
        return malformed._run(case, mode)
    except llmrelay.APIError as exc:
        return exc
    finally:
        transport.set_interceptor(previous)


OPENAI_BODY = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                            "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
ANTHROPIC_BODY = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                  "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
                  "usage": {"input_tokens": 3, "output_tokens": 1}}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_adapters_own_error_for_a_body_carries_the_http_status(mode: str) -> None:
    # The adapter raises APIError itself (no status): the core adds the 200 it came with.
    exc = answer("anthropic", json.dumps({**ANTHROPIC_BODY, "content": None}).encode(), mode=mode)
    assert type(exc) is llmrelay.APIError
    assert exc.status_code == 200 and exc.provider == "anthropic"
    assert exc.response == {**ANTHROPIC_BODY, "content": None}


def test_an_error_envelope_in_a_200_keeps_its_own_status() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    exc = answer("anthropic", json.dumps(body).encode())
    assert isinstance(exc, llmrelay.ServiceUnavailableError) and exc.status_code == 529


@pytest.mark.parametrize("provider", ["openai", "azure", "openrouter", "groq", "hosted_vllm"])
def test_a_chat_completion_without_choices_is_an_error(provider: str) -> None:
    exc = answer(provider, json.dumps({**OPENAI_BODY, "choices": []}).encode())
    assert type(exc) is llmrelay.APIError, exc
    assert exc.status_code == 200 and exc.provider == provider
    assert "without choices" in exc.message


@pytest.mark.parametrize(("provider", "body"), [
    ("openai", {**OPENAI_BODY, "usage": {"prompt_tokens": -5, "completion_tokens": 1,
                                         "total_tokens": -4}}),
    ("mistral", {**OPENAI_BODY, "usage": {"prompt_tokens": 3, "completion_tokens": 1,
                                          "total_tokens": 4,
                                          "prompt_tokens_details": {"cached_tokens": -1}}}),
    ("anthropic", {**ANTHROPIC_BODY, "usage": {"input_tokens": 3, "output_tokens": -1}}),
    ("anthropic", {**ANTHROPIC_BODY, "usage": {"input_tokens": 3, "output_tokens": 1,
                                               "cache_read_input_tokens": -10}}),
])
def test_a_negative_token_count_is_an_error_not_a_negative_cost(provider: str, body: Any) -> None:
    exc = answer(provider, json.dumps(body).encode())
    assert type(exc) is llmrelay.APIError, exc
    assert exc.status_code == 200 and exc.response == body


def test_a_negative_token_count_in_a_stream_raises_from_the_iterator() -> None:
    events = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                      "finish_reason": "stop"}]},
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
         "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": -1, "total_tokens": 2}},
    ]
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    exc = answer("openai", raw, kind="stream", stream_options={"include_usage": True})
    assert type(exc) is llmrelay.APIError and exc.status_code == 200
    assert "stream event of unexpected shape" in exc.message


@pytest.mark.parametrize(("provider", "body"), [
    ("openai", {"object": "list", "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "index": 0, "embedding": None}],
                "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
    ("openai", {"object": "list", "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "index": 0, "embedding": -5}],
                "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
    ("openai", {"object": "list", "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "index": 0, "embedding": [[0.1, 0.2]]}],
                "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
    ("cohere", {"id": "e", "embeddings": {"float": [{"x": 1}]}, "texts": ["a"]}),
    ("cohere", {"id": "e", "embeddings": {"float": [["0.1", "0.2"]]}, "texts": ["a"]}),
    ("gemini", {"embeddings": [{"values": None}]}),
    ("gemini", {"embeddings": [{"values": {"x": 0.1}}]}),
    ("openai", {"object": "list", "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}],
                "usage": {"prompt_tokens": -1, "total_tokens": -1}}),
])
def test_an_embedding_that_is_not_a_vector_is_an_error(provider: str, body: Any) -> None:
    exc = answer(provider, json.dumps(body).encode(), kind="embed")
    assert type(exc) is llmrelay.APIError, exc
    assert exc.status_code == 200 and exc.provider == provider


def test_embedding_vectors_of_numbers_still_pass() -> None:
    body = {"embeddings": [{"values": [0, 0.5, -1]}]}  # an integer zero is a number
    resp = answer("gemini", json.dumps(body).encode(), kind="embed")
    assert resp.data[0].embedding == [0, 0.5, -1]


def test_a_malformed_event_stream_frame_carries_the_streams_status() -> None:
    frame = encode_message({":message-type": "event", ":event-type": "messageStart",
                            ":content-type": "application/json"}, b'{"role": "assistant"}')
    broken = frame[:-1] + bytes([frame[-1] ^ 1])  # its message CRC no longer matches
    exc = answer("bedrock", broken, kind="stream")
    assert type(exc) is llmrelay.APIError
    assert exc.status_code == 200 and exc.provider == "bedrock" and "CRC" in exc.message


def test_a_cut_stream_stays_a_connection_error_without_a_status() -> None:
    raw = b'event: message_start\ndata: {"type": "message_start", "message": ' \
          + json.dumps({**ANTHROPIC_BODY, "content": []}).encode() + b"}\n\n"
    exc = answer("anthropic", raw, kind="stream")
    assert isinstance(exc, llmrelay.APIConnectionError) and exc.status_code is None


def test_arun_all_reads_every_failure(caplog: pytest.LogCaptureFixture) -> None:
    """Two parallel requests that both fail: the first error is raised, and the second is
    retrieved too (asyncio would otherwise log 'Task exception was never retrieved')."""
    import gc

    async def fail(i: int) -> None:
        await asyncio.sleep(0)
        raise llmrelay.APIError(f"failure {i}")

    async def main() -> None:
        with pytest.raises(llmrelay.APIError, match="failure 0"):
            await arun_all(fail, [0, 1], 2)

    with caplog.at_level("ERROR", logger="asyncio"):
        asyncio.run(main())
        gc.collect()
    assert "never retrieved" not in caplog.text


# ---- end to end: the emulators' scripted faults raise the same class sync and async ----------


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "cohere", "mistral"])
@pytest.mark.parametrize("fault", ["malformed", "malformed_html", "drop_stream", "stream_error"])
def test_emulator_faults_raise_the_same_class_sync_and_async(emulator: Emulator, provider: str,
                                                            fault: str) -> None:
    kwargs = {"model": malformed.MODEL[provider], "api_base": emulator.base_url(provider),
              "api_key": emulator.api_key, "num_retries": 0,
              "stream": fault in ("drop_stream", "stream_error")}
    classes = []
    for mode in ("sync", "async"):
        emulator.reset()
        if fault == "malformed":
            emulator.malformed()
        elif fault == "malformed_html":
            emulator.malformed(body=malformed.HTML, status=502)
        elif fault == "drop_stream":
            emulator.drop_stream(after=3)
        else:
            emulator.stream_error()
        with pytest.raises(llmrelay.APIError) as info:
            call(mode, **kwargs)
        assert info.value.provider == provider
        assert emulator.api_key not in f"{info.value} {info.value.response!r}"
        classes.append(type(info.value))
    assert classes[0] is classes[1]
    expected = {"malformed": llmrelay.APIError, "malformed_html": llmrelay.InternalServerError,
                "drop_stream": llmrelay.APIConnectionError}
    if fault in expected:
        assert classes[0] is expected[fault]


@pytest.mark.parametrize("indexes", [[7], [True], [0, 0], [1, 2]])
def test_embedding_indexes_that_are_not_the_inputs_are_an_error(indexes: list[Any]) -> None:
    body = {"object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": i, "embedding": [0.1]} for i in indexes],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}
    case = Case(Seed("openai", "embed", "targeted", {"model": "text-embedding-3-small"},
                     json.dumps(body).encode(), inputs=len(indexes)), json.dumps(body).encode(),
                "targeted")
    outcome = run_case(case)
    assert outcome.kind == "api_error" and outcome.cls == "APIError", outcome.detail


def test_embeddings_out_of_order_are_put_in_order() -> None:
    body = {"object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": i, "embedding": [float(i)]} for i in (1, 0)],
            "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    case = Case(Seed("openai", "embed", "targeted", {"model": "text-embedding-3-small"},
                     json.dumps(body).encode(), inputs=2), json.dumps(body).encode(), "targeted")
    previous = transport.set_interceptor(malformed.Interceptor(case))
    try:
        resp = malformed._run(case, "sync")
    finally:
        transport.set_interceptor(previous)
    assert [(d.index, d.embedding) for d in resp.data] == [(0, [0.0]), (1, [1.0])]
