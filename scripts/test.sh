#!/usr/bin/env bash
# Lint, type-check and run the whole test suite, from a bare Python 3.10+ with pip.
# The tests need real Redis and PostgreSQL servers (or their binaries, to start throwaway ones):
# on a bare machine where we are root with apt-get, they are installed here.
LLMRELAY_EXTRAS="[test]" source "$(dirname "$0")/_venv.sh"
bash scripts/services.sh
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
