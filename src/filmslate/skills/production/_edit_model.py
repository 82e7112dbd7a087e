"""edit-planner's judgment pass (``[edit] plan_source = "model"``): the judgment tier sees
the rules' plan and may change its trims and the order of shots within a scene.

Code decides what is kept: an answer that leaves out a shot, names one twice or one that is
not the target's, or whose plan fails the gate where the rules' plan passes, is not taken; the
rules' plan is written instead and the gate says why. The J cuts of the rules' plan are kept
where a shot keeps its in point and the shot before it; L cuts are worked out again.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from ...core._config_edit import EditSection
from ...rules._edit import PlannedShot, Trim, replan
from ...rules._edit_gate import plan_failures
from ...schemas import EditPlan

__all__ = ["EditAnswer", "ShotCut", "adjusted", "edit_prompt"]


class ShotCut(BaseModel):
    """One shot of the model's plan, in the order to play them."""

    shot_id: str
    in_s: float = Field(ge=0)
    out_s: float = Field(gt=0)
    reason: str = ""


class EditAnswer(BaseModel):
    """The model's plan: every shot once, in play order, with its in and out points."""

    shots: list[ShotCut]
    rationale: str = ""


def edit_prompt(
    target: str, shots: Sequence[PlannedShot], plan: EditPlan, target_s: float, edit: EditSection
) -> str:
    """What the model is shown: the bounds, and each shot as the rules planned it."""
    rows = {r.shot_id: r for r in plan.rows}
    lines = [
        f"Target {target}: runtime {target_s:g}s within {edit.runtime_tolerance_pct:g}%; "
        f"no trimmed shot under {edit.min_shot_s:g}s. The rules' plan runs {plan.runtime_s:g}s.",
        "",
        "Shots in the rules' order:",
    ]
    for shot in (next(s for s in shots if s.shot_id == r.shot_id) for r in plan.rows):
        row, planned = shot.row, rows[shot.shot_id]
        spoken = "; ".join(
            f"line {ln.line} {ln.character} "
            + (f"{ln.start_s:g}-{ln.end_s:g}s" if ln.timed else "(not timed: keep whole)")
            for ln in shot.lines
        )
        lines.append(
            f"- {shot.shot_id} (scene {row.scene_id}): {row.camera_type} of "
            f"{', '.join(row.char_ids) or 'no one'}; {row.blocking_summary}"
            + (f" [{row.notes}]" if row.notes else "")
            + f"; take {shot.source_s:g}s; rules in {planned.in_s:g}s out {planned.out_s:g}s"
            + (f"; dialogue: {spoken}" if spoken else "")
        )
    return "\n".join(lines)


def adjusted(
    answer: EditAnswer,
    shots: Sequence[PlannedShot],
    core: EditPlan,
    target_s: float,
    edit: EditSection,
    closes_film: bool,
) -> tuple[EditPlan, list[str]]:
    """The model's plan when code takes it, else the rules' plan and why it was declined."""
    known = {s.shot_id for s in shots}
    named = [c.shot_id for c in answer.shots]
    wrong = sorted(set(named) ^ known) + sorted({n for n in named if named.count(n) > 1})
    if wrong:
        return core, [
            "the model's plan was not taken (it must name every shot once): " + ", ".join(wrong)
        ]
    lengths = {s.shot_id: s.source_s for s in shots}
    outside = [
        f"{c.shot_id} in {c.in_s:g}s / out {c.out_s:g}s (the take lasts {lengths[c.shot_id]:g}s)"
        for c in answer.shots
        if not c.in_s < c.out_s <= lengths[c.shot_id] + 1e-3
    ]
    if outside:
        return core, [
            "the model's plan was not taken (trims outside the take): " + "; ".join(outside)
        ]
    plan = replan(shots, _trims(answer, core), target_s, edit, closes_film)
    failures = plan_failures(plan, shots, target_s, edit, closes_film)
    if failures and not plan_failures(core, shots, target_s, edit, closes_film):
        return core, ["the model's plan was not taken: " + "; ".join(failures)]
    return plan, []


def _trims(answer: EditAnswer, core: EditPlan) -> list[Trim]:
    rules = {r.shot_id: r for r in core.rows}
    before = {b.shot_id: a.shot_id for a, b in zip(core.rows, core.rows[1:], strict=False)}
    out = []
    for i, cut in enumerate(answer.shots):
        mine = rules[cut.shot_id]
        same = before.get(cut.shot_id) == (answer.shots[i - 1].shot_id if i else None)
        lead = mine.audio_lead_s if same and abs(cut.in_s - mine.in_s) < 1e-3 else 0.0
        notes = (f"the model: {cut.reason}",) if cut.reason else ()
        out.append(Trim(cut.shot_id, round(cut.in_s, 4), round(cut.out_s, 4), notes, lead))
    return out
