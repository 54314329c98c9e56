"""DeepSeek: OpenAI's chat format at ``https://api.deepseek.com`` (no ``/v1``).

Reasoning comes as ``reasoning_content`` already. ``deepseek-reasoner`` ignores the sampling
parameters and answers 400 to ``logprobs`` / ``top_logprobs``
(https://api-docs.deepseek.com/guides/reasoning_model), so only their defaults pass. The API
has no ``n``: ``n > 1`` becomes parallel requests. An assistant message's
``reasoning_content`` goes back only within the current tool loop (after the last user
message), as https://api-docs.deepseek.com/guides/thinking_mode asks; older turns drop it.
The API has no ``developer`` role (it answers "messages[0].role: unknown variant `developer`,
expected one of `system`, `user`, `assistant`, `tool`"): such messages go as ``system``.
"""

from __future__ import annotations

from typing import Any

from ...capabilities import ModelFamily
from ..openai.compatible import Dialect, compatible

FAMILIES = (
    ModelFamily(
        "deepseek-reasoner*",
        default_only={"temperature": 1, "top_p": 1, "presence_penalty": 0, "frequency_penalty": 0},
        unsupported=frozenset({"logprobs", "top_logprobs"}),
    ),
)


def fit_body(body: dict[str, Any]) -> dict[str, Any]:
    return current_reasoning_only(developer_as_system(body))


def developer_as_system(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages") or []
    if not any(isinstance(m, dict) and m.get("role") == "developer" for m in messages):
        return body
    return {**body, "messages": [{**m, "role": "system"}
                                 if isinstance(m, dict) and m.get("role") == "developer" else m
                                 for m in messages]}


def current_reasoning_only(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages") or []
    last_user = max((i for i, m in enumerate(messages)
                     if isinstance(m, dict) and m.get("role") == "user"), default=-1)
    if not any(isinstance(m, dict) and "reasoning_content" in m for m in messages[:last_user]):
        return body
    return {**body, "messages": [
        {k: v for k, v in m.items() if k != "reasoning_content"}
        if i < last_user and isinstance(m, dict) else m for i, m in enumerate(messages)]}


ADAPTER = compatible(
    "deepseek",
    api_key_env=("DEEPSEEK_API_KEY",),
    default_base_url="https://api.deepseek.com",
    base_url_env="DEEPSEEK_API_BASE",
    families=FAMILIES,
    native_n=False,
    dialect=Dialect(shape_body=fit_body, hold_usage=True),
)
