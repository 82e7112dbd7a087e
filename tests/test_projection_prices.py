"""Cost projections price a clip the way the render reserves it: a per-clip model bills the
clip length its planned seconds snap to, not seconds x a per-second rate (issue 12 §7)."""

from __future__ import annotations

import pytest

from filmslate.core._config import default_toml, parse_config
from filmslate.schemas import ShotRow
from filmslate.skills.governance._governance import shot_line

KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"  # 0.28 per 5 s clip, 0.56 per 10


def config_with_low(model: str):  # type: ignore[no-untyped-def]
    text = default_toml("film").replace('low = "animatic"', f'low = "{model}"')
    return parse_config(text)


def row(seconds: float) -> ShotRow:
    return ShotRow(
        shot_id="S01_SH01",
        scene_id="S01",
        duration_s=seconds,
        camera_type="medium",
        blocking_summary="Ada waits by the door.",
        set_id="HALL",
        char_ids=["ADA"],
        hero_tier="C",
        complexity_level="low",
        regen_risk_estimate="low",
    )


@pytest.mark.parametrize(("seconds", "clip"), [(3.0, 0.28), (5.0, 0.28), (7.5, 0.56)])
def test_cost_optimizer_prices_a_per_clip_model_by_its_clip(seconds: float, clip: float) -> None:
    config = config_with_low(KLING)
    line = shot_line(row(seconds), config)
    # a proxy and a final clip each, times the low regen risk's multiplier
    assert line.cost == pytest.approx(2 * clip * config.regen.multiplier("low"))
