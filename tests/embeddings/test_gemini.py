"""Gemini embeddings (``batchEmbedContents``) through the Gemini emulator, checked by the
official ``google-genai`` client: requests, answers, batching at 100, task types, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

import llmrelay
from llmrelay.testing import Emulator
from llmrelay.testing.vectors import vector
from tests.helpers import at, embed

MODES = ["sync", "async"]
MODEL = "gemini/gemini-embedding-001"
PATH = "/v1beta/models/gemini-embedding-001:batchEmbedContents"


def entry(text: str, **fields: Any) -> dict[str, Any]:
    return {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": text}]},
            **fields}


@pytest.mark.parametrize("mode", MODES)
def test_request_and_answer(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model=MODEL, input=["hello there", "b"], dimensions=64,
                 task_type="retrieval_document", title="Notes", **at(emulator, "gemini"))
    sent = emulator.requests[0]
    assert sent.path == PATH and sent.headers["x-goog-api-key"] == emulator.api_key
    fields = {"outputDimensionality": 64, "taskType": "RETRIEVAL_DOCUMENT", "title": "Notes"}
    assert sent.body == {"requests": [entry("hello there", **fields), entry("b", **fields)]}
    assert resp.model_dump() == {
        "object": "list", "model": "gemini-embedding-001",
        "data": [{"object": "embedding", "index": 0, "embedding": vector("hello there", 64)},
                 {"object": "embedding", "index": 1, "embedding": vector("b", 64)}],
        "usage": {"prompt_tokens": 0, "total_tokens": 0}}


@pytest.mark.parametrize("mode", MODES)
def test_no_token_count_means_an_unknown_cost(mode: str, emulator: Emulator) -> None:
    """The Gemini API counts no tokens for embeddings: the usage shows zeros, but the call's
    cost is unknown (``None``), never free."""
    resp = embed(mode, model=MODEL, input="x", **at(emulator, "gemini"))
    assert resp.usage is not None and resp.usage.prompt_tokens == 0
    assert resp.meta.usage is None and resp.meta.cost is None
    assert resp.meta.parts == [("gemini-embedding-001", None)]


def test_a_token_count_is_read_when_sent(emulator: Emulator) -> None:
    import json

    emulator.malformed(body=json.dumps({"embeddings": [{"values": [0.5, 0.5]}],
                                        "usageMetadata": {"promptTokenCount": 7}}).encode())
    resp = llmrelay.embedding(model=MODEL, input="x", **at(emulator, "gemini"))
    assert resp.usage is not None and resp.usage.prompt_tokens == 7
    assert resp.meta.usage is not None and resp.meta.usage.prompt_tokens == 7


@pytest.mark.parametrize("mode", MODES)
def test_over_a_hundred_is_split(mode: str, emulator: Emulator) -> None:
    inputs = [f"t{i}" for i in range(250)]
    resp = embed(mode, model=MODEL, input=inputs, dimensions=8, **at(emulator, "gemini"))
    assert sorted(len(r.body["requests"]) for r in emulator.requests) == [50, 100, 100]
    assert [d.index for d in resp.data] == list(range(250))
    assert resp.data[249].embedding == vector("t249", 8)
    assert len(resp.meta.parts) == 3 and resp.meta.attempts == 3


@pytest.mark.parametrize("mode", MODES)
def test_base64(mode: str, emulator: Emulator) -> None:
    import base64
    import struct

    resp = embed(mode, model=MODEL, input="x", dimensions=16, encoding_format="base64",
                 **at(emulator, "gemini"))
    raw = base64.b64decode(resp.data[0].embedding)  # type: ignore[arg-type]
    assert list(struct.unpack("<16f", raw)) == pytest.approx(vector("x", 16), abs=1e-7)


@pytest.mark.parametrize("model", ["gemini/gemini-2.5-flash", "gemini-2.0-flash",
                                   "gemini/gemma-3-27b-it"])
def test_chat_models_are_refused_before_any_request(model: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="not an embedding model of gemini"):
        llmrelay.embedding(model=model, input="x", **at(emulator, "gemini"))
    with pytest.raises(llmrelay.UnsupportedParamsError, match="user"):
        llmrelay.embedding(model=MODEL, input="x", user="u-1", **at(emulator, "gemini"))
    assert emulator.count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_errors(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError, match="not supported for embedContent"):
        embed(mode, model="gemini/missing-embedding-model", input="x", **at(emulator, "gemini"))
    with pytest.raises(llmrelay.BadRequestError, match="TaskType"):
        embed(mode, model=MODEL, input="x", task_type="nonsense", **at(emulator, "gemini"))
    with pytest.raises(llmrelay.AuthenticationError, match="API key not valid"):
        embed(mode, model=MODEL, input="x", api_base=emulator.url, api_key="wrong")
    emulator.fail(429, times=3)
    with pytest.raises(llmrelay.RateLimitError) as info:
        embed(mode, model=MODEL, input="x", num_retries=0, **at(emulator, "gemini"))
    assert info.value.provider == "gemini" and info.value.status_code == 429


# ---- google-genai ---------------------------------------------------------------------------


def client(emulator: Emulator) -> genai.Client:
    return genai.Client(api_key=emulator.api_key, http_options={"base_url": emulator.url})


@pytest.mark.parametrize("mode", MODES)
def test_google_genai_parses_the_emulator(mode: str, emulator: Emulator) -> None:
    config = genai_types.EmbedContentConfig(task_type="RETRIEVAL_QUERY", output_dimensionality=32)
    kw: dict[str, Any] = {"model": "gemini-embedding-001", "contents": ["hello there", "b"],
                          "config": config}
    sdk = client(emulator)
    resp = (sdk.models.embed_content(**kw) if mode == "sync"
            else asyncio.run(sdk.aio.models.embed_content(**kw)))
    assert isinstance(resp, genai_types.EmbedContentResponse) and resp.embeddings is not None
    assert [e.values for e in resp.embeddings] == [vector("hello there", 32), vector("b", 32)]


def test_google_genai_gets_its_error_classes(emulator: Emulator) -> None:
    sdk = client(emulator)
    with pytest.raises(genai_errors.ClientError) as info:
        sdk.models.embed_content(model="missing-embedding-model", contents=["x"])
    assert info.value.code == 404
    with pytest.raises(genai_errors.ClientError, match="at most 100 requests"):
        sdk.models.embed_content(model="gemini-embedding-001", contents=["x"] * 101)


@pytest.mark.parametrize("params", [
    {"input": ["a", "b"]},
    {"input": "q", "task_type": "RETRIEVAL_QUERY", "dimensions": 768},
    {"input": ["d"], "task_type": "RETRIEVAL_DOCUMENT", "title": "A title"},
])
def test_our_bodies_are_the_sdk_s(params: dict[str, Any], emulator: Emulator) -> None:
    """The body llmrelay sends equals what google-genai sends for the same call."""
    llmrelay.embedding(model=MODEL, **params, **at(emulator, "gemini"))
    ours = emulator.requests[-1].body
    config = genai_types.EmbedContentConfig(
        task_type=params.get("task_type"), title=params.get("title"),
        output_dimensionality=params.get("dimensions"))
    texts = params["input"] if isinstance(params["input"], list) else [params["input"]]
    sdk = client(emulator)  # held: a collected Client closes its connection pool
    sdk.models.embed_content(model="gemini-embedding-001", contents=texts, config=config)
    theirs = emulator.requests[-1].body
    # The SDK also names each content's role ("user"); the recorded traffic does without.
    for item in theirs["requests"]:
        assert item["content"].pop("role") == "user"
    assert theirs == ours
