"""A lean asyncio Redis client for the request path (``RedisLink``): auto-pipelined, short
timeouts, a circuit breaker; shared by the Router's state and the gateway's limits and spend."""

from .link import RedisDown, RedisLink, Script
from .resp import ReplyError, RespConnection

__all__ = ["RedisDown", "RedisLink", "ReplyError", "RespConnection", "Script"]
