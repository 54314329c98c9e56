"""One emulator for the OpenAI-compatible family, parametrised by provider.

OpenAI's deterministic generator answers; each provider's ``Spec`` (one module here per
provider, as under ``providers/``) gives it that provider's paths, auth failures, refusals,
body and chunk shapes, stream terminator and error bodies: as recorded (Mistral, Groq,
DeepSeek, Ollama: shared/recorded) or documented. A detail from neither says
"(unverified)". Model names starting with ``missing-`` exist on none of them.
"""

from __future__ import annotations

from .deepseek import DEEPSEEK
from .fireworks_ai import FIREWORKS
from .groq import GROQ
from .hosted_vllm import HOSTED_VLLM
from .mistral import MISTRAL
from .ollama import OLLAMA
from .perplexity import PERPLEXITY
from .spec import Spec
from .together_ai import TOGETHER
from .xai import XAI

SPECS: tuple[Spec, ...] = (MISTRAL, GROQ, DEEPSEEK, XAI, TOGETHER, FIREWORKS, PERPLEXITY,
                           OLLAMA, HOSTED_VLLM)

__all__ = ["SPECS", "Spec"]
