"""Cache fixtures: one ``llmrelay.Cache`` per backend (memory, SQLite in a temp dir, a real
Redis), each under a namespace unique to the test, and throwaway ``redis-server`` processes for
the tests that kill or pause one.

Redis: the session's (``tests/services.py``: ``LLMRELAY_TEST_REDIS_URL``, else the local
127.0.0.1:6379, else a throwaway one). Never skipped: without a Redis the run fails and says why.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

import llmrelay

from ..services import SESSION, RedisServer

__all__ = ["RedisServer"]  # the backend tests import it from here

BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture
def namespace() -> str:
    return f"t{SESSION}-{uuid.uuid4().hex[:8]}"


def make_cache(backend: str, namespace: str, redis_url: str, tmp_path: Path,
               **options: Any) -> llmrelay.Cache:
    if backend == "memory":
        return llmrelay.Cache(namespace=namespace, **options)
    if backend == "sqlite":
        return llmrelay.Cache(f"sqlite:///{tmp_path}/cache.db", namespace=namespace, **options)
    return llmrelay.Cache(redis_url, namespace=namespace, **options)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def cache(backend: str, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
          ) -> Iterator[llmrelay.Cache]:
    """``llmrelay.cache`` set to a fresh cache of ``backend`` for the test."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    made = make_cache(backend, namespace, url, tmp_path)
    llmrelay.cache = made
    try:
        yield made
    finally:
        llmrelay.cache = None
        made.close()


@pytest.fixture(autouse=True)
def _no_cache_left() -> Iterator[None]:
    yield
    llmrelay.cache = None
