"""cultural-check (SPEC §5): a scene's treatment of the real culture its truth packet names."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from ...core._errors import NotApplicable
from ...core._names import lock_subject
from ...engine._skill import Context, Need
from ...schemas import Culture, Truth, culture_applies
from ...schemas._types import Item, Paragraphs
from ._common import (
    SCRIPT,
    Answer,
    AnsweringSkill,
    render_char_locks,
    render_scene,
    render_script,
    render_truth,
    render_voice_locks,
    scene_row,
)

__all__ = ["CulturalCheck", "CultureAnswer", "truth_contradictions"]


class CultureAnswer(Answer):
    """cultural-check's answer: the five assessments, a score and the failures found."""

    cultural_accuracy: Paragraphs
    dialect_language: Paragraphs
    historical_alignment: Paragraphs
    social_norms: Paragraphs
    stereotype_risk: Paragraphs
    authenticity_score: Annotated[int, Field(ge=0, le=5)]
    adjustments: list[Item] = Field(default_factory=list)
    harmful_misrepresentations: list[Item] = Field(default_factory=list)
    major_historical_inaccuracies: list[Item] = Field(default_factory=list)
    wrong_dialect: list[Item] = Field(
        default_factory=list, description="dialect or language that is clearly wrong"
    )
    claims_presented_as_fact: list[int] = Field(
        default_factory=list,
        description="numbers of the truth-packet claims the scene presents as true",
    )

    def to_artifact(self, subject: str) -> Culture:
        """The CULTURE report; failures are kept as labelled adjustments."""
        flagged = (
            [f"harmful misrepresentation: {x}" for x in self.harmful_misrepresentations]
            + [f"historical inaccuracy: {x}" for x in self.major_historical_inaccuracies]
            + [f"wrong dialect: {x}" for x in self.wrong_dialect]
        )
        return Culture(
            scene_id=subject,
            cultural_accuracy=self.cultural_accuracy,
            dialect_language=self.dialect_language,
            historical_alignment=self.historical_alignment,
            social_norms=self.social_norms,
            stereotype_risk=self.stereotype_risk,
            authenticity_score=self.authenticity_score,
            adjustments=[*flagged, *self.adjustments],
        )


class CulturalCheck(AnsweringSkill):
    """Checks a scene's treatment of a real culture, period or community (when it has one)."""

    name: ClassVar[str] = "cultural-check"
    prompt_name: ClassVar[str] = "cultural-check"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "validation"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        SCRIPT,
        Need("TRUTH", "scene"),
        Need("CHAR_LOCK", "cast", optional=True),
        Need("VOICE_LOCK", "all", optional=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("CULTURE",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "authenticity 0-5 for scenes whose TRUTH names a real culture"
    answer_type: ClassVar[type[Answer]] = CultureAnswer

    def produce(self, ctx: Context) -> list[Any]:
        """Refuse before asking anything when the truth packet records no cultural context."""
        if not culture_applies(ctx.inputs.get("TRUTH")):
            raise NotApplicable(
                f"cultural-check does not apply to {ctx.scene_id}: its truth packet records no "
                "real culture, period or community. Nothing was asked or written; if the "
                "scene does involve one, revise the truth packet (run research-agent again "
                "or add a TRUTH version by hand).",
                scene=ctx.scene_id,
                skill=self.name,
            )
        return super().produce(ctx)

    def prompt(self, ctx: Context) -> str:
        """Scene, truth packet and the cast's voice and character locks."""
        row = scene_row(ctx)
        cast = [lock_subject(c) for c in row.characters_present]
        return (
            f"SCENE\n{render_scene(row)}\n\nTRUTH PACKET\n"
            f"{render_truth(ctx.inputs.get('TRUTH'))}\n\nVOICES\n"
            f"{render_voice_locks(ctx, cast)}\n\nCHARACTERS\n{render_char_locks(ctx, cast)}"
            f"{render_script(ctx)}"
        )

    def failures(self, artifact: Culture, answer: CultureAnswer, ctx: Context) -> list[str]:
        """Score under the threshold, flagged harms, and disputed claims shown as fact."""
        out = [
            f"section {label} is empty"
            for label, text in (
                ("cultural accuracy", artifact.cultural_accuracy),
                ("dialect / language", artifact.dialect_language),
                ("historical alignment", artifact.historical_alignment),
                ("social norms", artifact.social_norms),
                ("stereotype risk", artifact.stereotype_risk),
            )
            if not text
        ]
        return out

    def findings(self, artifact: Culture, answer: CultureAnswer, ctx: Context) -> list[str]:
        """Score under the threshold, flagged harms, and disputed claims shown as fact."""
        out: list[str] = []
        threshold = ctx.config.thresholds.culture_authenticity
        if artifact.authenticity_score < threshold:
            out.append(
                f"authenticity {artifact.authenticity_score} of 5 is below the "
                f"threshold {threshold}"
            )
        out += [f"harmful misrepresentation: {x}" for x in answer.harmful_misrepresentations]
        out += [f"major historical inaccuracy: {x}" for x in answer.major_historical_inaccuracies]
        out += [f"clearly wrong dialect: {x}" for x in answer.wrong_dialect]
        return out + truth_contradictions(ctx.inputs.get("TRUTH"), answer.claims_presented_as_fact)


def truth_contradictions(truth: Truth, presented: list[int]) -> list[str]:
    """Disputed claims the scene presents as fact, unless the packet licensed them."""
    out = []
    for number in sorted(set(presented)):
        if not 1 <= number <= len(truth.claims):
            out.append(
                f"claim {number} presented as fact does not exist in the truth packet "
                f"(it has {len(truth.claims)} claims)"
            )
            continue
        claim = truth.claims[number - 1]
        if claim.status == "Disputed" and not claim.creative_license_note:
            out.append(
                f"contradicts the truth packet: claim {number} ({claim.claim}) is "
                "Disputed but the scene presents it as fact"
            )
    return out
