"""story-architect (SPEC §5): premise -> BEATS + SCENES, the structure gated in code."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, ClassVar, Final, Self

from pydantic import Field, field_validator, model_validator

from ...core._gate import Gate
from ...core._names import TOKEN_RE
from ...core._scene_ids import scene_key
from ...engine._skill import Context, Media, Need, Skill
from ...rules._fountain import canonical_id
from ...schemas import (
    Artifact,
    Beats,
    EpisodeBeats,
    Id,
    Item,
    Paragraphs,
    Premise,
    SceneRow,
    Scenes,
    Text,
)
from .._prompts import system_prompt
from ._common import (
    MIN_SCENE_FIELD_WORDS,
    PACKAGE,
    Answer,
    compose,
    content_words,
    is_vague,
    joined,
    section,
    unique,
    writable,
)
from ._season import episode_beat_failures, episode_failures, series_lines

__all__ = [
    "CLIMAX_OVERLAP",
    "MIN_SCENE_FIELD_WORDS",
    "BeatStakes",
    "StoryAnswer",
    "StoryArchitect",
    "beats_of",
    "premise_ids",
    "scene_field_failures",
    "story_failures",
]


class BeatStakes(Answer):
    """How much is at stake at one beat, 1 (little) to 10 (everything)."""

    beat: Item
    level: int = Field(ge=1, le=10)


class StoryAnswer(Answer):
    """story-architect's answer: BEATS and SCENES fields plus the judgments its gate reads."""

    central_dramatic_question: Paragraphs
    inciting_incident: Paragraphs
    escalation_sequence: list[Item]
    midpoint_shift: Paragraphs
    crisis: Paragraphs
    climax: Paragraphs
    climax_answers: Text = Field(description="how the climax answers the central question")
    resolution: Paragraphs
    escalation: list[BeatStakes] = Field(
        description="stakes per beat, inciting incident to climax, in story order"
    )
    midpoint_changes_trajectory: bool
    midpoint_explanation: Text
    scenes: list[SceneRow]
    new_characters: list[Id] = Field(
        default_factory=list, description="characters not in the premise"
    )
    episode_beats: list[EpisodeBeats] = Field(
        default_factory=list,
        description="a series only: each episode's own beats, one row per episode in order "
        "(a film leaves this empty)",
    )

    @field_validator("scenes")
    @classmethod
    def _unique_ids(cls, scenes: list[SceneRow]) -> list[SceneRow]:
        ids = [s.scene_id for s in scenes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"scene ids must be unique; repeated: {', '.join(dupes)}")
        return scenes

    @model_validator(mode="after")
    def _fits_beats(self) -> Self:
        writable("BEATS", lambda: beats_of(self, "title", "logline"))
        return self


def beats_of(answer: StoryAnswer, title: str, logline: str) -> Beats:
    """The BEATS artifact of an answer (title and logline come from the premise)."""
    return Beats(
        title=title,
        logline=logline,
        central_dramatic_question=answer.central_dramatic_question,
        inciting_incident=answer.inciting_incident,
        escalation_sequence=answer.escalation_sequence,
        midpoint_shift=answer.midpoint_shift,
        crisis=answer.crisis,
        climax=answer.climax,
        resolution=answer.resolution,
        episode_beats=answer.episode_beats,
    )


#: Share of the central question's content words the climax must reuse to count as answering
#: it (at least one word; "Will Nell relight the lighthouse?" -> two of nell/relight/lighthouse).
CLIMAX_OVERLAP: Final = 0.3
_NAME_CUT_RE: Final = re.compile(r"\s*[,(:;\u2014\u2013]\s*|\s+-\s+")


def _premise_lines(premise: Premise) -> list[str]:
    return [
        f"title: {premise.title}",
        f"logline: {premise.logline}",
        f"genre: {premise.genre}",
        f"tone: {premise.tone}",
        f"length: {premise.length}",
        f"theme: {premise.theme or '(none given)'}",
        f"characters: {joined(premise.characters)}",
    ]


def premise_ids(premise: Premise) -> set[str]:
    """Character ids named by the premise (``"Nell, the keeper"`` -> ``NELL``)."""
    return {canonical_id(_NAME_CUT_RE.split(c, maxsplit=1)[0]) for c in premise.characters}


def _canonical_scene(row: SceneRow) -> SceneRow:
    """Ids in canonical form (code normalises spelling; it never invents content)."""
    return row.model_copy(
        update={
            "location": canonical_id(row.location),
            "characters_present": unique(canonical_id(c) for c in row.characters_present),
        }
    )


def _beat_failures(beats: Beats) -> list[str]:
    named = {
        "inciting incident": beats.inciting_incident,
        "midpoint shift": beats.midpoint_shift,
        "crisis": beats.crisis,
        "climax": beats.climax,
        "resolution": beats.resolution,
    }
    failures = [
        f"beat missing: the {name} is empty" for name, text in named.items() if not text.strip()
    ]
    if not beats.escalation_sequence:
        failures.append("beat missing: the escalation sequence has no steps")
    return failures


def _question_failures(beats: Beats, answer: StoryAnswer) -> list[str]:
    question = beats.central_dramatic_question.strip()
    if not question.endswith("?"):
        return ["the central dramatic question is missing or is not a question (end it with '?')"]
    failures = []
    words = content_words(question)
    shared = words & content_words(beats.climax)
    if len(shared) < max(1, math.ceil(CLIMAX_OVERLAP * len(words))):
        failures.append(
            "the climax does not name the central dramatic question it resolves: "
            f"it reuses {len(shared)} of its key words "
            f"({', '.join(sorted(words)) or 'none'})"
        )
    if not answer.climax_answers:
        failures.append(
            "the climax does not say how it answers the central dramatic "
            "question (climax_answers is empty)"
        )
    return failures


def _stakes_failures(stakes: Sequence[BeatStakes]) -> list[str]:
    if len(stakes) < 3:
        return ["stakes not assessed: rate at least three beats, inciting incident to climax"]
    failures = []
    falls = [
        f"{a.beat} ({a.level}) -> {b.beat} ({b.level})"
        for a, b in pairwise(stakes)
        if b.level < a.level
    ]
    if falls:
        failures.append("stakes do not escalate: they fall at " + ", ".join(falls))
    if stakes[-1].level <= stakes[0].level:
        failures.append(
            f"stakes do not escalate: they end at {stakes[-1].level}, no higher "
            f"than they start ({stakes[0].level})"
        )
    if "climax" not in stakes[-1].beat.lower():
        failures.append(
            f"the stakes assessment must end at the climax (it ends at {stakes[-1].beat!r})"
        )
    return failures


def _midpoint_failures(answer: StoryAnswer) -> list[str]:
    if not answer.midpoint_explanation:
        return ["the midpoint judgment has no explanation"]
    if not answer.midpoint_changes_trajectory:
        return [f"the midpoint does not change the trajectory: {answer.midpoint_explanation}"]
    return []


def scene_field_failures(row: SceneRow) -> list[str]:
    fields = {"goal": row.goal, "conflict": row.conflict, "outcome": row.outcome}
    failures = []
    for name, text in fields.items():
        if not text:
            failures.append(f"{row.scene_id}: the scene has no {name}")
        elif is_vague(text):
            failures.append(
                f"{row.scene_id}: the {name} is vague ({text!r}); say who does what, concretely"
            )
    return failures


def _scene_id_failures(ids: Sequence[str]) -> list[str]:
    """Ids name scenes, rows order them: gaps and renumbering are fine (S01, S03, S10);
    padding is one width, widened only past 99 (SPEC §3). The schema refuses repeats."""
    if not ids:
        return ["no scenes: the scene list is empty"]
    width = max(2, len(str(max(scene_key(sid)[1] for sid in ids))))
    wrong = next((sid for sid in ids if len(sid.rsplit("S", 1)[1]) != width), None)
    if wrong is not None:
        _, number = scene_key(wrong)
        return [
            f"scene ids are padded to {width} digits: found {wrong} where "
            f"{wrong.rsplit('S', 1)[0]}S{number:0{width}d} belongs"
        ]
    return []


def _cast_failures(row: SceneRow, cast_ids: set[str]) -> list[str]:
    failures = []
    if not row.location or not TOKEN_RE.fullmatch(row.location):
        failures.append(
            f"{row.scene_id}: the location is missing or not a set id (uppercase, like OLD_MILL)"
        )
    unknown = [c for c in row.characters_present if c not in cast_ids]
    if unknown:
        failures.append(
            f"{row.scene_id}: {', '.join(unknown)} not in the premise and not "
            "listed in new_characters"
        )
    return failures


def story_failures(
    beats: Beats, scenes: Scenes, answer: StoryAnswer, premise: Premise
) -> list[str]:
    """Every reason story-architect's output fails its gate (empty: PASS)."""
    cast_ids = premise_ids(premise) | {canonical_id(c) for c in answer.new_characters}
    failures = [
        *_beat_failures(beats),
        *_question_failures(beats, answer),
        *_stakes_failures(answer.escalation),
        *_midpoint_failures(answer),
        *_scene_id_failures([r.scene_id for r in scenes.rows]),
    ]
    for row in scenes.rows:
        failures += scene_field_failures(row) + _cast_failures(row, cast_ids)
    return failures


class StoryArchitect(Skill):
    """Premise -> BEATS + SCENES (Tier 2; Tier 3 on escalation for structural arbitration).

    Gate (code): every scene has a concrete goal, conflict and outcome; all six beats are
    present; the climax reuses the central dramatic question's terms and says how it answers
    it; the stakes never fall and end higher than they start; the midpoint changes the
    trajectory; scene ids are unique with one padding; characters come from the premise or
    are flagged new; locations are canonical set ids. A series (``[series] episodes``): the
    beats are the season's arc and every declared episode has its scenes, ids scoped by it
    (``E02_S01``), in episode order, and its own beats (BEATS' episode beats: every declared
    episode once, in the declared order, none for an undeclared one, each beat concrete); a
    film gives no episode beats.
    """

    name: ClassVar[str] = "story-architect"
    prompt_name: ClassVar[str] = "story-architect"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("PREMISE"),
        # a structure revision answers the whole-story reviews' findings (issue 14): the
        # reports are its notes, in its lineage; their newer versions judge the revision
        Need("REDTEAM", "target", optional=True, history=True),
        Need("AUDIENCE", "target", optional=True, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("BEATS", "SCENES")
    target_scope: ClassVar[Any] = "project"
    summary: ClassVar[str] = "premise -> beats and scene list; structure gated in code"

    def __init__(self) -> None:
        self.answer: StoryAnswer | None = None

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask for the structure; copy title and logline from the premise; canonical ids."""
        premise: Premise = ctx.inputs.get("PREMISE")
        parts = [section("Premise", _premise_lines(premise))]
        if ctx.config.series.episodes:  # a series (issue 16): a season arc, scenes per episode
            parts.append(section("Series", series_lines(ctx.config.series.episodes)))
        prompt = compose(parts, ctx.feedback)
        answer = ctx.ask(StoryAnswer, system_prompt(PACKAGE, self.prompt_name), prompt)
        self.answer = answer
        beats = beats_of(answer, premise.title, premise.logline)
        return [beats, Scenes(rows=[_canonical_scene(r) for r in answer.scenes])]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on any structural fault (see the class docstring)."""
        beats, scenes = outputs
        if self.answer is None:
            return Gate.from_failures(["no model answer was recorded for this run"])
        ids, episodes = [r.scene_id for r in scenes.rows], ctx.config.series.episodes
        return Gate.from_failures(
            story_failures(beats, scenes, self.answer, ctx.inputs.get("PREMISE"))
            + episode_failures(ids, episodes)
            + episode_beat_failures(beats.episode_beats, episodes)
        )
