"""Production layer: SHOTLIST, STORYBOARD_REPORT, QC_BATCH, REGEN_RULES (SPEC §4).

GENPACK has its own format and lives in ``_genpack.py``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..core._names import SCENE_RE, SHOT_RE
from ._csv import CsvArtifact, CsvRow, unique
from ._document import DocumentArtifact
from ._types import Item, Level, Name, Paragraphs, SceneId, Score0to2, ShotId, SubModel, Text

HeroTier = Literal["A", "B", "C"]
CameraType = Literal[
    "close_up",
    "medium",
    "wide",
    "over_shoulder",
    "extreme_close_up",
    "two_shot",
    "insert",
    "tracking",
    "pov",
    "establishing",
]


class ShotRow(CsvRow):
    """One planned shot."""

    shot_id: ShotId
    scene_id: SceneId
    duration_s: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    camera_type: CameraType
    blocking_summary: Text
    set_id: Name
    char_ids: list[Name] = Field(default_factory=list)
    hero_tier: HeroTier
    complexity_level: Level
    regen_risk_estimate: Level
    notes: Text = ""

    @model_validator(mode="after")
    def _shot_is_in_its_scene(self) -> Self:
        if not self.shot_id.startswith(f"{self.scene_id}_SH"):
            raise ValueError(f"shot {self.shot_id} does not belong to scene {self.scene_id!r}")
        return self


class ShotList(CsvArtifact):
    """shot-planner's shots for one scene."""

    KIND: ClassVar[str] = "SHOTLIST"

    rows: list[ShotRow] = Field(default_factory=list)

    @field_validator("rows")
    @classmethod
    def _one_scene_unique_shots(cls, rows: list[ShotRow]) -> list[ShotRow]:
        unique((r.shot_id for r in rows), "shot_id")
        scenes = sorted({r.scene_id for r in rows})
        if len(scenes) > 1:
            raise ValueError(f"a shot list covers one scene, got {', '.join(scenes)}")
        return rows


class StoryboardReport(DocumentArtifact):
    """storyboard-generator's check of one shot's frame."""

    KIND: ClassVar[str] = "STORYBOARD_REPORT"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "shot_id"

    shot_id: ShotId
    composition: Paragraphs
    character_placement: Paragraphs
    set_anchor_presence: Paragraphs
    lighting_compliance: Paragraphs
    drift_risk: Level
    recommendation: Literal["Proceed", "Adjust", "Simplify"]


QC_CATEGORIES = (
    "face_consistency",
    "wardrobe_consistency",
    "set_continuity",
    "prop_accuracy",
    "lighting_consistency",
    "motion_integrity",
    "audio_consistency",
)


class QcRow(CsvRow):
    """One generation attempt, graded 0 severe / 1 minor / 2 compliant per category."""

    shot_id: ShotId
    attempt_number: Annotated[int, Field(ge=1)]
    face_consistency: Score0to2
    wardrobe_consistency: Score0to2
    set_continuity: Score0to2
    prop_accuracy: Score0to2
    lighting_consistency: Score0to2
    motion_integrity: Score0to2
    audio_consistency: Score0to2 | None = None
    total_score: Annotated[int, Field(ge=0, le=14)]
    verdict: Literal["PASS", "FIX", "FAIL"]
    notes: Text = ""

    @property
    def scores(self) -> dict[str, int | None]:
        """The category scores by column name (audio may be None)."""
        return {name: getattr(self, name) for name in QC_CATEGORIES}

    @model_validator(mode="after")
    def _total_is_the_sum(self) -> Self:
        expected = sum(score or 0 for score in self.scores.values())
        if self.total_score != expected:
            raise ValueError(
                f"total_score must be the sum of the category scores "
                f"({expected}), got {self.total_score}"
            )
        return self


class QcBatch(CsvArtifact):
    """qc-grader's verdicts for a scene or a run."""

    KIND: ClassVar[str] = "QC_BATCH"

    rows: list[QcRow] = Field(default_factory=list)

    @field_validator("rows")
    @classmethod
    def _one_row_per_attempt(cls, rows: list[QcRow]) -> list[QcRow]:
        unique((f"{r.shot_id} attempt {r.attempt_number}" for r in rows), "row for")
        return rows


def _scope(value: str) -> str:
    value = value.strip()
    if value != "ALL" and not SHOT_RE.fullmatch(value) and not SCENE_RE.fullmatch(value):
        raise ValueError(f"must be a shot id (S01_SH02), a scene id (S01) or ALL (got {value!r})")
    return value


Scope = Annotated[str, AfterValidator(_scope)]
AdjustmentType = Literal[
    "anchor_reinforcement",
    "constraint_tightening",
    "complexity_reduction",
    "duration_reduction",
    "tier_escalation",
    "prompt_rewording",  # after a provider refusal or invalid input (rules._reword)
]


class AdjustmentRule(SubModel):
    """A prompt adjustment the packager applies to the shots in scope."""

    type: AdjustmentType
    scope: Scope
    rule: Text


class RegenRules(DocumentArtifact):
    """regen-analyzer's diagnosis of repeated QC failures and the rules that follow."""

    KIND: ClassVar[str] = "REGEN_RULES"
    EXTENSION: ClassVar[str] = "md"

    failure_pattern_summary: Paragraphs
    root_cause_hypothesis: Paragraphs
    prompt_adjustment_rules: list[AdjustmentRule] = Field(default_factory=list)
    structural_simplifications: list[Item] = Field(default_factory=list)
    escalation_recommendation: Paragraphs = ""
