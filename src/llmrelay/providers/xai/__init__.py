"""xAI: OpenAI's chat format at ``https://api.x.ai/v1``.

Reasoning models (``grok-3-mini*``, ``grok-4*``, ``grok-code*``) refuse ``presence_penalty``,
``frequency_penalty`` and ``stop``; only ``grok-3-mini*`` takes ``reasoning_effort``
(https://docs.x.ai/docs/guides/reasoning). Errors are ``{"code": "<status text>", "error":
"<message>"}``, and a wrong key answers 400 "Incorrect API key provided".
"""

from __future__ import annotations

from ...capabilities import ModelFamily
from ...exceptions import APIError, AuthenticationError, UnsupportedParamsError
from ..openai.compatible import Dialect, compatible

REASONING_REFUSES = frozenset({"presence_penalty", "frequency_penalty", "stop"})
EFFORT = frozenset({"reasoning_effort"})

FAMILIES = (
    ModelFamily("grok-4*non-reasoning*", unsupported=EFFORT),
    ModelFamily("grok-3-mini*", unsupported=REASONING_REFUSES),
    ModelFamily("grok-4*", unsupported=REASONING_REFUSES | EFFORT),
    ModelFamily("grok-code*", unsupported=REASONING_REFUSES | EFFORT),
    ModelFamily("*", unsupported=EFFORT),
)


def refine_error(status: int, message: str, code: str | None) -> type[APIError] | None:
    """xAI's error body has no machine-readable code: its wording is all there is."""
    if message.startswith("Incorrect API key provided"):
        return AuthenticationError
    if status == 400 and message.startswith("Argument not supported"):
        return UnsupportedParamsError
    return None


ADAPTER = compatible(
    "xai",
    api_key_env=("XAI_API_KEY",),
    default_base_url="https://api.x.ai/v1",
    base_url_env="XAI_API_BASE",
    families=FAMILIES,
    dialect=Dialect(refine_error=refine_error),
)
