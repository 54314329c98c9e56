"""OpenAI chat request -> a Replicate prediction create: ``input`` plus the endpoint for the model.

``owner/name`` uses the official-model endpoint, ``owner/name:version`` the versioned one
(https://replicate.com/docs/reference/http#predictions.create). Keyword arguments that are not
OpenAI parameters are model inputs and go into ``input`` as they are, overriding ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...config import ProviderSettings
from ...exceptions import BadRequestError, UnsupportedParamsError
from ...types import OPENAI_PARAMS, ChatRequest
from ..base import HTTPRequest
from .prompt import render

MODEL_REF = re.compile(r"(?P<owner>[^/\s:]+)/(?P<name>[^/\s:]+)(?::(?P<version>[^/\s:]+))?")

# OpenAI parameters with a same-meaning input on Replicate LLMs (ranges are model-specific).
# ``max_new_tokens`` arrives already renamed by the capability table for older models.
INPUT_NAMES = ("max_tokens", "temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")

# ``Prefer: wait`` holds the create request open up to 60 s (https://replicate.com/docs/topics/predictions/create-a-prediction#sync-mode).
MAX_HOLD = 60


@dataclass(frozen=True)
class ModelRef:
    owner: str
    name: str
    version: str | None = None


def parse_model(model: str) -> ModelRef:
    """``owner/name`` or ``owner/name:version`` -> its parts; anything else is a bad request."""
    match = MODEL_REF.fullmatch(model)
    if match is None:
        raise BadRequestError(
            f"Replicate models are named owner/name or owner/name:version, got {model!r}",
            provider="replicate", model=model,
        )
    return ModelRef(match["owner"], match["name"], match["version"])


def auth_headers(settings: ProviderSettings) -> dict[str, str]:
    return {"authorization": f"Bearer {settings.api_key}"}


def stop_sequences(stop: str | list[str], settings: ProviderSettings) -> str | None:
    """Replicate takes one comma-separated string, so a stop sequence with a comma cannot go."""
    stops = [stop] if isinstance(stop, str) else list(stop)
    with_comma = [s for s in stops if "," in s]
    if with_comma and not settings.drop_params:
        raise UnsupportedParamsError(
            f"replicate takes stop sequences as one comma-separated string, so {with_comma[0]!r}"
            " cannot be sent. Pass drop_params=True to drop it.",
            param="stop", provider="replicate",
        )
    kept = [s for s in stops if s and "," not in s]
    return ",".join(kept) or None


def build_input(request: ChatRequest, settings: ProviderSettings) -> dict[str, Any]:
    """The prediction's ``input``: rendered conversation, mapped parameters, then raw extras."""
    inputs: dict[str, Any] = dict(render(request["messages"]))
    for name in INPUT_NAMES:
        if request.get(name) is not None:
            inputs[name] = request[name]  # type: ignore[literal-required]
    if request.get("stop"):
        stops = stop_sequences(request["stop"], settings)
        if stops:
            inputs["stop_sequences"] = stops
    for key, value in request.items():
        if key not in OPENAI_PARAMS and key not in ("model", "messages") and value is not None:
            inputs[key] = value
    return inputs


def prefer_header(settings: ProviderSettings) -> str | None:
    """How long to let Replicate hold the create request.

    The hold must end well inside ``timeout`` / ``force_timeout``: a create that times out on
    our side leaves a prediction we know no id of, so we could neither poll nor cancel it.
    """
    limits = []
    for name in ("force_timeout", "timeout"):
        value = settings.options.get(name)
        value = getattr(value, "read", value)  # an httpx.Timeout: its read timeout matters
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            limits.append(float(value))
    if not limits:
        return "wait"
    hold = min(MAX_HOLD, int(min(limits) / 2))
    if hold >= MAX_HOLD:
        return "wait"
    return f"wait={hold}" if hold >= 1 else None


def build_request(request: ChatRequest, settings: ProviderSettings) -> HTTPRequest:
    """The create-prediction request; streaming asks for ``urls.stream`` with ``stream: true``.

    >>> build_request({"model": "meta/meta-llama-3-8b-instruct",
    ...                "messages": [{"role": "user", "content": "Hi"}]}, settings).url
    'https://api.replicate.com/v1/models/meta/meta-llama-3-8b-instruct/predictions'
    """
    ref = parse_model(request["model"])
    body: dict[str, Any] = {"input": build_input(request, settings)}
    if ref.version:
        url = f"{settings.base_url}/predictions"
        body = {"version": ref.version, **body}
    else:
        url = f"{settings.base_url}/models/{ref.owner}/{ref.name}/predictions"
    headers = {**auth_headers(settings), "content-type": "application/json"}
    if request.get("stream"):
        body["stream"] = True
    else:
        prefer = prefer_header(settings)
        if prefer:
            headers["prefer"] = prefer
    # The create answer is a JSON prediction even when streaming: the SSE comes from urls.stream.
    return HTTPRequest("POST", url, headers, body)
