"""Small skills used by the runtime tests: real skills, registered like a plug-in would."""

from __future__ import annotations

from typing import Any, ClassVar

from filmslate.core._gate import Gate
from filmslate.engine._skill import Context, Need, Registry, Skill
from filmslate.schemas import Beats, Premise, RegenRules, StoryboardReport
from filmslate.skills.governance._governance import BudgetGates, CostOptimizer


class Pitch(Skill):
    """Asks a model for a premise; its gate refuses clichés."""

    name: ClassVar[str] = "pitch"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    produces: ClassVar[tuple[str, ...]] = ("PREMISE",)

    def produce(self, ctx: Context) -> list[Any]:
        prompt = "Pitch a short film." + (
            f" Fix: {'; '.join(ctx.feedback)}" if ctx.feedback else ""
        )
        return [ctx.ask(Premise, "You pitch films.", prompt)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        premise = outputs[0]
        return Gate.from_failures(
            ["the logline is a cliché"] if "chosen one" in premise.logline.lower() else []
        )


class Outline(Skill):
    """Needs a premise; asks for beats."""

    name: ClassVar[str] = "outline"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (Need("PREMISE"),)
    produces: ClassVar[tuple[str, ...]] = ("BEATS",)

    def produce(self, ctx: Context) -> list[Any]:
        premise = ctx.inputs.get("PREMISE")
        return [ctx.ask(Beats, "You outline.", f"Outline: {premise.logline}")]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        beats = outputs[0]
        return Gate.from_failures(
            []
            if len(beats.escalation_sequence) >= 2
            else ["stakes do not escalate: fewer than two escalation beats"]
        )


class Take(Skill):
    """A generation-like skill on a shot: regen limits apply."""

    name: ClassVar[str] = "take"
    layer: ClassVar[Any] = "production"
    tier: ClassVar[Any] = "vision"
    loop: ClassVar[str] = "production"
    produces: ClassVar[tuple[str, ...]] = ("STORYBOARD_REPORT",)
    target_scope: ClassVar[Any] = "shot"
    regen_limited: ClassVar[bool] = True

    def produce(self, ctx: Context) -> list[Any]:
        report = ctx.ask(StoryboardReport, "You review frames.", f"Review {ctx.target}")
        return [report.model_copy(update={"shot_id": ctx.target})]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        rec = outputs[0].recommendation
        return Gate.from_failures([] if rec == "Proceed" else [f"storyboard says {rec}"])


class Analyzer(Skill):
    """Stands in for regen-analyzer: deterministic, writes rules."""

    name: ClassVar[str] = "regen-analyzer"
    layer: ClassVar[Any] = "production"
    produces: ClassVar[tuple[str, ...]] = ("REGEN_RULES",)
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False

    def produce(self, ctx: Context) -> list[Any]:
        return [
            RegenRules(
                failure_pattern_summary=f"{ctx.target} drifts",
                root_cause_hypothesis="too many characters in frame",
                prompt_adjustment_rules=[],
                structural_simplifications=["split"],
                escalation_recommendation="none",
            )
        ]


def registry() -> Registry:
    reg = Registry()
    for skill in (Pitch, Outline, Take, Analyzer, CostOptimizer, BudgetGates):
        reg.register(skill)
    return reg
