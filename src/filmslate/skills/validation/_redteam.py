"""narrative-red-team and its light pass (SPEC §5): attack the story before an audience does."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...engine._skill import Context, Need
from ...rules._digest import named_scenes
from ...schemas import RedTeam
from ...schemas._types import Item, Paragraphs
from ._common import Answer, AnsweringSkill, joined, render_story

__all__ = [
    "Coincidence",
    "CriticalFailure",
    "FailureKind",
    "NarrativeRedTeam",
    "NarrativeRedTeamLight",
    "RedTeamAnswer",
]

#: Locked characters listed by name in the prompt, at most (a long production's cast must not
#: grow the prompt without bound).
MAX_LOCKS = 16

FailureKind = Literal[
    "major plot hole",
    "central coincidence",
    "stakes collapse",
    "antagonist incompetence",
    "unearned climax",
]


class CriticalFailure(BaseModel):
    """A failure that sinks the story."""

    model_config = ConfigDict(extra="forbid")
    kind: FailureKind
    description: Item


class Coincidence(BaseModel):
    """A coincidence in the plot, and whether a central event rests on it."""

    model_config = ConfigDict(extra="forbid")
    event: Item
    central: bool = Field(description="true when a central event depends on it")


class RedTeamAnswer(Answer):
    """narrative-red-team's answer."""

    PLACEHOLDER: ClassVar[str] = "PROJECT"
    critical_failures: list[CriticalFailure] = Field(default_factory=list)
    hidden_weaknesses: list[Item] = Field(default_factory=list)
    coincidence_scan: list[Coincidence] = Field(default_factory=list)
    stakes_audit: Paragraphs
    tension_audit: Paragraphs
    thematic_consistency: Paragraphs
    fix_conservative: Paragraphs = Field(description="the smallest change that fixes the worst")
    fix_structural: Paragraphs = Field(description="the rebuild that fixes the cause")

    def to_artifact(self, subject: str) -> RedTeam:
        """The REDTEAM report."""
        return RedTeam(
            target=subject,
            critical_failures=[f"{f.kind}: {f.description}" for f in self.critical_failures],
            hidden_weaknesses=self.hidden_weaknesses,
            coincidence_scan=[
                f"{c.event} ({'central' if c.central else 'incidental'})"
                for c in self.coincidence_scan
            ],
            stakes_audit=self.stakes_audit,
            tension_audit=self.tension_audit,
            thematic_consistency=self.thematic_consistency,
            fix_conservative=self.fix_conservative,
            fix_structural=self.fix_structural,
        )


class NarrativeRedTeam(AnsweringSkill):
    """Attacks the story (PROJECT, an act, an episode or a scene) at the premium tier."""

    name: ClassVar[str] = "narrative-red-team"
    prompt_name: ClassVar[str] = "narrative-red-team"
    layer: ClassVar[Any] = "validation"
    tier: ClassVar[Any] = "premium"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("BEATS"),
        Need("SCENES"),
        Need("WORLD_STATE", optional=True),
        Need("CHAR_LOCK", "all", optional=True),
        # past a bound the story is read as its digest (issue 14 §8), and the scenes the
        # previous report named are shown in full; that report is context, not lineage
        Need("STORY_DIGEST", optional=True),
        Need("REDTEAM", "target", optional=True, lineage=False, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("REDTEAM",)
    target_scope: ClassVar[Any] = "target"
    summary: ClassVar[str] = "red team (Tier 3): failures, audits, conservative + structural fix"
    answer_type: ClassVar[type[Answer]] = RedTeamAnswer

    def prompt(self, ctx: Context) -> str:
        """Beats, the target's scenes (past a bound the digest and the scenes in focus), and
        the world state and lock names when present."""
        parts = [render_story(ctx, self.named(ctx))]
        state = ctx.inputs.get("WORLD_STATE")
        if state is not None:
            parts.append(
                f"WORLD STATE (after {state.timeline.current_scene or 'nothing'})\n"
                f"Rules: {joined(state.rules.fictional_constraints)}"
            )
        locks = sorted(ctx.inputs.all("CHAR_LOCK").items())
        if locks:
            more = len(locks) - MAX_LOCKS
            parts.append(
                "LOCKED CHARACTERS\n"
                + "\n".join(
                    f"- {name}: {lock.behavior.temperament}; {lock.behavior.decision_style}"
                    for name, lock in locks[:MAX_LOCKS]
                )
                + (f"\n- and {more} more locked characters" if more > 0 else "")
            )
        return "\n\n".join(parts)

    def named(self, ctx: Context) -> list[str]:
        """The scenes the previous report on this target (and the revision notes) name."""
        report = ctx.inputs.get("REDTEAM")
        texts = list(ctx.feedback)
        if report is not None:
            texts += [*report.critical_failures, *report.hidden_weaknesses]
            texts += report.coincidence_scan
        return named_scenes(texts, (r.scene_id for r in ctx.inputs.get("SCENES").rows))

    def failures(self, artifact: RedTeam, answer: RedTeamAnswer, ctx: Context) -> list[str]:
        """Empty sections, missing or identical fixes, critical failures, central coincidences."""
        out = [
            f"section {label} is empty"
            for label, text in (
                ("stakes audit", answer.stakes_audit),
                ("tension audit", answer.tension_audit),
                ("thematic consistency", answer.thematic_consistency),
                ("fix option: conservative", answer.fix_conservative),
                ("fix option: structural", answer.fix_structural),
            )
            if not text
        ]
        if not answer.hidden_weaknesses:
            out.append(
                "section hidden weaknesses is empty: a red team that finds nothing has not looked"
            )
        if answer.fix_conservative and _same(answer.fix_conservative, answer.fix_structural):
            out.append(
                "the conservative and structural fix options are the same: offer two "
                "different fixes"
            )
        return out

    def findings(self, artifact: RedTeam, answer: RedTeamAnswer, ctx: Context) -> list[str]:
        """Critical failures and central coincidences: the structure must change."""
        return [f"{f.kind}: {f.description}" for f in answer.critical_failures] + [
            f"central event rests on coincidence: {c.event}"
            for c in answer.coincidence_scan
            if c.central
        ]


class NarrativeRedTeamLight(NarrativeRedTeam):
    """The Tier 2 light pass of the red team: same checks, cheaper model, shorter audits."""

    name: ClassVar[str] = "narrative-red-team-light"
    tier: ClassVar[Any] = "judgment"
    summary: ClassVar[str] = "red team light pass (Tier 2); production needs the full pass"
    # The full pass's prompt (inherited) with a note that narrows the effort: one text of
    # the red team's role to edit, not two copies that drift apart.
    prompt_notes: ClassVar[tuple[str, ...]] = ("narrative-red-team-light-note",)


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())
