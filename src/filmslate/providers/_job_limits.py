"""What the vendor adapters (fal, Replicate, ComfyUI) refuse locally, before anything is sent,
and the price per second a catalogue model falls back to.

A job the model would refuse (and might bill) is refused here as ``invalid_input`` with
``maybe_sent=False``: the render service releases its hold and records the refusal.
"""

from __future__ import annotations

from ..core._catalogue import ModelEntry
from ..core._errors import ProviderError

__all__ = ["catalogue_price_per_second", "refuse_long_clip", "refuse_long_prompt"]


def refuse_long_clip(what: str, seconds: float, model: str, limit: float) -> None:
    """Refuse a clip longer than the model renders (it would render its longest, too short)."""
    if seconds > limit + 1e-3:
        raise ProviderError(
            f"{what}: {seconds:g}s exceeds {model}'s {limit:g}s clip limit",
            failure="invalid_input",
            maybe_sent=False,
        )


def refuse_long_prompt(what: str, prompt: str, model: str, entry: ModelEntry | None) -> None:
    """Refuse a prompt longer than the catalogue entry's ``max_prompt_chars``."""
    limit = entry.max_prompt_chars if entry is not None else None
    if limit is not None and len(prompt) > limit:
        raise ProviderError(
            f"{what}: the prompt has {len(prompt)} characters, over {model}'s {limit}",
            failure="invalid_input",
            maybe_sent=False,
        )


def catalogue_price_per_second(
    price: float | None, entry: ModelEntry | None, width: int, height: int
) -> float:
    """The configured price, else the catalogue's for the shortest clip, per second."""
    if price is not None or entry is None:
        return price or 0.0
    seconds = entry.allowed_durations()[0]
    return round(entry.cost(seconds, width, height) / seconds, 6)
