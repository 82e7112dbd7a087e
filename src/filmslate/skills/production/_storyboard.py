"""storyboard-generator (SPEC §5, Vision tier, proxy resolution): a shot's proxy frame.

When ``[images]`` routes the use "storyboard" to an image model, the frame comes from it
(``ctx.params["images"]``), prompted from the shot row and its locks and given the shot's
character and set reference sheets as references; otherwise it is drawn offline
(``rules._storyboard``). Either way the report is computed in code from the frame plan, and
the recommendation and the gate stay in code. The sheets are inputs: a new sheet (a revised
lock's) makes the storyboard stale.

With a vision model on the vision tier the gate also looks (``_storyboard_vision``): the frame
and the sheets go to the model, which answers item by item (composition, characters present,
anchors visible); the verdict is computed in code and a FAIL redraws.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from ...core._errors import ProviderError
from ...core._gate import Gate
from ...engine._images import ImageJob, ImageMaker
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...rules._compose import compose_frame
from ...rules._sheets import marked_png
from ...rules._storyboard import Figure, Frame, FramePlan, draw_storyboard, hex_of
from ...schemas import Artifact, ShotRow, StoryboardReport
from ...schemas._types import Level
from ._production import shot_cast, shot_row
from ._shared import CROWD
from ._sheets import SHEET_NEEDS, image_seed, images_for, shot_references
from ._storyboard_vision import (
    CHECK_PARAM,
    answer_lines,
    frame_failures,
    frame_items,
    look,
    redraw_prompt,
    sees,
)

LEVEL_RANK = {"low": 0, "medium": 1, "high": 2}
SIMPLIFICATION = "Simplification:"


class StoryboardGenerator(Skill):
    """Makes a shot's proxy frame (an image model's, else a schematic drawing) and reports on
    it from the frame plan, deterministically; a vision model on the vision tier, when one is
    configured, looks at the frame beside the sheets and its answers join the gate."""

    name: ClassVar[str] = "storyboard-generator"
    prompt_name: ClassVar[str] = "storyboard-generator"  # the vision tier's look at the frame
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "vision"
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SHOTLIST", "scene"),
        Need("CHAR_LOCK", "cast"),
        Need("SET_LOCK", "scene_set"),
        Need("CONTINUITY_REPORT", "scene", lineage=False),
        *SHEET_NEEDS,
    )
    produces: ClassVar[tuple[str, ...]] = ("STORYBOARD", "STORYBOARD_REPORT")
    uses_images: ClassVar[bool] = True  # gets the runner's image service
    target_scope: ClassVar[Any] = "shot"
    summary: ClassVar[str] = (
        "before costly generation: a proxy frame (framing, placement, "
        "anchors, light) and its report; a vision model, when one is configured, "
        "checks the frame against the sheets and the set lock"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The PNG frame and the report computed from what it shows."""
        row = shot_row(ctx)
        plan = FramePlan(
            row=row,
            set_lock=ctx.inputs.all("SET_LOCK").get(row.set_id),
            characters=tuple(shot_cast(ctx, row)),
            version=_shotlist_version(ctx),
        )
        png, frame = draw_storyboard(plan)
        report = storyboard_report(plan, frame)
        images = images_for(ctx, "storyboard")
        if images is not None:
            png, made = _model_frame(ctx, images, plan, self.name)
            report = report.model_copy(update={"composition": f"{report.composition}\n{made}"})
        if sees(ctx):  # the vision tier looks at the frame; the verdict stays in the gate
            items, answer = look(ctx, row, png, plan.set_lock, list(plan.characters))
            seen = f"{report.composition}\n{answer_lines(items, answer)}"
            report = report.model_copy(update={"composition": seen})
        return [Media("STORYBOARD", row.shot_id, png), report]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on missing locks, or a Simplify recommendation that names no simplification;
        with a vision model on the vision tier, also on what its look at the frame found
        missing: the planned composition, a character (not required in an insert), the set
        lock's anchors (all in a wide, establishing or tracking frame, at least one in a mid
        framing, none in a close-up or insert). The model answers item by item; this code
        decides, and a FAIL redraws the frame with the reasons."""
        report = next(o for o in outputs if isinstance(o, StoryboardReport))
        row = shot_row(ctx)
        failures = []
        if row.set_id not in ctx.inputs.all("SET_LOCK"):
            failures.append(f"{row.shot_id}: set {row.set_id} has no SET lock")
        failures += [
            f"{row.shot_id}: character {cid} has no CHAR lock"
            for cid, lock in shot_cast(ctx, row)
            if lock is None
        ]
        if report.recommendation == "Simplify" and SIMPLIFICATION not in report.composition:
            failures.append(
                f"{row.shot_id}: Simplify is recommended but no simplification is named"
            )
        if CHECK_PARAM in ctx.params:
            items, answer = ctx.params[CHECK_PARAM]
            failures += frame_failures(row.shot_id, row.camera_type, items, answer)
        return Gate.from_failures(failures)


def _model_frame(
    ctx: Context, images: ImageMaker, plan: FramePlan, skill: str
) -> tuple[bytes, str]:
    """The frame from the image model, and the report line saying what it was given."""
    row = plan.row
    composed = compose_frame(row, plan.set_lock, [lock for _, lock in plan.characters])
    references = shot_references(ctx, row)
    proxy = ctx.config.resolution.proxy
    # a redraw after a FAIL asks for what the look found missing, with a new seed (the same
    # job would be found recorded and give the same frame again)
    prompt = composed.prompt + redraw_prompt(frame_items(row, plan.set_lock), ctx.feedback)
    seed_key = f"{row.shot_id} redraw {ctx.attempt}" if ctx.feedback else row.shot_id
    job = ImageJob(
        key=row.shot_id,
        prompt=prompt,
        width=proxy.width,
        height=proxy.height,
        use="storyboard",
        negative_prompt=composed.negative_prompt,
        references=references,
        seed=image_seed(seed_key),
    )
    try:
        png = marked_png(images.image(job, skill), "image storyboard", (job.width, job.height))
    except ValueError as exc:
        raise ProviderError(
            f"{row.shot_id}: the image model's frame is {exc}; nothing was stored",
            failure="other",
        ) from None
    given = ", ".join(r.label for r in references) or "no reference sheets yet"
    return png, f"frame: from the image model, given {given}"


def _shotlist_version(ctx: Context) -> str:
    name = next((n for n in ctx.inputs.names if n.startswith("SHOTLIST_")), "")
    found = re.search(r"_(v\d{3})\.", name)
    return f"shotlist {found.group(1)}" if found else ""


Recommendation = Literal["Proceed", "Adjust", "Simplify"]


def drift_risk(row: ShotRow) -> Level:
    """The higher of the shot's complexity and its regen risk."""
    return max(row.complexity_level, row.regen_risk_estimate, key=LEVEL_RANK.__getitem__)


def recommend(row: ShotRow) -> Recommendation:
    """Simplify crowded complex shots, Adjust risky ones, else Proceed."""
    if len(row.char_ids) >= CROWD and row.complexity_level == "high":
        return "Simplify"
    return "Adjust" if LEVEL_RANK[drift_risk(row)] >= 1 else "Proceed"


def _placement(index: int, figure: Figure) -> str:
    where = " (foreground, back to camera)" if figure.foreground else ""
    look = f"palette {', '.join(figure.colours)}" if figure.locked else "NO CHAR lock, grey"
    return f"{index}. {figure.name} at x={figure.x}{where}: {look}"


def storyboard_report(plan: FramePlan, frame: Frame) -> StoryboardReport:
    """The report, computed from the drawn frame (placements, anchors, light)."""
    row = plan.row
    recommendation = recommend(row)
    composition = [
        f"{frame.framing}; {row.camera_type}, {row.duration_s:g}s, hero "
        f"{row.hero_tier}, complexity {row.complexity_level}; "
        f"{len(frame.figures)} character(s) drawn; slate: {frame.slate}"
    ]
    if frame.prop:
        composition.append(f"insert subject: {frame.prop}")
    if recommendation == "Simplify":
        composition.append(
            f"{SIMPLIFICATION} split into shots of at most {CROWD - 1} "
            "characters each, or lower the blocking complexity to medium"
        )
    placement = [_placement(i, f) for i, f in enumerate(frame.figures, 1)] or [
        "no characters in frame"
    ]
    set_lock = plan.set_lock
    if set_lock is None:
        anchors = f"NO SET lock for {row.set_id}: no anchors drawn"
    else:
        anchors = (
            f"{len(frame.anchors)} of {len(set_lock.visual_anchors)} visual anchors of "
            f"{set_lock.name} drawn along the top edge: {'; '.join(frame.anchors)}"
            if set_lock.visual_anchors
            else f"{set_lock.name} lists no visual anchors"
        )
    if set_lock is None:
        lighting = "no SET lock: no lighting rules to follow"
    else:
        lighting = (
            f"key light from {frame.light_from} (lock primary source: "
            f"{set_lock.lighting.primary_source}); {frame.kelvin}K drawn as tint "
            f"{hex_of(frame.tint)}, matching the lock's temperature"
        )
    return StoryboardReport(
        shot_id=row.shot_id,
        composition="\n".join(composition),
        character_placement="left to right:\n" + "\n".join(placement),
        set_anchor_presence=anchors,
        lighting_compliance=lighting,
        drift_risk=drift_risk(row),
        recommendation=recommendation,
    )


REGISTRY.register(StoryboardGenerator)

__all__ = ["Recommendation", "StoryboardGenerator", "drift_risk", "recommend", "storyboard_report"]
