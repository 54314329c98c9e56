"""Bedrock embeddings (InvokeModel: Titan Text Embeddings, Cohere Embed) against the emulator,
sync and async, over loopback sockets.

The emulator checks the SigV4 signature of every request before anything else, and the body as
Bedrock validates it (extraneous keys, 96 texts, required ``input_type``, Titan's dimensions),
so a test passes only if what llmrelay sends would be accepted.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator, aws
from llmrelay.testing.vectors import vector
from tests.helpers import embed

MODES = ["sync", "async"]
TITAN = "bedrock/amazon.titan-embed-text-v2:0"
COHERE_V3 = "bedrock/cohere.embed-english-v3"
COHERE_V4 = "bedrock/us.cohere.embed-v4:0"


def keys(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"api_base": emulator.base_url("bedrock"), "aws_access_key_id": aws.ACCESS_KEY_ID,
            "aws_secret_access_key": aws.SECRET_ACCESS_KEY, "aws_region_name": "us-east-1",
            **extra}


def texts(n: int, prefix: str = "t") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def bodies(emulator: Emulator) -> list[Any]:
    return [r.body for r in emulator.requests]


# ---- Titan Text Embeddings v2 -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_titan_one_text_signed_with_sigv4(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model=TITAN, input="hello there world", dimensions=256, normalize=True,
                 **keys(emulator))
    request = emulator.requests[-1]
    assert request.path == "/model/amazon.titan-embed-text-v2%3A0/invoke"
    assert request.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={aws.ACCESS_KEY_ID}/")
    assert request.headers["content-type"] == request.headers["accept"] == "application/json"
    assert request.body == {"inputText": "hello there world", "dimensions": 256,
                            "normalize": True}
    assert resp.model_dump() == {
        "object": "list", "model": "amazon.titan-embed-text-v2:0",
        "data": [{"object": "embedding", "index": 0,
                  "embedding": vector("hello there world", 256)}],
        "usage": {"prompt_tokens": 3, "total_tokens": 3}}
    assert resp.meta.provider == "bedrock" and resp.meta.attempts == 1
    assert resp.meta.request_id and resp.meta.cost == pytest.approx(3 * 2e-8)


@pytest.mark.parametrize("mode", MODES)
def test_titan_twenty_inputs_are_twenty_requests_eight_at_a_time(mode: str) -> None:
    # An emulator of its own: a request another test left in flight would count in the peak.
    with Emulator() as emulator:
        emulator.slow(0.2, times=20, provider="bedrock")  # held long enough to pile up
        inputs = [f"text number {i}" for i in range(20)]
        resp = embed(mode, model=TITAN, input=inputs, dimensions=512, **keys(emulator))
    assert emulator.count(path="/invoke$") == 20
    assert emulator.peak_in_flight == 8
    assert sorted(b["inputText"] for b in bodies(emulator)) == sorted(inputs)
    assert [d.index for d in resp.data] == list(range(20))
    assert [d.embedding for d in resp.data] == [vector(t, 512) for t in inputs]
    assert resp.usage is not None and resp.usage.prompt_tokens == resp.usage.total_tokens == 60
    assert len(resp.meta.parts) == 20 and resp.meta.attempts == 20
    assert all(u is not None and u.prompt_tokens == 3 for _, u in resp.meta.parts)
    assert resp.meta.cost == pytest.approx(60 * 2e-8)


@pytest.mark.parametrize("mode", MODES)
def test_titan_v1_takes_the_text_alone(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model="bedrock/amazon.titan-embed-text-v1", input=["a b", "c"],
                 **keys(emulator))
    assert sorted(bodies(emulator), key=str) == [{"inputText": "a b"}, {"inputText": "c"}]
    assert [len(d.embedding) for d in resp.data] == [1536, 1536]
    assert resp.usage is not None and resp.usage.prompt_tokens == 3
    for param in ({"dimensions": 256}, {"normalize": False}, {"input_type": "search_query"}):
        with pytest.raises(llmrelay.UnsupportedParamsError, match=next(iter(param))):
            embed(mode, model="bedrock/amazon.titan-embed-text-v1", input="x", **param,
                  **keys(emulator))
    assert emulator.count() == 2


# ---- Cohere Embed -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_cohere_two_hundred_texts_are_three_requests(mode: str, emulator: Emulator) -> None:
    inputs = texts(200)
    resp = embed(mode, model=COHERE_V3, input=inputs, **keys(emulator))
    assert sorted(len(b["texts"]) for b in bodies(emulator)) == [8, 96, 96]
    assert all(r.path == "/model/cohere.embed-english-v3/invoke" for r in emulator.requests)
    assert all(b["input_type"] == "search_document" and set(b) == {"texts", "input_type"}
               for b in bodies(emulator))
    assert [d.index for d in resp.data] == list(range(200))
    assert [d.embedding for d in resp.data] == [vector(t, 1024) for t in inputs]
    # Cohere's body counts no tokens: the usage is the X-Amzn-Bedrock-Input-Token-Count header.
    assert resp.usage is not None and resp.usage.prompt_tokens == 200
    assert sorted(u.prompt_tokens for _, u in resp.meta.parts if u is not None) == [8, 96, 96]
    assert resp.meta.attempts == 3 and resp.meta.cost == pytest.approx(200 * 1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_cohere_v4_behind_an_inference_profile(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model=COHERE_V4, input=["what is llmrelay?"], dimensions=256,
                 input_type="search_query", truncate="END", max_tokens=1000, **keys(emulator))
    request = emulator.requests[-1]
    assert request.path == "/model/us.cohere.embed-v4%3A0/invoke"
    assert request.body == {"texts": ["what is llmrelay?"], "input_type": "search_query",
                            "output_dimension": 256, "truncate": "END", "max_tokens": 1000}
    assert resp.data[0].embedding == vector("what is llmrelay?", 256)
    assert resp.model == "us.cohere.embed-v4:0"
    assert resp.usage is not None and resp.usage.prompt_tokens == 3
    assert resp.meta.cost == pytest.approx(3 * 1.2e-7)


@pytest.mark.parametrize("mode", MODES)
def test_cohere_without_a_token_count_has_an_unknown_cost(mode: str, emulator: Emulator) -> None:
    """No header and no count in the body: usage shows zeros, the cost is unknown, not free."""
    answer = {"embeddings": [[0.6, 0.8]], "id": "x", "response_type": "embeddings_floats",
              "texts": ["x"]}
    emulator.malformed(body=json.dumps(answer).encode())
    resp = embed(mode, model=COHERE_V3, input="x", **keys(emulator))
    assert resp.data[0].embedding == [0.6, 0.8]
    assert resp.usage is not None and resp.usage.prompt_tokens == 0
    assert resp.meta.usage is None and resp.meta.cost is None


# ---- formats, auth, refusals, errors ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model, dims", [(TITAN, 256), (COHERE_V4, 512)])
def test_base64_is_encoded_by_llmrelay(mode: str, model: str, dims: int,
                                       emulator: Emulator) -> None:
    resp = embed(mode, model=model, input=["a", "b"], dimensions=dims, encoding_format="base64",
                 **keys(emulator))
    assert all("encoding_format" not in b and "embedding_types" not in b
               for b in bodies(emulator))
    for item, text in zip(resp.data, ["a", "b"]):
        raw = base64.b64decode(item.embedding)  # type: ignore[arg-type]
        assert list(struct.unpack(f"<{dims}f", raw)) == pytest.approx(vector(text, dims), abs=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_bedrock_api_key_is_sent_as_bearer(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model=COHERE_V4, input="x", api_base=emulator.base_url("bedrock"),
                 api_key=emulator.api_key)
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {emulator.api_key}"
    assert len(resp.data[0].embedding) == 1536


@pytest.mark.parametrize("model", [
    "bedrock/amazon.titan-embed-image-v1", "bedrock/amazon.titan-embed-g1-text-02",
    "bedrock/us.amazon.nova-micro-v1:0", "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
    "bedrock/cohere.command-r-v1:0", "bedrock/cohere.rerank-v3-5:0",
])
def test_other_models_are_refused_before_any_request(model: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="not an embedding model of bedrock"):
        llmrelay.embedding(model=model, input="x", **keys(emulator))
    assert emulator.count() == 0


@pytest.mark.parametrize("params, refused", [
    ({"model": TITAN, "input_type": "search_query"}, "input_type"),
    ({"model": TITAN, "user": "u-1"}, "user"),
    ({"model": TITAN, "embeddingTypes": ["binary"]}, "embeddingTypes"),
    ({"model": COHERE_V3, "dimensions": 256}, "dimensions"),
    ({"model": COHERE_V4, "embedding_types": ["int8"]}, "embedding_types"),
])
def test_parameters_a_model_cannot_take(params: dict[str, Any], refused: str,
                                        emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError, match=refused):
        llmrelay.embedding(input="x", **params, **keys(emulator))
    assert emulator.count() == 0
    llmrelay.embedding(input="x", **params, drop_params=True, **keys(emulator))
    assert refused not in emulator.requests[-1].body


def test_token_ids_and_missing_credentials_are_refused(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="text only"):
        llmrelay.embedding(model=TITAN, input=[[1, 2, 3]], **keys(emulator))
    with pytest.raises(llmrelay.AuthenticationError, match="AWS_ACCESS_KEY_ID"):
        llmrelay.embedding(model=TITAN, input="x", api_base=emulator.base_url("bedrock"),
                           aws_region_name="us-east-1")
    assert emulator.count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_throttling_is_retried_per_batch(mode: str, emulator: Emulator) -> None:
    emulator.fail(429, headers={"retry-after-ms": "1"}, provider="bedrock", text='"t7"', times=2)
    resp = embed(mode, model=TITAN, input=texts(12), **keys(emulator))
    assert [d.embedding for d in resp.data] == [vector(t, 1024) for t in texts(12)]
    assert emulator.count() == 14 and resp.meta.attempts == 14
    assert sum(1 for b in bodies(emulator) if b["inputText"] == "t7") == 3
    # Every attempt was signed anew (the emulator refuses a bad signature with a 403).
    assert all(r.headers["authorization"].startswith("AWS4-HMAC-SHA256") for r in emulator.requests)


@pytest.mark.parametrize("mode", MODES)
def test_throttling_past_the_retries_fails_the_call(mode: str, emulator: Emulator) -> None:
    emulator.fail(429, headers={"retry-after-ms": "1"}, provider="bedrock", text='"t150"',
                  times=3)
    with pytest.raises(llmrelay.RateLimitError) as info:
        embed(mode, model=COHERE_V3, input=texts(200), num_retries=2, **keys(emulator))
    error = info.value
    assert error.status_code == 429 and error.provider == "bedrock"
    assert error.code == "ThrottlingException" and error.request_id


@pytest.mark.parametrize("mode", MODES)
def test_validation_errors(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="dimensions: 300 is not a valid enum") as info:
        embed(mode, model=TITAN, input="x", dimensions=300, **keys(emulator))
    assert info.value.code == "ValidationException" and info.value.status_code == 400
    with pytest.raises(llmrelay.BadRequestError, match="expected maxLength: 2048, actual: 3000"):
        embed(mode, model=COHERE_V3, input=["y" * 3000], **keys(emulator))
    with pytest.raises(llmrelay.BadRequestError, match=r"extraneous key \[nonsense\]"):
        embed(mode, model=COHERE_V4, input="x", nonsense=1, **keys(emulator))
    with pytest.raises(llmrelay.BadRequestError, match="model identifier is invalid"):
        embed(mode, model="bedrock/cohere.embed-does-not-exist-v9", input="x", **keys(emulator))
    assert emulator.count() == 4  # none retried


def test_a_bad_signature_is_an_authentication_error(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError, match="signature we calculated"):
        llmrelay.embedding(model=TITAN, input="x",
                           **keys(emulator, aws_secret_access_key="wrong-secret"))


def test_secrets_stay_out_of_logs(emulator: Emulator) -> None:
    records: list[dict[str, Any]] = []
    llmrelay.embedding(model=COHERE_V4, input=texts(100), logger_fn=records.append,
                       **keys(emulator))
    sent = [r for r in records if r["event"] == "pre_api_call"]
    assert sorted(len(r["body"]["texts"]) for r in sent) == [4, 96]
    assert aws.SECRET_ACCESS_KEY not in repr(records)
