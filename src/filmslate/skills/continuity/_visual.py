"""visual-continuity (issue 13 §4): continuity-supervisor's visual pass over a scene's takes.

Target: a scene whose shots have all passed QC on their proxies. For each shot, in shot-list
order, the vision tier is shown sampled frames of its take (qc-grader's sampling:
``_qc_vision.take_frames``) and the shot's character and set sheets (``shot_references``) and
answers with what it sees (:class:`ShotAnswer`: who is visible, what they wear, visible injuries
and marks, props in whose hands, what the framing hides, the light). It is not told which
injuries the world state records, so it cannot confirm them by suggestion. A take already
looked at (the same file in the scene's last report) is not asked about again: after one shot
is regenerated, the pass asks about its new take only, and code judges the whole scene again.

The verdict is code's (``rules._continuity_visual``): the sightings are checked against the
world state before the scene, the scene's diff, the character and set locks, and the shot
before; the gate FAILs on any High finding and routes the first failing shot to regen-analyzer
with its findings as the rules (the orchestrator sends every failing shot; see
``workflow._visual_continuity``). Proxies, not finals: a regen then costs a proxy, and no final
is rendered from a take that breaks continuity.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from ...core._errors import UserError
from ...core._gate import Gate
from ...engine._attachments import Attachment
from ...engine._regen import ANALYZER
from ...engine._skill import REGISTRY, Context, Layer, Need, Skill, Tier
from ...rules._continuity import Locks, Policy, SceneFacts, name_artifacts, scene_facts
from ...rules._continuity_visual import gate_reasons, high_by_shot, visual_findings
from ...schemas import QcBatch, SetLock, ShotList, ShotRow, WorldState
from ...schemas._continuity import CharacterSeen, ShotSeen, VisualContinuity
from .._prompts import system_prompt
from ..production._qc_vision import attached_list, sheet_attachments, take_frames
from ..production._shared import history
from ..production._sheets import SHEET_NEEDS
from ._supervisor import PACKAGE

__all__ = ["ShotAnswer", "VisualContinuityCheck"]


class ShotAnswer(BaseModel):
    """What the vision tier sees in one take (code judges it)."""

    characters: list[CharacterSeen] = Field(
        default_factory=list, description="every person visible in the frames"
    )
    light: str = Field("", description="the light: source, colour, time of day")
    kelvin: int | None = Field(None, ge=1000, le=20000, description="only when estimable")
    anchors: list[str] = Field(
        default_factory=list, description="the listed set anchors the frames show, as listed"
    )


class VisualContinuityCheck(Skill):
    """Looks at a scene's accepted takes; code checks the sightings; FAIL on any High."""

    name: ClassVar[str] = "visual-continuity"
    prompt_name: ClassVar[str] = "visual-continuity"
    layer: ClassVar[Layer] = "continuity"
    tier: ClassVar[Tier] = "vision"
    loop: ClassVar[str] = "production"
    revise_on_fail: ClassVar[bool] = False  # looking again at the same takes fixes nothing
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SHOTLIST", "scene"),
        Need("PROXY", "within"),  # the take of every shot of the scene
        Need("SCENES"),
        Need("BREAKDOWN"),
        Need("STATE_DIFF", "scene"),
        Need("WORLD_STATE", "before_scene", optional=True),
        Need("CHAR_LOCK", "cast", optional=True),
        Need("SET_LOCK", "scene_set", optional=True),
        *SHEET_NEEDS,
        history("QC_BATCH", "scene"),  # read to refuse a take QC has not accepted
        # its own last report: a take already looked at is not asked about again
        Need("VISUAL_CONTINUITY", "scene", optional=True, lineage=False, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("VISUAL_CONTINUITY",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = (
        "after a scene's proxies pass QC (with [qc] visual_continuity): the vision tier "
        "reports what each take shows; code checks it against the world state, the locks and "
        "the shot before; FAIL on any High (that shot goes to regen)"
    )

    def produce(self, ctx: Context) -> list[Any]:
        """The scene's takes as seen, and the findings code makes from them."""
        rows = _rows(ctx)
        facts = _facts(ctx)
        system = system_prompt(PACKAGE, self.prompt_name)
        previous: VisualContinuity | None = ctx.inputs.get("VISUAL_CONTINUITY")
        looked = {s.take: s for s in previous.shots} if previous else {}
        sets = ctx.inputs.all("SET_LOCK")
        seen = [
            looked.get(_take_name(ctx, row.shot_id))
            or _look(ctx, row, facts, system, sets.get(row.set_id))
            for row in rows
        ]
        locks = Locks(characters=ctx.inputs.all("CHAR_LOCK"), sets=ctx.inputs.all("SET_LOCK"))
        planned = {row.shot_id: row for row in rows}
        found = visual_findings(facts, seen, planned, locks, Policy.from_config(ctx.config))
        named = name_artifacts(found, ctx.inputs.names)
        return [VisualContinuity(scene_id=ctx.target, shots=seen, findings=named)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on any High finding; the first failing shot's findings go to regen-analyzer."""
        report = outputs[0]
        assert isinstance(report, VisualContinuity)
        by_shot = high_by_shot(report.findings)
        if not by_shot:
            return Gate("PASS")
        shot, reasons = next(iter(by_shot.items()))
        return Gate.routed(gate_reasons(report.findings), reasons, ANALYZER, shot)


def _rows(ctx: Context) -> list[ShotRow]:
    """The scene's shots, each with an accepted take (the latest QC row of the shot PASSed)."""
    shots: ShotList = ctx.inputs.get("SHOTLIST")
    batch: QcBatch | None = ctx.inputs.get("QC_BATCH")
    takes = ctx.inputs.all("PROXY")
    verdicts = {row.shot_id: row.verdict for row in (batch.rows if batch else [])}
    rows = [row for row in shots.rows if row.scene_id == ctx.target]
    for row in rows:
        if row.shot_id not in takes:
            raise UserError(
                f"{row.shot_id} has no take yet: run render-proxy and qc-grader on it first",
                target=row.shot_id,
            )
        if batch is not None and verdicts.get(row.shot_id) != "PASS":
            raise UserError(
                f"{row.shot_id}'s latest take has not passed QC (last verdict "
                f"{verdicts.get(row.shot_id, 'none')}): the visual pass looks at accepted takes "
                f"only; run qc-grader --shot {row.shot_id}",
                target=row.shot_id,
            )
    return rows


def _facts(ctx: Context) -> SceneFacts:
    """The scene against the world as it stood before it, with its own diff."""
    diff = ctx.inputs.get("STATE_DIFF")
    world = ctx.inputs.get("WORLD_STATE") or WorldState()
    scenes, breakdown = ctx.inputs.get("SCENES"), ctx.inputs.get("BREAKDOWN")
    diffs = {ctx.target: diff} if diff else {}
    facts, _ = scene_facts(scenes, breakdown, diffs, world, [ctx.target])
    if not facts:
        raise UserError(f"{ctx.target} is not in SCENES: add it there first", target=ctx.target)
    return facts[0]


def _look(
    ctx: Context, row: ShotRow, facts: SceneFacts, system: str, set_lock: SetLock | None
) -> ShotSeen:
    """One question to the vision tier: the take's frames and the shot's sheets."""
    take = _take_name(ctx, row.shot_id)
    frames = take_frames(ctx.inputs.all("PROXY")[row.shot_id], ctx.config.qc.sample_frames)
    if not frames:
        raise UserError(
            f"{take}: no frame of the take could be decoded, so there is nothing to look at "
            f"(QC fails such a take): run qc-grader --shot {row.shot_id}",
            target=row.shot_id,
        )
    images = (*frames, *sheet_attachments(ctx, row))
    prompt = _prompt(row, take, facts, set_lock) + _asked(images)
    answer = ctx.ask(ShotAnswer, system, prompt, images=images)
    return ShotSeen(shot_id=row.shot_id, take=take, **answer.model_dump())


def _take_name(ctx: Context, shot: str) -> str:
    prefix = f"PROXY_{shot}_v"
    return next((n for n in ctx.inputs.names if n.startswith(prefix)), f"PROXY_{shot}")


def _prompt(row: ShotRow, take: str, facts: SceneFacts, set_lock: SetLock | None) -> str:
    """The shot, its cast, the prop ids to name held props by and the set's anchors to look
    for (bounded: one shot)."""
    props = sorted({*facts.before.props, *facts.props_used, *facts.new_props})
    anchors = "; ".join(set_lock.visual_anchors) if set_lock else ""
    return (
        f"Shot {row.shot_id} of scene {row.scene_id}, take {take}: {row.camera_type}, "
        f"{row.duration_s:g}s, set {row.set_id}.\n"
        f"Characters of the shot: {', '.join(row.char_ids) or 'none'}.\n"
        f"Blocking: {row.blocking_summary}\n"
        f"Prop ids: {', '.join(props) or 'none'}.\n"
        f"Set anchors: {anchors or 'none'}.\n\n"
    )


def _asked(images: tuple[Attachment, ...]) -> str:
    return attached_list(images) + (
        "Report who is visible, what they wear, their injuries and marks, the props in "
        "their hands, what the framing hides, the light, and which set anchors you see."
    )


REGISTRY.register(VisualContinuityCheck)
