"""Every row of the README's call-options table, on the sync and the async path, streaming and
not where the option touches streams (timeouts have their own file: test_timeouts.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.masking import mask_secret
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]
STREAMS = [False, True]
TEXT = "Hello from the emulator. You said: Hi there"


def openai(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


def text_of(result: Any, stream: bool) -> str:
    return str((llmrelay.stream_chunk_builder(result) if stream else result)
               .choices[0].message.content)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
def test_api_key_and_api_base_override_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, mode: str, stream: bool
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-that-is-wrong")
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    result = call(mode, stream=stream, **openai(emulator))
    assert text_of(result, stream) == TEXT
    assert emulator.requests[0].headers["authorization"] == f"Bearer {emulator.api_key}"


@pytest.mark.parametrize("mode", MODES)
def test_environment_key_and_base_are_used_without_arguments(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", emulator.api_key)
    monkeypatch.setenv("ANTHROPIC_API_BASE", emulator.base_url("anthropic"))
    resp = call(mode, model="claude-3-5-haiku-latest")
    assert resp.choices[0].message.content
    assert emulator.requests[0].headers["x-api-key"] == emulator.api_key


@pytest.mark.parametrize("mode", MODES)
def test_api_version_reaches_azure(emulator: Emulator, mode: str) -> None:
    resp = call(mode, model="azure/gpt-4o", api_base=emulator.base_url("azure"),
                api_key=emulator.api_key, api_version="2024-10-21")
    assert resp.choices[0].message.content
    assert emulator.requests[0].query["api-version"] == "2024-10-21"


@pytest.mark.parametrize("mode", MODES)
def test_azure_flag_routes_a_bare_deployment(emulator: Emulator, mode: str) -> None:
    resp = call(mode, model="prod-chat", azure=True, api_base=emulator.base_url("azure"),
                api_key=emulator.api_key, api_version="2024-10-21")
    assert resp.choices[0].message.content
    assert emulator.requests[0].path.startswith("/openai/deployments/prod-chat/")


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
def test_num_retries(emulator: Emulator, mode: str, stream: bool) -> None:
    emulator.fail(503, times=2, headers={"retry-after-ms": "1"})
    assert text_of(call(mode, stream=stream, num_retries=2, **openai(emulator)), stream) == TEXT
    assert emulator.count() == 3
    emulator.reset()
    emulator.fail(503, times=2, headers={"retry-after-ms": "1"})
    with pytest.raises(llmrelay.ServiceUnavailableError):
        call(mode, stream=stream, num_retries=1, **openai(emulator))
    assert emulator.count() == 2
    emulator.reset()
    emulator.fail(503, headers={"retry-after-ms": "1"})
    with pytest.raises(llmrelay.ServiceUnavailableError):
        call(mode, stream=stream, num_retries=0, **openai(emulator))
    assert emulator.count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_num_retries_defaults_to_two(emulator: Emulator, mode: str) -> None:
    emulator.fail(500, times=5, headers={"retry-after-ms": "1"})
    with pytest.raises(llmrelay.InternalServerError):
        call(mode, **openai(emulator))
    assert emulator.count() == 3


@pytest.mark.parametrize("mode", MODES)
def test_drop_params(emulator: Emulator, mode: str) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError) as info:
        call(mode, temperature=0.3, **openai(emulator, model="o3-mini"))
    assert info.value.param == "temperature" and emulator.count() == 0
    call(mode, temperature=0.3, logprobs=True, drop_params=True, **openai(emulator, model="o3-mini"))
    body = emulator.requests[0].body
    assert "temperature" not in body and "logprobs" not in body


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
def test_logger_fn(emulator: Emulator, mode: str, stream: bool) -> None:
    records: list[dict[str, Any]] = []
    call(mode, stream=stream, logger_fn=records.append, **openai(emulator))
    assert [r["event"] for r in records] == ["pre_api_call", "post_api_call"]
    assert records[0]["headers"]["authorization"] == mask_secret(f"Bearer {emulator.api_key}")
    assert records[1]["status"] == 200
    assert emulator.api_key not in json.dumps(records, default=str)


@pytest.mark.parametrize("mode", MODES)
def test_verbose_prints_masked_records(
    emulator: Emulator, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    call(mode, verbose=True, **openai(emulator))
    err = capsys.readouterr().err
    assert err.count("llmrelay: ") == 2 and "pre_api_call" in err and "post_api_call" in err
    assert emulator.api_key not in err


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("mode", MODES)
def test_extra_headers_and_extra_body(emulator: Emulator, mode: str, stream: bool) -> None:
    call(mode, stream=stream, extra_headers={"x-trace": "t1"},
         extra_body={"metadata": {"k": "v"}}, **openai(emulator))
    sent = emulator.requests[0]
    assert sent.headers["x-trace"] == "t1"
    assert sent.body["metadata"] == {"k": "v"}


@pytest.mark.parametrize("mode", MODES)
def test_provider_extras_pass_through(emulator: Emulator, mode: str) -> None:
    call(mode, model="claude-3-5-haiku-latest", top_k=5, **{
        "api_base": emulator.base_url("anthropic"), "api_key": emulator.api_key})
    assert emulator.requests[0].body["top_k"] == 5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("option", "value"), [
    ("timeout", "soon"), ("timeout", 0), ("timeout", -1), ("timeout", True),
    ("force_timeout", "1"), ("force_timeout", 0), ("force_timeout", False),
    ("num_retries", "2"), ("num_retries", 1.5),
])
def test_malformed_options_are_bad_requests_before_any_request(
    emulator: Emulator, mode: str, option: str, value: Any
) -> None:
    with pytest.raises(llmrelay.BadRequestError, match=option):
        call(mode, messages=MESSAGES, **openai(emulator, **{option: value}))
    assert emulator.count() == 0
