"""Per-second video prices by model and resolution tier: a versioned table.

The numbers are reference points, not quotes: vendors change prices often, so a project sets
its own in ``[prices.video]`` of filmslate.toml, which always wins. Local engines (the offline
animatic, a ComfyUI box you own) have no marginal price.
"""

from __future__ import annotations

import math

from ._config import Config
from ._errors import ConfigError

TABLE_VERSION = "video-prices-v001"
# model -> {resolution tier: price per second of output}
VIDEO_PRICES: dict[str, dict[str, float]] = {
    "animatic": {"proxy": 0.0, "final": 0.0},
    "comfyui": {"proxy": 0.0, "final": 0.0},
}


def price_per_second(config: Config, model: str, resolution: str) -> float:
    """The price of one second of ``model`` output at ``resolution`` (proxy or final)."""
    for table in (config.prices.video, VIDEO_PRICES):
        prices = table.get(model) or table.get(model.split(":", 1)[0])
        if prices and resolution in prices:
            return _checked(float(prices[resolution]), model, resolution)  # type: ignore[index]
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
