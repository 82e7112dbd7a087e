"""edit-planner (issue 15 §4): the seed's editing heuristic, as an EDIT plan of a cut.

For a scene (``EDIT_<SCENE>``) or the whole film (``EDIT_PROJECT``) it plans the accepted
takes (a FINAL, else a PROXY whose last QC row is PASS, as assemble-cut takes them): their
order, in and out points, the handles the trims leave, where each starts on the timeline, and
the J and L cuts that carry a dialogue line across a picture cut. The dialogue comes from
DIALOGUE_<SCENE> (which line falls in which shot) and the cues of each shot's
AUDIO_<SHOT> (where each line sits in the take); without them the plan has picture only.

The rules write the plan (``filmslate.rules._edit``): the shot-list order, trimmed only when
the takes overrun the target runtime by more than ``[edit] runtime_tolerance_pct``. The target
is ``[edit] target_runtime_s`` for the film (unset: the sum of its planned shot durations) and
a scene's own planned sum for a scene. By default (``[edit] plan_source = "rules"``) no model is
asked, offline or not: every choice follows from the shot lists, the takes' real lengths and
the lines' timings. With ``plan_source = "model"`` the judgment tier (system prompt
``prompts/edit-planner.md``) sees that plan and may change trims and the order within a scene
(``_edit_model``); code keeps its answer only when it passes the gate (or the rules' plan fails
too). The gate is code's either way; assemble-cut then follows the latest plan of its target.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...core._gate import Gate
from ...core._names import scene_of
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...engine._speech import wav_cues
from ...rules._edit import LineTiming, PlannedShot, propose
from ...rules._edit_gate import overrun_failures, plan_failures
from ...rules._media import probe
from ...schemas import Artifact, DialogueShots, EditPlan, Scenes, ShotList, ShotRow
from .._prompts import system_prompt
from ._edit_model import EditAnswer, adjusted, edit_prompt
from ._render import accepted_takes, scenes_in_order, take_name
from ._shared import PACKAGE

__all__ = ["EditPlanner", "planned_shots", "target_runtime"]


class EditPlanner(Skill):
    """Plans a cut: shot order, trims, handles, J/L cuts for dialogue, target runtime."""

    name: ClassVar[str] = "edit-planner"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "judgment"  # asked only with [edit] plan_source = "model"
    prompt_name: ClassVar[str] = "edit-planner"  # the system prompt: prompts/edit-planner.md
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        Need("SHOTLIST", "within"),
        Need("PROXY", "within", optional=True),
        Need("FINAL", "within", optional=True),
        Need("QC_BATCH", "within", optional=True),
        Need("DIALOGUE", "within", optional=True),
        Need("AUDIO", "within", optional=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("EDIT",)
    target_scope: ClassVar[Any] = "target"
    # a plan that breaks a rule is fixed in the shot lists, the takes or [edit]: not by asking
    revise_on_fail: ClassVar[bool] = False
    summary: ClassVar[str] = (
        "after the takes (and scratch voices): the cut's EDIT plan, shot order, trims, "
        "handles, J/L cuts, target runtime"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The plan the rules propose for the target's accepted takes (adjusted by the
        judgment tier with ``plan_source = "model"``)."""
        shots, target, edit = planned_shots(ctx), target_runtime(ctx), ctx.config.edit
        closes = closes_film(ctx)
        plan = propose(shots, target, edit, closes)
        self._declined: list[str] = []
        if edit.plan_source == "model":
            prompt = edit_prompt(ctx.target, shots, plan, target, edit)
            if ctx.feedback:
                prompt += "\n\nThe last plan failed: " + "; ".join(ctx.feedback)
            answer = ctx.ask(EditAnswer, system_prompt(PACKAGE, self.prompt_name), prompt)
            plan, self._declined = adjusted(answer, shots, plan, target, edit, closes)
        return [plan]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL when the runtime is off the target by more than ``[edit]
        runtime_tolerance_pct``; when a trim cuts into a dialogue line, a J/L overlap does
        not fit its neighbour or two lines are heard at once; when a shot is trimmed below
        ``[edit] min_shot_s``; on a jump cut (two consecutive shots of a scene showing the
        same characters with the same camera type and no change of angle); when a shot the
        shot list says keeps screen direction does not move the way the shot before it does;
        and when the rows do not cover every shot once, on its accepted take, with handles and
        a timeline that add up. And FAIL, routed back to shot-planner on the shot's scene,
        when a shot's measured dialogue (its AUDIO's cues) runs past its take further than
        an L cut can carry it: the shot list re-sizes the shot from the cues, rather than
        the cut ending the line early. A PASS notes a model's plan code did not take."""
        plan: EditPlan = outputs[0]
        shots, edit = planned_shots(ctx), ctx.config.edit
        failures = plan_failures(plan, shots, target_runtime(ctx), edit, closes_film(ctx))
        overruns = overrun_failures(plan, shots)
        if overruns:
            scene = scene_of(overruns[0].split(":", 1)[0])
            mine = [o for o in overruns if scene_of(o.split(":", 1)[0]) == scene]
            return Gate.routed(failures + overruns, mine, "shot-planner", scene)
        if failures:
            return Gate.from_failures(failures)
        declined = tuple(getattr(self, "_declined", ()))  # a model's plan code did not take
        return Gate("PASS", declined)


def planned_shots(ctx: Context) -> list[PlannedShot]:
    """Each shot of the target in shot-list order, with its accepted take and timed lines."""
    rows = _rows(ctx)
    dialogue: dict[str, DialogueShots] = ctx.inputs.all("DIALOGUE")
    audio: dict[str, bytes] = ctx.inputs.all("AUDIO")
    out = []
    for take in accepted_takes(ctx):
        row = rows[take.shot_id]
        info = probe(take.data)
        lines = _lines(dialogue.get(row.scene_id), audio.get(take.shot_id), take.shot_id)
        out.append(PlannedShot(row, take_name(ctx, take), info.duration_s, info.fps, lines))
    return out


def _rows(ctx: Context) -> dict[str, ShotRow]:
    shotlists: dict[str, ShotList] = ctx.inputs.all("SHOTLIST")
    return {row.shot_id: row for shots in shotlists.values() for row in shots.rows}


def _lines(
    dialogue: DialogueShots | None, audio: bytes | None, shot_id: str
) -> tuple[LineTiming, ...]:
    """The shot's lines, timed by its audio's cues where it has them."""
    if dialogue is None:
        return ()
    cues = {cue.line: cue for cue in wav_cues(audio)} if audio else {}
    out = []
    for row in dialogue.lines_of(shot_id):
        cue = cues.get(row.line_order)
        timing = (cue.start_s, cue.end_s) if cue else (None, None)
        out.append(LineTiming(row.line_order, row.character, *timing))
    return tuple(out)


def target_runtime(ctx: Context) -> float:
    """The film's ``[edit] target_runtime_s`` (else its planned sum); a scene's planned sum."""
    configured = ctx.config.edit.target_runtime_s
    if ctx.target == "PROJECT" and configured is not None:
        return configured
    shotlists: dict[str, ShotList] = ctx.inputs.all("SHOTLIST")
    scenes = [shotlists[s] for s in scenes_in_order(ctx) if s in shotlists]
    return sum(row.duration_s for shots in scenes for row in shots.rows)


def closes_film(ctx: Context) -> bool:
    """True when nothing plays after the target (the film, or its last scene), so no line
    may run on past its last shot."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    order = [row.scene_id for row in scenes.rows]
    return ctx.target == "PROJECT" or scenes_in_order(ctx)[-1:] == order[-1:]


REGISTRY.register(EditPlanner)
