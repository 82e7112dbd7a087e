"""A model billed by area bills the frame it returns: a video model's native frame for the
tier the job asks (found by docs/providers.md's cost table: a Seedance proxy at 640x360 is
rendered, and billed, at 480p's 864x480)."""

from __future__ import annotations

import pytest

from filmslate.core._catalogue import load_catalogue

SEEDANCE = "fal:bytedance/seedance-2.0/image-to-video"


def test_a_video_billed_by_tokens_costs_its_tiers_native_frame() -> None:
    seedance = load_catalogue().get(SEEDANCE)
    # a 640x360 proxy asks 480p, returned (and billed) as 864x480: 864 x 480 x 24 x 5 / 1024
    # = 48,600 tokens at $0.014 per 1000
    assert seedance.resolution_for(640, 360) == "480p"
    assert seedance.cost(5.0, 640, 360) == pytest.approx(0.6804)
    assert seedance.cost(5.0, 640, 360) == seedance.cost(5.0, resolution="480p")
    assert seedance.cost(5.0, 640, 360) == seedance.worst_case_cost(5.0, 640, 360)


def test_an_image_billed_by_megapixel_costs_the_size_asked() -> None:
    flux = load_catalogue().get("fal:fal-ai/flux/dev")  # no native frames: the size asked
    assert flux.cost(0.0, 1280, 720) == pytest.approx(0.025)
    assert flux.cost(0.0, 1920, 1080) == pytest.approx(0.05)
