"""The recorded embeddings traffic (tests/recorded, real provider answers) through our
translation: the requests we build match what was sent, the answers parse to what the raw
recording says, and the errors map to their classes, directly and end to end."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Callable

import pytest

import llmrelay
from llmrelay.config import ProviderSettings
from llmrelay.embedding_types import EmbeddingRequest
from llmrelay.providers.base import CallContext
from llmrelay.registry import get_adapter
from llmrelay.testing import Emulator
from tests.conftest import RECORDED, is_embedding, load, recorded
from tests.helpers import at

SETTINGS = ProviderSettings(api_key="k", base_url="http://recorded")

# recording -> the EmbeddingRequest (as the core would hand it to the adapter) it stands for.
REQUESTS: dict[str, EmbeddingRequest] = {
    "openai/embed_base64": {"model": "text-embedding-3-small", "input": ["Hello, world!"],
                            "encoding_format": "base64"},
    "cohere/embed_v2_float": {"model": "embed-v4.0", "input": ["Hello, world!"],
                              "input_type": "search_query", "truncate": "NONE"},  # type: ignore[typeddict-unknown-key]
    "gemini/embed_batch_dimensions": {"model": "gemini-embedding-2-preview",
                                      "input": ["Hello, world!"], "dimensions": 768,
                                      "task_type": "RETRIEVAL_QUERY"},  # type: ignore[typeddict-unknown-key]
}
ERRORS: dict[str, type[llmrelay.APIError]] = {
    "openai/error_404_embed_model_not_found": llmrelay.NotFoundError,
    "cohere/error_404_embed": llmrelay.NotFoundError,
    "gemini/error_404_embed": llmrelay.NotFoundError,
}
# Bedrock's embeddings (InvokeModel) are built on the seam by the Bedrock provider, whose
# tests replay its recordings.
ELSEWHERE = ("bedrock",)


def name(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_every_embedding_recording_is_replayed() -> None:
    found = {name(p) for p in RECORDED.glob("*/*.json")
             if is_embedding(p) and p.parent.name not in ELSEWHERE}
    assert found == set(REQUESTS) | set(ERRORS)


def without_nulls(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("key", list(REQUESTS))
def test_request_matches_the_recording(key: str) -> None:
    provider = key.split("/")[0]
    recording = load(RECORDED / f"{key}.json")
    # The providers' default base URLs, on a recorded host: OpenAI's carries /v1.
    base = "http://recorded" + ("/v1" if provider == "openai" else "")  # Gemini's: added
    settings = ProviderSettings(api_key="k", base_url=base)
    request = get_adapter(provider).embeddings.build_request(REQUESTS[key], settings)  # type: ignore[union-attr]
    assert request.url == "http://recorded" + recording["request"]["path"]
    assert request.json == without_nulls(recording["request"]["body"])


def test_openai_base64_answer_is_kept_as_sent() -> None:
    recording = load(RECORDED / "openai/embed_base64.json")
    body = recording["response"]["body"]
    resp = get_adapter("openai").embeddings.parse_response(  # type: ignore[union-attr]
        body, REQUESTS["openai/embed_base64"])
    assert resp.model_dump() == body
    raw = base64.b64decode(resp.data[0].embedding)  # type: ignore[arg-type]
    assert len(raw) == 4 * 1536


def test_cohere_float_answer_becomes_openai_s_list() -> None:
    recording = load(RECORDED / "cohere/embed_v2_float.json")
    body = recording["response"]["body"]
    resp = get_adapter("cohere").embeddings.parse_response(  # type: ignore[union-attr]
        body, REQUESTS["cohere/embed_v2_float"])
    assert resp.model_dump() == {
        "object": "list", "model": "embed-v4.0",
        "data": [{"object": "embedding", "index": 0, "embedding": body["embeddings"]["float"][0]}],
        "usage": {"prompt_tokens": 4, "total_tokens": 4}}
    as_base64 = get_adapter("cohere").embeddings.parse_response(  # type: ignore[union-attr]
        body, {**REQUESTS["cohere/embed_v2_float"], "encoding_format": "base64"})
    raw = base64.b64decode(as_base64.data[0].embedding)  # type: ignore[arg-type]
    assert len(raw) == 4 * len(body["embeddings"]["float"][0])


def test_gemini_answer_becomes_openai_s_list() -> None:
    recording = load(RECORDED / "gemini/embed_batch_dimensions.json")
    body = recording["response"]["body"]
    resp = get_adapter("gemini").embeddings.parse_response(  # type: ignore[union-attr]
        body, REQUESTS["gemini/embed_batch_dimensions"])
    values = body["embeddings"][0]["values"]
    assert len(values) == 768
    assert resp.model_dump() == {
        "object": "list", "model": "gemini-embedding-2-preview",
        "data": [{"object": "embedding", "index": 0, "embedding": values}], "usage": None}


@pytest.mark.parametrize("key", list(ERRORS))
def test_recorded_errors_map_to_their_class(key: str) -> None:
    provider = key.split("/")[0]
    response = load(RECORDED / f"{key}.json")["response"]
    ctx = CallContext(provider, "nonexistent", {"model": "nonexistent"}, SETTINGS)
    error = get_adapter(provider).parse_error(response["status"], response["body"],
                                              response["headers"], ctx)
    assert type(error) is ERRORS[key]
    assert error.message in json.dumps(response["body"])


# The recorded answers served by the emulator (a scripted reply), read by the real call path.
SERVED: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "openai/embed_base64": ("openai", lambda: {"model": "text-embedding-3-small",
                                               "encoding_format": "base64"}),
    "cohere/embed_v2_float": ("cohere", lambda: {"model": "cohere/embed-v4.0",
                                                 "input_type": "search_query"}),
    "openai/error_404_embed_model_not_found": ("openai", lambda: {"model": "openai/nonexistent"}),
    "cohere/error_404_embed": ("cohere", lambda: {"model": "cohere/nonexistent"}),
    "gemini/embed_batch_dimensions": ("gemini", lambda: {
        "model": "gemini/gemini-embedding-2-preview", "dimensions": 768,
        "task_type": "RETRIEVAL_QUERY"}),
    "gemini/error_404_embed": ("gemini", lambda: {"model": "gemini/nonexistent-embedding"}),
}


@pytest.mark.parametrize("key", list(SERVED))
def test_recorded_answers_through_the_whole_call(key: str, emulator: Emulator) -> None:
    provider, kwargs = SERVED[key]
    response = load(RECORDED / f"{key}.json")["response"]
    data = json.dumps(response["body"]).encode()
    if response["status"] == 200:
        emulator.malformed(body=data)  # a scripted 200 with exactly these bytes
        resp = llmrelay.embedding(input="Hello, world!", **kwargs(), **at(emulator, provider))
        tokens = 0 if provider == "gemini" else 4  # Gemini's API counts none
        assert resp.usage is not None and resp.usage.prompt_tokens == tokens
        assert len(resp.data) == 1
    else:
        emulator.fail(response["status"], body=response["body"])
        with pytest.raises(ERRORS[key]) as info:
            llmrelay.embedding(input="Hello, world!", **kwargs(), **at(emulator, provider))
        assert info.value.response == response["body"] and info.value.provider == provider


def test_chat_replays_leave_embedding_recordings_alone() -> None:
    from tests.conftest import chat_recordings

    for provider in ("openai", "cohere", "gemini"):
        assert not [p for p in chat_recordings(provider) if is_embedding(p)]
        assert [p for p in recorded(provider) if is_embedding(p)]
