"""Google Gemini API (generateContent) through pydantic-ai.

Needs ``pip install 'filmslate[gemini]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ._pydantic_ai import PydanticAIProvider, vendor_import

if TYPE_CHECKING:
    import httpx2
    from pydantic_ai.models import Model
    from pydantic_ai.profiles import ModelProfile


class GeminiProvider(PydanticAIProvider):
    """``gemini:<model>``: Gemini models; key in ``$GEMINI_API_KEY`` by default."""

    name: ClassVar[str] = "gemini"
    extra: ClassVar[str] = "gemini"
    default_base_url: ClassVar[str | None] = "https://generativelanguage.googleapis.com/"

    def build_model(
        self,
        model_name: str,
        *,
        api_key: str | None,
        base_url: str | None,
        http_client: httpx2.AsyncClient,
        profile: ModelProfile | None = None,
    ) -> Model:
        """A ``GoogleModel`` on the Gemini API, sending through ``http_client``."""
        with vendor_import(self.name, self.extra):
            from google.genai.types import HttpRetryOptions
            from pydantic_ai.models.google import GoogleModel
            from pydantic_ai.providers.google import GoogleProvider as SDKProvider
        # One attempt per request at the SDK level: our bridge transport owns retrying.
        provider = SDKProvider(
            api_key=api_key,
            base_url=base_url,
            http_client=http_client,
            retry_options=HttpRetryOptions(attempts=1),
        )
        return GoogleModel(model_name, provider=provider, profile=profile)
