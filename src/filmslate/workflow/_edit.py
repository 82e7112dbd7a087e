"""The edit pass of the orchestrated run (issue 15 §4): edit-planner before assemble-cut.

Once every take is accepted and the scratch dialogue is voiced, edit-planner plans each
scene's cut (``EDIT_<SCENE>``), in SCENES order, then the whole film's (``EDIT_PROJECT``),
which assemble-cut follows. Each plan is made again only when it is missing, failed or stale
(a new take, QC row, shot list or voice) or, for the film's, when ``[edit] target_runtime_s``
no longer gives the target it aims for, so a second run finds it up to date; a plan that
fails its gate (a jump cut, a runtime off the target, a line cut off) stops the run with the
gate's reasons, like any other step's FAIL, before a cut is made.
"""

from __future__ import annotations

from typing import Protocol

from ..engine._runner import Runner
from ..schemas import EditPlan
from ._pending import scene_ids, shot_rows

__all__ = ["EDIT_SKILL", "Editing", "edit_pass"]

EDIT_SKILL = "edit-planner"


class Editing(Protocol):
    """What the pass needs of the orchestrator: its runner, progress and steps."""

    runner: Runner

    @property
    def progress(self) -> _Progress:
        """Where progress is reported."""

    def step(self, skill: str, target: str, *, advance: bool = True) -> None:
        """Run a skill unless its latest output is a fresh PASS (or stop the run)."""

    def _run(self, skill: str, target: str) -> object:
        """Run a skill to PASS, up to date or not (or stop the run)."""


class _Progress(Protocol):
    def phase(self, name: str, total: int) -> None: ...

    def advance(self, detail: str) -> None: ...


def edit_pass(orch: Editing) -> None:
    """edit-planner on every scene that has shots, then on the whole film."""
    scenes = [s for s in scene_ids(orch.runner) if shot_rows(orch.runner, s)]
    orch.progress.phase("edit", len(scenes) + 1)
    for scene in scenes:
        orch.step(EDIT_SKILL, scene)
    if _target_moved(orch.runner, scenes):
        orch._run(EDIT_SKILL, "PROJECT")  # a setting is no input: lineage cannot see it
        orch.progress.advance(f"{EDIT_SKILL} PROJECT")
    else:
        orch.step(EDIT_SKILL, "PROJECT")


def _target_moved(runner: Runner, scenes: list[str]) -> bool:
    """True when the film's plan aims for another runtime than ``[edit] target_runtime_s``
    (unset: the planned sum) now gives, so editing the setting and running again re-plans."""
    record = runner.store.latest("EDIT", "PROJECT")
    plan = runner.store.load(record.name) if record else None
    if not isinstance(plan, EditPlan) or not plan.rows:
        return False
    target = runner.config.edit.target_runtime_s
    if target is None:
        target = sum(row.duration_s for scene in scenes for row in shot_rows(runner, scene))
    return abs(plan.target_s - target) > 1e-3
