#!/usr/bin/env bash
# Lint, type-check and run the whole test suite, from a bare Python 3.10+ with pip.
LLMRELAY_EXTRAS="[test]" source "$(dirname "$0")/_venv.sh"
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
