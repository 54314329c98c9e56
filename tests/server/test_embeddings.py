"""Embeddings through the gateway with the official ``openai`` SDK and raw HTTP, and their rows."""

from __future__ import annotations

import pytest

from .gateway import Gateway


def test_sdk_embeddings_and_row(gw: Gateway) -> None:
    key = gw.create_key(models=["embed"])
    raw = gw.client(key["key"]).embeddings.with_raw_response.create(model="embed", input=["a b", "c"])
    resp = raw.parse()
    assert [d.index for d in resp.data] == [0, 1]
    assert len(resp.data[0].embedding) > 10
    assert raw.headers["x-llmrelay-deployment"] == "embed/5"
    assert float(raw.headers["x-llmrelay-overhead-ms"]) >= 0
    row = gw.row(raw.headers["x-request-id"])
    assert row["model_group"] == "embed" and row["status"] == "success"
    assert row["prompt_tokens"] == resp.usage.prompt_tokens > 0
    assert row["completion_tokens"] == 0 and row["total_tokens"] == resp.usage.total_tokens
    assert row["spend"] is not None and row["spend"] > 0


async def test_async_embeddings_single_string(gw: Gateway) -> None:
    async with gw.aclient() as client:
        resp = await client.embeddings.create(model="embed", input="hello")
    assert len(resp.data) == 1


def test_embeddings_path_without_v1(gw: Gateway) -> None:
    response = gw.post("/embeddings", {"model": "embed", "input": "x"})
    assert response.status_code == 200, response.text
    assert response.json()["object"] == "list"


@pytest.mark.parametrize("body,param", [({"model": "embed"}, "input"),
                                        ({"model": "embed", "input": []}, "input"),
                                        ({"input": "x"}, "model")])
def test_embeddings_bad_bodies(gw: Gateway, body: dict[str, object], param: str) -> None:
    response = gw.post("/v1/embeddings", body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
