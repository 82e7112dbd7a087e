"""What ``slate run`` does about a visual tier's switch (engine/_visual_switch has the rules).

Before a GenPack is re-packed for a changed ``[visual]`` model, the change must be a recorded
switch (else the run stops naming ``slate switch``: nothing is re-packed, reserved or sent).
After a switch, its QC sample is rendered and graded before the tier's other shots, whatever
scene it is in.
"""

from __future__ import annotations

from ..core._visual_models import HERO_VISUAL, tier_model
from ..engine._runner import Runner
from ..engine._visual_switch import VISUAL_TIERS, current_sample, refuse_silent_visual_switch
from ..schemas import ShotRow

__all__ = ["check_switch", "pending_samples"]


def check_switch(runner: Runner, row: ShotRow) -> None:
    """HardStop when the shot's tier names another model than it last rendered on and no
    switch records the change."""
    tier = f"visual_{HERO_VISUAL[row.hero_tier]}"
    refuse_silent_visual_switch(runner.store, tier, tier_model(runner.config, row.hero_tier))


def pending_samples(runner: Runner) -> list[str]:
    """The QC samples of recorded switches to the models ``[visual]`` names now that have no
    verdict on the new model yet, one per tier."""
    out = []
    for tier in VISUAL_TIERS:
        model = str(getattr(runner.config.visual, tier.removeprefix("visual_")))
        found = current_sample(runner.project, tier, model)
        if found is not None and found[1] == "pending":
            out.append(found[0].shot_id)
    return sorted(set(out))
