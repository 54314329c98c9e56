"""The response cache (API.md "Caching"): ``Cache`` and its backends, the seam the core calls
before a send, and the keyed-by-group lookup a Router uses.

Named ``caching`` because ``llmrelay.cache`` is the user's setting, not a module.
"""

from .front import Cache
from .routed import RoutedCache, alookup_routed, lookup_routed

__all__ = ["Cache", "RoutedCache", "alookup_routed", "lookup_routed"]
