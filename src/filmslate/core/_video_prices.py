"""Video prices by model and resolution tier.

A model in the catalogue (``core._catalogue``: ``[visual]`` names its ``"provider:model"``
key) is priced by its entry: per clip or per second, by resolution, the clip length snapped to
what the model allows. Any other model (the offline animatic, a custom one) is priced per
second from a versioned table; the numbers are reference points, not quotes, so a project sets
its own in ``[prices.video]`` of filmslate.toml, which always wins. Local engines (the
animatic, a ComfyUI box you own) have no marginal price.
"""

from __future__ import annotations

import json
import math

from ._catalogue import Catalogue, ModelEntry, load_catalogue
from ._config import Config
from ._errors import ConfigError

TABLE_VERSION = "video-prices-v001"
# model -> {resolution tier: price per second of output}
VIDEO_PRICES: dict[str, dict[str, float]] = {
    "animatic": {"proxy": 0.0, "final": 0.0},
    "comfyui": {"proxy": 0.0, "final": 0.0},
}


_CATALOGUES: dict[str, Catalogue] = {}  # by the project's overrides, as JSON


def catalogue_of(config: Config) -> Catalogue:
    """The model catalogue with the project's ``[catalogue]`` overrides (loaded once)."""
    key = json.dumps(config.catalogue, sort_keys=True, default=str)
    if key not in _CATALOGUES:
        _CATALOGUES[key] = load_catalogue(config.catalogue or None)
    return _CATALOGUES[key]


def video_entry(config: Config, model: str) -> ModelEntry | None:
    """The catalogue entry of a video model string (None: not a catalogue model)."""
    entry = catalogue_of(config).entries.get(model) if ":" in model else None
    return entry if entry is not None and entry.kind == "video" else None


def video_cost(config: Config, model: str, resolution: str, duration_s: float) -> float:
    """The most one clip of ``model`` planned at ``duration_s`` costs at ``resolution``:
    for a catalogue model its entry's worst case (the snapped length, per clip or per second;
    a project changes it with a ``[catalogue."provider:model"]`` table), else the per-second
    table's price times the length."""
    entry = video_entry(config, model)
    if entry is not None:
        size = getattr(config.resolution, resolution)
        return entry.worst_case_cost(duration_s, size.width, size.height)
    return duration_s * price_per_second(config, model, resolution)


def price_per_second(config: Config, model: str, resolution: str) -> float:
    """The price of one second of ``model`` output at ``resolution`` (proxy or final), for
    projections that multiply by seconds (a render is priced by ``video_cost``).

    A catalogue model without a ``[prices.video]`` entry: the highest price per second of any
    clip length it allows."""
    for table in (config.prices.video, VIDEO_PRICES):
        prices = table.get(model) or table.get(model.split(":", 1)[0])
        if prices and resolution in prices:
            return _checked(float(prices[resolution]), model, resolution)  # type: ignore[index]
    entry = video_entry(config, model)
    if entry is not None:
        size = getattr(config.resolution, resolution)
        return max(
            entry.worst_case_cost(length, size.width, size.height) / length
            for length in entry.allowed_durations()
        )
    raise ConfigError(
        f"no {resolution} price for video model {model!r}: add it to "
        f'[prices.video] in filmslate.toml, e.g. "{model}" = '
        "{ proxy = 0.05, final = 0.20 }",
        model=model,
    )


def _checked(price: float, model: str, resolution: str) -> float:
    # filmslate.toml refuses these; a table changed in code gets the same rule
    if not (math.isfinite(price) and price >= 0):
        raise ConfigError(
            f"the {resolution} price of video model {model!r} is {price}: prices per second "
            "are finite and not negative; correct it in [prices.video]",
            model=model,
        )
    return price
