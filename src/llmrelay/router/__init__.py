"""The Router: many deployments behind one model name, with retries, cooldowns and fallbacks.

``Router`` loads on first use; the exception module stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import NoDeploymentAvailableError

if TYPE_CHECKING:
    from .deployments import DeploymentStatus
    from .router import Router

__all__ = ["DeploymentStatus", "NoDeploymentAvailableError", "Router"]

_LAZY = {"Router": "router", "DeploymentStatus": "deployments"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmrelay.router' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
