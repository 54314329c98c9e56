"""Provider emulators: real HTTP servers on loopback that speak each provider's wire format.

>>> from llmrelay.testing import Emulator
>>> with Emulator() as emu:
...     llmrelay.completion(model="claude-3-5-haiku-latest", messages=msgs,
...                         api_base=emu.base_url("anthropic"), api_key=emu.api_key)
"""

from .server import DEFAULT_API_KEY, Emulator, RecordedRequest

__all__ = ["DEFAULT_API_KEY", "Emulator", "RecordedRequest"]
