"""Inputs above a provider's batch limit: split, sent at most 8 at once, each batch with its own
retries, answered in input order with summed usage, failing whole, bounded by force_timeout.
The emulators enforce the real limits, so an unsplit batch would fail."""

from __future__ import annotations

import time
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from llmrelay.testing.vectors import vector
from tests.helpers import at, embed

MODES = ["sync", "async"]

# provider -> (model, limit, path the emulator serves, vector size); short vectors where the
# model takes ``dimensions``, so that two thousand of them stay cheap to send.
LIMITS: dict[str, tuple[str, int, str, int]] = {
    "openai": ("text-embedding-3-small", 2048, "/v1/embeddings", 8),
    "azure": ("azure/text-embedding-3-small", 2048, "/embeddings", 8),
    "openrouter": ("openrouter/openai/text-embedding-3-small", 2048, "/api/v1/embeddings", 8),
    "cohere": ("cohere/embed-english-v3.0", 96, "/v2/embed", 1024),
}


def texts(n: int, prefix: str = "t") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def sent_texts(emulator: Emulator) -> list[list[str]]:
    return [r.body.get("input") or r.body.get("texts") for r in emulator.requests]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(LIMITS))
def test_one_over_the_limit_is_two_requests(provider: str, mode: str, emulator: Emulator) -> None:
    model, limit, path, dims = LIMITS[provider]
    inputs = texts(limit + 1)
    dimensions = None if provider == "cohere" else dims
    resp = embed(mode, model=model, input=inputs, dimensions=dimensions, **at(emulator, provider))
    assert emulator.count(path=path) == 2
    assert sorted(len(t) for t in sent_texts(emulator)) == [1, limit]
    assert [d.index for d in resp.data] == list(range(limit + 1))
    assert resp.data[limit].embedding == vector(inputs[limit], dims)
    assert resp.data[0].embedding == vector(inputs[0], dims)
    assert resp.usage is not None and resp.usage.prompt_tokens == limit + 1
    assert len(resp.meta.parts) == 2 and resp.meta.attempts == 2


@pytest.mark.parametrize("provider", list(LIMITS))
def test_the_emulator_refuses_an_unsplit_batch(provider: str, emulator: Emulator) -> None:
    """What the batching saves the caller from: the provider's own 400."""
    import httpx

    model, limit, _, _ = LIMITS[provider]
    name = model.split("/", 1)[1] if provider != "openai" else model
    url = {"openai": emulator.base_url("openai") + "/embeddings",
           "openrouter": emulator.base_url("openrouter") + "/embeddings",
           "azure": f"{emulator.url}/openai/deployments/{name}/embeddings?api-version=2024-10-21",
           "cohere": emulator.url + "/v2/embed"}[provider]
    body: dict[str, Any] = ({"model": name, "texts": texts(limit + 1),
                             "input_type": "search_document", "embedding_types": ["float"]}
                            if provider == "cohere" else {"model": name, "input": texts(limit + 1)})
    headers = {"api-key": emulator.api_key, "authorization": f"Bearer {emulator.api_key}"}
    answer = httpx.post(url, json=body, headers=headers)
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize("mode", MODES)
def test_many_batches_keep_order_sum_usage_and_run_at_most_eight_at_once(
    mode: str, emulator: Emulator
) -> None:
    inputs = [f"text number {i}" for i in range(1000)]  # 11 Cohere batches
    emulator.slow(0.05, times=11, provider="cohere")
    resp = embed(mode, model="cohere/embed-v4.0", input=inputs, dimensions=256,
                 **at(emulator, "cohere"))
    assert emulator.count(path="/v2/embed") == 11
    assert [t for batch in sorted(sent_texts(emulator), key=lambda b: int(b[0].split()[-1]))
            for t in batch] == inputs
    assert [d.index for d in resp.data] == list(range(1000))
    assert all(d.embedding == vector(t, 256) for d, t in zip(resp.data, inputs))
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == resp.usage.total_tokens == 3000
    assert resp.meta.usage is not None and resp.meta.usage.prompt_tokens == 3000
    assert len(resp.meta.parts) == 11 and resp.meta.attempts == 11
    assert sum(u.prompt_tokens for _, u in resp.meta.parts if u is not None) == 3000
    assert 2 <= emulator.peak_in_flight <= 8


@pytest.mark.parametrize("mode", MODES)
def test_a_batch_retries_on_its_own(mode: str, emulator: Emulator) -> None:
    emulator.fail(503, headers={"retry-after-ms": "1"}, provider="cohere", text='"t150"')
    resp = embed(mode, model="cohere/embed-v4.0", input=texts(200), **at(emulator, "cohere"))
    assert [d.index for d in resp.data] == list(range(200))
    assert emulator.count(path="/v2/embed") == 4 and resp.meta.attempts == 4
    assert len(resp.meta.parts) == 3


@pytest.mark.parametrize("mode", MODES)
def test_one_batch_failing_after_its_retries_fails_the_call(mode: str,
                                                            emulator: Emulator) -> None:
    emulator.fail(503, headers={"retry-after-ms": "1"}, provider="cohere", text='"t150"',
                  times=3)
    with pytest.raises(llmrelay.ServiceUnavailableError) as info:
        embed(mode, model="cohere/embed-v4.0", input=texts(200), **at(emulator, "cohere"))
    assert info.value.status_code == 503 and info.value.provider == "cohere"
    failing = [r for r in emulator.requests if "t150" in r.body["texts"]]
    assert len(failing) == 3  # the first attempt and num_retries=2


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_batch_does_not_wait_for_the_others(mode: str, emulator: Emulator) -> None:
    prefix = f"{mode}-"  # requests of an earlier test may still be arriving: count only ours
    emulator.fail(400, provider="cohere", text=f'"{prefix}0"')
    for batch in range(1, 11):
        emulator.slow(3.0, provider="cohere", text=f'"{prefix}{96 * batch}"')
    started = time.perf_counter()
    with pytest.raises(llmrelay.BadRequestError):
        embed(mode, model="cohere/embed-v4.0", input=texts(1000, prefix), **at(emulator, "cohere"))
    assert time.perf_counter() - started < 2.0
    # Batches not started when the failure came never start.
    time.sleep(0.2)
    ours = [r for r in emulator.requests if r.body["texts"][0].startswith(prefix)]
    assert len(ours) <= 10


@pytest.mark.parametrize("mode", MODES)
def test_force_timeout_covers_every_batch(mode: str, emulator: Emulator) -> None:
    emulator.slow(3.0, times=4, provider="cohere")
    started = time.perf_counter()
    with pytest.raises(llmrelay.Timeout, match="force_timeout"):
        embed(mode, model="cohere/embed-v4.0", input=texts(300), force_timeout=0.3,
              **at(emulator, "cohere"))
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("mode", MODES)
def test_base64_and_dimensions_across_batches(mode: str, emulator: Emulator) -> None:
    import base64
    import struct

    resp = embed(mode, model="cohere/embed-v4.0", input=texts(100), dimensions=256,
                 encoding_format="base64", **at(emulator, "cohere"))
    assert all(r.body["output_dimension"] == 256 and r.body["embedding_types"] == ["float"]
               for r in emulator.requests)
    raw = base64.b64decode(resp.data[99].embedding)  # type: ignore[arg-type]
    assert list(struct.unpack("<256f", raw)) == pytest.approx(vector("t99", 256), abs=1e-7)


def test_logger_fn_sees_every_batch(emulator: Emulator) -> None:
    records: list[dict[str, Any]] = []
    llmrelay.embedding(model="cohere/embed-v4.0", input=texts(100), logger_fn=records.append,
                       **at(emulator, "cohere"))
    before = [r for r in records if r["event"] == "pre_api_call"]
    assert sorted(len(r["body"]["texts"]) for r in before) == [4, 96]
    assert all(r["headers"]["authorization"] != f"Bearer {emulator.api_key}" for r in before)
