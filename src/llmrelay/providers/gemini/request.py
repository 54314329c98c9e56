"""OpenAI chat request -> Gemini ``POST {base}/v1beta/models/{model}:generateContent``
(``:streamGenerateContent?alt=sse`` for streams). Provider extras pass through in Gemini's
names, snake_case or camelCase: generation settings into ``generationConfig``, the rest on top.
"""

from __future__ import annotations

from typing import Any, cast

from ...capabilities import find_family
from ...config import ProviderSettings
from ...exceptions import BadRequestError, UnsupportedParamsError
from ...types import OPENAI_PARAMS, ChatRequest
from ..base import HTTPRequest
from .capabilities import FAMILIES, GeminiFamily
from .messages import convert_messages
from .schema import json_schema, openapi_schema

API_VERSIONS = ("/v1beta", "/v1", "/v1alpha")
GENERATION_FIELDS = frozenset({
    "candidateCount", "maxOutputTokens", "stopSequences", "temperature", "topP", "topK", "seed",
    "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs", "responseMimeType",
    "responseSchema", "responseJsonSchema", "responseModalities", "mediaResolution",
    "speechConfig", "thinkingConfig", "imageConfig", "enableEnhancedCivicAnswers",
    "audioTranscriptionConfig",
})
# reasoning_effort -> thinkingBudget (Gemini 2.5) or thinkingLevel (Gemini 3). Google publishes
# no table; budgets stay inside every 2.5 model's range (Flash-Lite 512..24576, Pro 128..32768).
EFFORT_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576}
EFFORT_LEVELS = {"minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH",
                 "xhigh": "XHIGH"}
CALLING_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    headers = {"x-goog-api-key": settings.api_key or "", "content-type": "application/json"}
    stream = bool(request.get("stream"))
    return HTTPRequest("POST", endpoint(settings.base_url, request["model"], stream), headers,
                       content_body(request, drop_params=settings.drop_params), stream=stream)


def endpoint(base_url: str, model: str, stream: bool) -> str:
    """The generateContent URL (streams: ``streamGenerateContent?alt=sse``)."""
    return model_url(base_url, model, "streamGenerateContent?alt=sse" if stream else "generateContent")


def model_url(base_url: str, model: str, method: str) -> str:
    """``{base}/v1beta/models/{model}:{method}`` (also for ``batchEmbedContents``); a base that
    already names an API version is not given another, a ``models/`` prefix is not doubled."""
    root = base_url if base_url.endswith(API_VERSIONS) else f"{base_url}/v1beta"
    return f"{root}/models/{model.removeprefix('models/')}:{method}"


def gemini_family(model: str) -> GeminiFamily:
    return cast(GeminiFamily, find_family(FAMILIES, model))


def content_body(request: ChatRequest, *, drop_params: bool = False) -> dict[str, Any]:
    """The ``GenerateContentRequest`` body for an OpenAI request (already fitted to the family)."""
    family = gemini_family(request["model"])
    extras = {k: v for k, v in request.items() if k not in OPENAI_PARAMS and k not in ("model", "messages")}
    system, contents = convert_messages(request["messages"], signatures=family.signatures)
    body: dict[str, Any] = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    body.update(tool_fields(request, family))
    config = generation_config(request, family)
    thinking = thinking_config(extras.pop("reasoning_effort", None), extras.pop("thinking", None),
                               family, request["model"], drop_params)
    if thinking:
        config["thinkingConfig"] = thinking
    if config:
        body["generationConfig"] = config
    for key, value in extras.items():
        add_extra(body, camel(key), value)
    return body


def generation_config(request: ChatRequest, family: GeminiFamily) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"),
                         ("presence_penalty", "presencePenalty"),
                         ("frequency_penalty", "frequencyPenalty")):
        if request.get(ours) is not None:
            config[theirs] = request[ours]  # type: ignore[literal-required]
    n = request.get("n")
    if n is not None and n != 1:
        config["candidateCount"] = n
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if limit:
        config["maxOutputTokens"] = limit
    stop = request.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.get("logprobs") or request.get("top_logprobs") is not None:
        config["responseLogprobs"] = True
        if request.get("top_logprobs") is not None:
            config["logprobs"] = request["top_logprobs"]
    config.update(response_format(request.get("response_format"), family))
    return config


def response_format(fmt: Any, family: GeminiFamily) -> dict[str, Any]:
    kind = (fmt or {}).get("type")
    if kind not in ("json_object", "json_schema"):
        return {}
    out: dict[str, Any] = {"responseMimeType": "application/json"}
    schema = (fmt.get("json_schema") or {}).get("schema") if kind == "json_schema" else None
    if schema is not None:
        where = "response_format.json_schema.schema"
        if family.json_schema:
            out["responseJsonSchema"] = json_schema(schema, where)
        else:
            out["responseSchema"] = openapi_schema(schema, where)
    return out


def thinking_config(effort: Any, thinking: Any, family: GeminiFamily, model: str,
                    drop_params: bool) -> dict[str, Any]:
    """``reasoning_effort`` or Anthropic-style ``thinking`` -> ``thinkingConfig``; thoughts are
    asked for (``includeThoughts``) whenever thinking is, so they come back as reasoning."""
    config: dict[str, Any] = {}
    if effort is not None:
        if effort not in (*EFFORT_BUDGETS, "none"):
            raise BadRequestError(f"reasoning_effort must be one of none, {', '.join(EFFORT_BUDGETS)};"
                                  f" got {effort!r}")
        if effort == "none":
            config = thinking_off(family, model, drop_params, "reasoning_effort")
        elif family.thinking == "level":
            config = {"thinkingLevel": EFFORT_LEVELS[effort], "includeThoughts": True}
        else:
            config = {"thinkingBudget": EFFORT_BUDGETS[effort], "includeThoughts": True}
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if kind == "disabled":
            config = thinking_off(family, model, drop_params, "thinking")
        elif kind == "enabled" and isinstance(budget, int) and not isinstance(budget, bool):
            config = {"thinkingBudget": budget, "includeThoughts": True}
        elif kind == "adaptive":
            config = {"thinkingBudget": -1, "includeThoughts": True}  # -1: the model decides
        else:
            raise BadRequestError("thinking must be {'type': 'enabled', 'budget_tokens': <int>}, "
                                  "{'type': 'adaptive'} or {'type': 'disabled'}")
    return config


def thinking_off(family: GeminiFamily, model: str, drop_params: bool, param: str) -> dict[str, Any]:
    """``thinkingBudget: 0``; on a model that always thinks (Gemini 3, 2.5 Pro, which answer it
    with a 400) refused, or dropped with ``drop_params``."""
    if family.thinking_off:
        return {"thinkingBudget": 0}
    if not drop_params:
        raise UnsupportedParamsError(
            f"gemini cannot turn thinking off on {model!r} (the model always thinks); ask for "
            "the least thinking instead (reasoning_effort='minimal' or 'low'), or pass "
            "drop_params=True to drop it.", param=param, provider="gemini", model=model)
    return {}


def tool_fields(request: ChatRequest, family: GeminiFamily) -> dict[str, Any]:
    """``tools`` / legacy ``functions`` -> ``functionDeclarations`` (one Tool), Gemini's own tools
    (``{"type": "google_search"}`` -> ``{"googleSearch": {}}``) after it, and ``toolConfig``."""
    declarations, native = [], []
    for i, tool in enumerate(request.get("tools") or []):
        if tool.get("type", "function") == "function":
            declarations.append(declaration(tool["function"], family, f"tools[{i}].function"))
        else:
            native.append(native_tool(tool))
    for i, fn in enumerate(request.get("functions") or []):
        declarations.append(declaration(fn, family, f"functions[{i}]"))
    tools = ([{"functionDeclarations": declarations}] if declarations else []) + native
    if not tools:
        return {}
    out: dict[str, Any] = {"tools": tools}
    calling = calling_config(request.get("tool_choice", request.get("function_call")))
    if calling is not None and declarations:
        out["toolConfig"] = {"functionCallingConfig": calling}
    return out


def declaration(fn: dict[str, Any], family: GeminiFamily, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    parameters = fn.get("parameters")
    if parameters:
        where += ".parameters"
        if family.json_schema:
            out["parametersJsonSchema"] = json_schema(parameters, where)
        else:
            out["parameters"] = openapi_schema(parameters, where)
    return out


def native_tool(tool: dict[str, Any]) -> dict[str, Any]:
    kind = str(tool["type"])
    config = tool.get(kind)
    if config is None:
        config = {k: v for k, v in tool.items() if k != "type"}
    return {camel(kind): config}


def calling_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in CALLING_MODES:
            raise BadRequestError(f"tool_choice must be auto, none, required or a function, got {choice!r}")
        return {"mode": CALLING_MODES[choice]}
    name = (choice.get("function") or choice).get("name")  # tools: {"function": {...}}; legacy: {"name"}
    if not isinstance(name, str):
        raise BadRequestError("tool_choice names no function")
    return {"mode": "ANY", "allowedFunctionNames": [name]}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def add_extra(body: dict[str, Any], name: str, value: Any) -> None:
    """Put one provider extra where Gemini reads it; objects merge with what is there."""
    if name == "generationConfig" and isinstance(value, dict):
        config = body.setdefault("generationConfig", {})
        for key, item in value.items():
            merge(config, camel(key), item)
        return
    merge(body.setdefault("generationConfig", {}) if name in GENERATION_FIELDS else body, name, value)


def merge(target: dict[str, Any], name: str, value: Any) -> None:
    if name == "thinkingConfig" and isinstance(value, dict):
        value = {camel(k): v for k, v in value.items()}
    current = target.get(name)
    target[name] = {**current, **value} if isinstance(current, dict) and isinstance(value, dict) else value
