"""Embeddings on the OpenAI-compatible family (Mistral, Together, Fireworks, Ollama,
hosted_vllm) through the family emulator, with the official clients (``mistralai``,
``openai``) checking the emulator's answers and our requests."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from mistralai.client import Mistral, errors
from mistralai.client.models import EmbeddingRequest, EmbeddingResponse

import llmrelay
from llmrelay.testing import Emulator
from llmrelay.testing.vectors import vector
from tests.helpers import embed

MODES = ["sync", "async"]

# provider -> (model string, default vector size, path tail, limit on inputs)
EMBEDDERS: dict[str, tuple[str, int, str, int]] = {
    "mistral": ("mistral/mistral-embed", 1024, "/mistral/v1/embeddings", 256),
    "together_ai": ("together_ai/BAAI/bge-large-en-v1.5", 1024, "/together/v1/embeddings", 2048),
    "fireworks_ai": ("fireworks_ai/nomic-ai/nomic-embed-text-v1.5", 768,
                     "/inference/v1/embeddings", 2048),
    "ollama": ("ollama/nomic-embed-text", 768, "/ollama/v1/embeddings", 2048),
    "hosted_vllm": ("hosted_vllm/BAAI/bge-m3", 1024, "/vllm/v1/embeddings", 2048),
}


def at(emulator: Emulator, provider: str, **kw: Any) -> dict[str, Any]:
    return {"model": EMBEDDERS[provider][0], "api_base": emulator.base_url(provider),
            "api_key": emulator.api_key, **kw}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(EMBEDDERS))
def test_request_and_answer(provider: str, mode: str, emulator: Emulator) -> None:
    model, size, path, _ = EMBEDDERS[provider]
    resp = embed(mode, input=["hello there", "b"], **at(emulator, provider))
    sent = emulator.requests[0]
    assert sent.path == path
    assert sent.body == {"model": model.split("/", 1)[1], "input": ["hello there", "b"]}
    assert sent.headers["authorization"] == f"Bearer {emulator.api_key}"
    assert resp.model_dump() == {
        "object": "list", "model": model.split("/", 1)[1],
        "data": [{"object": "embedding", "index": 0, "embedding": vector("hello there", size)},
                 {"object": "embedding", "index": 1, "embedding": vector("b", size)}],
        "usage": {"prompt_tokens": 3, "total_tokens": 3}}
    assert resp.meta.provider == provider and resp.meta.attempts == 1


@pytest.mark.parametrize(("provider", "dimensions"), [("mistral", None), ("fireworks_ai", 8)])
def test_over_the_limit_is_split(provider: str, dimensions: int | None,
                                 emulator: Emulator) -> None:
    _, _, _, limit = EMBEDDERS[provider]
    inputs = [f"t{i}" for i in range(limit + 5)]
    resp = llmrelay.embedding(input=inputs, dimensions=dimensions, **at(emulator, provider))
    assert sorted(len(r.body["input"]) for r in emulator.requests) == [5, limit]
    assert [d.index for d in resp.data] == list(range(limit + 5))
    assert resp.usage is not None and resp.usage.prompt_tokens == limit + 5


def test_mistral_refuses_an_unsplit_list(emulator: Emulator) -> None:
    client = Mistral(api_key=emulator.api_key, server_url=emulator.url + "/mistral")
    with pytest.raises(errors.SDKError, match="Too many inputs in request"):
        client.embeddings.create(model="mistral-embed", inputs=["x"] * 257)


@pytest.mark.parametrize("mode", MODES)
def test_mistral_sizes_only_codestral_embed(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, input="x", dimensions=256,
                 **at(emulator, "mistral", model="mistral/codestral-embed"))
    assert emulator.requests[0].body == {"model": "codestral-embed", "input": ["x"],
                                         "output_dimension": 256}
    assert len(resp.data[0].embedding) == 256
    with pytest.raises(llmrelay.UnsupportedParamsError, match="dimensions"):
        embed(mode, input="x", dimensions=256, **at(emulator, "mistral"))
    with pytest.raises(llmrelay.UnsupportedParamsError, match="user"):
        embed(mode, input="x", user="u-1", **at(emulator, "mistral"))
    assert emulator.count() == 1


def test_dimensions_where_the_server_takes_them(emulator: Emulator) -> None:
    for provider in ("fireworks_ai", "ollama", "hosted_vllm"):
        resp = llmrelay.embedding(input="x", dimensions=64, **at(emulator, provider))
        assert len(resp.data[0].embedding) == 64
    with pytest.raises(llmrelay.UnsupportedParamsError, match="dimensions"):
        llmrelay.embedding(input="x", dimensions=64, **at(emulator, "together_ai"))


@pytest.mark.parametrize("mode", MODES)
def test_base64_is_encoded_by_llmrelay(mode: str, emulator: Emulator) -> None:
    import base64
    import struct

    resp = embed(mode, input="x", encoding_format="base64", **at(emulator, "mistral"))
    assert "encoding_format" not in emulator.requests[0].body
    raw = base64.b64decode(resp.data[0].embedding)  # type: ignore[arg-type]
    assert list(struct.unpack("<1024f", raw)) == pytest.approx(vector("x", 1024), abs=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_vllm_takes_token_ids_and_no_key(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model="hosted_vllm/BAAI/bge-m3", input=[[1, 2, 3], [4]],
                 api_base=emulator.url + "/vllm/open")
    sent = emulator.requests[0]
    assert sent.path == "/vllm/open/v1/embeddings" and "authorization" not in sent.headers
    assert sent.body["input"] == [[1, 2, 3], [4]] and len(resp.data) == 2
    with pytest.raises(llmrelay.BadRequestError, match="text only"):
        embed(mode, input=[[1, 2]], **at(emulator, "ollama"))


def test_vllm_needs_a_base_url(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="HOSTED_VLLM_API_BASE"):
        llmrelay.embedding(model="hosted_vllm/BAAI/bge-m3", input="x")
    assert emulator.count() == 0


def test_ollama_needs_no_key_and_gets_v1(emulator: Emulator,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_BASE", emulator.url + "/ollama")
    resp = llmrelay.embedding(model="ollama/nomic-embed-text", input="x")
    sent = emulator.requests[0]
    assert sent.path == "/ollama/v1/embeddings" and "authorization" not in sent.headers
    assert resp.data[0].index == 0


@pytest.mark.parametrize("model", ["groq/llama-3.3-70b-versatile", "deepseek/deepseek-chat",
                                   "xai/grok-3", "perplexity/sonar",
                                   "mistral/mistral-large-latest"])
def test_no_embeddings_refused_before_any_request(model: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="embedding"):
        llmrelay.embedding(model=model, input="x", api_key="k", api_base=emulator.url)
    assert emulator.count() == 0


# provider -> (an unknown model, the class its answer maps to)
UNKNOWN: dict[str, tuple[str, type[llmrelay.APIError]]] = {
    "mistral": ("mistral/missing-embed", llmrelay.BadRequestError),
    "together_ai": ("together_ai/org/missing-embed", llmrelay.BadRequestError),
    "fireworks_ai": ("fireworks_ai/nomic-ai/missing-embed", llmrelay.NotFoundError),
    "ollama": ("ollama/missing-embed", llmrelay.NotFoundError),
    "hosted_vllm": ("hosted_vllm/missing-embed", llmrelay.NotFoundError),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(UNKNOWN))
def test_errors(provider: str, mode: str, emulator: Emulator) -> None:
    model, cls = UNKNOWN[provider]
    with pytest.raises(cls) as info:
        embed(mode, input="x", **at(emulator, provider, model=model))
    assert type(info.value) is cls and info.value.provider == provider
    emulator.fail(429, times=3, headers={"retry-after": "0"})
    with pytest.raises(llmrelay.RateLimitError):
        embed(mode, input="x", **at(emulator, provider))
    if provider not in ("ollama",):  # Ollama checks no key
        with pytest.raises(llmrelay.AuthenticationError):
            embed(mode, input="x", **at(emulator, provider, api_key="wrong"))


# ---- the official clients -------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_mistralai_parses_the_emulator(mode: str, emulator: Emulator) -> None:
    client = Mistral(api_key=emulator.api_key, server_url=emulator.url + "/mistral")
    kw: dict[str, Any] = {"model": "codestral-embed", "inputs": ["hello there", "b"],
                          "output_dimension": 128}
    resp = (client.embeddings.create(**kw) if mode == "sync"
            else asyncio.run(client.embeddings.create_async(**kw)))
    assert isinstance(resp, EmbeddingResponse)
    assert [d.embedding for d in resp.data] == [vector("hello there", 128), vector("b", 128)]
    assert resp.usage.prompt_tokens == 3 and resp.id


@pytest.mark.parametrize("params", [
    {"model": "mistral/mistral-embed", "input": ["a", "b"]},
    {"model": "mistral/codestral-embed", "input": "q", "dimensions": 512,
     "output_dtype": "float"},
])
def test_our_mistral_bodies_are_the_sdk_s(params: dict[str, Any], emulator: Emulator) -> None:
    llmrelay.embedding(api_base=emulator.base_url("mistral"), api_key=emulator.api_key, **params)
    ours = emulator.requests[-1].body
    EmbeddingRequest.model_validate(ours)  # ``input`` is the wire alias of ``inputs``
    assert set(ours) <= {f.alias or n for n, f in EmbeddingRequest.model_fields.items()}
    client = Mistral(api_key=emulator.api_key, server_url=emulator.url + "/mistral")
    client.embeddings.create(**{("inputs" if k == "input" else k): v for k, v in ours.items()})
    assert emulator.requests[-1].body == ours


@pytest.mark.parametrize("provider", ["together_ai", "fireworks_ai", "ollama", "hosted_vllm"])
def test_openai_client_parses_the_emulator(provider: str, emulator: Emulator) -> None:
    model, size, _, _ = EMBEDDERS[provider]
    with openai.OpenAI(base_url=emulator.base_url(provider), api_key=emulator.api_key,
                       max_retries=0) as client:
        resp = client.embeddings.create(model=model.split("/", 1)[1], input=["a", "b"])
    for item, text in zip(resp.data, ["a", "b"]):  # sent as base64 float32, decoded by the SDK
        assert item.embedding == pytest.approx(vector(text, size), abs=1e-7)
    assert resp.usage.total_tokens == 2
