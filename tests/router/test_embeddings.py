"""``router.embedding`` / ``aembedding``: the same routing, retries and fallbacks as chat."""

from __future__ import annotations

import asyncio

import pytest

import llmrelay
from llmrelay.testing import Emulator

from .conftest import azure, fail, sent


def embedders(emu: Emulator, **settings: object) -> llmrelay.Router:
    return llmrelay.Router(model_list=[
        azure(emu, "text-embedding-3-small", group="embed", order=1, id="small-eu"),
        azure(emu, "text-embedding-3-large", group="embed", order=2, id="large-us"),
        azure(emu, "text-embedding-ada-002", group="old"),
    ], fallbacks={"embed": ["old"]}, **settings)  # type: ignore[arg-type]


def embed(mode: str, router: llmrelay.Router, **kwargs: object) -> llmrelay.EmbeddingResponse:
    kwargs.setdefault("model", "embed")
    kwargs.setdefault("input", ["alpha", "beta"])
    if mode == "sync":
        return router.embedding(**kwargs)  # type: ignore[arg-type]
    return asyncio.run(router.aembedding(**kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_embedding_through_the_router(emu: Emulator, mode: str) -> None:
    router = embedders(emu)
    resp = embed(mode, router)
    assert [d.index for d in resp.data] == [0, 1]
    assert len(resp.data[0].embedding) == 1536
    assert (resp.meta.deployment, resp.meta.attempts) == ("small-eu", 1)
    small = router.deployments()[0]
    assert (small.rpm_used, small.tpm_used) == (1, resp.usage.total_tokens)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_embedding_retries_elsewhere_and_falls_back(emu: Emulator, mode: str) -> None:
    router = embedders(emu, num_retries=1)
    fail(emu, "text-embedding-3-small", 500)
    resp = embed(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts) == ("large-us", 2)
    fail(emu, "text-embedding-3-small", 503)
    fail(emu, "text-embedding-3-large", 429)
    resp = embed(mode, router)
    assert (resp.meta.deployment, resp.meta.attempts) == ("text-embedding-ada-002", 3)
    assert sent(emu, "text-embedding-ada-002") == 1


def test_embedding_request_errors_are_raised_at_once(emu: Emulator) -> None:
    router = embedders(emu)
    with pytest.raises(llmrelay.BadRequestError):
        router.embedding(model="embed", input=["ok", ""])
    assert sent(emu, "text-embedding-3-large") == 0
