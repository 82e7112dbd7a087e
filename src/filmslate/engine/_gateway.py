"""The text-model gateway: one door to every text model a skill may use.

A skill hands the gateway a :class:`TextRequest`; the request's ``model`` is ``"provider:model"``
as the router picked it from the project's tier mapping (``"openai:gpt-4.1-mini"``,
``"replay:judgment"``). The gateway routes on the ``provider:`` prefix to a
:class:`TextProvider` and returns a :class:`TextResult`: the output validated into the request's
pydantic model, the tokens used and their cost in USD.

Built-in prefixes: ``openai``, ``anthropic``, ``gemini``, ``compat`` (any OpenAI-compatible
endpoint: Ollama, vLLM, Qwen/DashScope, DeepSeek, MiniMax), and the offline ``replay`` and
``handoff``. Third-party packages add prefixes through the ``filmslate.text_providers``
entry-point group (the entry point is called with a :class:`ProviderContext`); tests register
their own with :meth:`Gateway.register`.
"""

from __future__ import annotations

import abc
import math
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Literal

import httpx
import pydantic

from ..core._errors import ProviderError
from ..core._prices import token_prices
from ._attachments import Attachment, attachment_tokens, takes_images
from ._waits import waiting

ENTRY_POINT_GROUP = "filmslate.text_providers"
DEFAULT_MAX_OUTPUT_TOKENS = 4096
# How a model is asked for structured output (pydantic-ai's ToolOutput, NativeOutput and
# PromptedOutput).
OutputMode = Literal["tool", "json_schema", "prompted"]

DEFAULT_API_KEY_ENV: Mapping[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "compat": "OPENAI_COMPATIBLE_API_KEY",
}

# Imported only when first used, so a replay-only project never imports a vendor SDK.
_BUILTIN_PROVIDERS: Mapping[str, str] = {
    "openai": "filmslate.providers.openai:OpenAIProvider",
    "anthropic": "filmslate.providers.anthropic:AnthropicProvider",
    "gemini": "filmslate.providers.gemini:GeminiProvider",
    "compat": "filmslate.providers.openai_compatible:OpenAICompatibleProvider",
    "replay": "filmslate.providers.replay:ReplayProvider",
    "handoff": "filmslate.providers.handoff:HandoffProvider",
}


@dataclass(frozen=True)
class TextRequest:
    """One structured question to a text model, on behalf of one skill run."""

    skill: str
    target: str
    attempt: int
    model: str
    system: str
    prompt: str
    output_type: type[pydantic.BaseModel]
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    call: int = 1  # the n-th question of this run (a lock skill asks once per subject)
    images: tuple[Attachment, ...] = ()  # sent after the prompt, each with its label

    @property
    def provider_prefix(self) -> str:
        """The part of ``model`` before the first colon (``"openai"``)."""
        return split_model(self.model)[0]

    @property
    def model_name(self) -> str:
        """The part of ``model`` after the first colon (``"gpt-4.1-mini"``)."""
        return split_model(self.model)[1]


@dataclass(frozen=True)
class Usage:
    """Tokens one call consumed (summed over its schema re-asks)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class TextResult:
    """A validated answer, what it used and what it cost in USD."""

    output: pydantic.BaseModel
    usage: Usage
    cost: float
    model: str


@dataclass(frozen=True)
class ProviderSettings:
    """Provider configuration, mapped from the project's ``filmslate.toml``.

    ``api_key_env`` names, per provider prefix, the environment variable holding its key (keys
    themselves never live in configuration). ``base_urls`` points a prefix at another endpoint.
    ``price_overrides`` prices models genai-prices does not know, keyed ``"provider:model"``, in
    USD per million (input, output) tokens. ``timeouts`` overrides ``timeout_s`` per prefix.

    Retries: a request that never left (refused connection, connect timeout) or was answered
    429/5xx is retried ``max_retries`` times with exponential backoff from ``retry_backoff_s``
    (a server's Retry-After wins, capped at ``retry_wait_max_s``), and no retry starts past
    ``retry_total_s`` from the call's start. A request sent but never answered (a read timeout)
    is retried only for a prefix in ``idempotent``: the vendor may have run and billed it. An
    output failing its schema is re-asked ``schema_retries`` times, quoting the error.

    ``output_modes`` picks, per prefix, how the output schema is asked for: ``"tool"`` (a tool
    call, the default), ``"json_schema"`` (the vendor's native structured output) or
    ``"prompted"`` (the schema in the prompt, for endpoints with neither). ``max_output_tokens``
    caps, per tier, the tokens a call may produce (and so its worst case); unset tiers get
    ``DEFAULT_MAX_OUTPUT_TOKENS``.
    """

    replay_dir: str = "replay"
    inbox_dir: str = "inbox"
    api_key_env: Mapping[str, str] = field(default_factory=dict)
    base_urls: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 120.0
    max_retries: int = 3
    schema_retries: int = 2
    price_overrides: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    retry_backoff_s: float = 1.0
    retry_wait_max_s: float = 60.0
    retry_total_s: float = 300.0
    timeouts: Mapping[str, float] = field(default_factory=dict)
    idempotent: frozenset[str] = frozenset()
    output_modes: Mapping[str, OutputMode] = field(default_factory=dict)
    max_output_tokens: Mapping[str, int] = field(default_factory=dict)
    vision_models: frozenset[str] = frozenset()  # "provider:model"s declared to take images

    def output_mode(self, prefix: str) -> OutputMode:
        """How ``prefix``'s models are asked for structured output."""
        return self.output_modes.get(prefix, "tool")

    def output_tokens(self, tier: str) -> int:
        """The output-token cap of a call at ``tier``."""
        return self.max_output_tokens.get(tier, DEFAULT_MAX_OUTPUT_TOKENS)

    def key_env(self, prefix: str) -> str:
        """The environment variable that holds the API key for ``prefix``."""
        return self.api_key_env.get(prefix) or DEFAULT_API_KEY_ENV.get(
            prefix, f"{prefix.upper()}_API_KEY"
        )


@dataclass(frozen=True)
class ProviderContext:
    """What a provider is built from: the project, its settings, the environment, HTTP."""

    project_root: Path
    settings: ProviderSettings
    env: Mapping[str, str]
    http_client: httpx.Client


class TextProvider(abc.ABC):
    """A text model behind the gateway: one required method, capabilities as class attributes.

    ``name`` is the prefix the provider answers to; ``offline`` providers cost nothing and
    need no key or network.
    """

    name: ClassVar[str]
    offline: ClassVar[bool] = False

    @abc.abstractmethod
    def complete(self, request: TextRequest) -> TextResult:
        """Answer ``request`` with its output model validated, usage and cost."""

    def token_prices(self, model_name: str) -> tuple[float, float]:
        """USD per million (input, output) tokens of ``model_name`` on this provider."""
        return token_prices(self.name, model_name)

    def takes_images(self, model_name: str, declared: Collection[str] = ()) -> bool:
        """Whether ``model_name`` accepts images: an offline provider passes them on to a
        person or an authored answer; a vendor's model by ``_attachments``' table or
        ``declared`` (``[providers] vision_models``)."""
        return self.offline or takes_images(f"{self.name}:{model_name}", declared)

    def worst_case_cost(self, request: TextRequest) -> float:
        """The most ``request`` can cost: its prompt and images (``_attachments``' per-vendor
        estimate) plus ``max_output_tokens`` of output."""
        if self.offline:
            return 0.0
        input_price, output_price = self.token_prices(request.model_name)
        prompt_tokens = estimate_tokens(request.system + request.prompt)
        prompt_tokens += attachment_tokens(self.name, request.images)
        return (prompt_tokens * input_price + request.max_output_tokens * output_price) / 1e6


class Gateway:
    """Routes text requests to providers by the ``provider:`` prefix of their model."""

    def __init__(
        self,
        project_root: Path,
        provider_settings: ProviderSettings,
        env: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._owns_client = http_client is None
        client = http_client or httpx.Client(timeout=provider_settings.timeout_s)
        self.context = ProviderContext(
            project_root=Path(project_root),
            settings=provider_settings,
            env=os.environ if env is None else env,
            http_client=client,
        )
        self._providers: dict[str, TextProvider] = {}

    def register(self, prefix: str, provider: TextProvider) -> None:
        """Serve every ``prefix:...`` model with ``provider`` (replaces a built-in one)."""
        self._providers[prefix] = provider

    def provider(self, model: str) -> TextProvider:
        """The provider that serves ``model`` (``"provider:model"``), built on first use."""
        prefix, _ = split_model(model)
        if prefix not in self._providers:
            self._providers[prefix] = self._build(prefix)
        return self._providers[prefix]

    def complete(self, request: TextRequest) -> TextResult:
        """Answer ``request`` through the provider its model names."""
        provider = self.provider(request.model)
        with waiting(request.model, "request"):
            result = provider.complete(request)
        if not isinstance(result.output, request.output_type):
            # A provider bug or a misregistered fake: fail here, not deep inside a skill.
            raise ProviderError(
                f"the {request.provider_prefix} provider returned a "
                f"{type(result.output).__name__}, not the {request.output_type.__name__} "
                f"{request.skill} asked for",
                model=request.model,
                skill=request.skill,
            )
        return result

    def takes_images(self, model: str) -> bool:
        """Whether ``model`` (``"provider:model"``) can be sent images."""
        name = split_model(model)[1]
        return self.provider(model).takes_images(name, self.context.settings.vision_models)

    def worst_case_cost(self, request: TextRequest) -> float:
        """The most ``request`` can cost, for reserving budget before the call."""
        return self.provider(request.model).worst_case_cost(request)

    def close(self) -> None:
        """Close the HTTP client if the gateway created it."""
        if self._owns_client:
            self.context.http_client.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _build(self, prefix: str) -> TextProvider:
        factory = _factory(prefix)
        if factory is None:
            known = sorted({*_BUILTIN_PROVIDERS, *self._providers})
            raise ProviderError(
                f"no text provider is called {prefix!r}; use one of {', '.join(known)} in the "
                "tier mapping, or install a package that provides it",
                provider=prefix,
            )
        return factory(self.context)


def split_model(model: str) -> tuple[str, str]:
    """Split ``"provider:model"``; a model string without a provider is a configuration error."""
    prefix, sep, name = model.partition(":")
    if not sep or not prefix or not name:
        raise ProviderError(
            f"model {model!r} does not name its provider; write it as provider:model, "
            "e.g. openai:gpt-4.1-mini or replay:judgment",
            model=model,
        )
    return prefix, name


def estimate_tokens(text: str) -> int:
    """A deliberately pessimistic token count: one token per three characters."""
    return math.ceil(len(text) / 3)


def _factory(prefix: str) -> Callable[[ProviderContext], TextProvider] | None:
    target = _BUILTIN_PROVIDERS.get(prefix)
    if target is not None:
        module, _, attr = target.partition(":")
        factory: Callable[[ProviderContext], TextProvider] = getattr(import_module(module), attr)
        return factory
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=prefix):
        loaded: Callable[[ProviderContext], TextProvider] = entry.load()
        return loaded
    return None
