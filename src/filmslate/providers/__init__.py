"""Text-model providers behind :class:`filmslate.engine._gateway.Gateway`, one module per provider.

========================  ==========  ================================================
module                    prefix      what answers
========================  ==========  ================================================
``openai``                openai      OpenAI chat completions (extra ``openai``)
``anthropic``             anthropic   Anthropic messages (extra ``anthropic``)
``gemini``                gemini      Google Gemini API (extra ``gemini``)
``openai_compatible``     compat      any OpenAI-compatible endpoint (extra ``openai``)
``replay``                replay      authored answers in ``<project>/replay/``; offline
``handoff``               handoff     a person or agent, via ``<project>/inbox/``; offline
========================  ==========  ================================================

Vendor modules import their SDK only when first used; the gateway imports each module only
when a model names its prefix.
"""

from .handoff import HandoffProvider, submit_answer
from .replay import ReplayProvider

__all__ = ["HandoffProvider", "ReplayProvider", "submit_answer"]
