"""Pooled clients: connection reuse, event-loop changes, and a light import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import warnings
from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES


def kwargs(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


def test_sequential_sync_calls_share_one_connection(emulator: Emulator) -> None:
    llmrelay.close()
    for _ in range(20):
        llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    for _chunk in llmrelay.completion(messages=MESSAGES, stream=True, **kwargs(emulator)):
        pass
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    assert len({r.client_port for r in emulator.requests}) == 1


def test_sequential_async_calls_share_one_connection(emulator: Emulator) -> None:
    async def main() -> None:
        for _ in range(20):
            await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))
        stream = await llmrelay.acompletion(messages=MESSAGES, stream=True, **kwargs(emulator))
        async for _ in stream:
            pass
        await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))

    asyncio.run(main())
    assert len({r.client_port for r in emulator.requests}) == 1


def test_the_pool_survives_new_event_loops_without_leaks(emulator: Emulator) -> None:
    async def main() -> str:
        resp = await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))
        return resp.choices[0].message.content or ""

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(main()) and asyncio.run(main()) and asyncio.run(main())
        import gc

        gc.collect()
    leaks = [w for w in caught if "Unclosed" in str(w.message)]
    assert leaks == []


def test_close_and_aclose_reset_the_pools(emulator: Emulator) -> None:
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    llmrelay.close()
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))

    async def main() -> None:
        await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))
        await llmrelay.aclose()
        await llmrelay.acompletion(messages=MESSAGES, **kwargs(emulator))

    asyncio.run(main())
    assert emulator.count() == 4


def test_concurrent_async_calls(emulator: Emulator) -> None:
    async def main() -> list[Any]:
        return await asyncio.gather(*(
            llmrelay.acompletion(messages=[{"role": "user", "content": f"n{i}"}],
                                 **kwargs(emulator))
            for i in range(50)
        ))

    results = asyncio.run(main())
    assert [r.choices[0].message.content.split()[-1] for r in results] == [
        f"n{i}" for i in range(50)]


def test_import_is_light() -> None:
    code = (
        "import sys, llmrelay\n"
        "heavy = [m for m in sys.modules if m.startswith(('pydantic', 'aiohttp', 'openai', "
        "'anthropic', 'cohere', 'replicate', 'llmrelay.providers', 'llmrelay.types'))]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Settings that are plain attributes, off (None) until the user sets them.
SETTINGS = {"cache"}


@pytest.mark.parametrize("name", llmrelay.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert hasattr(llmrelay, name)
    assert (getattr(llmrelay, name) is None) == (name in SETTINGS)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_compressed_bodies_are_decoded(mode: str, emulator: Emulator) -> None:
    from tests.helpers import call

    resp = call(mode, messages=MESSAGES, extra_headers={"accept-encoding": "gzip"},
                **kwargs(emulator))
    assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
    emulator.fail(429, headers={"retry-after-ms": "1"})
    with pytest.raises(llmrelay.RateLimitError) as info:
        call(mode, messages=MESSAGES, num_retries=0, extra_headers={"accept-encoding": "gzip"},
             **kwargs(emulator))
    assert info.value.response["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_calls_go_through_the_proxy_in_the_environment(
    mode: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import call

    # The emulator stands in for the proxy: an HTTP proxy gets the absolute URL in the
    # request line, which the emulator routes by its path.
    monkeypatch.setenv("HTTP_PROXY", emulator.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    llmrelay.close()
    try:
        resp = call(mode, model="gpt-4o-mini", messages=MESSAGES,
                    api_base="http://api.example.invalid/v1", api_key=emulator.api_key)
        assert resp.choices[0].message.content
        assert emulator.requests[-1].headers["host"] == "api.example.invalid"

        # NO_PROXY: straight to the address, where nothing listens (no name is resolved).
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        llmrelay.close()
        count = emulator.count()
        with pytest.raises(llmrelay.APIConnectionError):
            call(mode, model="gpt-4o-mini", messages=MESSAGES, num_retries=0,
                 api_base="http://127.0.0.1:9/v1", api_key="k")
        assert emulator.count() == count
    finally:
        monkeypatch.undo()
        llmrelay.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it (openssl CLI)."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=llmrelay test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"), "key": str(d / "server.key")}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_https_with_the_ca_bundle_from_the_environment(
    mode: str, tls_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    from tests.helpers import call

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files["cert"], tls_files["key"])
    with Emulator(ssl_context=context) as emu:
        kw = {"model": "gpt-4o-mini", "api_base": emu.base_url("openai"), "api_key": emu.api_key}
        assert kw["api_base"].startswith("https://127.0.0.1:")
        llmrelay.close()
        with pytest.raises(llmrelay.APIConnectionError):  # not trusted: verification is on
            call(mode, messages=MESSAGES, num_retries=0, **kw)
        monkeypatch.setenv("SSL_CERT_FILE", tls_files["ca"])
        llmrelay.close()
        try:
            resp = call(mode, messages=MESSAGES, **kw)
            assert resp.choices[0].message.content == "Hello from the emulator. You said: Hi there"
            chunks = call(mode, messages=MESSAGES, stream=True, **kw)
            assert llmrelay.stream_chunk_builder(chunks).choices[0].message.content
        finally:
            monkeypatch.undo()
            llmrelay.close()


@pytest.mark.parametrize("body", [
    {"model": "m", "messages": [{"role": "user", "content": "héllo ✓ \u2028 \x00 \"q\" \\"}]},
    {"temperature": 0.7, "top_p": 1, "seed": 2**70, "stop": ["a", "b"], "logit_bias": {"50256": -100},
     "n": None, "stream": True, "nested": {"list": [1, 2.5, {"x": []}]}},
    {"tiny": 1e-07, "huge": 1e300, "neg": -0.0},
])
def test_request_bodies_are_the_compact_json_of_the_body(body: dict[str, Any]) -> None:
    import json

    from llmrelay.transport import encode_body

    encoded = encode_body(body)
    assert encoded is not None
    assert json.loads(encoded) == body
    if "tiny" not in body:  # only exponent spellings differ (1e-7 for 1e-07): the same numbers
        assert encoded == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
