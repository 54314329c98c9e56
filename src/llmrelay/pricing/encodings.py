"""OpenAI's tokenizers, built offline from the BPE files shipped in ``data/``.

tiktoken would download these files on first use; here they ship gzipped in the package
(SHA-256 checked against OpenAI's sums by ``scripts/refresh_prices.py`` and the tests), and
each ``tiktoken.Encoding`` is built once, on first use, from them.
"""

from __future__ import annotations

import base64
import gzip
import threading
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

# Split patterns and special tokens of each encoding, as tiktoken_ext/openai_public.py defines
# them (MIT); tests/pricing/test_tokens.py checks they equal tiktoken's own.
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
SPECS: dict[str, tuple[str, dict[str, int]]] = {
    "o200k_base": (O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    "cl100k_base": (CL100K_PATTERN, {
        "<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276,
    }),
}

_encodings: dict[str, tiktoken.Encoding] = {}
_lock = threading.Lock()


def read_ranks(name: str) -> dict[bytes, int]:
    """``token -> rank`` from the shipped ``<name>.tiktoken.gz`` (base64 token, rank per line)."""
    data = resources.files(__package__).joinpath(f"data/{name}.tiktoken.gz").read_bytes()
    ranks: dict[bytes, int] = {}
    for line in gzip.decompress(data).splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def get_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding (``o200k_base`` or ``cl100k_base``), built on first use."""
    encoding = _encodings.get(name)
    if encoding is None:
        with _lock:
            encoding = _encodings.get(name)
            if encoding is None:
                import tiktoken

                pattern, special = SPECS[name]
                encoding = tiktoken.Encoding(name, pat_str=pattern,
                                             mergeable_ranks=read_ranks(name),
                                             special_tokens=special)
                _encodings[name] = encoding
    return encoding
