"""Validation layer: TRUTH, PLAUS, CULTURE, REDTEAM, AUDIENCE (SPEC §4)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, model_validator

from ._document import DocumentArtifact
from ._types import Item, Level, Paragraphs, SceneId, Score0to2, Score1to5, SubModel, Target, Text


class Claim(SubModel):
    """One factual claim of a scene and how it was validated."""

    claim: Text
    status: Literal["Verified", "Disputed", "Creative License"]
    citation: Text = ""
    creative_license_note: Text = ""


class Truth(DocumentArtifact):
    """research-agent's truth packet for one scene."""

    KIND: ClassVar[str] = "TRUTH"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"

    scene_id: SceneId
    claims: list[Claim]
    terminology_corrections: list[Item] = Field(default_factory=list)
    realism_risk: Level
    creative_allowances: list[Item] = Field(default_factory=list)
    # Not in SPEC §4's list, but SPEC §5 runs cultural-check "only where a real culture,
    # period or community is central": the research agent records that judgment here.
    cultural_context: Text | None = Field(
        None,
        description="the real culture, period or community the scene involves; "
        "None when it involves none (cultural-check does not apply)",
    )


class Plausibility(DocumentArtifact):
    """plausibility-auditor's scores for one scene (0-2 each, total 0-10)."""

    KIND: ClassVar[str] = "PLAUS"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"

    scene_id: SceneId
    procedural: Score0to2
    physical: Score0to2
    emotional: Score0to2
    logistical: Score0to2
    internal_consistency: Score0to2
    total: Annotated[int, Field(ge=0, le=10)]
    weak_points: list[Item] = Field(default_factory=list)
    adjustments: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _total_is_the_sum(self) -> Self:
        expected = (
            self.procedural
            + self.physical
            + self.emotional
            + self.logistical
            + self.internal_consistency
        )
        if self.total != expected:
            raise ValueError(
                f"total must be the sum of the five scores ({expected}), got {self.total}"
            )
        return self


class Culture(DocumentArtifact):
    """cultural-check's report on one scene (authenticity 0-5)."""

    KIND: ClassVar[str] = "CULTURE"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"

    scene_id: SceneId
    cultural_accuracy: Paragraphs
    dialect_language: Paragraphs = Field(title="dialect / language")
    historical_alignment: Paragraphs
    social_norms: Paragraphs
    stereotype_risk: Paragraphs
    authenticity_score: Annotated[int, Field(ge=0, le=5)]
    adjustments: list[Item] = Field(default_factory=list)


class RedTeam(DocumentArtifact):
    """narrative-red-team's attack on a target, with two fix options."""

    KIND: ClassVar[str] = "REDTEAM"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "target"

    target: Target
    critical_failures: list[Item] = Field(default_factory=list)
    hidden_weaknesses: list[Item] = Field(default_factory=list)
    coincidence_scan: list[Item] = Field(default_factory=list)
    stakes_audit: Paragraphs
    tension_audit: Paragraphs
    thematic_consistency: Paragraphs
    fix_conservative: Paragraphs = Field(title="fix option: conservative")
    fix_structural: Paragraphs = Field(title="fix option: structural")


class PersonaReactions(SubModel):
    """How each of the three personas reacts."""

    mainstream_viewer: Text
    genre_fan: Text
    critical_viewer: Text


class Audience(DocumentArtifact):
    """audience-simulator's three-persona report on a target (scores 1-5)."""

    KIND: ClassVar[str] = "AUDIENCE"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "target"

    target: Target
    reactions: PersonaReactions
    confusion_points: list[Item] = Field(default_factory=list)
    engagement_dips: list[Item] = Field(default_factory=list)
    emotional_peaks: list[Item] = Field(default_factory=list)
    predictability: Score1to5
    clarity: Score1to5
    engagement: Score1to5
    adjustments: list[Item] = Field(default_factory=list)


def culture_applies(truth: Truth | None) -> bool:
    """True when a truth packet records a real culture, period or community in its scene."""
    return truth is not None and bool(truth.cultural_context)
