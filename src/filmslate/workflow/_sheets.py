"""Whether a scene's reference sheets are still to make (the orchestrator's sheets step)."""

from __future__ import annotations

from ..core._errors import InputNotReady
from ..engine._runner import Runner
from ..engine._skill import Context
from ..skills.production._sheets import sheets_to_make

SKILL = "reference-sheets"


def sheets_pending(runner: Runner, scene: str) -> bool:
    """True when a lock of the scene's cast or set has no fresh, passing sheet, or only a
    schematic one while [images] routes "sheet" to an image model."""
    skill = runner.registry.get(SKILL)()
    try:
        inputs = runner.load_inputs(skill, scene)
    except InputNotReady:
        return True  # the run itself refuses, naming the lock to fix, and the step stops
    ctx = Context(
        target=scene,
        inputs=inputs,
        config=runner.config,
        params={"existing": runner.existing_outputs(skill)},
    )
    return bool(sheets_to_make(ctx, real=not runner.config.images.offline("sheet")))


__all__ = ["sheets_pending"]
