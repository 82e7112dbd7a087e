"""qc-grader (SPEC §5, §6, §8; Vision tier): grades one shot's latest proxy render.

Technical checks run in code on the decoded clip (``rules._media.technical_checks``); the seven
rubric scores come from those checks alone (offline default) or, with ``rubric_source =
"model"``, from the vision-tier model (system prompt ``prompts/qc-grader.md``), capped by the
technical findings (a model never raises a category a check failed). The verdict is always
computed here. The attempt is appended as a new row of the scene's QC_BATCH; the row's notes
record which GenPack was graded, so regen-analyzer can tell whether attempts reused the same
one, and end in the scene's consistency figures (``with_summary``): per character and per set,
how many accepted takes are compliant on face and wardrobe (set and lighting), and which not.

The scene's QC_BATCH is read as a *history*: the latest version is wanted even when its gate
failed (it records a failed attempt) and whatever else was graded after it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from ...core._errors import UserError
from ...core._gate import Gate
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...rules._consistency import NOTE_SEPARATOR, consistency
from ...rules._media import (
    QC_CATEGORIES,
    ClipSpec,
    TechFinding,
    rubric_from_technical,
    technical_checks,
)
from ...schemas import Artifact, GenPack, QcBatch, QcRow, SetLock, ShotList, ShotRow
from ...schemas._types import Score0to2
from .._prompts import system_prompt
from ._first_frame import storyboard_frame
from ._production import shot_row
from ._qc_vision import Contradiction, attached_text, contradiction_notes, qc_attachments
from ._shared import PACKAGE, history, pack_digest
from ._sheets import SHEET_NEEDS

Verdict = Literal["PASS", "FIX", "FAIL"]
RUBRIC_PARAM = "rubric_source"  # "technical" (default, offline) or "model" (vision tier)
FIX_MARGIN = 2  # a total at most this far below the threshold, with no 0, is salvageable


class RubricAnswer(BaseModel):
    """The vision model's seven category scores (0 severe, 1 minor, 2 compliant)."""

    face_consistency: Score0to2
    wardrobe_consistency: Score0to2
    set_continuity: Score0to2
    prop_accuracy: Score0to2
    lighting_consistency: Score0to2
    motion_integrity: Score0to2
    audio_consistency: Score0to2 | None = None
    notes: str = Field("", description="one line: what drifted, where")
    contradictions: list[Contradiction] = Field(
        default_factory=list,
        description="for every category below 2: the frame and the lock item it contradicts",
    )


def qc_verdict(scores: dict[str, int | None], threshold: int) -> tuple[Verdict, list[str]]:
    """PASS at or above the threshold with no 0; FIX when a little short; else FAIL."""
    total = sum(score or 0 for score in scores.values())
    zeros = [name for name, score in scores.items() if score == 0]
    if zeros:
        return "FAIL", [f"severe (0) in {', '.join(zeros)}; total {total}/{threshold}"]
    if total >= threshold:
        return "PASS", []
    short = threshold - total
    verdict: Verdict = "FIX" if short <= FIX_MARGIN else "FAIL"
    return verdict, [
        f"total {total} is {short} below the threshold {threshold}"
        + (" (minor, salvageable)" if verdict == "FIX" else "")
    ]


def capped(model: dict[str, int | None], technical: dict[str, int]) -> dict[str, int | None]:
    """The model's scores, lowered wherever a technical check scored lower."""
    return {
        name: (
            None if model.get(name) is None else min(int(model[name] or 0), technical.get(name, 2))
        )
        for name in QC_CATEGORIES
    }


class QcGrader(Skill):
    """Grades a shot's latest proxy: technical checks in code, rubric, verdict in code."""

    name: ClassVar[str] = "qc-grader"
    prompt_name: ClassVar[str] = "qc-grader"  # the system prompt: prompts/qc-grader.md
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "vision"
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("PROXY", "shot"),
        Need("SHOTLIST", "scene"),
        Need("SET_LOCK", "scene_set"),
        Need("GENPACK", "shot"),
        history("QC_BATCH", "scene"),
        *SHEET_NEEDS,  # shown to the vision tier with rubric_source "model"
        Need("STORYBOARD", "shot", optional=True),  # the frame the take starts from
    )
    produces: ClassVar[tuple[str, ...]] = ("QC_BATCH",)
    target_scope: ClassVar[Any] = "shot"
    revise_on_fail: ClassVar[bool] = False  # grading again cannot fix a clip
    grades: ClassVar[str] = "PROXY"
    summary: ClassVar[str] = (
        "after every generation attempt: technical checks and the "
        "7-category rubric; PASS/FIX/FAIL by hero-tier threshold"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The scene's QC batch with this attempt's row appended."""
        row = shot_row(ctx)
        findings = technical_checks(ctx.inputs.get("PROXY"), clip_spec(ctx, row))
        technical = rubric_from_technical(findings)
        source = str(ctx.params.get(RUBRIC_PARAM, ctx.config.qc.rubric_source))
        if source == "model":  # the vision tier sees the take's frames and the sheets
            images = qc_attachments(ctx, row)
            answer = ctx.ask(
                RubricAnswer,
                system_prompt(PACKAGE, self.prompt_name),
                qc_prompt(ctx, row, findings) + attached_text(images),
                images=images,
            )
            seen = answer.model_dump(exclude={"notes", "contradictions"})
            scores = capped(seen, technical)
            said = contradiction_notes(answer.contradictions, seen)
            opinion = " | ".join(p for p in (answer.notes, *said) if p)
        elif source == "technical":
            scores, opinion = dict(technical), ""
        else:
            raise UserError(f"{RUBRIC_PARAM} must be technical or model, not {source!r}")
        previous: QcBatch | None = ctx.inputs.get("QC_BATCH")
        rows = list(previous.rows) if previous else []
        attempt = sum(1 for r in rows if r.shot_id == row.shot_id) + 1
        verdict, _ = qc_verdict(scores, ctx.config.qc.threshold(row.hero_tier))
        notes = _notes(ctx, source, findings, opinion)
        rows.append(
            QcRow(
                shot_id=row.shot_id,
                attempt_number=attempt,
                total_score=sum(s or 0 for s in scores.values()),
                verdict=verdict,
                notes=notes,
                **scores,
            )
        )
        return [QcBatch(rows=with_summary(ctx, rows))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """The verdict of this shot's new row, recomputed from its scores."""
        batch = outputs[0]
        assert isinstance(batch, QcBatch)
        row = shot_row(ctx)
        mine = [r for r in batch.rows if r.shot_id == row.shot_id][-1]
        verdict, reasons = qc_verdict(mine.scores, ctx.config.qc.threshold(row.hero_tier))
        reasons = [
            f"{row.shot_id} attempt {mine.attempt_number} (hero {row.hero_tier}): {r}"
            for r in reasons
        ]
        if verdict == "FIX":
            return Gate("FIX", tuple(reasons))
        return Gate.from_failures(reasons)


def clip_spec(ctx: Context, row: ShotRow) -> ClipSpec:
    """What the proxy should be: the shot's duration, proxy resolution, the set's palette."""
    proxy = ctx.config.resolution.proxy
    set_lock: SetLock | None = ctx.inputs.all("SET_LOCK").get(row.set_id)
    return ClipSpec(
        row.duration_s,
        proxy.width,
        proxy.height,
        proxy.fps,
        palette=list(set_lock.palette) if set_lock else [],
        allow_static=row.camera_type == "insert",
        characters=len(row.char_ids),
        camera_type=row.camera_type,
        temperature_k=set_lock.lighting.temperature_k if set_lock else None,
        first_frame=storyboard_frame(ctx),
    )


def qc_prompt(ctx: Context, row: ShotRow, findings: list[TechFinding]) -> str:
    """The shot row, its GenPack and the technical findings (bounded: one shot)."""
    pack: GenPack = ctx.inputs.get("GENPACK")
    found = "\n".join(f"- {f.check} ({f.severity}): {f.detail}" for f in findings) or "- none"
    return (
        f"Shot {row.shot_id}: {row.camera_type}, {row.duration_s:g}s, hero {row.hero_tier}, "
        f"characters {', '.join(row.char_ids) or 'none'}, set {row.set_id}.\n"
        f"Blocking: {row.blocking_summary}\n\nGenPack:\n{pack.render().decode('utf-8')}\n"
        f"Technical findings:\n{found}\n\n"
    )


def with_summary(ctx: Context, rows: list[QcRow]) -> list[QcRow]:
    """The rows, the newest one's notes ending in the scene's consistency figures (issue 13
    §6: per character and set, compliant accepted takes and the takes that are not), so the
    sheet's last row always holds the scene's figures as they stand."""
    shotlist: ShotList = ctx.inputs.get("SHOTLIST")
    figures = consistency(rows, {shot.shot_id: shot for shot in shotlist.rows})
    last = rows[-1]
    notes = NOTE_SEPARATOR.join(part for part in (last.notes, figures.summary()) if part)
    return [*rows[:-1], last.model_copy(update={"notes": notes})]


def _notes(ctx: Context, source: str, findings: list[TechFinding], opinion: str) -> str:
    pack: GenPack = ctx.inputs.get("GENPACK")
    name = next((n for n in ctx.inputs.names if n.startswith("GENPACK_")), "?")
    parts = [f"genpack {name} sha256:{pack_digest(pack)}", f"rubric {source}"]
    parts += [f"{f.check} {f.severity}: {f.detail}" for f in findings]
    if opinion:
        parts.append(f"reviewer: {opinion}")
    return NOTE_SEPARATOR.join(" ".join(p.split()) for p in parts)


REGISTRY.register(QcGrader)

__all__ = [
    "FIX_MARGIN",
    "RUBRIC_PARAM",
    "QcGrader",
    "RubricAnswer",
    "Verdict",
    "capped",
    "clip_spec",
    "qc_prompt",
    "qc_verdict",
    "with_summary",
]
