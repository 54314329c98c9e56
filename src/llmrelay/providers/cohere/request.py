"""OpenAI Chat Completions request -> Cohere Chat API v2 ``POST /v2/chat``.

Wire format: https://docs.cohere.com/reference/chat (v2). Messages, tools and tool calls keep
OpenAI's shapes almost field for field; sampling parameters are renamed and fitted to
Cohere's ranges.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...config import ProviderSettings
from ...exceptions import BadRequestError, UnsupportedParamsError
from ...types import OPENAI_PARAMS, ChatRequest
from ..base import HTTPRequest

# Cohere takes only these two; "auto" is its default and is not sent.
TOOL_CHOICES = {"required": "REQUIRED", "none": "NONE"}

# Provider extras under their OpenAI-world names -> Cohere's names (the rest pass as given).
EXTRA_NAMES = {"top_k": "k"}

# Cohere's documented ranges: p in [0.01, 0.99], penalties in [0, 1]. OpenAI code commonly
# sends top_p=1 or penalties up to 2, which Cohere would refuse with a 400.
P_RANGE = (0.01, 0.99)
PENALTY_RANGE = (0.0, 1.0)


def uses_functions(request: Mapping[str, Any]) -> bool:
    """Whether the caller used legacy ``functions`` (answers then use ``function_call``)."""
    return bool(request.get("functions")) and not request.get("tools")


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    """The ``/v2/chat`` call for ``request``.

    >>> build_request({"model": "command-r", "messages": [{"role": "user", "content": "Hi"}]},
    ...               settings).json
    {'model': 'command-r', 'messages': [{'role': 'user', 'content': 'Hi'}], 'stream': False}
    """
    stream = bool(request.get("stream"))
    body: dict[str, Any] = {
        "model": request["model"],
        "messages": translate_messages(request["messages"]),
    }
    body.update(translate_tools(request, drop_params=settings.drop_params))
    body.update(sampling(request))
    body.update(extras(request))
    body["stream"] = stream
    headers = {
        "authorization": f"Bearer {settings.api_key}",
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
    }
    return HTTPRequest("POST", f"{settings.base_url}/v2/chat", headers, body, stream=stream)


def translate_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages -> v2 messages; legacy ``function`` turns become ``tool`` turns."""
    out: list[dict[str, Any]] = []
    # Legacy function calls carry no id; give each one and remember it for its result.
    call_ids: dict[str, str] = {}
    for i, message in enumerate(messages):
        role = message["role"]
        if role in ("system", "developer"):
            out.append({"role": "system", "content": text_content(message["content"], i)})
        elif role == "user":
            out.append({"role": "user", "content": user_content(message["content"], i)})
        elif role == "assistant":
            out.append(assistant_message(message, i, call_ids))
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": message["tool_call_id"],
                        "content": text_content(message["content"], i)})
        else:  # "function": validated to carry a name
            name = message["name"]
            out.append({"role": "tool", "tool_call_id": call_ids.get(name, f"{name}_{i}"),
                        "content": text_content(message["content"], i)})
    return out


def _unsupported_part(kind: Any, where: int) -> BadRequestError:
    return BadRequestError(
        f"cohere does not accept {kind!r} content parts here (messages[{where}])",
        provider="cohere",
    )


def text_content(content: Any, where: int) -> Any:
    """A string stays a string; a list keeps its text parts (refusals read as text)."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "refusal":
            parts.append({"type": "text", "text": part.get("refusal") or ""})
        else:
            raise _unsupported_part(kind, where)
    return parts


def user_content(content: Any, where: int) -> Any:
    """User turns may also carry images (vision models): v2 takes OpenAI's ``image_url`` part."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if part.get("type") == "image_url":
            image = part["image_url"]
            image = {"url": image} if isinstance(image, str) else image
            parts.append({"type": "image_url",
                          "image_url": {k: image[k] for k in ("url", "detail") if k in image}})
        else:
            parts.extend(text_content([part], where))
    return parts


def assistant_message(message: dict[str, Any], where: int, call_ids: dict[str, str]) -> dict[str, Any]:
    """Text, tool calls and our ``reasoning_content`` back in v2's assistant shape.

    ``reasoning_content`` returns as ``tool_plan`` next to tool calls, else as a ``thinking``
    part (the shape command-a-reasoning answers with and accepts in history).
    """
    out: dict[str, Any] = {"role": "assistant"}
    content = text_content(message.get("content"), where)
    reasoning = message.get("reasoning_content")
    if reasoning is not None and not isinstance(reasoning, str):
        raise BadRequestError(f"messages[{where}].reasoning_content must be a string")
    calls = [
        {"id": call["id"], "type": "function",
         "function": {"name": call["function"]["name"],
                      "arguments": call["function"].get("arguments") or "{}"}}
        for call in message.get("tool_calls") or []
    ]
    legacy = message.get("function_call")
    if legacy:
        call_ids[legacy["name"]] = f"{legacy['name']}_{where}"
        calls.append({"id": call_ids[legacy["name"]], "type": "function",
                      "function": {"name": legacy["name"],
                                   "arguments": legacy.get("arguments") or "{}"}})
    if reasoning and calls:
        out["tool_plan"] = reasoning
    elif reasoning:
        parts = [{"type": "text", "text": content}] if isinstance(content, str) and content else content or []
        content = [{"type": "thinking", "thinking": reasoning}, *parts]
    if content:
        out["content"] = content
    if calls:
        out["tool_calls"] = calls
    return out


def translate_tools(request: ChatRequest, *, drop_params: bool) -> dict[str, Any]:
    """``tools`` (or legacy ``functions``) and ``tool_choice`` (or ``function_call``)."""
    tools = request.get("tools") or []
    for i, tool in enumerate(tools):
        if tool.get("type", "function") != "function" and not drop_params:
            raise UnsupportedParamsError(
                f"cohere takes function tools only; tools[{i}] has type {tool.get('type')!r}. "
                "Pass drop_params=True to drop it.",
                param="tools", provider="cohere", model=request.get("model"))
    tools = [t for t in tools if t.get("type", "function") == "function"]
    functions = [t["function"] for t in tools]
    functions += request.get("functions") or []
    if not functions:
        return {}
    out: dict[str, Any] = {"tools": [
        {"type": "function", "function": {
            "name": fn["name"],
            **({"description": fn["description"]} if fn.get("description") else {}),
            # v2 requires parameters; OpenAI lets a no-argument function omit them.
            "parameters": fn.get("parameters") or {"type": "object", "properties": {}},
        }}
        for fn in functions
    ]}
    if all(fn.get("strict") for fn in functions):
        out["strict_tools"] = True
    param = "tool_choice" if "tool_choice" in request else "function_call"
    choice = request.get(param)
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        out["tool_choice"] = TOOL_CHOICES[choice]
    elif isinstance(choice, dict):
        # v2 can require *a* tool call but not name the function to call.
        if not drop_params:
            raise UnsupportedParamsError(
                f"cohere does not support {param}={choice!r}: Cohere can only be told "
                f"{param}='required' or 'none', not which function to call. Pass "
                "drop_params=True to drop it, or send only that tool with 'required'.",
                param=param, provider="cohere", model=request.get("model"),
            )
    elif choice not in (None, "auto"):
        raise BadRequestError(f"{param} must be 'auto', 'required', 'none' or a function, "
                              f"got {choice!r}", provider="cohere")
    return out


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def sampling(request: ChatRequest) -> dict[str, Any]:
    """Generation settings under Cohere's names and ranges."""
    out: dict[str, Any] = {}
    limit = request.get("max_completion_tokens", request.get("max_tokens"))
    if limit is not None:
        out["max_tokens"] = limit
    stop = request.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.get("temperature") is not None:
        out["temperature"] = request["temperature"]
    if request.get("top_p") is not None:
        out["p"] = _clamp(request["top_p"], P_RANGE)
    for name in ("frequency_penalty", "presence_penalty"):
        if request.get(name) is not None:
            out[name] = _clamp(request[name], PENALTY_RANGE)  # type: ignore[literal-required]
    if request.get("seed") is not None:
        out["seed"] = request["seed"]
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    elif fmt.get("type") == "json_schema":
        # v2 has no json_schema type: a json_object constrained by the schema.
        schema = (fmt.get("json_schema") or {}).get("schema")
        out["response_format"] = {"type": "json_object",
                                  **({"json_schema": schema} if schema else {})}
    if request.get("logprobs"):
        out["logprobs"] = True
    return out


def extras(request: ChatRequest) -> dict[str, Any]:
    """Cohere-only keyword arguments (``top_k``, ``documents``, ``thinking``, ...) as given."""
    return {
        EXTRA_NAMES.get(key, key): value
        for key, value in request.items()
        if key not in OPENAI_PARAMS and key not in ("model", "messages") and value is not None
    }

