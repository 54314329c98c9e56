"""The README's "Cost, prices and model info" example says it runs as is, offline: it does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def section_example(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, f"no python example in README section {title!r}"
    return found.group(1)


def test_the_cost_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(section_example("Cost, prices and model info"), "README.md", "exec"), {})
    assert "No price or model info is known for model 'hosted_vllm/unknown'" in capsys.readouterr().out
