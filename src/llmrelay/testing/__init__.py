"""Provider emulators (real HTTP servers on loopback that speak each provider's wire format)
and cassettes (record real traffic once, replay it offline in your tests).

>>> from llmrelay.testing import Emulator
>>> with Emulator() as emu:
...     llmrelay.completion(model="claude-3-5-haiku-latest", messages=msgs,
...                         api_base=emu.base_url("anthropic"), api_key=emu.api_key)
>>> from llmrelay.testing import cassette
>>> with cassette("tests/cassettes/weather.json"):
...     llmrelay.completion(model="claude-3-5-haiku-latest", messages=msgs)
"""

from typing import TYPE_CHECKING, Any

from .server import DEFAULT_API_KEY, Emulator, RecordedRequest

if TYPE_CHECKING:
    from .cassettes import Cassette, CassetteMissError, cassette

__all__ = ["DEFAULT_API_KEY", "Cassette", "CassetteMissError", "Emulator", "RecordedRequest",
           "cassette"]

_LAZY = {"cassette": "cassettes", "Cassette": "cassettes", "CassetteMissError": "cassettes"}


def __getattr__(name: str) -> Any:
    # Cassettes load the transport; the emulator alone stays standard library only.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmrelay.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
