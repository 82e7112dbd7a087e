"""plausibility-auditor (SPEC §5): five 0-2 scores per scene, summed and judged in code."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ...core._names import lock_subject
from ...engine._skill import Context, Need
from ...schemas import Plausibility
from ...schemas._types import Item, Score0to2
from ._common import (
    SCRIPT,
    Answer,
    AnsweringSkill,
    render_char_locks,
    render_scene,
    render_script,
    render_truth,
    render_world,
    scene_row,
)

__all__ = ["PlausibilityAnswer", "PlausibilityAuditor"]


class PlausibilityAnswer(Answer):
    """plausibility-auditor's answer: five scores and the conflicts found."""

    procedural: Score0to2
    physical: Score0to2
    emotional: Score0to2
    logistical: Score0to2
    internal_consistency: Score0to2
    total: int | None = Field(None, description="ignored: the total is computed in code")
    weak_points: list[Item] = Field(default_factory=list)
    adjustments: list[Item] = Field(default_factory=list)
    internal_consistency_conflicts: list[Item] = Field(
        default_factory=list,
        description="contradictions with the world state, the locks or the truth packet",
    )
    logistical_impossibilities: list[Item] = Field(
        default_factory=list, description="things that cannot happen as written"
    )

    def scores(self) -> dict[str, int]:
        """The five category scores by name."""
        return {
            "procedural": self.procedural,
            "physical": self.physical,
            "emotional": self.emotional,
            "logistical": self.logistical,
            "internal_consistency": self.internal_consistency,
        }

    def to_artifact(self, subject: str) -> Plausibility:
        """The PLAUS report; the flags are kept as labelled weak points."""
        flagged = [
            f"internal consistency conflict: {c}" for c in self.internal_consistency_conflicts
        ] + [f"logistical impossibility: {c}" for c in self.logistical_impossibilities]
        return Plausibility(
            scene_id=subject,
            **self.scores(),
            total=sum(self.scores().values()),
            weak_points=[*self.weak_points, *flagged],
            adjustments=self.adjustments,
        )


class PlausibilityAuditor(AnsweringSkill):
    """Scores one scene's plausibility in five categories; the total is computed in code."""

    name: ClassVar[str] = "plausibility-auditor"
    prompt_name: ClassVar[str] = "plausibility-auditor"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "validation"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        SCRIPT,
        Need("TRUTH", "scene"),
        Need("CHAR_LOCK", "cast", optional=True),
        Need("WORLD_STATE", "before_scene", optional=True),  # the world before the scene
    )
    produces: ClassVar[tuple[str, ...]] = ("PLAUS",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "five 0-2 plausibility scores; total from code vs threshold"
    answer_type: ClassVar[type[Answer]] = PlausibilityAnswer

    def prompt(self, ctx: Context) -> str:
        """Scene, truth packet, the cast's locks, the world before the scene."""
        row = scene_row(ctx)
        cast = [lock_subject(c) for c in row.characters_present]
        return (
            f"SCENE\n{render_scene(row)}\n\nTRUTH PACKET\n"
            f"{render_truth(ctx.inputs.get('TRUTH'))}\n\nCHARACTER LOCKS\n"
            f"{render_char_locks(ctx, cast)}\n\nWORLD BEFORE THE SCENE\n"
            f"{render_world(ctx, row)}{render_script(ctx)}"
        )

    def failures(
        self, artifact: Plausibility, answer: PlausibilityAnswer, ctx: Context
    ) -> list[str]:
        """An answer of scores has no defects of its own: see findings."""
        return []

    def findings(
        self, artifact: Plausibility, answer: PlausibilityAnswer, ctx: Context
    ) -> list[str]:
        """Any zero, a total under the threshold, conflicts and impossibilities."""
        out = [
            f"{name.replace('_', ' ')} scores 0"
            for name, score in answer.scores().items()
            if score == 0
        ]
        threshold = ctx.config.thresholds.plausibility_total
        if artifact.total < threshold:
            out.append(f"total {artifact.total} of 10 is below the threshold {threshold}")
        out += [
            f"internal consistency conflict: {c}" for c in answer.internal_consistency_conflicts
        ]
        out += [f"logistical impossibility: {c}" for c in answer.logistical_impossibilities]
        return out
