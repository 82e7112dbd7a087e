"""research-agent (SPEC §5): a scene's truth packet, every claim with its status and source."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ...engine._skill import Context, Need
from ...schemas import Claim, Truth
from ...schemas._types import Item, Level, Text
from ._common import SCRIPT, Answer, AnsweringSkill, render_scene, render_script, scene_row

__all__ = ["ResearchAgent", "ResearchAnswer"]


class ResearchAnswer(Answer):
    """research-agent's answer: the truth packet plus the failures it found."""

    claims: list[Claim] = Field(description="every factual claim the scene makes or implies")
    terminology_corrections: list[Item] = Field(default_factory=list)
    realism_risk: Level
    creative_allowances: list[Item] = Field(default_factory=list)
    contradictions: list[Item] = Field(
        default_factory=list,
        description="statements that contradict reality with no creative license covering them",
    )
    impossible_procedures: list[Item] = Field(
        default_factory=list, description="critical procedures that cannot work as written"
    )
    cultural_context: bool = Field(
        description="true only when a real culture, period or community is central"
    )
    cultural_context_note: Text = Field("", description="which one, and how it matters")

    def to_artifact(self, subject: str) -> Truth:
        """The TRUTH packet."""
        note = self.cultural_context_note or "(unnamed)"
        return Truth(
            scene_id=subject,
            claims=self.claims,
            terminology_corrections=self.terminology_corrections,
            realism_risk=self.realism_risk,
            creative_allowances=self.creative_allowances,
            cultural_context=note if self.cultural_context else None,
        )


class ResearchAgent(AnsweringSkill):
    """Fact-checks one scene into a truth packet with a status and source for every claim."""

    name: ClassVar[str] = "research-agent"
    prompt_name: ClassVar[str] = "research-agent"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "research"
    loop: ClassVar[str] = "validation"
    needs: ClassVar[tuple[Need, ...]] = (Need("SCENES"), SCRIPT, Need("PREMISE", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("TRUTH",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "truth packet: every claim Verified / Disputed / Creative License"
    answer_type: ClassVar[type[Answer]] = ResearchAnswer

    def prompt(self, ctx: Context) -> str:
        """The premise's frame (genre, logline) and the scene."""
        premise = ctx.inputs.get("PREMISE")
        frame = (
            f"Film: {premise.title} ({premise.genre}, {premise.tone}). {premise.logline}"
            if premise is not None
            else "Film: no premise recorded."
        )
        return f"{frame}\n\nSCENE\n{render_scene(scene_row(ctx))}{render_script(ctx)}"

    def failures(self, artifact: Truth, answer: ResearchAnswer, ctx: Context) -> list[str]:
        """Claims without support, unsettled disputes, unaddressed risk, flagged errors."""
        out = [
            problem
            for number, claim in enumerate(artifact.claims, start=1)
            if (problem := _claim_problem(number, claim))
        ]
        if not artifact.claims:
            out.append(
                "the packet lists no claims: name at least the setting and every "
                "procedure or fact the scene relies on"
            )
        remedies = artifact.terminology_corrections or artifact.creative_allowances
        for number, claim in enumerate(artifact.claims, start=1):
            if claim.status == "Disputed" and not (claim.creative_license_note or remedies):
                out.append(
                    f"claim {number} ({claim.claim}) is Disputed but no terminology "
                    "correction or creative allowance settles it"
                )
        if artifact.realism_risk == "high" and not remedies:
            out.append("realism risk is high and no creative allowance or correction addresses it")
        if answer.cultural_context and not answer.cultural_context_note:
            out.append(
                "cultural context is flagged but not named: say which culture, period or community"
            )
        return out

    def findings(self, artifact: Truth, answer: ResearchAnswer, ctx: Context) -> list[str]:
        """What the scene gets wrong about reality: the scene must change."""
        return [f"contradicts reality: {c}" for c in answer.contradictions] + [
            f"impossible procedure: {p}" for p in answer.impossible_procedures
        ]


def _claim_problem(number: int, claim: Claim) -> str:
    """Why a claim lacks the support its status needs ('' when it has it)."""
    if not (claim.citation or claim.creative_license_note):
        return f"claim {number} ({claim.claim}) has neither a citation nor a creative-license note"
    if claim.status == "Verified" and not claim.citation:
        return f"claim {number} ({claim.claim}) is marked Verified without a citation"
    if claim.status == "Creative License" and not claim.creative_license_note:
        return f"claim {number} ({claim.claim}) is marked Creative License without a note"
    return ""
