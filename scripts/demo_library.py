"""The demo's second part: what the library does beyond one call, against the emulators.

``resp.meta`` and cost, embeddings, a Router failing over between deployments, a cache hit and
a callback, each in a few lines a user would write.
"""

from __future__ import annotations

from typing import Any

import llmrelay
from llmrelay.testing import Emulator

MESSAGES = [{"role": "user", "content": "Say hello to llmrelay in five words."}]


def at(emu: Emulator, provider: str) -> dict[str, Any]:
    return {"api_base": emu.base_url(provider), "api_key": emu.api_key}


def run(emu: Emulator) -> int:
    """Print what each feature gives; the number of failures."""
    try:
        meta_and_cost(emu)
        embeddings(emu)
        router(emu)
        cache_and_callbacks(emu)
    except llmrelay.APIError as exc:
        print(f"  failed: {exc!r}")
        return 1
    finally:
        llmrelay.cache = None
        llmrelay.callbacks.clear()
    print()
    return 0


def meta_and_cost(emu: Emulator) -> None:
    resp = llmrelay.completion(model="claude-3-5-haiku-20241022", messages=MESSAGES,
                               **at(emu, "anthropic"))
    m = resp.meta
    print("[meta] claude-3-5-haiku-20241022")
    print(f"  provider={m.provider} model={m.model} attempts={m.attempts} "
          f"latency={m.latency * 1000:.1f} ms request_id={m.request_id}")
    print(f"  usage={m.usage.prompt_tokens}+{m.usage.completion_tokens} tokens "
          f"cost=${m.cost:.6f} (offline price data)")
    print(f"  token_counter(gpt-4o) of the prompt: "
          f"{llmrelay.token_counter(model='gpt-4o', messages=MESSAGES)} tokens")


def embeddings(emu: Emulator) -> None:
    resp = llmrelay.embedding(model="text-embedding-3-small", input=["hello", "world"],
                              dimensions=8, **at(emu, "openai"))
    print("[embedding] text-embedding-3-small, 2 inputs")
    print(f"  {len(resp.data)} vectors of {len(resp.data[0].embedding)} floats, "
          f"usage={resp.usage.prompt_tokens} tokens, cost=${resp.meta.cost:.8f}")


def router(emu: Emulator) -> None:
    chat = llmrelay.Router(
        model_list=[
            {"model_name": "chat", "id": "openai-primary",
             "params": {"model": "gpt-4o-mini", **at(emu, "openai")}},
            {"model_name": "backup", "id": "claude-backup",
             "params": {"model": "claude-3-5-haiku-20241022", **at(emu, "anthropic")}},
        ],
        fallbacks={"chat": ["backup"]}, num_retries=1, cooldown_time=5,
    )
    emu.fail(503, times=2, provider="openai", headers={"retry-after-ms": "1"})
    resp = chat.completion(model="chat", messages=MESSAGES)
    print("[router] group chat: openai answers 503 twice, fallback to backup")
    print(f"  answered by {resp.meta.deployment} after {resp.meta.attempts} attempts: "
          f"{resp.choices[0].message.content!r}")
    for d in chat.deployments():
        print(f"  {d.id}: cooling_until={'yes' if d.cooling_until else 'no'} "
              f"rpm_used={d.rpm_used} in_flight={d.in_flight}")
    chat.close()
    emu.reset()


def cache_and_callbacks(emu: Emulator) -> None:
    seen: list[llmrelay.CallEvent] = []

    class Audit:
        def on_success(self, event: llmrelay.CallEvent) -> None:
            seen.append(event)

    llmrelay.callbacks.append(Audit())
    llmrelay.cache = llmrelay.Cache()  # in-process LRU
    first = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, seed=1,
                                **at(emu, "openai"))
    again = llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES, seed=1,
                                **at(emu, "openai"))
    print("[cache + callbacks] the same call twice with llmrelay.cache = llmrelay.Cache()")
    print(f"  first: cache_hit={first.meta.cache_hit} cost=${first.meta.cost:.6f}; "
          f"again: cache_hit={again.meta.cache_hit} cost=${again.meta.cost:.2f}; "
          f"equal={again == first}; requests sent: {emu.count()}")
    print(f"  callback events: {[(e.provider, e.cache_hit, round(e.cost or 0, 6)) for e in seen]}")
