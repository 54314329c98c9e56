"""The family emulator answers each recorded request in the recorded shape: the same keys at
every level of the body, message, usage and stream chunks (values differ: the emulator's text
is its own). This keeps the emulator honest about what the real APIs send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmrelay.testing import Emulator
from tests.conftest import load, recorded

PROVIDERS = ("mistral", "groq", "deepseek", "ollama")
OK = [pytest.param(p, path, id=f"{p}/{path.stem}") for p in PROVIDERS for path in recorded(p)
      if load(path)["response"]["status"] == 200]


def seen(provider: str) -> dict[str, set[str]]:
    """Every key each level has in any recording of ``provider`` (APIs add fields over time)."""
    union: dict[str, set[str]] = {"top": set(), "choice": set(), "part": set(), "usage": set()}
    for path in recorded(provider):
        response = load(path)["response"]
        if response["status"] != 200:
            continue
        for obj in [response["body"]] if "body" in response else events(response["sse"]):
            for level, keys in shape(obj).items():
                union[level] |= keys
    return union


def same_shape(ours: dict[str, Any], theirs: dict[str, Any], provider: str) -> None:
    """Every key the recording has, and none the provider was never recorded sending."""
    union = seen(provider)
    for level, keys in shape(theirs).items():
        mine = shape(ours)[level]
        assert keys <= mine, (level, keys - mine)
        assert mine <= union[level], (level, mine - union[level])


def shape(obj: dict[str, Any]) -> dict[str, Any]:
    """Key sets of a body or chunk: top level, first choice, its message/delta, usage."""
    choice = (obj.get("choices") or [{}])[0]
    part = choice.get("message") or choice.get("delta") or {}
    return {"top": set(obj) - {"usage"}, "choice": set(choice),
            "part": {k for k, v in part.items() if v is not None},
            "usage": set(obj.get("usage") or {})}


def answer(emulator: Emulator, provider: str, request: dict[str, Any]) -> httpx.Response:
    path = emulator.base_url(provider) + "/chat/completions"
    return httpx.post(path, json=request, timeout=10,
                      headers={"authorization": f"Bearer {emulator.api_key}"})


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


@pytest.mark.parametrize(("provider", "path"), OK)
def test_emulator_answers_in_the_recorded_shape(provider: str, path: Path,
                                                emulator: Emulator) -> None:
    rec = load(path)
    request, response = rec["request"]["body"], rec["response"]
    reply = answer(emulator, provider, request)
    assert reply.status_code == 200, reply.text
    if "body" in response:
        same_shape(reply.json(), response["body"], provider)
        return
    ours, theirs = events(reply.text), events(response["sse"])
    pairs = [(ours[0], theirs[0]), (ours[len(ours) // 2], theirs[len(theirs) // 2])]
    finished = any(c["choices"][0].get("finish_reason") for c in theirs if c.get("choices"))
    if not finished:  # a recording that fails midway: its end is not a normal end
        for mine, real in pairs:
            same_shape({**mine, "choices": []}, {**real, "choices": []}, provider)
        return
    for mine, real in [*pairs, (ours[-1], theirs[-1])]:
        same_shape(mine, real, provider)
    assert ("usage" in ours[-1] and ours[-1]["usage"] is not None) == bool(theirs[-1].get("usage"))
    assert reply.text.rstrip().endswith("data: [DONE]") == response["sse"].rstrip().endswith(
        "data: [DONE]")
