"""The ``[edit]`` table of filmslate.toml: what edit-planner aims for and what its gate allows
(issue 15 §4)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._config_base import Section

__all__ = ["EditSection"]


class EditSection(Section):
    """The edit plan's target runtime and tolerance, the shortest trimmed shot, the J cuts, and
    whether a model may adjust the plan the rules propose."""

    # the whole film's runtime; unset: the sum of the shot lists' planned durations (a scene's
    # plan always aims for its own planned sum)
    target_runtime_s: float | None = Field(None, gt=0)
    runtime_tolerance_pct: float = Field(5.0, ge=0, le=100)
    min_shot_s: float = Field(1.0, gt=0)  # no shot is trimmed shorter than this
    # J cuts in an exchange: the incoming speaker's line heard this long before their picture,
    # which then starts that much later (the time comes off its head); 0: no J cuts
    j_cut_s: float = Field(0.0, ge=0, le=2.0)
    # "rules": the deterministic core writes the plan, no model is asked; "model": the
    # judgment tier may change trims and the order within a scene, code keeps what passes
    plan_source: Literal["rules", "model"] = "rules"
