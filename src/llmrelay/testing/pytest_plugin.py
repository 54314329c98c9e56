"""The pytest plugin (entry point ``llmrelay``): ``--llmrelay-record`` re-records every cassette,
and the ``llmrelay_cassette`` fixture runs a test inside a cassette named after it.

>>> def test_weather(llmrelay_cassette):   # tests/cassettes/test_module/test_weather.json
...     llmrelay.completion(model="gpt-4o-mini", messages=msgs)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator, Iterator

import pytest

if TYPE_CHECKING:
    from .cassettes import Cassette

# Set on a test item whose body failed: its cassette is not written (a half recording would be
# replayed next time).
FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmrelay")
    group.addoption("--llmrelay-record", action="store_true", default=False,
                    help="re-record every llmrelay cassette (real calls; needs the keys)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("llmrelay_record", default=False):
        from . import cassettes

        cassettes.RECORD_ALL = True


def cassette_path(node: Any) -> Path:
    """``<test dir>/cassettes/<test module>/<Class.>test_name[params].json``."""
    module = Path(str(node.path))
    name = node.nodeid.split("::", 1)[-1].replace("::", ".")
    safe = re.sub(r"[^\w.\[\]=,+-]", "_", name)
    return module.parent / "cassettes" / module.stem / f"{safe}.json"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def llmrelay_cassette(request: pytest.FixtureRequest) -> Iterator["Cassette"]:
    """The test runs inside its own cassette (mode ``auto``: replayed when recorded; a test
    that fails while recording leaves no cassette)."""
    from .cassettes import Cassette

    tape = Cassette(cassette_path(request.node), "auto")
    tape.__enter__()
    try:
        yield tape
    finally:
        failed = request.node.stash.get(FAILED, False)
        tape.__exit__(AssertionError if failed else None, None, None)
