"""Checks a request at the boundary, before any provider sees it.

Everything malformed becomes a ``BadRequestError`` that says what and where; nothing from
deeper in the library surfaces as a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import math
import re
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
    # Extras that several providers translate (their values are looked up or compared).
    "reasoning_effort": (str,),
    "top_k": (int,),
}


# Parameters checked beyond their type.
_DEEP = frozenset({"n", "stop", "tools", "functions", "response_format", "tool_choice",
                   "function_call", "stream_options", "logit_bias", "max_tokens",
                   "max_completion_tokens", "top_logprobs"})
# Numbers that must be finite: NaN or infinity would go out as the invalid JSON ``NaN``.
_FLOATS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
# OpenAI's own upper bound for ``n``; where a provider answers one choice per request the core
# sends ``n`` requests, so an unbounded ``n`` would be that many requests held in memory.
MAX_N = 128
# An HTTP header name (RFC 9110 token) and a value without control characters (a CR or LF
# would end the header and start another one).
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


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
    for name in _FLOATS:
        value = params.get(name)
        if type(value) is float and not math.isfinite(value):
            _fail(f"{name} must be a finite number, got {value!r}")
    if _DEEP.isdisjoint(params):
        return
    validate_n(params.get("n"))
    for name in ("max_tokens", "max_completion_tokens", "top_logprobs"):
        value = params.get(name)
        if value is not None and value < (0 if name == "top_logprobs" else 1):
            _fail(f"{name} must be {'at least 0' if name == 'top_logprobs' else 'positive'}, "
                  f"got {value}")
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
            parameters = fn.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                _fail(f"{name}[{i}] parameters must be a JSON Schema object, "
                      f"got {type(parameters).__name__}")
    fmt = params.get("response_format")
    if fmt is not None and fmt.get("type") not in _FORMATS:
        _fail("response_format.type must be 'text', 'json_object' or 'json_schema'")
    if fmt is not None and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict):
            _fail("response_format json_schema needs a 'json_schema' object")
        if not isinstance(spec.get("name", ""), str):
            _fail("response_format.json_schema.name must be a string")
        if not isinstance(spec.get("schema", {}), dict):
            _fail("response_format.json_schema.schema must be a JSON Schema object")
    _check_choice(params, "tool_choice", "tools", ("none", "auto", "required"))
    _check_choice(params, "function_call", "functions", ("none", "auto"))
    options = params.get("stream_options")
    if options is not None and not isinstance(options.get("include_usage", False), bool):
        _fail("stream_options.include_usage must be a bool")
    bias = params.get("logit_bias")
    if bias:
        for token, value in bias.items():
            if (not isinstance(token, (str, int)) or isinstance(token, bool)
                    or not str(token).isdigit()):
                _fail(f"logit_bias keys must be token ids, got {token!r}")
            if (not isinstance(value, (int, float)) or isinstance(value, bool)
                    or not -100 <= value <= 100):
                _fail(f"logit_bias[{token!r}] must be a number from -100 to 100, got {value!r}")


_FORMATS = ("text", "json_object", "json_schema")


def _check_choice(params: Mapping[str, Any], name: str, defined: str,
                  modes: tuple[str, ...]) -> None:
    """``tool_choice`` / ``function_call``: a mode, or a named tool among those defined."""
    choice = params.get(name)
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in modes:
            _fail(f"{name} must be one of {', '.join(map(repr, modes))} or a named "
                  f"{'tool' if name == 'tool_choice' else 'function'}, got {choice!r}")
        return
    if name == "tool_choice":
        kind = choice.get("type", "function")
        if not isinstance(kind, str):
            _fail("tool_choice.type must be a string")
        if kind != "function":
            return  # a provider's own tool type (allowed_tools, custom...): its adapter decides
        fn = choice.get("function")
    else:
        fn = choice
    where = "tool_choice.function" if name == "tool_choice" else "function_call"
    if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
        _fail(f"{where} must be an object with a name")
    tools = params.get(defined)
    if tools is None:
        _fail(f"{name} names {fn['name']!r} but no {defined} are given")
    names = {(t.get("function") or {}).get("name") if name == "tool_choice" else t.get("name")
             for t in tools if isinstance(t, dict)}
    if fn["name"] not in names:
        _fail(f"{name} names {fn['name']!r}, which is not among the {defined} given")


THINKING_TYPES = ("enabled", "disabled", "adaptive")


def validate_thinking(thinking: Any) -> None:
    """Anthropic's ``thinking`` extra (Anthropic, Bedrock Claude): ``{"type": "enabled",
    "budget_tokens": <int>}``, ``{"type": "adaptive"}`` or ``{"type": "disabled"}``."""
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if (type(kind) is not str or kind not in THINKING_TYPES
            or (kind == "enabled" and (type(budget) is not int or budget < 1))):
        _fail("thinking must be {'type': 'enabled', 'budget_tokens': <positive int>}, "
              f"{{'type': 'adaptive'}} or {{'type': 'disabled'}}; got {thinking!r:.200}")


def list_field(message: Mapping[str, Any], name: str, where: str) -> list[Any]:
    """``message[name]`` as a list (``[]`` when absent); ``BadRequestError`` when it is not one."""
    value = message.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(f"{where}.{name} must be a list, got {type(value).__name__}")
    return value


def validate_n(n: Any) -> None:
    """``n`` between 1 and ``MAX_N`` (its type is checked with the other parameters)."""
    if type(n) is int and not 1 <= n <= MAX_N:
        _fail(f"n must be from 1 to {MAX_N}, got {n}")


def validate_messages(messages: Any) -> None:
    """Raise ``BadRequestError`` unless ``messages`` is a well-formed OpenAI conversation."""
    if not isinstance(messages, list) or not messages:
        _fail("messages must be a non-empty list of message objects")
    for i, message in enumerate(messages):
        # The common message, text from the user or the system, passes on a few dict reads
        # (the checks below cost ~10 us a message; a conversation is checked on every call).
        try:
            if (type(message) is dict and type(message.get("content")) is str
                    and message.get("role") in _PLAIN_ROLES and not message.get("tool_calls")
                    and not message.get("function_call")):
                continue
        except TypeError:
            pass  # a role that is not hashable (a list...): reported below
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            _fail(f"{where} must be an object, got {type(message).__name__}")
        role = message.get("role")
        if type(role) is not str or role not in ROLES:
            _fail(f"{where}.role must be one of {', '.join(sorted(ROLES))}, got {role!r}")
        content = message.get("content")
        has_calls = bool(message.get("tool_calls") or message.get("function_call"))
        if content is None:
            if not (role == "assistant" and (has_calls or "content" in message)):
                _fail(f"{where}.content is required for role {role!r}")
        elif isinstance(content, list):
            if not content and not (role == "assistant" and has_calls):
                _fail(f"{where}.content must not be an empty list")
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, Mapping) else None
                if type(kind) is not str or kind not in PART_TYPES:
                    _fail(f"{where}.content[{j}] must be a content part with a known type "
                          f"({', '.join(sorted(PART_TYPES))})")
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
        if message.get("name") is not None and not isinstance(message.get("name"), str):
            _fail(f"{where}.name must be a string")
        calls = message.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            _fail(f"{where}.tool_calls must be a list, got {type(calls).__name__}")
        legacy = message.get("function_call")
        if legacy is not None and (not isinstance(legacy, Mapping)
                                   or not isinstance(legacy.get("name"), str)
                                   or not isinstance(legacy.get("arguments", ""), str)):
            _fail(f"{where}.function_call must be an object with a name and a JSON string "
                  "of arguments")
        for k, call in enumerate(calls or ()):
            fn = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
                _fail(f"{where}.tool_calls[{k}] must have function.name")
            if not isinstance(call.get("id"), str):
                _fail(f"{where}.tool_calls[{k}] must have an id")
            if not isinstance(fn.get("arguments", ""), str):
                _fail(f"{where}.tool_calls[{k}].function.arguments must be a JSON string")


def validate_call_options(timeout: Any, force_timeout: Any, num_retries: Any,
                          logger_fn: Any = None) -> None:
    """``timeout`` a positive number, ``None`` or an ``httpx.Timeout``; ``force_timeout`` a
    positive number or ``None``; ``num_retries`` an int or ``None``; ``logger_fn`` callable."""
    if logger_fn is not None and not callable(logger_fn):
        _fail(f"logger_fn must be callable, got {type(logger_fn).__name__}")
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


def validate_options(api_key: Any, api_base: Any, extra_headers: Any, extra_body: Any) -> None:
    """The call's own arguments that go into the HTTP request: ``api_key`` and header values
    a string without line breaks (never quoted back: it is a secret), ``api_base`` a string,
    ``extra_headers`` a dict of header names to strings, ``extra_body`` a dict."""
    if api_key is not None and (not isinstance(api_key, str) or _HEADER_BAD_VALUE.search(api_key)):
        _fail("api_key must be a string without control characters (such as a line break)")
    if api_base is not None and not isinstance(api_base, str):
        _fail(f"api_base must be a string URL, got {type(api_base).__name__}")
    if extra_body is not None and not isinstance(extra_body, dict):
        _fail(f"extra_body must be a dict, got {type(extra_body).__name__}")
    if extra_body and not all(isinstance(k, str) for k in extra_body):
        _fail("extra_body keys must be strings")
    if extra_headers is not None:
        if not isinstance(extra_headers, dict):
            _fail(f"extra_headers must be a dict of header names to strings, "
                  f"got {type(extra_headers).__name__}")
        for name, value in extra_headers.items():
            if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
                _fail(f"extra_headers: {name!r} is not a valid HTTP header name")
            if not isinstance(value, str):
                _fail(f"extra_headers[{name!r}] must be a string, got {type(value).__name__}")
            if _HEADER_BAD_VALUE.search(value) or not value.isascii():
                _fail(f"extra_headers[{name!r}] must be ASCII text without control characters")


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
