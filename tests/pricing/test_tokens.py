"""token_counter: exact for OpenAI models, checked against tiktoken's own encodings built by
tiktoken's own loader from the shipped files (which it hash-checks against OpenAI's sums)."""

from __future__ import annotations

import gzip
import hashlib
import socket
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import pytest
import tiktoken
from pydantic import BaseModel
from tiktoken_ext import openai_public

from llmrelay.pricing import register_model, token_counter
from llmrelay.pricing.encodings import SPECS, get_encoding
from llmrelay.pricing.tokens import IMAGE_HIGH, IMAGE_LOW

URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
SAMPLES = [
    "hello world",
    "Hello, world! How are you doing today?",
    "こんにちは世界、今日はいい天気ですね。",
    "def f(x):\n    return x ** 2  # squared\n\n\n",
    "   leading spaces and trailing   ",
    "1234567890 3.14159 -42 1e-9",
    "<|endoftext|> is just text here",
    "Ünïcödé façade naïve coöperate 🚀🔥 emoji",
    "",
]
# The cookbook's example conversation ("How to count tokens with tiktoken").
COOKBOOK = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that "
                                  "translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user",
     "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant",
     "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user",
     "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
                "for increased leverage."},
    {"role": "system", "name": "example_assistant",
     "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean "
                                "for the client deliverable."},
]


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tiktoken.Encoding]]:
    """tiktoken's encodings, built by tiktoken_ext from its cache dir holding our shipped files;
    tiktoken checks each file's SHA-256 against OpenAI's and would download on a mismatch, so
    connections are refused while it loads."""
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    data = resources.files("llmrelay.pricing").joinpath("data")
    for name, url in URLS.items():
        raw = gzip.decompress(data.joinpath(f"{name}.tiktoken.gz").read_bytes())
        (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(raw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise OSError("network refused in this test")

        mp.setattr(socket.socket, "connect", refuse)
        specs = {"o200k_base": openai_public.o200k_base(),
                 "cl100k_base": openai_public.cl100k_base()}
    yield {name: tiktoken.Encoding(**spec) for name, spec in specs.items()}


def cookbook_count(encoding: tiktoken.Encoding, messages: list[dict[str, str]]) -> int:
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            # encode_ordinary: special-token text in a message is counted as text
            total += len(encoding.encode_ordinary(value))
            total += 1 if key == "name" else 0
    return total


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_encodings_equal_tiktokens_own(official: dict[str, tiktoken.Encoding], name: str) -> None:
    ours, theirs = get_encoding(name), official[name]
    assert ours._pat_str == theirs._pat_str
    assert ours._special_tokens == theirs._special_tokens
    assert ours._mergeable_ranks == theirs._mergeable_ranks
    assert SPECS[name][0] == theirs._pat_str
    for text in SAMPLES:
        assert ours.encode_ordinary(text) == theirs.encode_ordinary(text)


@pytest.mark.parametrize(("model", "encoding"), [
    ("gpt-4o", "o200k_base"), ("gpt-4o-mini", "o200k_base"), ("gpt-4.1", "o200k_base"),
    ("gpt-5", "o200k_base"), ("o1", "o200k_base"), ("o3-mini", "o200k_base"),
    ("o4-mini", "o200k_base"), ("openai/gpt-4o", "o200k_base"),
    ("gpt-4", "cl100k_base"), ("gpt-4-turbo", "cl100k_base"), ("gpt-3.5-turbo", "cl100k_base"),
])
def test_exact_counts(official: dict[str, tiktoken.Encoding], model: str, encoding: str) -> None:
    for text in SAMPLES:
        assert token_counter(model=model, text=text) == len(official[encoding].encode_ordinary(text))
    messages = [{"role": "user", "content": text} for text in SAMPLES]
    assert token_counter(model=model, messages=messages) == cookbook_count(official[encoding],
                                                                           messages)


def test_cookbook_example() -> None:
    # OpenAI's cookbook reports 124 prompt tokens for gpt-4o, 129 for gpt-4 and gpt-3.5-turbo.
    assert token_counter(model="gpt-4o", messages=COOKBOOK) == 124
    assert token_counter(model="gpt-4o-mini", messages=COOKBOOK) == 124
    assert token_counter(model="gpt-4", messages=COOKBOOK) == 129
    assert token_counter(model="gpt-3.5-turbo", messages=COOKBOOK) == 129


def test_hand_counted() -> None:
    # "hello world" is 2 tokens in both encodings; a one-word message:
    # 3 (message) + 1 ("user") + 1 ("Hi") + 3 (reply priming)
    assert token_counter(model="gpt-4o", text="hello world") == 2
    assert token_counter(model="gpt-4", text="hello world") == 2
    assert token_counter(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]) == 8
    # a name adds its tokens plus 1: 8 + 1 ("bob") + 1
    assert token_counter(model="gpt-4o",
                         messages=[{"role": "user", "content": "Hi", "name": "bob"}]) == 10


def test_base_model_picks_the_tokenizer(official: dict[str, tiktoken.Encoding]) -> None:
    text = SAMPLES[2]
    o200k = len(official["o200k_base"].encode_ordinary(text))
    cl100k = len(official["cl100k_base"].encode_ordinary(text))
    assert o200k != cl100k
    register_model("azure/my-deploy", base_model="gpt-4o")
    assert token_counter(model="azure/my-deploy", text=text) == o200k
    register_model("azure/old-deploy", base_model="gpt-35-turbo")
    assert token_counter(model="azure/old-deploy", text=text) == cl100k
    assert token_counter(model="azure/router-deploy", text=text, base_model="gpt-4") == cl100k


def test_other_models_are_estimated_with_o200k(official: dict[str, tiktoken.Encoding]) -> None:
    text = SAMPLES[1]
    expected = len(official["o200k_base"].encode_ordinary(text))
    for model in ("anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro", "mistral/x", None):
        assert token_counter(model=model, text=text) == expected


def test_images_tool_calls_and_tools_are_estimated() -> None:
    base = token_counter(model="gpt-4o", messages=[{"role": "user", "content": "Look"}])
    parts = [{"type": "text", "text": "Look"},
             {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}]
    assert token_counter(model="gpt-4o", messages=[{"role": "user", "content": parts}]) \
        == base + IMAGE_LOW
    parts[1] = {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
    assert token_counter(model="gpt-4o", messages=[{"role": "user", "content": parts}]) \
        == base + IMAGE_HIGH
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    with_call = token_counter(model="gpt-4o", messages=[call])
    assert with_call > token_counter(model="gpt-4o", messages=[{"role": "assistant"}])
    tools = [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object",
                                              "properties": {"city": {"type": "string"}}}}}]
    assert token_counter(model="gpt-4o", messages=[call], tools=tools) > with_call


class UserMessage(BaseModel):
    role: str
    content: str | None = None
    name: str | None = None


def test_pydantic_messages_count_like_dicts() -> None:
    message = UserMessage(role="user", content="Hello there")
    assert token_counter(model="gpt-4o", messages=[message]) \
        == token_counter(model="gpt-4o", messages=[{"role": "user", "content": "Hello there"}])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"messages=.*or text="):
        token_counter(model="gpt-4o")
    with pytest.raises(ValueError, match="list of message dicts"):
        token_counter(model="gpt-4o", messages="hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="each message must be a dict"):
        token_counter(model="gpt-4o", messages=[3])
    with pytest.raises(ValueError, match="text must be a string"):
        token_counter(model="gpt-4o", text=3)  # type: ignore[arg-type]


def test_thread_safe() -> None:
    conversations = [[{"role": "user", "content": f"{text} #{i}"}] for i, text in
                     enumerate(SAMPLES * 20)]
    expected = [token_counter(model="gpt-4o", messages=c) for c in conversations]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda c: token_counter(model="gpt-4o", messages=c), conversations))
    assert got == expected


def test_shipped_tokenizer_files_match_openais_sums() -> None:
    # The SHA-256 sums tiktoken_ext/openai_public.py expects.
    sums = {"o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"}
    data = Path(str(resources.files("llmrelay.pricing").joinpath("data")))
    for name, digest in sums.items():
        raw = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == digest
