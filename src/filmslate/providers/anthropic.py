"""Anthropic (Messages API) through pydantic-ai. Needs ``pip install 'filmslate[anthropic]'``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ._pydantic_ai import PydanticAIProvider, vendor_import

if TYPE_CHECKING:
    import httpx2
    from pydantic_ai.models import Model
    from pydantic_ai.profiles import ModelProfile


class AnthropicProvider(PydanticAIProvider):
    """``anthropic:<model>``: Claude models; key in ``$ANTHROPIC_API_KEY`` by default."""

    name: ClassVar[str] = "anthropic"
    extra: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str | None] = "https://api.anthropic.com"

    def build_model(
        self,
        model_name: str,
        *,
        api_key: str | None,
        base_url: str | None,
        http_client: httpx2.AsyncClient,
        profile: ModelProfile | None = None,
    ) -> Model:
        """An ``AnthropicModel`` sending through ``http_client``."""
        with vendor_import(self.name, self.extra):
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider as SDKProvider
        provider = SDKProvider(api_key=api_key, base_url=base_url, http_client=http_client)
        return AnthropicModel(model_name, provider=provider, profile=profile)
