"""The official SDKs against our embedding emulators, and our requests against the SDKs' own.

``openai`` (OpenAI and Azure clients) and ``cohere`` (v2 client) must parse every answer the
emulators give and raise their own classes for the errors; the bodies llmrelay sends must
validate against the SDKs' request types and equal what the SDKs send for the same call.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from typing import Any, Iterator

import cohere
import httpx
import openai
import pytest
from openai.types import CreateEmbeddingResponse, EmbeddingCreateParams
from pydantic import TypeAdapter

import llmrelay
from llmrelay.testing import Emulator
from llmrelay.testing.vectors import vector
from tests.helpers import at

MODES = ["sync", "async"]
pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")


def openai_client(emu: Emulator, provider: str, asynchronous: bool = False) -> Any:
    if provider == "azure":
        cls: Any = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        return cls(azure_endpoint=emu.url, api_key=emu.api_key, api_version="2024-10-21",
                   max_retries=0)
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return cls(base_url=emu.base_url("openai"), api_key=emu.api_key, max_retries=0)


def sdk_create(emu: Emulator, provider: str, mode: str, **kw: Any) -> Any:
    """``client.embeddings.create`` through the sync or async client."""
    if mode == "sync":
        with openai_client(emu, provider) as client:
            return client.embeddings.create(**kw)

    async def run() -> Any:
        async with openai_client(emu, provider, asynchronous=True) as client:
            return await client.embeddings.create(**kw)

    return asyncio.run(run())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "azure"])
@pytest.mark.parametrize("encoding", [None, "float", "base64"])
def test_openai_sdk_parses_the_emulator(provider: str, mode: str, encoding: str | None,
                                        emulator: Emulator) -> None:
    extra = {} if encoding is None else {"encoding_format": encoding}
    resp = sdk_create(emulator, provider, mode, model="text-embedding-3-small",
                      input=["hello world", "b"], dimensions=32, **extra)
    assert isinstance(resp, CreateEmbeddingResponse)
    # The SDK asks for base64 by default and decodes it into floats itself.
    assert emulator.requests[0].body.get("encoding_format") == (encoding or "base64")
    for item, text in zip(resp.data, ["hello world", "b"]):
        expected = vector(text, 32)
        if encoding == "base64":
            assert isinstance(item.embedding, str)
        else:
            assert item.embedding == pytest.approx(expected, abs=1e-7)
    assert [d.index for d in resp.data] == [0, 1]
    assert resp.usage.prompt_tokens == resp.usage.total_tokens == 3


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_openai_sdk_gets_its_own_error_classes(provider: str, emulator: Emulator) -> None:
    with pytest.raises(openai.NotFoundError):
        sdk_create(emulator, provider, "sync", model="missing-embedder", input="x")
    with pytest.raises(openai.BadRequestError):
        sdk_create(emulator, provider, "sync", model="text-embedding-3-small",
                   input=[f"t{i}" for i in range(2049)], dimensions=8)
    with pytest.raises(openai.BadRequestError):
        sdk_create(emulator, provider, "sync", model="text-embedding-ada-002", input="x",
                   dimensions=8)
    emulator.fail(429)
    with pytest.raises(openai.RateLimitError):
        sdk_create(emulator, provider, "sync", model="text-embedding-3-small", input="x")


# What llmrelay sends for a call, next to what the SDK sends for the same call.
CALLS: list[dict[str, Any]] = [
    {"input": "one string"},
    {"input": ["a", "b"], "encoding_format": "float"},
    {"input": ["a"], "encoding_format": "base64", "dimensions": 64, "user": "u-1"},
    {"input": [1, 2, 3]},
    {"input": [[1, 2], [3]], "encoding_format": "float"},
]


@pytest.mark.parametrize("provider", ["openai", "azure"])
@pytest.mark.parametrize("params", CALLS)
def test_our_openai_bodies_are_the_sdk_s(provider: str, params: dict[str, Any],
                                         emulator: Emulator) -> None:
    model = "text-embedding-3-small"
    llmrelay.embedding(model=f"{provider}/{model}", **params, **at(emulator, provider))
    ours = emulator.requests[-1].body
    # Azure names the model in the URL; the SDK sends it in the body too (Azure ignores it).
    checked = {"model": model, **ours}
    assert set(checked) <= EmbeddingCreateParams.__optional_keys__
    TypeAdapter(EmbeddingCreateParams).validate_python(checked)
    sdk_params = {"encoding_format": "float", **params} if "encoding_format" not in params else params
    sdk_create(emulator, provider, "sync", model=model, **sdk_params)
    theirs = emulator.requests[-1].body
    if provider == "azure":
        theirs.pop("model")
    # A single string or token list travels as a one-element list: the same request.
    if isinstance(params["input"], str) or isinstance(params["input"][0], int):
        theirs["input"] = [theirs["input"]]
    ours = {"encoding_format": "float", **ours}
    assert ours == theirs


# ---- cohere ---------------------------------------------------------------------------------


@pytest.fixture
def co(emulator: Emulator) -> Iterator[Any]:
    http = httpx.Client()
    yield cohere.ClientV2(api_key=emulator.api_key, base_url=emulator.url, httpx_client=http,
                          max_retries=0)
    http.close()


@pytest.mark.parametrize("types", [["float"], ["float", "int8", "uint8", "binary", "ubinary"],
                                   ["base64"]])
def test_cohere_sdk_parses_the_emulator(co: Any, types: list[str]) -> None:
    resp = co.embed(model="embed-v4.0", input_type="search_query", texts=["hello world", "b"],
                    embedding_types=types, output_dimension=256)
    embeddings = resp.embeddings
    if "float" in types:
        assert embeddings.float_ == [vector("hello world", 256), vector("b", 256)]
    for kind in ("int8", "uint8", "binary", "ubinary"):
        if kind in types:
            size = 256 if kind in ("int8", "uint8") else 32
            assert [len(v) for v in getattr(embeddings, kind)] == [size, size]
    if "base64" in types:
        assert len(embeddings.base64) == 2
    assert resp.texts == ["hello world", "b"]
    assert resp.meta.billed_units.input_tokens == 3


def test_cohere_sdk_gets_its_own_error_classes(co: Any, emulator: Emulator) -> None:
    with pytest.raises(cohere.errors.NotFoundError):
        co.embed(model="missing-embed", input_type="search_query", texts=["x"],
                 embedding_types=["float"])
    with pytest.raises(cohere.errors.BadRequestError, match="at most 96 - received 97"):
        co.embed(model="embed-v4.0", input_type="search_query", texts=["x"] * 97,
                 embedding_types=["float"])
    with pytest.raises(cohere.errors.BadRequestError, match="output_dimension"):
        co.embed(model="embed-english-v3.0", input_type="search_query", texts=["x"],
                 embedding_types=["float"], output_dimension=256)
    emulator.fail(429)
    with pytest.raises(cohere.errors.TooManyRequestsError):
        co.embed(model="embed-v4.0", input_type="search_query", texts=["x"],
                 embedding_types=["float"])


def strict(hint: Any) -> Any:
    """A Cohere SDK annotation without its open-ended ``Any`` alternatives (``Literal[...] |
    Any``), so that values are checked against the documented choices."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        kept = tuple(strict(a) for a in args if a is not Any)
        return kept[0] if len(kept) == 1 else typing.Union[kept]
    if origin is not None and args and origin is not typing.Literal:
        return origin[tuple(strict(a) for a in args)]
    return hint


@pytest.mark.parametrize("params", [
    {"input": ["a", "b"]},
    {"input": "q", "input_type": "search_query", "dimensions": 512, "truncate": "END"},
    {"input": ["x"], "input_type": "classification", "max_tokens": 100, "priority": 1},
])
def test_our_cohere_bodies_are_the_sdk_s(params: dict[str, Any], co: Any,
                                         emulator: Emulator) -> None:
    llmrelay.embedding(model="cohere/embed-v4.0", **params, **at(emulator, "cohere"))
    ours = emulator.requests[-1].body
    hints = typing.get_type_hints(cohere.v2.client.V2Client.embed)
    accepted = set(inspect.signature(cohere.v2.client.V2Client.embed).parameters) - {"self"}
    assert set(ours) <= accepted
    for key, value in ours.items():
        TypeAdapter(strict(hints[key])).validate_python(value, strict=True)
    sdk = {"texts": ours["texts"], "input_type": ours["input_type"],
           **{k: v for k, v in ours.items() if k not in ("texts", "input_type")}}
    co.embed(**sdk)
    assert emulator.requests[-1].body == ours
