"""character-psychology (SPEC §5): per-scene psychology, drift and knowledge gated in code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Final, Self

from pydantic import Field, model_validator

from ...core._gate import Gate
from ...engine._skill import Context, Media, Need, Skill
from ...rules._fountain import canonical_id
from ...schemas import (
    Artifact,
    CharLock,
    Id,
    KnowledgeUse,
    Psych,
    PsychAssessment,
    StateDiff,
    Text,
    WorldState,
)
from ...schemas._types import YesNo
from .._prompts import system_prompt
from ._common import (
    PACKAGE,
    Answer,
    breakdown_row,
    canonical_uses,
    compose,
    for_character,
    joined,
    scene_cast,
    scene_lines,
    scene_row,
    section,
    unknown_knowledge,
    writable,
)

SCENE_REVISION = "scene-revision"  # where a scene's findings go (skills/narrative/_scene_revision)

__all__ = [
    "RECENT_KNOWLEDGE",
    "CharacterJudgment",
    "CharacterPsychology",
    "PsychAnswer",
    "psych_failures",
    "psych_of",
]


class CharacterJudgment(Answer):
    """One character's psychology in the scene, with the judgments the gate reads."""

    character: Id
    motivation_alignment: Text
    emotional_continuity: Text
    trauma_history_influence: Text
    arc_progression_status: Text
    broken_lock_trait: Text = Field(
        "", description="the locked trait the behavior breaks; empty when none"
    )
    reaction_proportionate: bool
    arc_change_has_catalyst: bool = Field(description="true also when the arc does not move")
    drift_warning: YesNo
    recommended_correction: Text = ""


class PsychAnswer(Answer):
    """character-psychology's answer for one scene."""

    characters: list[CharacterJudgment]
    knowledge_used: list[KnowledgeUse] = Field(
        default_factory=list, description="facts acted on that were known before the scene"
    )

    @model_validator(mode="after")
    def _fits_psych(self) -> Self:
        writable("PSYCH", lambda: psych_of(self, "S01"))
        return self


def psych_of(answer: PsychAnswer, scene_id: str) -> Psych:
    """The PSYCH artifact of an answer; drift warnings follow the structured judgments."""
    return Psych(
        scene_id=scene_id,
        characters=[_assessment(j) for j in answer.characters],
        knowledge_used=canonical_uses(answer.knowledge_used),
    )


#: How many of a character's most recent recorded facts the prompt shows. Knowledge grows
#: with every scene; the gate checks all of it in code, the model needs only the latest.
RECENT_KNOWLEDGE: Final = 5


def _drift_causes(judgment: CharacterJudgment) -> list[str]:
    causes = []
    if judgment.drift_warning == "YES":
        causes.append("the model flags drift")
    if judgment.broken_lock_trait:
        causes.append(f"behavior contradicts the lock ({judgment.broken_lock_trait})")
    if not judgment.reaction_proportionate:
        causes.append("the reaction is disproportionate")
    if not judgment.arc_change_has_catalyst:
        causes.append("the arc jumps without a catalyst")
    return causes


def _assessment(judgment: CharacterJudgment) -> PsychAssessment:
    return PsychAssessment(
        character=canonical_id(judgment.character) or judgment.character,
        motivation_alignment=judgment.motivation_alignment,
        emotional_continuity=judgment.emotional_continuity,
        trauma_history_influence=judgment.trauma_history_influence,
        arc_progression_status=judgment.arc_progression_status,
        drift_warning="YES" if _drift_causes(judgment) else "NO",
        recommended_correction=judgment.recommended_correction,
    )


def _lock_lines(name: str, lock: CharLock | None) -> list[str]:
    if lock is None:
        return [f"{name}: no character lock"]
    b = lock.behavior
    return [
        f"{name}: temperament {b.temperament}; decision style {b.decision_style}; "
        f"under stress {b.stress_behavior}; default tone {b.default_emotional_tone}; "
        f"speech {b.speech_patterns}",
        f"{name} knew at introduction: {joined(lock.knowledge_at_introduction)}",
        f"{name} must never: {joined(lock.forbidden_drift)}",
    ]


def _state_lines(name: str, ctx: Context) -> list[str]:
    world: WorldState | None = ctx.inputs.get("WORLD_STATE")
    states = for_character(world.characters, name) if world else []
    if not states:
        return [f"{name}: no recorded state"]
    s = states[0]
    return [
        f"{name}: emotional state {s.emotional_state or '(unrecorded)'}; location "
        f"{s.location or '(unrecorded)'}; injuries {joined(s.injuries)}; inventory "
        f"{joined(s.inventory)}",
        f"{name} recently learned: {joined(s.knowledge[-RECENT_KNOWLEDGE:])}",
    ]


def _diff_lines(ctx: Context, names: Iterable[str]) -> list[str]:
    diff: StateDiff | None = ctx.inputs.get("STATE_DIFF")
    if diff is None:
        return []
    return [
        f"{n} learns here: {joined(u.learn)}"
        for n in names
        for u in for_character(diff.character_updates, n)
        if u.learn
    ]


def _psych_prompt(ctx: Context, present: Sequence[str]) -> str:
    locks: dict[str, CharLock] = ctx.inputs.all("CHAR_LOCK")
    breakdown = breakdown_row(ctx)
    return compose(
        [
            section("Scene", scene_lines(scene_row(ctx))),
            section(
                "Breakdown",
                [
                    f"state changes: {joined(breakdown.state_changes)}",
                    f"continuity risks: {joined(breakdown.continuity_risks)}",
                ]
                if breakdown
                else [],
            ),
            section(
                "Character locks",
                [
                    line
                    for n in present
                    for line in _lock_lines(n, next(iter(for_character(locks, n)), None))
                ],
            ),
            section(
                "State before this scene", [line for n in present for line in _state_lines(n, ctx)]
            ),
            section("This scene's state diff", _diff_lines(ctx, present)),
        ],
        ctx.feedback,
    )


def psych_failures(
    psych: Psych, present: Sequence[str], answer: PsychAnswer | None, ctx: Context
) -> list[str]:
    """Every reason character-psychology's output fails its gate."""
    assessed = [a.character for a in psych.characters]
    failures = [
        f"no psychology for {c}, who is present in {psych.scene_id}"
        for c in present
        if c not in assessed
    ]
    failures += [
        f"{c} is assessed but not present in {psych.scene_id}" for c in assessed if c not in present
    ]
    causes = {
        canonical_id(j.character): _drift_causes(j) for j in (answer.characters if answer else [])
    }
    for item in psych.characters:
        empty = [
            name
            for name in (
                "motivation_alignment",
                "emotional_continuity",
                "trauma_history_influence",
                "arc_progression_status",
            )
            if not getattr(item, name)
        ]
        if empty:
            failures.append(f"{item.character}: {', '.join(empty)} missing")
        if item.drift_warning == "YES":
            why = "; ".join(causes.get(item.character, [])) or "drift warning YES"
            fix = (
                f" (correction: {item.recommended_correction})"
                if item.recommended_correction
                else " (no correction proposed)"
            )
            failures.append(f"{item.character}: drift warning YES: {why}{fix}")
    return failures + unknown_knowledge(psych.knowledge_used, ctx)


class CharacterPsychology(Skill):
    """Per-scene psychology of every character present -> PSYCH_<SCENE> (Tier 2).

    Drift warning is YES when the model says so or when any structured judgment shows a broken
    locked trait, a disproportionate reaction or an arc jump without a catalyst. Gate (code):
    FAIL on any YES, a character present but not assessed, or knowledge a character acts on
    that the prior WORLD_STATE, their lock or this scene's STATE_DIFF does not give them.
    Escalates to Tier 3 on a persisting FAIL.
    """

    name: ClassVar[str] = "character-psychology"
    prompt_name: ClassVar[str] = "character-psychology"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        Need("BREAKDOWN"),
        Need("CHAR_LOCK", "cast", optional=True),
        # the state before the scene (SPEC §5 "prior WORLD_STATE"): the previous scene must
        # be tracked first, so knowledge honestly carried over from it is known here
        Need("WORLD_STATE", "before_scene", optional=True),
        # the scene's own diff exists only on a rerun (the scene is tracked after these
        # checks): context, so the tracker's next diff does not reopen them
        Need("STATE_DIFF", "scene", optional=True, lineage=False, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("PSYCH",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "motivation, continuity, arc; drift and knowledge gated in code"

    def __init__(self) -> None:
        self.answer: PsychAnswer | None = None

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask about the characters present; drift warnings follow the structured judgments."""
        present = scene_cast(ctx)
        system = system_prompt(PACKAGE, self.prompt_name)
        answer = ctx.ask(PsychAnswer, system, _psych_prompt(ctx, present))
        self.answer = answer
        return [psych_of(answer, ctx.scene_id)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on drift, missing assessments or unacquired knowledge; drift and knowledge
        are findings about the scene, which its revision fixes (SPEC §1.4)."""
        failures = psych_failures(outputs[0], scene_cast(ctx), self.answer, ctx)
        findings = [
            f
            for f in failures
            if ": drift warning YES" in f
            or f in set(unknown_knowledge(outputs[0].knowledge_used, ctx))
        ]
        return Gate.routed(failures, findings, SCENE_REVISION, ctx.scene_id)
