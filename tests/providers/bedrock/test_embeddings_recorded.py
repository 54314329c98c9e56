"""The recorded Bedrock embeddings traffic (tests/recorded/bedrock/embed_*.json: real InvokeModel
calls made through boto3) through our translation: the body we build for the same call is the
one boto3 sent, and the recorded answers parse to OpenAI's list, directly and end to end."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import llmrelay
from llmrelay.config import ProviderSettings
from llmrelay.embedding_types import EmbeddingRequest
from llmrelay.providers.bedrock import ADAPTER
from llmrelay.testing import Emulator, aws
from tests.conftest import RECORDED, is_embedding, load, recorded

ENDPOINT = ADAPTER.embeddings
assert ENDPOINT is not None
SETTINGS = ProviderSettings(api_key=None, base_url="https://bedrock-runtime.us-east-1.amazonaws.com",
                            options={"aws_region_name": "us-east-1"})

# recording -> the EmbeddingRequest (as the core hands it to the adapter) it stands for.
REQUESTS: dict[str, EmbeddingRequest] = {
    "embed_titan_v2": {"model": "amazon.titan-embed-text-v2:0",
                       "input": ["Test embedding dimensions"], "dimensions": 256,
                       "normalize": True},  # type: ignore[typeddict-unknown-key]
    "embed_cohere_v3": {"model": "cohere.embed-english-v3", "input": ["Test input type setting"],
                        "input_type": "classification", "truncate": "NONE"},  # type: ignore[typeddict-unknown-key]
    "embed_cohere_v4": {"model": "cohere.embed-v4:0", "input": ["Test dimensions setting"],
                        "input_type": "search_query", "dimensions": 512,
                        "truncate": "NONE"},  # type: ignore[typeddict-unknown-key]
}
DIMENSIONS = {"embed_titan_v2": 256, "embed_cohere_v3": 1024, "embed_cohere_v4": 512}


def recording(key: str) -> dict[str, Any]:
    data = load(RECORDED / "bedrock" / f"{key}.json")
    assert isinstance(data, dict)
    return data


def recorded_vector(key: str) -> list[float]:
    body = recording(key)["response"]["body"]
    if "embedding" in body:
        return list(body["embedding"])
    embeddings = body["embeddings"]
    return list((embeddings["float"] if isinstance(embeddings, dict) else embeddings)[0])


def test_every_bedrock_embedding_recording_is_replayed() -> None:
    assert {p.stem for p in recorded("bedrock") if is_embedding(p)} == set(REQUESTS)


@pytest.mark.parametrize("key", list(REQUESTS))
def test_our_request_is_the_recorded_one(key: str) -> None:
    sent = recording(key)["request"]
    request = ENDPOINT.build_request(REQUESTS[key], SETTINGS)
    assert request.method == sent["method"]
    assert request.url == SETTINGS.base_url + sent["path"]
    assert request.json == sent["body"]
    assert {k: request.headers[k] for k in sent["headers"]} == sent["headers"]


@pytest.mark.parametrize("key", list(REQUESTS))
def test_recorded_answer_becomes_openai_s_list(key: str) -> None:
    body = recording(key)["response"]["body"]
    resp = ENDPOINT.parse_response(body, REQUESTS[key])
    values = recorded_vector(key)
    assert len(values) == DIMENSIONS[key]
    usage = {"prompt_tokens": 4, "total_tokens": 4} if key == "embed_titan_v2" else None
    assert resp.model_dump() == {
        "object": "list", "model": REQUESTS[key]["model"],
        "data": [{"object": "embedding", "index": 0, "embedding": values}], "usage": usage}
    encoded = ENDPOINT.parse_response(body, {**REQUESTS[key], "encoding_format": "base64"})
    raw = base64.b64decode(encoded.data[0].embedding)  # type: ignore[arg-type]
    assert len(raw) == 4 * DIMENSIONS[key]


@pytest.mark.parametrize("body", [
    {"embeddings": {"int8": [[1, 2]]}, "id": "x", "response_type": "embeddings_by_type"},
    {"embeddings": "nope"},
    {"message": "not an answer"},
])
def test_a_body_of_the_wrong_shape_is_an_api_error(body: dict[str, Any],
                                                    emulator: Emulator) -> None:
    emulator.malformed(body=json.dumps(body).encode())
    with pytest.raises(llmrelay.APIError, match="bedrock") as info:
        llmrelay.embedding(model="bedrock/cohere.embed-v4:0", input="x",
                           api_base=emulator.base_url("bedrock"), api_key=emulator.api_key)
    assert info.value.provider == "bedrock" and info.value.response == body


@pytest.mark.parametrize("key", list(REQUESTS))
def test_recorded_answers_through_the_whole_call(key: str, emulator: Emulator) -> None:
    """The recorded bytes served as the answer (the recorder kept no token-count header, so
    Cohere's usage is unknown here; Titan's is in its body)."""
    request = dict(REQUESTS[key])
    text, model = request.pop("input")[0], f"bedrock/{request.pop('model')}"
    emulator.malformed(body=json.dumps(recording(key)["response"]["body"]).encode())
    resp = llmrelay.embedding(model=model, input=text, **request,
                              api_base=emulator.base_url("bedrock"),
                              aws_access_key_id=aws.ACCESS_KEY_ID,
                              aws_secret_access_key=aws.SECRET_ACCESS_KEY,
                              aws_region_name="us-east-1")
    assert emulator.requests[-1].body == recording(key)["request"]["body"]
    assert emulator.requests[-1].path == recording(key)["request"]["path"]
    assert resp.data[0].embedding == recorded_vector(key)
    if key == "embed_titan_v2":
        assert resp.meta.usage is not None and resp.meta.usage.prompt_tokens == 4
    else:
        assert resp.meta.usage is None and resp.meta.cost is None


def test_chat_replays_leave_embedding_recordings_alone() -> None:
    from tests.conftest import chat_recordings

    assert not [p for p in chat_recordings("bedrock") if is_embedding(p)]

