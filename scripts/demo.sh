#!/usr/bin/env bash
# Start the emulators and call every provider, streaming and not, then the gateway in front of
# them with the openai SDK (--live: real providers).
LLMRELAY_EXTRAS="${LLMRELAY_EXTRAS:-[server]}" source "$(dirname "$0")/_venv.sh"
.venv/bin/python -m pip install --quiet --disable-pip-version-check "openai>=1.50"
.venv/bin/python scripts/demo.py "$@"
