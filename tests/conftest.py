"""Shared fixtures: one emulator per test session, reset between tests; the session's real
Redis and PostgreSQL (``tests/services.py``; never skipped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from llmrelay.testing import Emulator

from .services import REDIS_PREFIX, SESSION, Postgres, RedisServer, SharedRedis, Unavailable

ROOT = Path(__file__).resolve().parent
# A copy of ../shared/recorded (real provider traffic, see its README for provenance), so the
# suite runs from a bare clone; tests/test_recorded_copy.py keeps the copy equal to the source.
RECORDED = ROOT / "recorded"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for the whole session (shared with others: keys under this session's token)."""
    shared = SharedRedis()
    try:
        shared.start()
    except Unavailable as exc:
        pytest.fail(f"Redis: {exc}", pytrace=False)
    yield shared.url
    shared.stop((f"{REDIS_PREFIX}*", f"t{SESSION}*"))


@pytest.fixture
def throwaway_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, to kill or pause."""
    try:
        server = RedisServer()
    except Unavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """PostgreSQL for the session: databases made (and dropped) per module."""
    pg = Postgres()
    try:
        pg.start()
    except Unavailable as exc:
        pytest.fail(f"PostgreSQL: {exc}", pytrace=False)
    yield pg
    pg.stop()


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see real keys or endpoints from the machine."""
    for var in (
        "OPENAI_API_KEY", "OPENAI_API_BASE", "AZURE_API_KEY", "AZURE_API_BASE",
        "AZURE_API_VERSION", "ANTHROPIC_API_KEY", "ANTHROPIC_API_BASE", "COHERE_API_KEY",
        "CO_API_KEY", "COHERE_API_BASE", "REPLICATE_API_TOKEN", "REPLICATE_API_KEY",
        "REPLICATE_API_BASE", "OPENROUTER_API_KEY", "OPENROUTER_API_BASE", "OR_SITE_URL",
        "OR_APP_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_BEARER_TOKEN_BEDROCK", "BEDROCK_API_BASE",
        "AWS_PROFILE",
        "MISTRAL_API_KEY", "MISTRAL_API_BASE", "GROQ_API_KEY", "GROQ_API_BASE",
        "DEEPSEEK_API_KEY", "DEEPSEEK_API_BASE", "XAI_API_KEY", "XAI_API_BASE",
        "TOGETHER_API_KEY", "TOGETHERAI_API_KEY", "TOGETHER_API_BASE", "FIREWORKS_API_KEY",
        "FIREWORKS_API_BASE", "PERPLEXITY_API_KEY", "PERPLEXITY_API_BASE", "OLLAMA_API_KEY",
        "OLLAMA_API_BASE", "HOSTED_VLLM_API_KEY", "HOSTED_VLLM_API_BASE",
        "GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_BASE",
    ):
        monkeypatch.delenv(var, raising=False)


def recorded(provider: str) -> list[Path]:
    """Every recorded interaction of ``provider`` (tests are parametrized over these)."""
    return sorted((RECORDED / provider).glob("*.json"))


def is_embedding(path: Path) -> bool:
    """Recordings of the embeddings endpoints (``embed_*``, ``error_*_embed*``)."""
    return path.name.startswith("embed_") or "_embed" in path.name


def chat_recordings(provider: str) -> list[Path]:
    """The chat-completion recordings of ``provider``; the embeddings tests replay the rest."""
    return [p for p in recorded(provider) if not is_embedding(p)]


def load(path: Path) -> Any:
    return json.loads(path.read_text())
