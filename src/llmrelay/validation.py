"""Checks a request at the boundary, before any provider sees it.

Everything malformed becomes a ``BadRequestError`` that says what and where; nothing from
deeper in the library surfaces as a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, NoReturn

from .exceptions import BadRequestError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# Roles whose message needs nothing but text content (no tool_call_id, name or calls).
_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})
PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})

# OpenAI parameter -> accepted Python types (bool is excluded from numbers on purpose).
PARAM_TYPES: Mapping[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "top_p": (int, float),
    "n": (int,),
    "stream": (bool,),
    "stream_options": (dict,),
    "stop": (str, list),
    "max_tokens": (int,),
    "max_completion_tokens": (int,),
    "presence_penalty": (int, float),
    "frequency_penalty": (int, float),
    "logit_bias": (dict,),
    "user": (str,),
    "seed": (int,),
    "response_format": (dict,),
    "logprobs": (bool,),
    "top_logprobs": (int,),
    "tools": (list,),
    "tool_choice": (str, dict),
    "parallel_tool_calls": (bool,),
    "functions": (list,),
    "function_call": (str, dict),
}


# Parameters checked beyond their type.
_DEEP = frozenset({"n", "stop", "tools", "functions", "response_format"})


def _fail(message: str) -> NoReturn:
    raise BadRequestError(message, code="invalid_request")


def validate_params(params: Mapping[str, Any]) -> None:
    """Type-check the OpenAI parameters that are set (``None`` means unset)."""
    for name, value in params.items():
        types = PARAM_TYPES.get(name)
        if types is None or value is None or type(value) in types:
            continue  # not ours, unset, or exactly an accepted type (the usual case)
        if isinstance(value, bool) and bool not in types:
            _fail(f"{name} must be {' or '.join(t.__name__ for t in types)}, got bool")
        if not isinstance(value, types):
            _fail(
                f"{name} must be {' or '.join(t.__name__ for t in types)}, "
                f"got {type(value).__name__}"
            )
    if _DEEP.isdisjoint(params):
        return
    n = params.get("n")
    if n is not None and n < 1:
        _fail(f"n must be at least 1, got {n}")
    stop = params.get("stop")
    if isinstance(stop, list) and not all(isinstance(s, str) for s in stop):
        _fail("stop must be a string or a list of strings")
    for name in ("tools", "functions"):
        if name not in params:
            continue
        for i, item in enumerate(params[name] or []):
            if name == "tools" and isinstance(item, dict) and item.get("type", "function") != "function":
                if not isinstance(item.get("type"), str):
                    _fail(f"tools[{i}].type must be a string")
                continue  # a provider's own tool type (custom, web search, ...): its adapter decides
            fn = item.get("function") if name == "tools" and isinstance(item, dict) else item
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                _fail(f"{name}[{i}] must be a function definition with a name")
    fmt = params.get("response_format")
    if fmt is not None and fmt.get("type") not in ("text", "json_object", "json_schema"):
        _fail("response_format.type must be 'text', 'json_object' or 'json_schema'")
    if fmt is not None and fmt.get("type") == "json_schema":
        if not isinstance(fmt.get("json_schema"), dict):
            _fail("response_format json_schema needs a 'json_schema' object")


def validate_messages(messages: Any) -> None:
    """Raise ``BadRequestError`` unless ``messages`` is a well-formed OpenAI conversation."""
    if not isinstance(messages, list) or not messages:
        _fail("messages must be a non-empty list of message objects")
    for i, message in enumerate(messages):
        # The common message, text from the user or the system, passes on a few dict reads
        # (the checks below cost ~10 us a message; a conversation is checked on every call).
        if (type(message) is dict and type(message.get("content")) is str
                and message.get("role") in _PLAIN_ROLES and not message.get("tool_calls")):
            continue
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            _fail(f"{where} must be an object, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            _fail(f"{where}.role must be one of {', '.join(sorted(ROLES))}, got {role!r}")
        content = message.get("content")
        has_calls = bool(message.get("tool_calls") or message.get("function_call"))
        if content is None:
            if not (role == "assistant" and (has_calls or "content" in message)):
                _fail(f"{where}.content is required for role {role!r}")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, Mapping) or part.get("type") not in PART_TYPES:
                    _fail(f"{where}.content[{j}] must be a content part with a known type")
                if part["type"] == "text" and not isinstance(part.get("text"), str):
                    _fail(f"{where}.content[{j}].text must be a string")
                if part["type"] == "image_url":
                    image = part.get("image_url")
                    url = image.get("url") if isinstance(image, Mapping) else image
                    if not isinstance(url, str):
                        _fail(f"{where}.content[{j}].image_url.url must be a string")
        elif not isinstance(content, str):
            _fail(f"{where}.content must be a string, a list of parts or null")
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            _fail(f"{where} (role 'tool') needs a tool_call_id string")
        if role == "function" and not isinstance(message.get("name"), str):
            _fail(f"{where} (role 'function') needs a name")
        for k, call in enumerate(message.get("tool_calls") or []):
            fn = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
                _fail(f"{where}.tool_calls[{k}] must have function.name")
            if not isinstance(call.get("id"), str):
                _fail(f"{where}.tool_calls[{k}] must have an id")
            if not isinstance(fn.get("arguments", ""), str):
                _fail(f"{where}.tool_calls[{k}].function.arguments must be a JSON string")


def validate_call_options(timeout: Any, force_timeout: Any, num_retries: Any) -> None:
    """``timeout`` a positive number, ``None`` or an ``httpx.Timeout``; ``force_timeout`` a
    positive number or ``None``; ``num_retries`` an int or ``None``."""
    if timeout is not None and not _positive(timeout):
        # An httpx.Timeout exists only once httpx is imported, so this costs no import. Not by
        # module name: SDKs that re-export it (groq, ...) rename its ``__module__``.
        httpx = sys.modules.get("httpx")
        if httpx is None or not isinstance(timeout, httpx.Timeout):
            _fail(f"timeout must be a positive number of seconds or an httpx.Timeout, got {timeout!r}")
    if force_timeout is not None and not _positive(force_timeout):
        _fail(f"force_timeout must be a positive number of seconds, got {force_timeout!r}")
    if num_retries is not None and (isinstance(num_retries, bool) or not isinstance(num_retries, int)):
        _fail(f"num_retries must be an int, got {num_retries!r}")


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
