"""The response cache (API.md "Caching"): ``Cache`` and its backends, and the seam the core
calls before a send (a Router's lookup by group is ``llmrelay/router/cached.py``).

Named ``caching`` because ``llmrelay.cache`` is the user's setting, not a module.
"""

from .front import Cache

__all__ = ["Cache"]
