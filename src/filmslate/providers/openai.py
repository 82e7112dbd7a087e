"""OpenAI (Chat Completions API) through pydantic-ai. Needs ``pip install 'filmslate[openai]'``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ._pydantic_ai import PydanticAIProvider, vendor_import

if TYPE_CHECKING:
    import httpx2
    from pydantic_ai.models import Model
    from pydantic_ai.profiles import ModelProfile


class OpenAIProvider(PydanticAIProvider):
    """``openai:<model>``: OpenAI's chat completions; key in ``$OPENAI_API_KEY`` by default."""

    name: ClassVar[str] = "openai"
    extra: ClassVar[str] = "openai"
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"

    def build_model(
        self,
        model_name: str,
        *,
        api_key: str | None,
        base_url: str | None,
        http_client: httpx2.AsyncClient,
        profile: ModelProfile | None = None,
    ) -> Model:
        """An ``OpenAIChatModel`` sending through ``http_client``."""
        with vendor_import(self.name, self.extra):
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider as SDKProvider
        # base_url is always passed so $OPENAI_BASE_URL cannot silently redirect the key.
        provider = SDKProvider(base_url=base_url, api_key=api_key, http_client=http_client)
        return OpenAIChatModel(model_name, provider=provider, profile=profile)
