"""Token prices for text models.

Prices come from genai-prices' bundled data, so they work offline. A project can price a model
genai-prices does not know (a local Ollama model, a new release) with ``price_overrides``, keyed
by ``"provider:model"`` and holding USD per million input and output tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import ConfigError, ProviderError

PriceOverrides = Mapping[str, tuple[float, float]]

# Our provider prefixes name the API we speak; genai-prices names the vendor. ``compat`` is
# resolved from the endpoint URL or the model name instead.
_GENAI_PROVIDER_IDS: dict[str, str | None] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "compat": None,
}

# A small call keeps tiered prices (e.g. "above 200k tokens") at their base tier.
_PROBE_TOKENS = 1000


def token_prices(
    provider: str,
    model: str,
    *,
    overrides: PriceOverrides | None = None,
    api_url: str | None = None,
) -> tuple[float, float]:
    """USD per million (input, output) tokens for ``provider:model`` at its base tier."""
    override = _override(provider, model, overrides)
    if override is not None:
        return override
    calc = _calc_price(provider, model, _PROBE_TOKENS, _PROBE_TOKENS, api_url)
    scale = 1_000_000 / _PROBE_TOKENS
    return float(calc.input_price) * scale, float(calc.output_price) * scale


def token_cost(
    provider: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    *,
    overrides: PriceOverrides | None = None,
    api_url: str | None = None,
) -> float:
    """USD cost of one call of ``provider:model`` that used these tokens."""
    override = _override(provider, model, overrides)
    if override is not None:
        input_price, output_price = override
        return (input_tokens * input_price + output_tokens * output_price) / 1_000_000
    calc = _calc_price(provider, model, input_tokens, output_tokens, api_url)
    return float(calc.total_price)


def _override(
    provider: str, model: str, overrides: PriceOverrides | None
) -> tuple[float, float] | None:
    if not overrides:
        return None
    found = overrides.get(f"{provider}:{model}")
    if found is None:
        return None
    prices = float(found[0]), float(found[1])
    if not all(math.isfinite(price) and price >= 0 for price in prices):
        # filmslate.toml refuses these; a table handed over in code gets the same rule
        raise ConfigError(
            f"the price of {provider}:{model} is {list(found)}: prices per million tokens "
            "are finite and not negative; correct it in [prices.text]",
            provider=provider,
            model=model,
        )
    return prices


def _calc_price(
    provider: str, model: str, input_tokens: int, output_tokens: int, api_url: str | None
) -> Any:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    provider_id = _GENAI_PROVIDER_IDS.get(provider, provider)
    lookups: list[Callable[[], Any]] = []
    if provider_id is None and api_url:
        # An OpenAI-compatible endpoint is best identified by its URL (api.deepseek.com, ...).
        lookups.append(lambda: calc_price(usage, model, provider_api_url=api_url))
    lookups.append(lambda: calc_price(usage, model, provider_id=provider_id))
    for lookup in lookups:
        try:
            return lookup()
        except LookupError:
            continue
    raise ProviderError(missing_price_message(provider, model), provider=provider, model=model)


def missing_price_message(provider: str, model: str) -> str:
    """The error for a text model genai-prices does not know, with the line that prices it."""
    key = f"{provider}:{model}"
    return (
        f"no token price is known for {key} (genai-prices does not list it), so its calls "
        f"cannot be reserved; price it in filmslate.toml with this line under [prices]: "
        f'text = {{ "{key}" = [in, out] }} where in and out are USD per million input and '
        f"output tokens ([0, 0] for a model on your own machine; with a text table already "
        f'there, add "{key}" = [in, out] to it)'
    )
