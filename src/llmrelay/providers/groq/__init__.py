"""Groq: OpenAI's chat format at ``https://api.groq.com/openai/v1``.

``logprobs``, ``logit_bias``, ``top_logprobs`` and ``messages[].name`` answer 400 and ``n``
must be 1 (https://console.groq.com/docs/openai): ``n > 1`` becomes ``n`` parallel requests,
message names are left out and ``developer`` messages go as ``system``. Reasoning text comes as ``reasoning``; a stream's usage rides
in ``x_groq.usage`` on its last chunk; 498 is Groq's "flex tier at capacity".
"""

from __future__ import annotations

from typing import Any

from ...capabilities import ModelFamily
from ...exceptions import APIError, ServiceUnavailableError
from ..openai.compatible import Dialect, compatible

FAMILIES = (ModelFamily("*", unsupported=frozenset({"logprobs", "top_logprobs", "logit_bias"})),)


def fit_messages(body: dict[str, Any]) -> dict[str, Any]:
    """Message ``name``s left out (a legacy ``function`` message keeps the one it needs), and
    ``developer`` sent as ``system``: Groq's message types have no developer role."""
    messages = body.get("messages") or []
    if not any(isinstance(m, dict) and (("name" in m and m.get("role") != "function")
                                        or m.get("role") == "developer") for m in messages):
        return body
    return {**body, "messages": [fit_message(m) for m in messages]}


def fit_message(message: Any) -> Any:
    if not isinstance(message, dict) or message.get("role") == "function":
        return message
    out = {k: v for k, v in message.items() if k != "name"}
    if out.get("role") == "developer":
        out["role"] = "system"
    return out


def usage_from_x_groq(chunk: dict[str, Any]) -> dict[str, Any]:
    extra = chunk.get("x_groq")
    if not chunk.get("usage") and isinstance(extra, dict) and extra.get("usage"):
        return {**chunk, "usage": extra["usage"]}
    return chunk


def refine_error(status: int, message: str, code: str | None) -> type[APIError] | None:
    return ServiceUnavailableError if status == 498 else None


ADAPTER = compatible(
    "groq",
    api_key_env=("GROQ_API_KEY",),
    default_base_url="https://api.groq.com/openai/v1",
    base_url_env="GROQ_API_BASE",
    families=FAMILIES,
    native_n=False,
    dialect=Dialect(reasoning_field="reasoning", shape_body=fit_messages,
                    shape_chunk=usage_from_x_groq, hold_usage=True, refine_error=refine_error),
)
