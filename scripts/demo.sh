#!/usr/bin/env bash
# Start the emulators and call every provider, streaming and not (--live: real providers).
source "$(dirname "$0")/_venv.sh"
.venv/bin/python scripts/demo.py "$@"
