"""Which Azure deployments take which parameters.

Azure names a deployment freely, so the model behind it is unknown before the call. The
heuristic: match OpenAI's model families against the deployment name, which by convention
is the model's name (``o3-mini``, ``gpt-4o``). A deployment named otherwise (``prod-chat``)
falls into the catch-all family and every parameter is sent as given.
"""

from __future__ import annotations

from ...capabilities import ModelFamily
from ..openai.capabilities import FAMILIES as OPENAI_FAMILIES

FAMILIES: tuple[ModelFamily, ...] = OPENAI_FAMILIES
