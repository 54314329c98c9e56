"""``embedding()`` / ``aembedding()`` end to end against the OpenAI emulator: shapes, inputs,
formats, dimensions, meta, logging and the errors raised before any request."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

import llmrelay
from llmrelay.config import mask_secret
from llmrelay.embedding_types import EmbeddingUsage, base64_of
from llmrelay.testing import Emulator
from llmrelay.testing.vectors import vector
from tests.helpers import at, embed

MODES = ["sync", "async"]
MODEL = "text-embedding-3-small"


def openai(emulator: Emulator, **kw: Any) -> dict[str, Any]:
    return {"model": MODEL, **at(emulator, "openai"), **kw}


def decode(text: str) -> list[float]:
    raw = base64.b64decode(text)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


@pytest.mark.parametrize("mode", MODES)
def test_a_list_of_strings_in_openai_shape(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, input=["hello world", "second text"], **openai(emulator))
    assert isinstance(resp, llmrelay.EmbeddingResponse)
    dumped = resp.model_dump()
    assert set(dumped) == {"object", "data", "model", "usage"}
    assert dumped["object"] == "list" and dumped["model"] == MODEL
    assert dumped["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert [d["object"] for d in dumped["data"]] == ["embedding", "embedding"]
    assert [d.index for d in resp.data] == [0, 1]
    assert resp.data[0].embedding == vector("hello world", 1536)
    assert resp.data[1].embedding == vector("second text", 1536)
    assert resp["data"][1]["embedding"] == resp.data[1].embedding
    assert resp.usage is not None and resp.usage.prompt_tokens == resp.usage.total_tokens == 4
    assert isinstance(resp.usage, llmrelay.Usage) and resp.usage.completion_tokens == 0
    assert emulator.requests[0].body == {"model": MODEL, "input": ["hello world", "second text"]}


@pytest.mark.parametrize("mode", MODES)
def test_a_single_string(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, input="just one", **openai(emulator))
    assert len(resp.data) == 1 and resp.data[0].index == 0
    assert resp.data[0].embedding == vector("just one", 1536)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("given", "sent"), [
    ([1, 2, 3], [[1, 2, 3]]),
    ([[1, 2], [3, 4, 5]], [[1, 2], [3, 4, 5]]),
])
def test_token_ids(mode: str, given: Any, sent: Any, emulator: Emulator) -> None:
    resp = embed(mode, input=given, **openai(emulator))
    assert emulator.requests[0].body["input"] == sent
    assert len(resp.data) == len(sent)
    assert resp.usage is not None and resp.usage.prompt_tokens == sum(len(s) for s in sent)


@pytest.mark.parametrize("mode", MODES)
def test_base64_is_openai_s_string(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, input=["a b", "c"], encoding_format="base64", dimensions=16,
                 **openai(emulator))
    assert emulator.requests[0].body["encoding_format"] == "base64"
    for item, text in zip(resp.data, ["a b", "c"]):
        assert isinstance(item.embedding, str)
        assert decode(item.embedding) == pytest.approx(vector(text, 16), abs=1e-7)
    assert resp.model_dump()["data"][0]["embedding"] == resp.data[0].embedding


def test_base64_of_is_little_endian_float32() -> None:
    assert base64_of([1.0, -2.5]) == base64.b64encode(struct.pack("<2f", 1.0, -2.5)).decode()


@pytest.mark.parametrize("mode", MODES)
def test_dimensions(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, input="short", dimensions=256, **openai(emulator))
    assert emulator.requests[0].body["dimensions"] == 256
    assert len(resp.data[0].embedding) == 256


def test_dimensions_refused_for_ada_before_any_request(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError, match="dimensions") as info:
        llmrelay.embedding(**openai(emulator, model="text-embedding-ada-002"), input="x",
                           dimensions=256)
    assert info.value.param == "dimensions" and emulator.count() == 0
    resp = llmrelay.embedding(**openai(emulator, model="text-embedding-ada-002"), input="x",
                              dimensions=256, drop_params=True)
    assert "dimensions" not in emulator.requests[0].body and len(resp.data[0].embedding) == 1536


@pytest.mark.parametrize("mode", MODES)
def test_meta(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, input=["one", "two"], **openai(emulator))
    meta = resp.meta
    assert (meta.provider, meta.model, meta.attempts, meta.cache_hit) == ("openai", MODEL, 1, False)
    assert meta.latency is not None and 0 < meta.latency < 5
    assert meta.time_to_first_token is None and meta.request_id == "req_emulator"
    assert meta.usage == resp.usage
    assert meta.parts == [(MODEL, resp.usage)]
    assert "meta" not in resp.model_dump()


@pytest.mark.parametrize("mode", MODES)
def test_retries_count_in_meta(mode: str, emulator: Emulator) -> None:
    emulator.fail(503, headers={"retry-after-ms": "1"}, path="embeddings")
    resp = embed(mode, input="x", **openai(emulator))
    assert resp.meta.attempts == 2 and emulator.count() == 2


@pytest.mark.parametrize("mode", MODES)
def test_provider_extras_extra_body_and_headers_reach_the_wire(mode: str,
                                                              emulator: Emulator) -> None:
    embed(mode, input="x", user="u-1", extra_headers={"x-trace": "t1"},
          extra_body={"note": "n"}, **openai(emulator))
    sent = emulator.requests[0]
    assert sent.body == {"model": MODEL, "input": ["x"], "user": "u-1", "note": "n"}
    assert sent.headers["x-trace"] == "t1"


@pytest.mark.parametrize("mode", MODES)
def test_logger_fn_masks_the_key(mode: str, emulator: Emulator) -> None:
    records: list[dict[str, Any]] = []
    embed(mode, input="logged", logger_fn=records.append, **openai(emulator))
    assert [r["event"] for r in records] == ["pre_api_call", "post_api_call"]
    before, after = records
    assert before["url"] == emulator.base_url("openai") + "/embeddings"
    assert before["body"] == {"model": MODEL, "input": ["logged"]}
    assert before["headers"]["authorization"] == mask_secret(f"Bearer {emulator.api_key}")
    assert after["status"] == 200 and after["latency"] > 0
    assert emulator.api_key not in json.dumps(records, default=str)


def test_a_provider_echoing_the_key_has_it_masked(emulator: Emulator,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    secret = "sk-wrong-but-secret-key-123456"
    records: list[dict[str, Any]] = []
    with pytest.raises(llmrelay.AuthenticationError) as info:
        llmrelay.embedding(**openai(emulator, api_key=secret), input="x", verbose=True,
                           logger_fn=records.append, extra_body={"echo": secret})
    printed = capsys.readouterr().err
    for text in (json.dumps(records, default=str), printed, str(info.value), repr(info.value),
                 json.dumps(info.value.response)):
        assert secret not in text


@pytest.mark.parametrize("mode", MODES)
def test_missing_key_raises_before_any_request(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="OPENAI_API_KEY") as info:
        embed(mode, model=MODEL, input="x", api_base=emulator.base_url("openai"))
    assert (info.value.provider, info.value.model) == ("openai", MODEL)
    assert emulator.count() == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("model", "why"), [
    ("claude-3-5-haiku-latest", "anthropic has no embeddings endpoint"),
    ("replicate/meta/llama", "replicate has no embeddings endpoint"),
    ("gpt-4o", "not an embedding model of openai"),
    ("o3-mini", "not an embedding model of openai"),
    ("cohere/command-r", "not an embedding model of cohere"),
    ("openrouter/anthropic/claude-3.5-sonnet", "not an embedding model of openrouter"),
])
def test_unsupported_provider_or_model_is_refused_before_any_request(
    mode: str, model: str, why: str, emulator: Emulator
) -> None:
    with pytest.raises(llmrelay.BadRequestError, match=why) as info:
        embed(mode, model=model, input="x", api_key="k", api_base=emulator.url)
    assert info.value.provider is not None and info.value.status_code == 400
    assert emulator.count() == 0


@pytest.mark.parametrize("bad", [
    {"input": []},
    {"input": None},
    {"input": [1, "a"]},
    {"input": [[1, 2], []]},
    {"input": [True, False]},
    {"input": 42},
    {"input": "x", "encoding_format": "binary"},
    {"input": "x", "dimensions": 0},
    {"input": "x", "dimensions": "256"},
    {"input": "x", "user": 7},
])
def test_malformed_input_is_refused_before_any_request(bad: dict[str, Any],
                                                       emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError):
        llmrelay.embedding(**openai(emulator), **bad)
    assert emulator.count() == 0


def test_token_ids_refused_where_the_provider_takes_text_only(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="text only"):
        llmrelay.embedding(model="cohere/embed-v4.0", input=[[1, 2]], **at(emulator, "cohere"))
    assert emulator.count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_provider_errors_keep_their_class(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError, match="does not exist") as info:
        embed(mode, input="x", **openai(emulator, model="openai/missing-model"))
    assert info.value.status_code == 404 and info.value.provider == "openai"
    with pytest.raises(llmrelay.BadRequestError, match="input' is invalid"):
        embed(mode, input=["ok", ""], **openai(emulator))


@pytest.mark.parametrize("mode", MODES)
def test_a_malformed_answer_is_an_api_error_with_the_body(mode: str, emulator: Emulator) -> None:
    emulator.malformed(body=b'{"object": "list", "data": "nope"}')
    with pytest.raises(llmrelay.APIError, match="unexpected shape") as info:
        embed(mode, input="x", **openai(emulator))
    assert info.value.response == {"object": "list", "data": "nope"}
    emulator.malformed(body=b"not json")
    with pytest.raises(llmrelay.APIError, match="not JSON"):
        embed(mode, input="x", **openai(emulator))


def test_an_answer_with_the_wrong_number_of_vectors_is_an_error(emulator: Emulator) -> None:
    body = {"object": "list", "model": MODEL, "usage": {"prompt_tokens": 1, "total_tokens": 1},
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}]}
    emulator.malformed(body=json.dumps(body).encode())
    with pytest.raises(llmrelay.APIError, match="1 embeddings for 2 inputs"):
        llmrelay.embedding(input=["a", "b"], **openai(emulator))


def test_vectors_come_back_in_index_order_whatever_the_wire_order(emulator: Emulator) -> None:
    body = {"object": "list", "model": MODEL, "usage": {"prompt_tokens": 2, "total_tokens": 2},
            "data": [{"object": "embedding", "index": 1, "embedding": [0.2]},
                     {"object": "embedding", "index": 0, "embedding": [0.1]}]}
    emulator.malformed(body=json.dumps(body).encode())
    resp = llmrelay.embedding(input=["a", "b"], **openai(emulator))
    assert [(d.index, d.embedding) for d in resp.data] == [(0, [0.1]), (1, [0.2])]


def test_bare_names_route_to_their_provider() -> None:
    assert llmrelay.get_provider("text-embedding-3-large") == ("openai", "text-embedding-3-large")
    assert llmrelay.get_provider("embed-english-v3.0") == ("cohere", "embed-english-v3.0")


def test_embedding_usage_shows_only_openai_s_fields() -> None:
    usage = EmbeddingUsage.of_prompt(7)
    assert usage.model_dump() == {"prompt_tokens": 7, "total_tokens": 7}
    assert repr(usage) == "EmbeddingUsage(prompt_tokens=7, total_tokens=7)"


def test_public_names_are_lazy() -> None:
    assert {"embedding", "aembedding", "EmbeddingResponse"} <= set(llmrelay.__all__)
    assert llmrelay.EmbeddingResponse.__name__ == "EmbeddingResponse"


@pytest.mark.parametrize("mode", MODES)
def test_the_garbage_collector_is_left_as_it_was(mode: str, emulator: Emulator) -> None:
    """The collector is held only from a parse to the call's return, and never turned on for
    a program that runs with it off."""
    import gc

    embed(mode, input=["a", "b"], **openai(emulator))
    assert gc.isenabled()
    emulator.malformed(body=b'{"data": 1}')
    with pytest.raises(llmrelay.APIError):
        embed(mode, input="x", **openai(emulator))
    assert gc.isenabled()
    gc.disable()
    try:
        embed(mode, input=["a", "b"], **openai(emulator))
        assert not gc.isenabled()
    finally:
        gc.enable()
