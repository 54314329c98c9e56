"""llmrelay against the family emulator over real sockets, sync and async: every provider's
answers, streams, tool calls, reasoning, ``n``, auth, faults and error statuses."""

from __future__ import annotations

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import call
from tests.providers.compat.family import FAMILY, NAMES, THINKERS, THOUGHT, TOOLS, WITH_TOOLS, at

MODES = ["sync", "async"]
TEXT = "Hello from the emulator. You said: Hi there"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_text(name: str, mode: str, emulator: Emulator) -> None:
    resp = call(mode, **at(emulator, name, max_tokens=50))
    assert resp.choices[0].message.content == TEXT
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens > 0
    sent = emulator.requests[-1]
    assert sent.provider == name and sent.path.endswith(FAMILY[name].path)
    assert sent.body["model"] == FAMILY[name].model.split("/", 1)[1]
    assert sent.headers["authorization"] == f"Bearer {emulator.api_key}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_stream_and_usage_only_when_asked(name: str, mode: str, emulator: Emulator) -> None:
    plain = call(mode, **at(emulator, name, stream=True))
    assert all(c.usage is None for c in plain)
    assert llmrelay.stream_chunk_builder(plain).choices[0].message.content == TEXT
    chunks = call(mode, **at(emulator, name, stream=True, stream_options={"include_usage": True}))
    assert [c for c in chunks if c.usage is not None] == [chunks[-1]]
    assert chunks[-1].choices == []
    whole = call(mode, **at(emulator, name))
    assert chunks[-1].usage.total_tokens == whole.usage.total_tokens
    assert [c.choices[0].finish_reason for c in chunks if c.choices].count("stop") == 1
    assert all(c.object == "chat.completion.chunk" and c.id for c in chunks)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", WITH_TOOLS)
def test_tool_call(name: str, mode: str, emulator: Emulator) -> None:
    resp = call(mode, **at(emulator, name, tools=TOOLS))
    tool = resp.choices[0].message.tool_calls[0]
    assert (tool.type, tool.function.name, tool.function.arguments) == (
        "function", "get_weather", '{"city": "city-1"}')
    assert resp.choices[0].finish_reason == "tool_calls"
    built = llmrelay.stream_chunk_builder(call(mode, **at(emulator, name, tools=TOOLS, stream=True)))
    streamed = built.choices[0].message.tool_calls[0]
    assert (streamed.id, streamed.function.name, streamed.function.arguments) == (
        tool.id, "get_weather", '{"city": "city-1"}')
    assert built.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", THINKERS)
def test_reasoning_content(name: str, mode: str, emulator: Emulator) -> None:
    kw = at(emulator, name, model=FAMILY[name].thinker)
    resp = call(mode, **kw)
    assert resp.choices[0].message.reasoning_content == THOUGHT
    assert resp.choices[0].message.content == TEXT
    built = llmrelay.stream_chunk_builder(call(mode, **kw, stream=True))
    assert built.choices[0].message.reasoning_content == THOUGHT
    assert built.choices[0].message.content == TEXT


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_n_returns_n_choices(name: str, mode: str, emulator: Emulator) -> None:
    resp = call(mode, **at(emulator, name, n=3))
    assert [c.index for c in resp.choices] == [0, 1, 2]
    assert all(c.message.content == TEXT for c in resp.choices)
    native = FAMILY[name].native_n
    assert emulator.count(name) == (1 if native else 3)
    assert all(("n" in r.body) == native for r in emulator.requests)
    chunks = call(mode, **at(emulator, name, n=2, stream=True))
    assert sorted({c.choices[0].index for c in chunks if c.choices}) == [0, 1]


STATUSES = [
    (400, llmrelay.BadRequestError, 1),
    (401, llmrelay.AuthenticationError, 1),
    (403, llmrelay.PermissionDeniedError, 1),
    (404, llmrelay.NotFoundError, 1),
    (422, llmrelay.BadRequestError, 1),
    (429, llmrelay.RateLimitError, 2),
    (500, llmrelay.InternalServerError, 2),
    (503, llmrelay.ServiceUnavailableError, 2),
]


@pytest.mark.parametrize(("status", "cls", "attempts"), STATUSES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_error_statuses(name: str, mode: str, status: int, cls: type[Exception], attempts: int,
                        emulator: Emulator) -> None:
    emulator.fail(status, times=5, provider=name, headers={"retry-after": "0"})
    with pytest.raises(cls) as info:
        call(mode, **at(emulator, name, num_retries=1))
    error = info.value
    assert error.status_code == status and error.provider == name  # type: ignore[attr-defined]
    assert error.message and error.response is not None  # type: ignore[attr-defined]
    assert emulator.count(name) == attempts


@pytest.mark.parametrize(("name", "status", "cls", "text"), [
    ("deepseek", 402, llmrelay.BadRequestError, "Insufficient Balance"),
    ("groq", 498, llmrelay.ServiceUnavailableError, "Error"),
    ("mistral", 429, llmrelay.RateLimitError, "Rate limit exceeded"),
])
def test_provider_specific_statuses(name: str, status: int, cls: type[Exception], text: str,
                                    emulator: Emulator) -> None:
    emulator.fail(status, provider=name, headers={"retry-after": "0"})
    with pytest.raises(cls, match=text) as info:
        call("sync", **at(emulator, name, num_retries=0))
    assert info.value.status_code == status  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", [n for n in NAMES if n != "ollama"])
def test_wrong_key_is_an_authentication_error(name: str, mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError) as info:
        call(mode, **at(emulator, name, api_key="sk-wrong-key"))
    # xAI answers a wrong key with 400; Perplexity's proxy with an HTML page.
    assert info.value.status_code == (400 if name == "xai" else 401)
    assert "sk-wrong-key" not in str(info.value) + repr(info.value.response)
    if name == "perplexity":
        assert info.value.message == "401 Authorization Required"


@pytest.mark.parametrize("name", [n for n in NAMES if FAMILY[n].key_env and n != "hosted_vllm"])
def test_missing_key_names_the_env_var(name: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.AuthenticationError, match=str(FAMILY[name].key_env)):
        llmrelay.completion(model=FAMILY[name].model, messages=[{"role": "user", "content": "x"}],
                            api_base=emulator.base_url(name))
    assert emulator.count() == 0


def test_together_takes_either_key_variable(emulator: Emulator,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHERAI_API_KEY", emulator.api_key)
    resp = llmrelay.completion(**{**at(emulator, "together_ai"), "api_key": None},
                               messages=[{"role": "user", "content": "x"}])
    assert resp.choices[0].message.content.endswith("x")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_key_and_base_from_the_environment(name: str, mode: str, emulator: Emulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    provider = FAMILY[name]
    monkeypatch.setenv(provider.base_env, emulator.base_url(name))
    if provider.key_env:
        monkeypatch.setenv(provider.key_env, emulator.api_key)
    resp = call(mode, model=provider.model)
    assert resp.choices[0].message.content == TEXT


@pytest.mark.parametrize("mode", MODES)
def test_ollama_needs_no_key_and_sends_none(mode: str, emulator: Emulator,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # OLLAMA_API_BASE is often the server root: /v1 is added.
    monkeypatch.setenv("OLLAMA_API_BASE", emulator.url + "/ollama")
    resp = call(mode, model="ollama/llama3.2")
    assert resp.choices[0].message.content == TEXT
    sent = emulator.requests[-1]
    assert sent.path == "/ollama/v1/chat/completions" and "authorization" not in sent.headers
    call(mode, model="ollama/llama3.2", api_key="anything")  # a key is ignored, as Ollama does
    assert emulator.requests[-1].headers["authorization"] == "Bearer anything"


@pytest.mark.parametrize("mode", MODES)
def test_hosted_vllm_key_is_optional(mode: str, emulator: Emulator) -> None:
    open_base = emulator.url + "/vllm/open"  # a server started without --api-key; /v1 added
    resp = call(mode, model="hosted_vllm/my-model", api_base=open_base)
    assert resp.choices[0].message.content == TEXT
    assert "authorization" not in emulator.requests[-1].headers
    assert emulator.requests[-1].path == "/vllm/open/v1/chat/completions"
    with pytest.raises(llmrelay.AuthenticationError, match="Unauthorized"):
        call(mode, model="hosted_vllm/my-model", api_base=emulator.base_url("hosted_vllm"))


def test_hosted_vllm_without_a_base_is_a_bad_request(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.BadRequestError, match="HOSTED_VLLM_API_BASE") as info:
        llmrelay.completion(model="hosted_vllm/my-model", messages=[{"role": "user", "content": "x"}])
    assert info.value.provider == "hosted_vllm" and emulator.count() == 0


@pytest.mark.parametrize(("name", "cls", "text"), [
    ("mistral", llmrelay.BadRequestError, "Invalid model"),
    ("groq", llmrelay.NotFoundError, "does not exist"),
    ("deepseek", llmrelay.BadRequestError, "Model Not Exist"),
    ("xai", llmrelay.NotFoundError, "does not exist"),
    ("together_ai", llmrelay.BadRequestError, "Unable to access model"),
    ("fireworks_ai", llmrelay.NotFoundError, "Model not found"),
    ("perplexity", llmrelay.BadRequestError, "Invalid model"),
    ("ollama", llmrelay.NotFoundError, "try pulling it first"),
    ("hosted_vllm", llmrelay.NotFoundError, "does not exist"),
])
@pytest.mark.parametrize("mode", MODES)
def test_unknown_model(name: str, mode: str, cls: type[Exception], text: str,
                       emulator: Emulator) -> None:
    model = FAMILY[name].model.rsplit("/", 1)[0] + "/missing-model"
    if name == "deepseek":
        model = "deepseek/deepseek-v9"
    with pytest.raises(cls, match=text):
        call(mode, **at(emulator, name, model=model))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_mid_stream_error(name: str, mode: str, emulator: Emulator) -> None:
    emulator.stream_error(status=503, provider=name)
    with pytest.raises(llmrelay.InternalServerError):
        call(mode, **at(emulator, name, stream=True))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_dropped_connection(name: str, mode: str, emulator: Emulator) -> None:
    emulator.drop(provider=name)
    with pytest.raises(llmrelay.APIConnectionError):
        call(mode, **at(emulator, name, num_retries=0))
