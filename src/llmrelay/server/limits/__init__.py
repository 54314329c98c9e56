"""Per-key limits and budgets: one ``Limiter`` interface, checked and taken in one atomic step.

``MemoryLimiter`` holds them within one process; a shared implementation (Redis, Lua) plugs in
behind the same interface to hold them across replicas.
"""

from .base import Demand, Grant, KeyLimits, Limiter, Refused
from .memory import MemoryLimiter

__all__ = ["Demand", "Grant", "KeyLimits", "Limiter", "MemoryLimiter", "Refused"]
