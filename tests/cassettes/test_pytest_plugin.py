"""The pytest plugin, as a user's project sees it: a tiny test suite run in a subprocess with
``--llmrelay-record`` (real calls recorded) and without (replayed: no network, no key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from llmrelay.testing import Emulator

USER_TESTS = '''
import os

import pytest

import llmrelay

MESSAGES = [{"role": "user", "content": "Hi there"}]


def ask(**kwargs):
    return llmrelay.completion(model="gpt-4o-mini", messages=MESSAGES,
                               api_base=os.environ["EMULATOR"], **kwargs)


def key():
    return {"api_key": os.environ["KEY"]} if "KEY" in os.environ else {}


def test_weather(llmrelay_cassette):
    assert ask(**key()).choices[0].message.content.startswith("Hello")
    assert ask(seed=1, **key()).choices[0].message.content


@pytest.mark.parametrize("n", [1, 2])
def test_counts(llmrelay_cassette, n):
    assert len(ask(n=n, **key()).choices) == n


async def test_async(llmrelay_cassette):
    stream = await llmrelay.acompletion(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                        api_base=os.environ["EMULATOR"], **key())
    assert [c async for c in stream]


class TestGrouped:
    def test_method(self, llmrelay_cassette):
        assert llmrelay_cassette.path.name == "TestGrouped.test_method.json"
        ask(**key())


def test_without_the_fixture():
    assert "KEY" in os.environ or True
'''


def run_pytest(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("KEY", "PYTEST_ADDOPTS", "OPENAI_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
         "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function", *args], cwd=project, capture_output=True, text=True, timeout=120,
        env={**clean, **env})


def test_record_then_replay_a_users_suite(emulator: Emulator, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_llm.py").write_text(textwrap.dedent(USER_TESTS))
    base = {"EMULATOR": emulator.base_url("openai")}

    recorded = run_pytest(project, "--llmrelay-record", **base, KEY=emulator.api_key)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "6 passed" in recorded.stdout
    sent = emulator.count()
    assert sent == 6  # two + one + two-choice one + a stream + the method
    tapes = project / "tests" / "cassettes" / "test_llm"
    names = sorted(p.name for p in tapes.iterdir())
    assert names == ["TestGrouped.test_method.json", "test_async.json", "test_counts[1].json",
                     "test_counts[2].json", "test_weather.json"]
    assert len(json.loads((tapes / "test_weather.json").read_text())["interactions"]) == 2
    assert emulator.api_key not in "".join(p.read_text() for p in tapes.iterdir())

    replayed = run_pytest(project, **base)  # no key: nothing is sent
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "6 passed" in replayed.stdout and emulator.count() == sent

    again = run_pytest(project, "--llmrelay-record", "-k", "weather", **base,
                       KEY=emulator.api_key)
    assert again.returncode == 0, again.stdout + again.stderr
    assert emulator.count() == sent + 2  # re-recorded, even though the cassette existed


def test_a_replayed_test_that_asks_something_new_fails_with_the_difference(
        emulator: Emulator, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    test = project / "tests" / "test_one.py"
    test.write_text(textwrap.dedent('''
        import os, llmrelay

        def test_one(llmrelay_cassette):
            llmrelay.completion(model="gpt-4o-mini", api_base=os.environ["EMULATOR"],
                                messages=[{"role": "user", "content": os.environ["SAY"]}])
    '''))
    base = {"EMULATOR": emulator.base_url("openai")}
    # auto with no cassette records: without a key that is an error, as without cassettes
    unkeyed = run_pytest(project, **base, SAY="Hi")
    assert unkeyed.returncode == 1 and "OPENAI_API_KEY" in unkeyed.stdout
    assert run_pytest(project, **base, SAY="Hi", OPENAI_API_KEY=emulator.api_key).returncode == 0
    assert run_pytest(project, **base, SAY="Hi").returncode == 0  # replayed, no key needed
    failed = run_pytest(project, **base, SAY="Hello")
    assert failed.returncode == 1
    assert "CassetteMissError" in failed.stdout
    assert '$.messages[0].content: "Hello" here, "Hi" recorded' in failed.stdout
