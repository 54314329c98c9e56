"""Prices work with the network cut, and nothing loads before it is needed.

Each test runs a fresh interpreter, so nothing is already imported or cached.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Installed before anything else runs: every IPv4/IPv6 connection or name lookup that is not
# loopback raises, so a download or a price fetched online would fail the run.
GUARD = textwrap.dedent('''
    import ipaddress, socket

    def _loopback(host):
        if host in (None, "localhost"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def _guarded(original):
        def connect(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
                raise OSError(f"refused by test guard: {address!r}")
            return original(self, address)
        return connect

    socket.socket.connect = _guarded(socket.socket.connect)
    socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
    _getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host if not isinstance(host, bytes) else host.decode()):
            raise OSError(f"refused by test guard: lookup of {host!r}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
''')


def run(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", GUARD + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_priced_call_with_the_network_cut() -> None:
    result = run('''
        import json, socket
        import llmrelay
        from llmrelay.testing import Emulator

        # The guard is live: a closed socket never sends, so this only shows who refused.
        probe = socket.socket()
        probe.close()
        try:
            probe.connect(("192.0.2.1", 443))
        except OSError as exc:
            guard = str(exc)
        with Emulator() as emu:
            resp = llmrelay.completion(model="gpt-4o-mini",
                                       messages=[{"role": "user", "content": "Hi"}],
                                       api_base=emu.base_url("openai"), api_key=emu.api_key)
        print(json.dumps({
            "guard": guard,
            "usage": resp.usage.model_dump(),
            "cost": llmrelay.completion_cost(resp),
            "window": llmrelay.model_info("gemini/gemini-2.5-pro").max_input_tokens,
            "tokens": llmrelay.token_counter(model="gpt-4o", text="hello world"),
            "cl100k": llmrelay.token_counter(model="gpt-4", text="hello world"),
        }))
    ''')
    assert "refused by test guard" in str(result["guard"])
    usage = result["usage"]
    assert isinstance(usage, dict) and usage["prompt_tokens"] > 0
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    # gpt-4o-mini: $0.15/M in, $0.075/M cached in, $0.60/M out
    expected = ((usage["prompt_tokens"] - cached) * 0.15 + cached * 0.075
                + usage["completion_tokens"] * 0.60) / 1_000_000
    assert result["cost"] == pytest.approx(expected, rel=1e-9)
    assert result["window"] == 1_048_576
    assert (result["tokens"], result["cl100k"]) == (2, 2)


def test_import_llmrelay_loads_no_pricing() -> None:
    result = run('''
        import json, sys
        import llmrelay
        print(json.dumps(sorted(m for m in sys.modules
                                if m.startswith(("llmrelay.pricing", "tiktoken")))))
    ''')
    assert result == []


def test_import_pricing_reads_no_data() -> None:
    result = run('''
        import json, sys
        import llmrelay
        llmrelay.completion_cost, llmrelay.token_counter, llmrelay.model_info
        from llmrelay.pricing import catalog, encodings
        print(json.dumps({"prices": catalog.CATALOG._shipped is not None,
                          "tokenizers": sorted(encodings._encodings),
                          "tiktoken": "tiktoken" in sys.modules}))
    ''')
    assert result == {"prices": False, "tokenizers": [], "tiktoken": False}
