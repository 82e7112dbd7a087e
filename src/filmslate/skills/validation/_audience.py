"""audience-simulator (SPEC §5): three viewers watch the story; clarity and stakes gated."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...engine._skill import Context, Need
from ...rules._digest import named_scenes
from ...schemas import Audience, PersonaReactions
from ...schemas._types import Item, Score1to5
from ._common import Answer, AnsweringSkill, render_story

__all__ = ["AudienceAnswer", "AudienceSimulator", "ConfusionPoint"]


class ConfusionPoint(BaseModel):
    """A moment that confuses viewers, and whether it damages the story."""

    model_config = ConfigDict(extra="forbid")
    description: Item
    impairs_story: bool = Field(description="true when viewers lose the story because of it")


class AudienceAnswer(Answer):
    """audience-simulator's answer."""

    PLACEHOLDER: ClassVar[str] = "PROJECT"
    reactions: PersonaReactions
    confusion_points: list[ConfusionPoint] = Field(default_factory=list)
    engagement_dips: list[Item] = Field(default_factory=list)
    emotional_peaks: list[Item] = Field(default_factory=list)
    predictability: Score1to5
    clarity: Score1to5
    engagement: Score1to5
    adjustments: list[Item] = Field(default_factory=list)
    stakes_clear_after_act_one: bool
    genre_mismatch: list[Item] = Field(
        default_factory=list, description="ways the story breaks the promise of its genre"
    )

    def to_artifact(self, subject: str) -> Audience:
        """The AUDIENCE report."""
        return Audience(
            target=subject,
            reactions=self.reactions,
            confusion_points=[
                f"{c.description}{' (impairs the story)' if c.impairs_story else ''}"
                for c in self.confusion_points
            ],
            engagement_dips=self.engagement_dips,
            emotional_peaks=self.emotional_peaks,
            predictability=self.predictability,
            clarity=self.clarity,
            engagement=self.engagement,
            adjustments=[*(f"genre mismatch: {g}" for g in self.genre_mismatch), *self.adjustments],
        )


class AudienceSimulator(AnsweringSkill):
    """Three personas watch the target; clarity, engagement and stakes are gated in code."""

    name: ClassVar[str] = "audience-simulator"
    prompt_name: ClassVar[str] = "audience-simulator"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("BEATS"),
        Need("SCENES"),
        Need("PREMISE", optional=True),
        # past a bound the story is read as its digest (issue 14 §8), and the scenes the
        # previous report named are shown in full; that report is context, not lineage
        Need("STORY_DIGEST", optional=True),
        Need("AUDIENCE", "target", optional=True, lineage=False, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("AUDIENCE",)
    target_scope: ClassVar[Any] = "target"
    summary: ClassVar[str] = "three personas; FAIL on low clarity/engagement, unclear stakes"
    answer_type: ClassVar[type[Answer]] = AudienceAnswer

    def prompt(self, ctx: Context) -> str:
        """The promise (premise) and the story (past a bound, its digest and the scenes in
        focus)."""
        premise = ctx.inputs.get("PREMISE")
        promise = (
            f"PROMISE\nGenre: {premise.genre}; tone: {premise.tone}; length: "
            f"{premise.length}. {premise.logline}"
            if premise is not None
            else "PROMISE\nNo premise recorded: infer the genre from the beats."
        )
        return f"{promise}\n\n{render_story(ctx, self.named(ctx))}"

    def named(self, ctx: Context) -> list[str]:
        """The scenes the previous report on this target (and the revision notes) name."""
        report = ctx.inputs.get("AUDIENCE")
        texts = list(ctx.feedback)
        if report is not None:
            texts += [*report.confusion_points, *report.engagement_dips, *report.adjustments]
        return named_scenes(texts, (r.scene_id for r in ctx.inputs.get("SCENES").rows))

    def failures(self, artifact: Audience, answer: AudienceAnswer, ctx: Context) -> list[str]:
        """Missing personas, low scores, unclear stakes, story-breaking confusion, genre."""
        r = answer.reactions
        out = [
            f"the {persona} reaction is missing"
            for persona, text in (
                ("mainstream viewer", r.mainstream_viewer),
                ("genre fan", r.genre_fan),
                ("critical viewer", r.critical_viewer),
            )
            if not text
        ]
        return out

    def findings(self, artifact: Audience, answer: AudienceAnswer, ctx: Context) -> list[str]:
        """Low clarity or engagement, unclear stakes, story-breaking confusion, genre."""
        out: list[str] = []
        limits = ctx.config.thresholds
        if answer.clarity < limits.audience_clarity:
            out.append(f"clarity {answer.clarity} is below {limits.audience_clarity}")
        if answer.engagement < limits.audience_engagement:
            out.append(f"engagement {answer.engagement} is below {limits.audience_engagement}")
        if not answer.stakes_clear_after_act_one:
            out.append("the stakes are unclear after act one")
        out += [
            f"confusion impairs the story: {c.description}"
            for c in answer.confusion_points
            if c.impairs_story
        ]
        return out + [f"genre mismatch: {g}" for g in answer.genre_mismatch]
