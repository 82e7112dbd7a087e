"""Any OpenAI-compatible chat endpoint (Ollama, vLLM, Qwen/DashScope, DeepSeek, MiniMax).

``compat:<model>`` needs ``base_urls["compat"]`` in the provider settings and, unless the
endpoint runs on this machine, a key in ``$OPENAI_COMPATIBLE_API_KEY``. genai-prices knows
some such models by their endpoint (DeepSeek, ...); price the others with ``price_overrides``
(a local model: ``"compat:llama3.1" = [0, 0]``). Needs ``pip install 'filmslate[openai]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..core._errors import ProviderError
from ._pydantic_ai import PydanticAIProvider, is_local_url, vendor_import

if TYPE_CHECKING:
    import httpx2
    from pydantic_ai.models import Model
    from pydantic_ai.profiles import ModelProfile


class OpenAICompatibleProvider(PydanticAIProvider):
    """``compat:<model>``: an OpenAI-compatible chat completions endpoint at ``base_urls``."""

    name: ClassVar[str] = "compat"
    extra: ClassVar[str] = "openai"

    def api_key(self) -> str | None:
        """The key from the environment; a server on this machine may go without one."""
        if self.base_url is None:
            raise ProviderError(
                "the compat provider needs the endpoint's URL: set base_urls.compat in the "
                "provider settings (e.g. http://localhost:11434/v1 for Ollama)",
                provider=self.name,
            )
        if is_local_url(self.base_url) and not self.context.env.get(self.key_env):
            return None
        return super().api_key()

    def build_model(
        self,
        model_name: str,
        *,
        api_key: str | None,
        base_url: str | None,
        http_client: httpx2.AsyncClient,
        profile: ModelProfile | None = None,
    ) -> Model:
        """An ``OpenAIChatModel`` on the compatible endpoint, sending through ``http_client``."""
        with vendor_import(self.name, self.extra):
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai_compatible import (
                OpenAICompatibleProvider as SDKProvider,
            )
        assert base_url is not None  # api_key() has checked it
        provider = SDKProvider(
            self.name, base_url=base_url, api_key=api_key, http_client=http_client
        )
        return OpenAIChatModel(model_name, provider=provider, profile=profile)
