# Sourced by the scripts here: make .venv (Python 3.10+) and install llmrelay into it, with the
# extras named in $LLMRELAY_EXTRAS (the tests need "[test]"; the demo needs none).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "llmrelay needs Python 3.10+"'
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${LLMRELAY_EXTRAS:-}"
