"""Refresh the shipped price data from LiteLLM's ``model_prices_and_context_window.json``.

Run by hand:  .venv/bin/python scripts/refresh_prices.py [--version X] [--base-version Y]

It fetches the ``litellm`` wheel from PyPI with pip (the file ships inside it), keeps the
entries of llmrelay's providers and the fields llmrelay reads, and writes
``src/llmrelay/pricing/data/model_prices.json``. The newest release wins field by field; a model
or field it dropped (a model the provider retired, still named in code that calls it) is kept
from ``--base-version``. ``--tokenizers`` also rewrites the two tiktoken files, checked against
OpenAI's published SHA-256 sums.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "src" / "llmrelay" / "pricing" / "data"
PRICES_IN_WHEEL = "litellm/model_prices_and_context_window_backup.json"
BASE_VERSION = "1.80.0"

# LiteLLM's provider names for llmrelay's providers. Replicate is left out on purpose: it bills
# by time, so API.md wants no price for it unless the user registers one.
PROVIDERS = {
    "openai", "text-completion-openai", "azure", "azure_text", "anthropic", "cohere",
    "cohere_chat", "openrouter", "gemini", "bedrock", "bedrock_converse", "mistral", "groq",
    "deepseek", "xai", "together_ai", "fireworks_ai", "perplexity", "ollama", "ollama_chat",
    "hosted_vllm",
}
MODES = {"chat", "completion", "responses", "embedding", None}
FIELDS = {
    "litellm_provider", "mode", "max_input_tokens", "max_output_tokens", "max_tokens",
    "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
    "cache_creation_input_token_cost", "cache_creation_input_token_cost_above_1hr",
    "output_cost_per_reasoning_token", "deprecation_date", "supports_function_calling",
    "supports_vision", "supports_reasoning", "supports_prompt_caching",
    "supports_response_schema",
}
# Long-context tiers, e.g. ``input_cost_per_token_above_200k_tokens`` (no batch/priority/flex
# variants: llmrelay prices the standard tier).
TIER = re.compile(r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
                  r"|cache_creation_input_token_cost(_above_1hr)?)_above_\d+k_tokens$")

# tiktoken's files as the litellm wheel bundles them (named by the SHA-1 of their URL), and the
# SHA-256 that tiktoken_ext/openai_public.py expects of each.
TOKENIZERS = {
    "o200k_base": ("fb374d419588a4632f3f557e76b4b70aebbca790",
                   "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),
    "cl100k_base": ("9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
                    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),
}
TOKENIZERS_IN_WHEEL = "litellm/litellm_core_utils/tokenizers/"


def fetch_wheel(version: str | None, into: Path) -> Path:
    spec = f"litellm=={version}" if version else "litellm"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary", ":all:", "--dest", str(into), spec], check=True)
    wheels = sorted(into.glob("litellm-*.whl"))
    if not wheels:
        raise SystemExit(f"pip downloaded no litellm wheel for {spec}")
    return wheels[-1]


def wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def keep(entry: Any) -> bool:
    return (isinstance(entry, dict) and entry.get("litellm_provider") in PROVIDERS
            and entry.get("mode") in MODES)


def trimmed(entry: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in sorted(entry.items()) if k in FIELDS or TIER.match(k)}
    for key in ("max_input_tokens", "max_output_tokens", "max_tokens"):
        # Some entries write token limits as floats (2000000.0); unusable limits are dropped.
        value = kept.get(key)
        if isinstance(value, float) and value.is_integer() and value > 0:
            kept[key] = int(value)
        elif value is not None and not (isinstance(value, int) and value > 0):
            del kept[key]
    return kept


def merge(newest: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Entries of ``newest``, each over its ``base`` entry; ``base`` entries newest dropped."""
    models: dict[str, Any] = {}
    for name in sorted(set(newest) | set(base)):
        old, new = base.get(name), newest.get(name)
        if new is not None and keep(new):
            models[name] = trimmed({**(old if keep(old) else {}), **new})
        elif new is None and keep(old):
            models[name] = {**trimmed(old), "retired": True}
    return models


def write_tokenizers(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for name, (member, sha256) in TOKENIZERS.items():
            data = zf.read(TOKENIZERS_IN_WHEEL + member)
            if hashlib.sha256(data).hexdigest() != sha256:
                raise SystemExit(f"{name}: SHA-256 differs from OpenAI's published sum")
            target = DATA / f"{name}.tiktoken.gz"
            target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
            print(f"wrote {target} ({target.stat().st_size} bytes)")


def render(document: dict[str, Any]) -> str:
    """Compact JSON with one model a line, so a refresh reads as a diff of the models it changed."""
    lines = [f'{json.dumps(name)}:{json.dumps(entry, separators=(",", ":"))}'
             for name, entry in document["models"].items()]
    return ('{"source":' + json.dumps(document["source"]) + ',\n"models":{\n'
            + ",\n".join(lines) + "\n}}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="litellm release to take prices from (default: newest)")
    parser.add_argument("--base-version", default=BASE_VERSION,
                        help="older release whose dropped models are kept (default %(default)s)")
    parser.add_argument("--tokenizers", action="store_true",
                        help="also rewrite the tiktoken files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        newest_wheel = fetch_wheel(args.version, Path(tmp) / "new")
        base_wheel = fetch_wheel(args.base_version, Path(tmp) / "base")
        with zipfile.ZipFile(newest_wheel) as zf:
            newest = json.loads(zf.read(PRICES_IN_WHEEL))
        with zipfile.ZipFile(base_wheel) as zf:
            base = json.loads(zf.read(PRICES_IN_WHEEL))
        if args.tokenizers:
            write_tokenizers(newest_wheel)
        document = {
            "source": {
                "name": "LiteLLM model_prices_and_context_window.json (MIT)",
                "package": f"litellm {wheel_version(newest_wheel)}",
                "base_package": f"litellm {wheel_version(base_wheel)}",
                "retrieved": datetime.date.today().isoformat(),
            },
            "models": merge(newest, base),
        }
    target = DATA / "model_prices.json"
    target.write_text(render(document))
    print(f"wrote {target}: {len(document['models'])} models, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
