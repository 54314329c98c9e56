"""OpenAI chat request -> Bedrock ``POST {base}/model/{modelId}/converse`` (or ``/converse-stream``).

Converse body: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html.
Model-specific fields (Claude ``top_k`` and ``thinking``, Nova ``topK``, gpt-oss
``reasoning_effort``) go in ``additionalModelRequestFields``, in each model's own spelling.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from ...config import ProviderSettings
from ...exceptions import BadRequestError, UnsupportedParamsError
from ...types import OPENAI_PARAMS, ChatRequest
from ...validation import validate_thinking
from ..base import HTTPRequest
from .messages import cache_point, convert_messages, has_tool_blocks, tool_names_used

# The forced tool that carries ``response_format`` answers (as the Anthropic adapter does):
# supported on every model that takes ``toolChoice`` ``tool``, unlike ``outputConfig``.
JSON_TOOL = "json_response"
# Converse's own top-level fields: an extra with one of these names goes to the top level
# (dicts merged over what the translation built); any other extra is a model field.
CONVERSE_FIELDS = frozenset({
    "inferenceConfig", "toolConfig", "additionalModelRequestFields",
    "additionalModelResponseFieldPaths", "guardrailConfig", "performanceConfig",
    "promptVariables", "requestMetadata", "serviceTier", "outputConfig", "projectIdentifier",
})
# Converse's ServiceTierType values (botocore bedrock-runtime 2023-09-30).
SERVICE_TIERS = ("priority", "default", "flex", "reserved")
# Claude thinking budgets for OpenAI's ``reasoning_effort``.
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}

Vendor = Literal["claude", "nova", "cohere", "gpt-oss", "other"]


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    stream = bool(request.get("stream"))
    headers = {"content-type": "application/json"}
    if not stream:
        headers["accept"] = "application/json"
    if settings.api_key:  # a Bedrock API key; SigV4 requests are signed per attempt instead
        headers["authorization"] = f"Bearer {settings.api_key}"
    return HTTPRequest("POST", model_url(settings.base_url, request["model"], stream), headers,
                       converse_body(request, drop_params=settings.drop_params), stream=stream)


def model_url(base_url: str, model: str, stream: bool) -> str:
    return f"{base_url}/model/{model_label(model)}/{'converse-stream' if stream else 'converse'}"


def model_label(model: str) -> str:
    """The model id is one URI label: percent-encoded whole (``:`` -> ``%3A``, ``/`` -> ``%2F``)."""
    label = _labels.get(model)
    if label is None:
        label = quote(model, safe="")
        if len(_labels) < 1024:
            _labels[model] = label
    return label


_labels: dict[str, str] = {}  # model id -> its encoded path label (quote() costs ~3 us)


def vendor(model: str) -> Vendor:
    lowered = model.lower()
    if "anthropic.claude" in lowered:
        return "claude"
    if "amazon.nova" in lowered:
        return "nova"
    if "cohere.command" in lowered:
        return "cohere"
    if "openai.gpt-oss" in lowered:
        return "gpt-oss"
    return "other"


def converse_body(request: ChatRequest, *, drop_params: bool = False) -> dict[str, Any]:
    """The Converse body for an OpenAI request (already fitted to the model's family)."""
    extras = {k: v for k, v in request.items()
              if k not in OPENAI_PARAMS and k not in ("model", "messages")}
    system, turns = convert_messages(request["messages"])
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    inference = inference_config(request)
    if inference:
        body["inferenceConfig"] = inference
    fields = model_fields(request["model"], extras)
    tool_config = tools_of(request, turns)
    if json_tool_wanted(request) and not thinks(fields, drop_params, request["model"]):
        tool_config = with_json_tool(tool_config, request)
    if tool_config:
        body["toolConfig"] = tool_config
    if fields:
        body["additionalModelRequestFields"] = fields
    tier = service_tier(extras.pop("service_tier", None), request["model"], drop_params)
    if tier:
        body["serviceTier"] = {"type": tier}
    for key, value in extras.items():
        if key not in CONVERSE_FIELDS:
            continue
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def service_tier(tier: Any, model: str, drop_params: bool) -> str | None:
    """OpenAI's ``service_tier`` as Converse's ``serviceTier.type`` (botocore ServiceTierType:
    priority, default, flex, reserved); ``auto`` is the default: nothing is sent. OpenAI's
    ``scale`` has no Bedrock tier: refused, or dropped with drop_params."""
    if tier is None or tier == "auto":
        return None
    if tier in SERVICE_TIERS:
        return str(tier)
    if drop_params:
        return None
    raise UnsupportedParamsError(
        f"bedrock has no service_tier {tier!r} (it takes {', '.join(SERVICE_TIERS)} or auto). "
        "Pass drop_params=True to drop it.",
        param="service_tier", provider="bedrock", model=model,
    )


def inference_config(request: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    max_tokens = request.get("max_completion_tokens") or request.get("max_tokens")
    if max_tokens:
        config["maxTokens"] = max_tokens
    if request.get("temperature") is not None:
        config["temperature"] = request["temperature"]
    if request.get("top_p") is not None:
        config["topP"] = request["top_p"]
    stop = request.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    return config


def model_fields(model: str, extras: dict[str, Any]) -> dict[str, Any]:
    """``additionalModelRequestFields``: the extras that are not Converse fields, with
    ``top_k`` and ``reasoning_effort`` spelled as the model takes them."""
    kind = vendor(model)
    validate_thinking(extras.get("thinking"))
    fields: dict[str, Any] = {}
    for key, value in extras.items():
        if key in CONVERSE_FIELDS or key == "service_tier" or value is None:
            continue
        if key == "top_k":
            if kind == "nova":
                fields.setdefault("inferenceConfig", {})["topK"] = value
            else:
                fields["k" if kind == "cohere" else "top_k"] = value
        elif key == "reasoning_effort" and kind == "claude":
            if value in THINKING_BUDGETS and "thinking" not in extras:
                fields["thinking"] = {"type": "enabled", "budget_tokens": THINKING_BUDGETS[value]}
        else:
            fields[key] = value
    given = extras.get("additionalModelRequestFields")
    if isinstance(given, dict):
        fields = {**fields, **given}
    return fields


def tools_of(request: ChatRequest, turns: list[dict[str, Any]]) -> dict[str, Any]:
    """``toolConfig`` from ``tools`` / legacy ``functions`` and their choice.

    Converse has no ``tool_choice: "none"``: the tools are left out. A conversation that
    already holds ``toolUse`` / ``toolResult`` blocks must still send a ``toolConfig``, so
    then the tools stay (without a choice), or, when the caller sent none, each tool the
    conversation used is declared with an open schema.
    """
    tools: list[dict[str, Any]] = []
    for tool in request.get("tools") or []:
        tools += tool_entries(tool)
    for fn in request.get("functions") or []:
        tools += tool_entries({"type": "function", "function": fn})
    choice = request.get("tool_choice", request.get("function_call"))
    history = has_tool_blocks(turns)
    if choice == "none":
        if not history:
            return {}
        choice = None
    if not tools and history:
        tools = [{"toolSpec": {"name": name, "inputSchema": {"json": {"type": "object"}}}}
                 for name in tool_names_used(turns)]
    if not tools:
        return {}
    config: dict[str, Any] = {"tools": tools}
    converted = tool_choice(choice)
    if converted is not None:
        config["toolChoice"] = converted
    return config


def tool_entries(tool: dict[str, Any]) -> list[dict[str, Any]]:
    """One OpenAI tool -> its Converse ``Tool`` (a ``cachePoint`` after it when marked)."""
    kind = tool.get("type", "function")
    if kind != "function":
        # Converse's own tool members (``systemTool``, ``cachePoint``) go as given:
        # {"type": "systemTool", "systemTool": {"name": "nova_grounding"}}.
        if not isinstance(tool.get(kind), dict):
            raise BadRequestError(f"tools: a {kind!r} tool needs a {kind!r} object (Converse's own "
                                  "tool members, such as systemTool, go as given)")
        return [{kind: tool[kind]}]
    fn = tool["function"]
    spec: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        spec["description"] = fn["description"]
    spec["inputSchema"] = {"json": fn.get("parameters") or {"type": "object", "properties": {}}}
    if fn.get("strict") is not None:
        spec["strict"] = fn["strict"]
    entries: list[dict[str, Any]] = [{"toolSpec": spec}]
    if tool.get("cache_control"):
        entries.append(cache_point(tool["cache_control"]))
    return entries


def tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice is None or choice == "none":
        return None
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, str):
        raise ValueError(f"tool_choice {choice!r} is not auto, required, none or a function")
    name = (choice.get("function") or choice).get("name")  # tools: {"function": {...}}; legacy: {"name"}
    return {"tool": {"name": name}}


def json_tool_wanted(request: ChatRequest) -> bool:
    return (request.get("response_format") or {}).get("type") in ("json_object", "json_schema")


def response_schema(request: ChatRequest) -> dict[str, Any]:
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return dict((fmt.get("json_schema") or {}).get("schema") or {"type": "object"})
    return {"type": "object"}


def thinks(fields: dict[str, Any], drop_params: bool, model: str) -> bool:
    """Whether Claude thinking is on, which rules out the forced JSON tool (thinking forbids a
    forced ``toolChoice``): refused here, or ``response_format`` dropped with drop_params."""
    thinking = fields.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") in (None, "disabled"):
        return False
    if drop_params:
        return True
    raise UnsupportedParamsError(
        f"bedrock cannot honour response_format together with thinking on {model!r}: it needs"
        " a forced tool, which thinking forbids. Pass drop_params=True to drop response_format.",
        param="response_format", provider="bedrock", model=model,
    )


def with_json_tool(config: dict[str, Any], request: ChatRequest) -> dict[str, Any]:
    """The answer comes back as this tool's input; the parsers turn it into content. With
    tools of the caller's own, the model must call one of them or answer (``any``)."""
    fmt = request.get("response_format") or {}
    description = (fmt.get("json_schema") or {}).get("description") or "Respond with the answer as JSON."
    tool = {"toolSpec": {"name": JSON_TOOL, "description": description,
                         "inputSchema": {"json": response_schema(request)}}}
    if config.get("tools"):
        return {**config, "tools": [*config["tools"], tool],
                "toolChoice": config.get("toolChoice") or {"any": {}}}
    return {"tools": [tool], "toolChoice": {"tool": {"name": JSON_TOOL}}}
