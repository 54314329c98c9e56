"""Per-key limits and budgets: one ``Limiter`` interface, checked and taken in one atomic step.

``MemoryLimiter`` holds them within one process; ``RedisLimiter`` (``llmrelay.server.limits.redis``,
one Lua script) holds them across every replica sharing a Redis.
"""

from .base import Demand, Grant, KeyLimits, Limiter, Refused
from .memory import MemoryLimiter

__all__ = ["Demand", "Grant", "KeyLimits", "Limiter", "MemoryLimiter", "Refused"]
