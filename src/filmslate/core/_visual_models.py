"""The video model a shot is routed to, its catalogue entry and the price of one clip.

Shots are routed by hero tier (A premium, B mid, C low: ``[visual]``); the premium quota may
move an A shot to mid when it is rendered, which only the render service knows. A model string
in ``[visual]`` is a catalogue key (``"fal:fal-ai/kling-video/..."``) or a model outside the
catalogue (the offline ``animatic``, a plugin's model), which keeps the behaviour it always had:
any duration, priced per second by ``[prices.video]``.
"""

from __future__ import annotations

from ._catalogue import ModelEntry
from ._config import Config
from ._video_prices import catalogue_of, price_per_second, video_entry

HERO_VISUAL = {"A": "premium", "B": "mid", "C": "low"}


def tier_model(config: Config, hero_tier: str) -> str:
    """The ``[visual]`` model a shot of this hero tier is routed to (before the quota)."""
    return str(getattr(config.visual, HERO_VISUAL.get(hero_tier, "mid")))


def entry_for(config: Config, model: str) -> ModelEntry | None:
    """The catalogue entry of a video model, or None for a model outside the catalogue."""
    return video_entry(config, model)


def model_duration(config: Config, model: str, duration_s: float) -> float | None:
    """The clip length to ask ``model`` for a shot planned at ``duration_s`` (the catalogue's
    snap), or None for a model outside the catalogue (it takes the planned length)."""
    entry = entry_for(config, model)
    return None if entry is None else entry.snap_duration(duration_s)


def clip_price(config: Config, model: str, resolution: str, duration_s: float) -> float:
    """What one clip of a shot planned at ``duration_s`` costs at a resolution tier: the
    catalogue's price (per clip, per second, ... of the snapped length), else ``[prices.video]``
    per second of the planned length. ConfigError when the model has no price anywhere."""
    entry = entry_for(config, model)
    res = getattr(config.resolution, resolution)
    if entry is not None:
        return entry.cost(duration_s, res.width, res.height)
    return duration_s * price_per_second(config, model, resolution)


__all__ = [
    "HERO_VISUAL",
    "catalogue_of",  # core._video_prices', re-exported
    "clip_price",
    "entry_for",
    "model_duration",
    "tier_model",
]
