"""Cassettes end to end: record against the emulators, replay with no network and no key, for
every provider, sync and async, streams (chunk boundaries kept), retries and errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

import llmrelay
from llmrelay import transport
from llmrelay.providers.base import HTTPRequest
from llmrelay.testing import CassetteMissError, Emulator, aws, cassette
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]
REPLICATE = "replicate/meta/meta-llama-3-8b-instruct"
NOVA = "bedrock/us.amazon.nova-micro-v1:0"


def provider_call(emulator: Emulator, provider: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what a call needs besides credentials, its credentials) for ``provider``."""
    if provider == "bedrock":
        return ({"model": NOVA, "api_base": emulator.base_url("bedrock"),
                 "aws_region_name": "us-east-1"},
                {"aws_access_key_id": aws.ACCESS_KEY_ID,
                 "aws_secret_access_key": aws.SECRET_ACCESS_KEY})
    models = {"openai": "gpt-4o-mini", "azure": "azure/gpt-4o",
              "anthropic": "claude-3-5-haiku-latest", "cohere": "command-r",
              "replicate": REPLICATE, "openrouter": "openrouter/openai/gpt-4o-mini",
              "gemini": "gemini/gemini-2.0-flash", **COMPAT}
    return ({"model": models[provider], "api_base": emulator.base_url(provider)},
            {"api_key": emulator.api_key})


COMPAT = {"mistral": "mistral/mistral-small-latest", "groq": "groq/llama-3.3-70b-versatile",
          "deepseek": "deepseek/deepseek-chat", "xai": "xai/grok-3",
          "together_ai": "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
          "fireworks_ai": "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
          "perplexity": "perplexity/sonar", "ollama": "ollama/llama3.2",
          "hosted_vllm": "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct"}
PROVIDERS = ["openai", "azure", "anthropic", "cohere", "replicate", "openrouter", "bedrock",
             "gemini", *COMPAT]


def same(a: Any, b: Any) -> bool:
    """Equal answers (``id`` and ``created`` are made at translation for providers that send
    none: Bedrock has no id, Anthropic no time)."""
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    fresh = {"id", "created"}
    return bool(a.model_dump(exclude=fresh) == b.model_dump(exclude=fresh))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_record_then_replay_without_network_or_key(emulator: Emulator, tmp_path: Path,
                                                   provider: str, mode: str,
                                                   stream: bool) -> None:
    where, credentials = provider_call(emulator, provider)
    path = tmp_path / "tape.json"
    with cassette(path, mode="record"):
        recorded = call(mode, **where, **credentials, stream=stream, max_tokens=20)
    sent = emulator.count()
    assert sent >= 1 and path.exists()
    with cassette(path, mode="replay"):
        replayed = call(mode, **where, stream=stream, max_tokens=20)
    assert emulator.count() == sent
    assert same(replayed, recorded)
    text = path.read_text()
    for secret in (emulator.api_key, aws.ACCESS_KEY_ID, aws.SECRET_ACCESS_KEY, "Signature="):
        assert secret not in text


@pytest.mark.parametrize("mode", MODES)
def test_stream_chunk_boundaries_are_replayed_as_received(emulator: Emulator, tmp_path: Path,
                                                          mode: str) -> None:
    path = tmp_path / "tape.json"
    with cassette(path, mode="record"):
        call(mode, model="gpt-4o-mini", messages=MESSAGES, stream=True,
             api_base=emulator.base_url("openai"), api_key=emulator.api_key)
    chunks = json.loads(path.read_text())["interactions"][0]["response"]["stream"]
    # httpcore hands over each HTTP chunk; aiohttp joins what has arrived by the time it reads.
    assert len(chunks) > (3 if mode == "sync" else 0) and chunks[-1].endswith("data: [DONE]\n\n")
    assert all(isinstance(c, str) and c.startswith("data: ") for c in chunks)
    request = HTTPRequest("POST", emulator.base_url("openai") + "/chat/completions",
                          json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True,
                                "stream_options": {"include_usage": True}}, stream=True)

    async def read_async() -> list[bytes]:
        with cassette(path, mode="replay"):
            response = await transport.asend(request)
            return [b async for b in response.aiter_bytes()]

    if mode == "sync":
        with cassette(path, mode="replay"):
            got = list(transport.send(request).iter_bytes())
    else:
        import asyncio

        got = asyncio.run(read_async())
    assert got == [c.encode() for c in chunks]


def test_a_hand_split_stream_is_replayed_split(tmp_path: Path) -> None:
    """Boundaries anywhere (mid-event, mid-character) come back exactly."""
    event = 'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m",' \
            '"choices":[{"index":0,"delta":{"content":"héllo"},"finish_reason":"stop"}]}\n\n'
    raw = (event + "data: [DONE]\n\n").encode()
    cut = raw.index("é".encode()) + 1  # between the two bytes of é
    pieces = [raw[:17], raw[17:cut], raw[cut:]]
    url = "https://api.openai.com/v1/chat/completions"
    body = {"model": "m", "messages": MESSAGES, "stream": True,
            "stream_options": {"include_usage": True}}
    tape = {"interactions": [{
        "request": {"method": "POST", "url": url, "body": body},
        "response": {"status": 200, "headers": {"content-type": "text/event-stream"},
                     "stream": [pieces[0].decode(), {"base64": __import__("base64").b64encode(
                         pieces[1]).decode()}, {"base64": __import__("base64").b64encode(
                             pieces[2]).decode()}]}}]}
    path = tmp_path / "split.json"
    path.write_text(json.dumps(tape))
    with cassette(path, mode="replay"):
        got = list(transport.send(HTTPRequest("POST", url, json=body, stream=True)).iter_bytes())
    assert got == pieces
    with cassette(path, mode="replay"):
        chunks = list(llmrelay.completion(model="openai/m", messages=MESSAGES, stream=True))
    assert chunks[0].choices[0].delta.content == "héllo"


@pytest.mark.parametrize("mode", MODES)
def test_retries_replay_without_their_waits(emulator: Emulator, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "tape.json"
    kwargs = {"model": "claude-3-5-haiku-latest", "messages": MESSAGES,
              "api_base": emulator.base_url("anthropic")}
    emulator.fail(529, times=2, provider="anthropic", headers={"retry-after-ms": "150"})
    started = time.perf_counter()
    with cassette(path, mode="record"):
        recorded = call(mode, **kwargs, api_key=emulator.api_key, num_retries=3)
    assert time.perf_counter() - started >= 0.3 and emulator.count() == 3
    tape = json.loads(path.read_text())["interactions"]
    assert [i["response"]["status"] for i in tape] == [529, 529, 200]
    started = time.perf_counter()
    with cassette(path, mode="replay"):
        replayed = call(mode, **kwargs, num_retries=3)
    assert time.perf_counter() - started < 0.25
    assert same(replayed, recorded) and replayed.meta.attempts == 3
    assert emulator.count() == 3


@pytest.mark.parametrize("mode", MODES)
def test_errors_replay_as_they_happened(emulator: Emulator, tmp_path: Path, mode: str) -> None:
    path = tmp_path / "tape.json"
    base = {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"), "num_retries": 0}
    cases: list[tuple[str, type[Exception], Any]] = [
        ("bad request", llmrelay.BadRequestError, lambda: emulator.fail(400)),
        ("dropped", llmrelay.APIConnectionError, lambda: emulator.drop()),
        ("slow", llmrelay.Timeout, lambda: emulator.slow(1.0)),
        ("mid-stream", llmrelay.APIConnectionError, lambda: emulator.drop_stream(after=3)),
    ]
    recorded: dict[str, Any] = {}
    with cassette(path, mode="record"):
        for name, error, fault in cases:
            fault()
            with pytest.raises(error) as caught:
                call(mode, **base, api_key=emulator.api_key, timeout=0.3,
                     messages=[{"role": "user", "content": name}], stream=name == "mid-stream")
            recorded[name] = caught.value
    tape = json.loads(path.read_text())["interactions"]
    assert tape[1]["error"]["type"] == "APIConnectionError" and "response" not in tape[1]
    assert tape[2]["error"]["type"] == "Timeout"
    assert tape[3]["response"]["stream"] and tape[3]["error"]["type"] == "APIConnectionError"
    sent = emulator.count()
    with cassette(path, mode="replay"):
        for name, error, _ in cases:
            with pytest.raises(error) as caught:
                call(mode, **base, timeout=0.3, messages=[{"role": "user", "content": name}],
                     stream=name == "mid-stream")
            assert type(caught.value) is type(recorded[name])
            assert caught.value.status_code == recorded[name].status_code  # type: ignore[attr-defined]
    assert emulator.count() == sent


def test_a_miss_names_the_closest_recording_and_what_differs(emulator: Emulator,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "tape.json"
    kwargs = {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai")}
    with cassette(path, mode="record"):
        llmrelay.completion(**kwargs, api_key=emulator.api_key, messages=MESSAGES)
        llmrelay.completion(**kwargs, api_key=emulator.api_key,
                            messages=[{"role": "user", "content": "Bye"}], max_tokens=9)
    with cassette(path, mode="replay"):
        with pytest.raises(CassetteMissError) as missed:
            llmrelay.completion(**kwargs, messages=[{"role": "user", "content": "Bye!"}],
                                max_tokens=9, temperature=0.5)
        text = str(missed.value)
        assert "Closest recorded request: #2 POST" in text
        assert '$.messages[0].content: "Bye!" here, "Bye" recorded' in text
        assert "$.temperature: 0.5 here, missing in the recording" in text
        assert str(path) in text
        llmrelay.completion(**kwargs, messages=MESSAGES)
        with pytest.raises(CassetteMissError) as again:
            llmrelay.completion(**kwargs, messages=MESSAGES)
        assert "recorded 1 time(s)" in str(again.value) and "call #2" in str(again.value)
        with pytest.raises(CassetteMissError) as elsewhere:
            llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES,
                                api_base="https://api.openai.com/v1")
        assert "URL: https://api.openai.com/v1/chat/completions here" in str(elsewhere.value)


def test_the_kth_identical_request_gets_the_kth_recording(emulator: Emulator,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "tape.json"
    kwargs = {"model": "replicate/emu/llm-polls-2", "messages": MESSAGES,
              "api_base": emulator.base_url("replicate")}
    with cassette(path, mode="record"):  # polls: the same GET answers differently each time
        recorded = llmrelay.completion(**kwargs, api_key=emulator.api_key)
    polls = [i for i in json.loads(path.read_text())["interactions"]
             if i["request"]["method"] == "GET"]
    assert len(polls) >= 2 and len({json.dumps(p["response"]["body"]) for p in polls}) > 1
    started = time.perf_counter()
    with cassette(path, mode="replay"):
        replayed = llmrelay.completion(**kwargs)
    assert time.perf_counter() - started < 0.3  # the poll waits are skipped too
    assert same(replayed, recorded)


def test_secrets_never_reach_the_file(emulator: Emulator, tmp_path: Path) -> None:
    key = emulator.api_key
    path = tmp_path / "tape.json"
    told = [{"role": "user", "content": f"my key is {key} ok"}]
    query_secret = "AIzaSyQUERYSECRET0123"
    with cassette(path, mode="record"):
        whole = llmrelay.completion(model="gpt-4o-mini", messages=told, api_key=key,
                                    api_base=emulator.base_url("openai"))
        chunks = list(llmrelay.completion(model="claude-3-5-haiku-latest", messages=told,
                                          api_key=key, stream=True,
                                          api_base=emulator.base_url("anthropic")))
        llmrelay.completion(model="azure/gpt-4o", messages=MESSAGES, api_key=key,
                            api_base=emulator.base_url("azure"))
        transport.send(HTTPRequest("GET", f"{emulator.url}/v1/models?key={query_secret}&b=1",
                                   headers={"x-goog-api-key": query_secret}))
    assert key in whole.choices[0].message.content  # the emulator echoed it back
    assert key in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    text = path.read_text()
    assert key not in text and query_secret not in text
    for header in ('"authorization"', '"x-api-key"', '"api-key"', '"x-goog-api-key"'):
        assert header not in text.lower()
    assert "REDACTED" in text and "key=REDACTED" in text
    with cassette(path, mode="replay"):  # matching ignores the secrets
        again = llmrelay.completion(model="gpt-4o-mini", messages=told, api_key=key,
                                    api_base=emulator.base_url("openai"))
    assert "REDACTED" in again.choices[0].message.content


def test_aws_signatures_and_tokens_never_reach_the_file(emulator: Emulator,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "tape.json"
    where, _ = provider_call(emulator, "bedrock")
    with cassette(path, mode="record"):
        llmrelay.completion(**where, messages=MESSAGES, aws_access_key_id=aws.TEMP_ACCESS_KEY_ID,
                            aws_secret_access_key=aws.TEMP_SECRET_ACCESS_KEY,
                            aws_session_token=aws.SESSION_TOKEN)
        list(llmrelay.completion(**where, messages=MESSAGES, stream=True,
                                 aws_access_key_id=aws.TEMP_ACCESS_KEY_ID,
                                 aws_secret_access_key=aws.TEMP_SECRET_ACCESS_KEY,
                                 aws_session_token=aws.SESSION_TOKEN))
    text = path.read_text()
    for secret in (aws.TEMP_ACCESS_KEY_ID, aws.TEMP_SECRET_ACCESS_KEY, aws.SESSION_TOKEN,
                   "AWS4-HMAC-SHA256", "x-amz-"):
        assert secret not in text
    stream = json.loads(text)["interactions"][1]["response"]
    assert "binary stream (application/vnd.amazon.eventstream)" in stream["note"]
    assert all(set(c) == {"base64"} for c in stream["stream"])
    with cassette(path, mode="replay"):
        assert list(llmrelay.completion(**where, messages=MESSAGES, stream=True))


def test_the_file_is_readable_json(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "tape.json"
    with cassette(path, mode="record"):
        llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, api_key=emulator.api_key,
                            api_base=emulator.base_url("openai"))
    text = path.read_text()
    assert text.startswith("{\n  ") and text.endswith("}\n")
    item = json.loads(text)["interactions"][0]
    assert item["request"]["method"] == "POST"
    assert item["request"]["body"]["messages"] == MESSAGES
    assert item["response"]["status"] == 200
    assert item["response"]["body"]["object"] == "chat.completion"
    assert item["response"]["headers"]["x-request-id"] == "req_emulator"
    assert "content-length" not in item["response"]["headers"]


def test_auto_records_once_then_only_replays(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "auto.json"
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "api_base": emulator.base_url("openai")}
    with cassette(path) as tape:
        assert not tape.replaying
        first = llmrelay.completion(**kwargs, api_key=emulator.api_key)
    written = path.read_text()
    with cassette(path) as tape:
        assert tape.replaying
        assert same(llmrelay.completion(**kwargs), first)
        with pytest.raises(CassetteMissError):
            llmrelay.completion(**kwargs, seed=1)
    assert path.read_text() == written and emulator.count() == 1


def test_replay_needs_the_file(tmp_path: Path) -> None:
    with pytest.raises(CassetteMissError, match="No cassette at"):
        with cassette(tmp_path / "missing.json", mode="replay"):
            pass
    with pytest.raises(ValueError):
        cassette(tmp_path / "x.json", mode="sometimes")


def test_without_a_cassette_a_missing_key_is_an_error_again(emulator: Emulator,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "tape.json"
    with cassette(path, mode="record"):
        llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, api_key=emulator.api_key,
                            api_base=emulator.base_url("openai"))
    with cassette(path, mode="replay"):
        llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES,
                            api_base=emulator.base_url("openai"))
    with pytest.raises(llmrelay.AuthenticationError):
        llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES,
                            api_base=emulator.base_url("openai"))
    assert transport._interceptor is None


def test_decorator_on_sync_and_async_functions(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "api_base": emulator.base_url("openai")}

    @cassette(path, mode="record")
    def record() -> Any:
        return llmrelay.completion(**kwargs, api_key=emulator.api_key)

    @cassette(path, mode="replay")
    def replay() -> Any:
        return llmrelay.completion(**kwargs)

    @cassette(path, mode="replay")
    async def areplay() -> Any:
        return await llmrelay.acompletion(**kwargs)

    import asyncio
    import inspect

    recorded = record()
    assert same(replay(), recorded) and same(replay(), recorded)  # a fresh cassette each call
    assert inspect.iscoroutinefunction(areplay)
    assert same(asyncio.run(areplay()), recorded)
    assert replay.__name__ == "replay" and emulator.count() == 1


async def test_async_context_manager(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    kwargs = {"model": "gpt-4o-mini", "messages": MESSAGES, "api_base": emulator.base_url("openai")}
    async with cassette(path, mode="record"):
        first = await llmrelay.acompletion(**kwargs, api_key=emulator.api_key, n=3)
    async with cassette(path, mode="replay"):
        assert same(await llmrelay.acompletion(**kwargs, n=3), first)


def test_fan_out_threads_see_the_cassette(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "fan.json"
    kwargs = {"model": "claude-3-5-haiku-latest", "messages": MESSAGES, "n": 3,
              "api_base": emulator.base_url("anthropic")}
    with cassette(path, mode="record"):
        first = llmrelay.completion(**kwargs, api_key=emulator.api_key)
    assert len(json.loads(path.read_text())["interactions"]) == 3
    with cassette(path, mode="replay"):
        again = llmrelay.completion(**kwargs)
    assert len(again.choices) == 3 and emulator.count() == 3
    assert [c.message.content for c in again.choices] == [c.message.content for c in first.choices]
