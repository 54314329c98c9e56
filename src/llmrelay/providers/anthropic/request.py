"""OpenAI chat request -> Anthropic ``POST {base}/v1/messages`` (https://docs.claude.com/en/api/messages)."""

from __future__ import annotations

from typing import Any, Literal

from ...capabilities import find_family
from ...config import ProviderSettings
from ...exceptions import UnsupportedParamsError
from ...types import OPENAI_PARAMS, ChatRequest
from ...validation import validate_thinking
from ..base import HTTPRequest
from .capabilities import FAMILIES
from .messages import convert_messages

ANTHROPIC_VERSION = "2023-06-01"
# Anthropic requires max_tokens; 4096 is within every Claude model's output limit (Claude 3
# Haiku/Opus stop at 4096). With thinking it must also exceed the thinking budget.
DEFAULT_MAX_TOKENS = 4096
# The forced tool that carries ``response_format`` answers on models without structured outputs.
JSON_TOOL = "json_response"

JsonMode = Literal["native", "tool"]


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    headers = {
        "x-api-key": settings.api_key or "",
        "anthropic-version": ANTHROPIC_VERSION,
        "content-type": "application/json",
    }
    return HTTPRequest("POST", messages_url(settings.base_url), headers,
                       message_body(request, drop_params=settings.drop_params),
                       stream=bool(request.get("stream")))


def messages_url(base_url: str) -> str:
    """``{base}/v1/messages``; a base that already ends in ``/v1`` is not doubled."""
    return f"{base_url}/messages" if base_url.endswith("/v1") else f"{base_url}/v1/messages"


def message_body(request: ChatRequest, *, drop_params: bool = False) -> dict[str, Any]:
    """The Messages API body for an OpenAI request (already fitted to the model's family)."""
    extras = {k: v for k, v in request.items() if k not in OPENAI_PARAMS and k not in ("model", "messages")}
    validate_thinking(extras.get("thinking"))
    system, turns = convert_messages(request["messages"])
    body: dict[str, Any] = {"model": request["model"], "max_tokens": max_tokens(request, extras)}
    if system is not None:
        body["system"] = system
    body["messages"] = turns
    for param in ("temperature", "top_p"):
        if request.get(param) is not None:
            body[param] = request[param]  # type: ignore[literal-required]
    stop = request.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.get("user"):
        body["metadata"] = {"user_id": request["user"]}
    body.update(tool_fields(request))
    mode = json_mode(request)
    if mode == "native":
        body["output_config"] = {"format": {"type": "json_schema", "schema": response_schema(request)}}
    elif mode == "tool" and not thinks(extras, drop_params, request["model"]):
        add_json_tool(body, request)
    if request.get("stream"):
        body["stream"] = True
    for key, value in extras.items():  # Anthropic-only fields: top_k, thinking, service_tier, ...
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def max_tokens(request: ChatRequest, extras: dict[str, Any]) -> int:
    given = request.get("max_completion_tokens") or request.get("max_tokens")
    if given:
        return given
    thinking = extras.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    return DEFAULT_MAX_TOKENS + budget if isinstance(budget, int) else DEFAULT_MAX_TOKENS


def tool_fields(request: ChatRequest) -> dict[str, Any]:
    """``tools`` / legacy ``functions`` and their choice, in Anthropic's shape."""
    tools = [tool_definition(t) for t in request.get("tools") or []]
    tools += [tool_definition({"type": "function", "function": f}) for f in request.get("functions") or []]
    if not tools:
        return {}
    choice = tool_choice(request.get("tool_choice", request.get("function_call")))
    if request.get("parallel_tool_calls") is False and (choice or {}).get("type") != "none":
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    return {"tools": tools, **({"tool_choice": choice} if choice else {})}


def tool_definition(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type", "function") != "function":
        # Anthropic's own tools (server tools such as ``web_search_20250305``) go as given.
        return tool
    fn = tool["function"]
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
    if fn.get("strict") is not None:
        out["strict"] = fn["strict"]
    if tool.get("cache_control"):
        out["cache_control"] = tool["cache_control"]
    return out


def tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        return {"type": {"required": "any"}.get(choice, choice)}
    name = (choice.get("function") or choice).get("name")  # tools: {"function": {...}}; legacy: {"name"}
    return {"type": "tool", "name": name}


def json_mode(request: ChatRequest) -> JsonMode | None:
    """How ``response_format`` is honoured: ``output_config.format`` on models with structured
    outputs (json_schema only), else a forced tool whose input is the answer."""
    kind = (request.get("response_format") or {}).get("type")
    if kind not in ("json_object", "json_schema"):
        return None
    family = find_family(FAMILIES, request["model"])
    if kind == "json_schema" and getattr(family, "native_json_schema", False):
        return "native"
    return "tool"


def response_schema(request: ChatRequest) -> dict[str, Any]:
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return dict((fmt.get("json_schema") or {}).get("schema") or {"type": "object"})
    return {"type": "object"}


def thinks(extras: dict[str, Any], drop_params: bool, model: str) -> bool:
    """Whether thinking is on, which rules out the forced JSON tool (the API refuses a forced
    tool_choice with thinking): refused here, or ``response_format`` dropped with drop_params."""
    thinking = extras.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") in (None, "disabled"):
        return False
    if drop_params:
        return True
    raise UnsupportedParamsError(
        f"anthropic cannot honour response_format together with thinking on {model!r}: it needs"
        " a forced tool, which thinking forbids. Use json_schema on a model with structured"
        " outputs (Claude 4.5 or newer), or pass drop_params=True to drop response_format.",
        param="response_format", provider="anthropic", model=model,
    )


def add_json_tool(body: dict[str, Any], request: ChatRequest) -> None:
    """The answer comes back as this tool's input; the response parsers turn it into content.
    With tools of the caller's own, the model must call one of them or answer (``any``)."""
    fmt = request.get("response_format") or {}
    description = (fmt.get("json_schema") or {}).get("description") or "Respond with the answer as JSON."
    tool = {"name": JSON_TOOL, "description": description, "input_schema": response_schema(request)}
    if body.get("tools"):
        body["tools"] = [*body["tools"], tool]
        body.setdefault("tool_choice", {"type": "any"})
    else:
        body["tools"] = [tool]
        body["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
