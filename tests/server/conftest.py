"""Gateway test fixtures: the session's PostgreSQL (never skipped), one database per gateway, and one
``llmrelay serve`` process per module and backend (every test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from llmrelay.testing import Emulator

from ..services import Postgres
from .gateway import Gateway, emulator_config


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def database_url(backend: str, postgres: Postgres,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for one module's gateway."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/gateway.db"
        return
    url = postgres.database()
    yield url
    postgres.drop(url)


@pytest.fixture(scope="module")
def make_database(backend: str, postgres: Postgres,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], str]]:
    """More fresh databases of this module's backend (for tests that need their own gateway)."""
    made: list[str] = []

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db')}/gateway.db"
        url = postgres.database()
        made.append(url)
        return url

    yield make
    for url in made:
        postgres.drop(url)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture(scope="module")
def gateway(emulator_server: Emulator, database_url: str, workdir: Path) -> Iterator[Gateway]:
    """The module's gateway on the emulator, with the standard config."""
    gw = Gateway(workdir, emulator_config(emulator_server, database_url), emulator=emulator_server)
    gw.start()
    yield gw
    gw.close()


@pytest.fixture
def gw(gateway: Gateway, emulator: Emulator) -> Gateway:
    """The module's gateway, with the emulator's faults and records reset for this test."""
    return gateway


def avoid_minute_edge(margin: float = 8.0) -> None:
    """Limits count per UTC minute: wait out the last seconds of one so a test stays inside it."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)
