"""Each provider's embeddings translation, round-tripped through its emulator: the request it
sends, the answer it reads, and its errors."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from llmrelay.testing.vectors import vector
from tests.helpers import at, embed

MODES = ["sync", "async"]


# ---- Cohere ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_cohere_request_and_answer(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model="cohere/embed-v4.0", input=["hello there", "b"],
                 **at(emulator, "cohere"))
    sent = emulator.requests[0]
    assert sent.path == "/v2/embed"
    assert sent.headers["authorization"] == f"Bearer {emulator.api_key}"
    assert sent.body == {"model": "embed-v4.0", "texts": ["hello there", "b"],
                         "input_type": "search_document", "embedding_types": ["float"]}
    assert resp.model == "embed-v4.0"
    assert [d.embedding for d in resp.data] == [vector("hello there", 1536), vector("b", 1536)]
    assert resp.usage is not None and resp.usage.model_dump() == {"prompt_tokens": 3,
                                                                  "total_tokens": 3}
    assert resp.meta.provider == "cohere" and resp.meta.parts == [("embed-v4.0", resp.usage)]


@pytest.mark.parametrize("mode", MODES)
def test_cohere_input_type_dimensions_and_extras_pass_through(mode: str,
                                                              emulator: Emulator) -> None:
    resp = embed(mode, model="embed-v4.0", input="q", input_type="search_query", dimensions=512,
                 truncate="END", **at(emulator, "cohere"))
    assert emulator.requests[0].body == {
        "model": "embed-v4.0", "texts": ["q"], "input_type": "search_query",
        "embedding_types": ["float"], "output_dimension": 512, "truncate": "END"}
    assert len(resp.data[0].embedding) == 512


@pytest.mark.parametrize(("model", "params", "param"), [
    ("cohere/embed-english-v3.0", {"dimensions": 256}, "dimensions"),
    ("cohere/embed-v4.0", {"user": "u"}, "user"),
    ("cohere/embed-v4.0", {"embedding_types": ["int8"]}, "embedding_types"),
])
def test_cohere_refuses_what_it_cannot_take(model: str, params: dict[str, Any], param: str,
                                            emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError) as info:
        llmrelay.embedding(model=model, input="x", **params, **at(emulator, "cohere"))
    assert info.value.param == param and emulator.count() == 0
    llmrelay.embedding(model=model, input="x", drop_params=True, **params,
                       **at(emulator, "cohere"))
    assert emulator.requests[0].body == {"model": model.split("/")[1], "texts": ["x"],
                                         "input_type": "search_document",
                                         "embedding_types": ["float"]}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "cls"), [
    (400, llmrelay.BadRequestError), (401, llmrelay.AuthenticationError),
    (402, llmrelay.PermissionDeniedError), (404, llmrelay.NotFoundError),
    (429, llmrelay.RateLimitError), (500, llmrelay.InternalServerError),
    (503, llmrelay.ServiceUnavailableError),
])
def test_cohere_errors(mode: str, status: int, cls: type[Exception], emulator: Emulator) -> None:
    emulator.fail(status, times=3, headers={"retry-after-ms": "1"})
    with pytest.raises(cls) as info:
        embed(mode, model="cohere/embed-v4.0", input="x", **at(emulator, "cohere"))
    assert type(info.value) is cls
    assert info.value.status_code == status and info.value.provider == "cohere"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
def test_cohere_unknown_model_and_wrong_key(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError, match="model 'missing-embed' not found"):
        embed(mode, model="cohere/missing-embed", input="x", **at(emulator, "cohere"))
    with pytest.raises(llmrelay.AuthenticationError, match="invalid api token"):
        embed(mode, model="cohere/embed-v4.0", input="x", api_base=emulator.url, api_key="bad")


def test_cohere_key_from_either_variable(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", emulator.api_key)
    monkeypatch.setenv("COHERE_API_BASE", emulator.url)
    assert llmrelay.embedding(model="embed-v4.0", input="x").data[0].index == 0


# ---- Azure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_azure_request_and_answer(mode: str, emulator: Emulator) -> None:
    resp = embed(mode, model="azure/text-embedding-3-small", input=["a", "b"], dimensions=64,
                 api_version="2024-06-01", **at(emulator, "azure"))
    sent = emulator.requests[0]
    assert sent.path == "/openai/deployments/text-embedding-3-small/embeddings"
    assert sent.query == {"api-version": "2024-06-01"}
    assert sent.headers["api-key"] == emulator.api_key and "authorization" not in sent.headers
    assert sent.body == {"input": ["a", "b"], "dimensions": 64}
    assert [d.embedding for d in resp.data] == [vector("a", 64), vector("b", 64)]
    assert resp.meta.provider == "azure" and resp.meta.request_id == "req_emulator"


@pytest.mark.parametrize("mode", MODES)
def test_azure_flag_env_and_entra_token(mode: str, emulator: Emulator,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_BASE", emulator.url)
    monkeypatch.setenv("AZURE_API_VERSION", "2024-10-21")
    embed(mode, model="text-embedding-3-large", azure=True, input="x",
          azure_ad_token=emulator.api_key)
    sent = emulator.requests[0]
    assert sent.path == "/openai/deployments/text-embedding-3-large/embeddings"
    assert sent.headers["authorization"] == f"Bearer {emulator.api_key}"
    assert sent.query == {"api-version": "2024-10-21"}


@pytest.mark.parametrize("mode", MODES)
def test_azure_errors(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.NotFoundError, match="deployment for this resource does not exist"):
        embed(mode, model="azure/missing-embedder", input="x", **at(emulator, "azure"))
    with pytest.raises(llmrelay.BadRequestError, match="embeddings operation does not work"):
        embed(mode, model="azure/gpt-4o", input="x", **at(emulator, "azure"))
    with pytest.raises(llmrelay.AuthenticationError, match="Access denied"):
        embed(mode, model="azure/text-embedding-3-small", input="x", api_base=emulator.url,
              api_key="bad")


def test_azure_needs_a_base_url(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="AZURE_API_BASE"):
        llmrelay.embedding(model="azure/text-embedding-3-small", input="x", api_key="k")
    assert emulator.count() == 0


# ---- OpenRouter -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_request_and_answer(mode: str, emulator: Emulator,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OR_SITE_URL", "https://example.test")
    monkeypatch.setenv("OR_APP_NAME", "llmrelay tests")
    resp = embed(mode, model="openrouter/openai/text-embedding-3-small", input=["a", "b"],
                 encoding_format="base64", provider={"order": ["OpenAI"]},
                 **at(emulator, "openrouter"))
    sent = emulator.requests[0]
    assert sent.path == "/api/v1/embeddings"
    assert sent.headers["http-referer"] == "https://example.test"
    assert sent.headers["x-title"] == "llmrelay tests"
    # base64 is encoded by llmrelay: the upstream is asked for floats.
    assert sent.body == {"model": "openai/text-embedding-3-small", "input": ["a", "b"],
                         "provider": {"order": ["OpenAI"]}}
    assert resp.model == "openai/text-embedding-3-small"
    assert all(isinstance(d.embedding, str) for d in resp.data)


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_errors(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="not a valid model ID"):
        embed(mode, model="openrouter/openai/missing-embedder", input="x",
              **at(emulator, "openrouter"))
    emulator.fail(402)
    with pytest.raises(llmrelay.APIError, match="Insufficient credits") as info:
        embed(mode, model="openrouter/openai/text-embedding-3-small", input="x",
              **at(emulator, "openrouter"))
    assert info.value.status_code == 402


# ---- OpenAI ---------------------------------------------------------------------------------


def test_openai_organization_and_project_headers(emulator: Emulator,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ORGANIZATION", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT", "proj-1")
    llmrelay.embedding(model="text-embedding-3-small", input="x", **at(emulator, "openai"))
    headers = emulator.requests[0].headers
    assert (headers["openai-organization"], headers["openai-project"]) == ("org-1", "proj-1")


@pytest.mark.parametrize("mode", MODES)
def test_openai_compatible_servers_through_api_base(mode: str, emulator: Emulator) -> None:
    """``openai/<any model>`` with ``api_base`` is how OpenAI-compatible servers are reached."""
    resp = embed(mode, model="openai/nomic-embed-text", input="x", **at(emulator, "openai"))
    assert resp.model == "nomic-embed-text" and emulator.requests[0].body["model"] == "nomic-embed-text"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "cls"), [
    (400, llmrelay.BadRequestError), (401, llmrelay.AuthenticationError),
    (404, llmrelay.NotFoundError), (429, llmrelay.RateLimitError),
    (500, llmrelay.InternalServerError), (503, llmrelay.ServiceUnavailableError),
])
def test_openai_errors(mode: str, status: int, cls: type[Exception], emulator: Emulator) -> None:
    emulator.fail(status, times=3, headers={"retry-after-ms": "1"})
    with pytest.raises(cls) as info:
        embed(mode, model="text-embedding-3-small", input="x", **at(emulator, "openai"))
    assert type(info.value) is cls and info.value.request_id == "req_emulator_error"  # type: ignore[attr-defined]
