"""The llmrelay gateway: an OpenAI-compatible HTTP server in front of the Router, with virtual
keys, limits, budgets and spend logs (``llmrelay serve``; needs ``pip install 'llmrelay[server]'``).

The library never imports this package.
"""
