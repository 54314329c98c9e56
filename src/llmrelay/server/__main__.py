"""``python -m llmrelay.server [--config ...]``: the same as ``llmrelay serve``."""

import sys

from .cli import main

args = sys.argv[1:]
main(args if args[:1] == ["serve"] else ["serve", *args])
