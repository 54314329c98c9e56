"""``token_counter``: prompt tokens of messages or text, offline.

Exact for OpenAI models (their tokenizer, counted as OpenAI's cookbook counts messages); an
estimate, documented in the README, for tools, tool calls, images and other providers' models.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .catalog import CATALOG
from .encodings import get_encoding

if TYPE_CHECKING:
    import tiktoken

# OpenAI model families -> encoding (as tiktoken's model table maps them), first match wins.
ENCODINGS: tuple[tuple[str, str], ...] = (
    ("gpt-4o*", "o200k_base"),
    ("chatgpt-4o*", "o200k_base"),
    ("gpt-4.1*", "o200k_base"),
    ("gpt-4.5*", "o200k_base"),
    ("gpt-5*", "o200k_base"),
    ("gpt-oss*", "o200k_base"),
    ("gpt-realtime*", "o200k_base"),
    ("gpt-audio*", "o200k_base"),
    ("codex-*", "o200k_base"),
    ("computer-use-*", "o200k_base"),
    ("omni-moderation*", "o200k_base"),
    ("o1", "o200k_base"),
    ("o1-*", "o200k_base"),
    ("o3", "o200k_base"),
    ("o3-*", "o200k_base"),
    ("o4-*", "o200k_base"),
    ("gpt-4*", "cl100k_base"),
    ("gpt-3.5*", "cl100k_base"),
    ("gpt-35*", "cl100k_base"),
    ("text-embedding-3-*", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
    ("davinci-002", "cl100k_base"),
    ("babbage-002", "cl100k_base"),
)
# Other models are estimated with o200k_base: current tokenizers land near it.
ESTIMATE = "o200k_base"
PER_MESSAGE = 3  # <|start|>{role}\n ... <|end|>, per OpenAI's cookbook
PER_NAME = 1
REPLY_PRIMING = 3  # <|start|>assistant<|message|>
# Estimates: OpenAI bills an image by its size and detail; without the size, a 1024x1024
# image at high detail (85 + 4 tiles x 170) and 85 at low detail. Tool calls and tool
# definitions: their JSON's tokens plus a small framing overhead.
IMAGE_LOW, IMAGE_HIGH = 85, 765
PER_TOOL_CALL = 3
PER_TOOL, TOOLS_FRAMING = 7, 12

_by_model: dict[tuple[str | None, str | None, int], str] = {}
_short: dict[tuple[str, str], int] = {}


def encoding_name(model: str | None, base_model: str | None = None) -> tuple[str, bool]:
    """The encoding for a model, and whether the count is exact (an OpenAI model)."""
    name = base_model
    if name is None and model is not None:
        entry = CATALOG.user_entry(model)
        name = entry.get("base_model") if entry else None
        name = name or model
    family = (name or "").rsplit("/", 1)[-1].lower()
    for pattern, encoding in ENCODINGS:
        if fnmatchcase(family, pattern):
            return encoding, True
    return ESTIMATE, False


def encoder_for(model: str | None, base_model: str | None) -> tiktoken.Encoding:
    key = (model, base_model, CATALOG.generation)
    name = _by_model.get(key)
    if name is None:
        name = encoding_name(model, base_model)[0]
        if len(_by_model) >= 4096:
            _by_model.clear()
        _by_model[key] = name
    return get_encoding(name)


def text_tokens(encoding: tiktoken.Encoding, text: str) -> int:
    if len(text) <= 16:  # roles, names, ids: the same few strings on every request
        key = (encoding.name, text)
        count = _short.get(key)
        if count is None:
            count = len(encoding.encode_ordinary(text))
            if len(_short) < 8192:
                _short[key] = count
        return count
    return len(encoding.encode_ordinary(text))


def json_tokens(encoding: tiktoken.Encoding, value: Any) -> int:
    return text_tokens(encoding, json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                                            default=str))


def part_tokens(encoding: tiktoken.Encoding, part: Any) -> int:
    if isinstance(part, str):
        return text_tokens(encoding, part)
    if not isinstance(part, Mapping):
        return json_tokens(encoding, part)
    kind = part.get("type")
    if kind == "text":
        return text_tokens(encoding, str(part.get("text") or ""))
    if kind == "image_url":
        image = part.get("image_url")
        detail = image.get("detail") if isinstance(image, Mapping) else None
        return IMAGE_LOW if detail == "low" else IMAGE_HIGH
    return json_tokens(encoding, part)


def call_tokens(encoding: tiktoken.Encoding, call: Any) -> int:
    function = call.get("function", call) if isinstance(call, Mapping) else call
    if not isinstance(function, Mapping):
        return json_tokens(encoding, function)
    return (PER_TOOL_CALL + text_tokens(encoding, str(function.get("name") or ""))
            + text_tokens(encoding, str(function.get("arguments") or "")))


def value_tokens(encoding: tiktoken.Encoding, key: str, value: Any) -> int:
    if isinstance(value, str):
        return text_tokens(encoding, value)
    if key == "content" and isinstance(value, list):
        return sum(part_tokens(encoding, part) for part in value)
    if key == "tool_calls" and isinstance(value, list):
        return sum(call_tokens(encoding, call) for call in value)
    if key == "function_call":
        return call_tokens(encoding, value)
    return json_tokens(encoding, value)


def as_mapping(message: Any) -> Mapping[str, Any]:
    if isinstance(message, Mapping):
        return message
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        dumped = dump(exclude_none=True)
        if isinstance(dumped, Mapping):
            return dumped
    raise ValueError(f"token_counter: each message must be a dict, got {type(message).__name__}")


def token_counter(model: str | None = None, messages: Sequence[Any] | None = None,
                  text: str | None = None, *, tools: Sequence[Any] | None = None,
                  base_model: str | None = None) -> int:
    """Prompt tokens of ``messages`` (or of a bare ``text``) for ``model``, offline.

    >>> llmrelay.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    8

    Exact for OpenAI models (o200k_base for gpt-4o, gpt-4.1, gpt-5, o-series; cl100k_base for
    gpt-4 and gpt-3.5), also for a name registered with such a ``base_model``. Tools, tool
    calls, images and other providers' models are estimates. Thread-safe.
    """
    if messages is None and text is None:
        raise ValueError("token_counter needs messages=[...] or text='...'")
    encoding = encoder_for(model, base_model)
    total = 0
    if text is not None:
        if not isinstance(text, str):
            raise ValueError(f"token_counter: text must be a string, got {type(text).__name__}")
        total += len(encoding.encode_ordinary(text))
    if messages is not None:
        if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
            raise ValueError("token_counter: messages must be a list of message dicts")
        for message in messages:
            total += PER_MESSAGE
            for key, value in as_mapping(message).items():
                if value is None:
                    continue
                if key == "name":
                    total += PER_NAME
                total += value_tokens(encoding, key, value)
        total += REPLY_PRIMING
    if tools:
        total += TOOLS_FRAMING + sum(
            PER_TOOL + json_tokens(encoding, tool.get("function", tool)
                                   if isinstance(tool, Mapping) else tool)
            for tool in tools)
    return total
