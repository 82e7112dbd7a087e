"""Narrative layer: PREMISE, BEATS, SCENES, BREAKDOWN, PSYCH, DIALOGUE_CHECK (SPEC §4)."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator

from ._csv import CsvArtifact, CsvRow, unique
from ._document import DocumentArtifact
from ._document_sections import OMIT_WHEN_EMPTY
from ._types import (
    Entry,
    EpisodeId,
    Id,
    IdList,
    Item,
    NonNegative,
    NoteList,
    Paragraphs,
    SceneId,
    Score1to5,
    SubModel,
    Text,
    YesNo,
)


class Premise(DocumentArtifact):
    """The input of story-architect: what the film is."""

    KIND: ClassVar[str] = "PREMISE"
    EXTENSION: ClassVar[str] = "md"

    title: Item
    logline: Paragraphs
    genre: Text
    tone: Text
    length: Literal["short", "feature", "episode"]
    theme: Text | None = None
    characters: list[Item] = Field(default_factory=list)


class EpisodeBeats(SubModel):
    """One episode's own beats in a series (issue 16 §1): the film's six beats, per episode.

    Empty beats are valid here (story-architect's gate names them, as it does the season's).
    """

    episode: EpisodeId
    inciting_incident: Text = ""
    escalation_sequence: list[Entry] = Field(default_factory=list)
    midpoint_shift: Text = ""
    crisis: Text = ""
    climax: Text = ""
    resolution: Text = ""


class Beats(DocumentArtifact):
    """The story's structure, beat by beat; in a series, the season's arc and then each
    episode's own beats (a table, one row per declared episode in order)."""

    KIND: ClassVar[str] = "BEATS"
    EXTENSION: ClassVar[str] = "md"

    title: Item
    logline: Paragraphs
    central_dramatic_question: Paragraphs
    inciting_incident: Paragraphs
    escalation_sequence: list[Item]
    midpoint_shift: Paragraphs
    crisis: Paragraphs
    climax: Paragraphs
    resolution: Paragraphs
    # A section of the season's BEATS, not a BEATS_E01 of its own: SPEC §4 names BEATS
    # without a subject. Written only in a series, so a film's BEATS reads and renders as
    # before (no schema version: a BEATS without the section reads as a film's).
    episode_beats: list[EpisodeBeats] = Field(
        default_factory=list,
        description="a series' episodes, each with its own beats, in the declared order",
        json_schema_extra={OMIT_WHEN_EMPTY: True},
    )

    def of_episode(self, episode: str) -> EpisodeBeats | None:
        """The beats of one episode, None when this BEATS has none for it."""
        return next((b for b in self.episode_beats if b.episode == episode), None)


STORY_POSITION_RE = re.compile(r"(?i)(before|after)\s+((?:E[0-9]{2,}_)?S[0-9]{2,})")


def _story_position(value: str) -> str:
    value = " ".join(value.split())
    if value and not STORY_POSITION_RE.fullmatch(value):
        raise ValueError(
            f"story_position {value!r} must be 'before <scene>' (a flashback) or 'after "
            "<scene>' (a flash forward), e.g. 'before S02', or empty for a scene in order"
        )
    return value


StoryPosition = Annotated[str, AfterValidator(_story_position)]
"""A SCENES story position: ``before S02`` (flashback) or ``after S08`` (flash forward)."""


class SceneRow(CsvRow):
    """One scene. goal/conflict/outcome may be empty (an import leaves them; a gate fails them)."""

    scene_id: SceneId
    summary: Text
    goal: Text = ""
    conflict: Text = ""
    outcome: Text = ""
    location: Text
    time_of_day: Text = ""
    characters_present: IdList = Field(default_factory=list)
    story_position: StoryPosition = Field(
        "",
        description="where the scene sits in story time when it is out of order: 'before "
        "S02' (a flashback), 'after S08' (a flash forward); empty: in order",
    )

    # A SCENES file with no story position is written (and read) as before: 8 columns.
    OPTIONAL_COLUMNS: ClassVar[tuple[str, ...]] = ("story_position",)


class Scenes(CsvArtifact):
    """The scene list of the production."""

    KIND: ClassVar[str] = "SCENES"

    rows: list[SceneRow] = Field(default_factory=list)

    @field_validator("rows")
    @classmethod
    def _one_row_per_scene(cls, rows: list[SceneRow]) -> list[SceneRow]:
        unique((r.scene_id for r in rows), "scene_id")
        ids = {r.scene_id for r in rows}
        for line, row in enumerate(rows, start=2):
            match = STORY_POSITION_RE.fullmatch(row.story_position)
            if match and (match[2].upper() not in ids or match[2].upper() == row.scene_id):
                raise ValueError(
                    f"line {line}: story_position {row.story_position!r} of {row.scene_id} "
                    f"must name another scene of this table (its ids: {', '.join(sorted(ids))})"
                )
        return rows


class BreakdownRow(CsvRow):
    """What one scene uses, introduces and changes."""

    scene_id: SceneId
    characters_present: IdList = Field(default_factory=list)
    new_characters_introduced: IdList = Field(default_factory=list)
    locations_used: IdList = Field(default_factory=list)
    new_locations_introduced: IdList = Field(default_factory=list)
    props_used: IdList = Field(default_factory=list)
    new_props_introduced: IdList = Field(default_factory=list)
    state_changes: NoteList = Field(default_factory=list)
    continuity_risks: NoteList = Field(default_factory=list)
    lock_requirements: IdList = Field(default_factory=list)


class Breakdown(CsvArtifact):
    """The script breakdown: one row per scene."""

    KIND: ClassVar[str] = "BREAKDOWN"

    rows: list[BreakdownRow] = Field(default_factory=list)

    @field_validator("rows")
    @classmethod
    def _one_row_per_scene(cls, rows: list[BreakdownRow]) -> list[BreakdownRow]:
        unique((r.scene_id for r in rows), "scene_id")
        return rows


class PsychAssessment(SubModel):
    """One character's psychology in one scene."""

    character: Id
    motivation_alignment: Text
    emotional_continuity: Text
    trauma_history_influence: Text = Field(title="trauma / history influence")
    arc_progression_status: Text
    drift_warning: YesNo
    recommended_correction: Text = ""


class KnowledgeUse(SubModel):
    """A fact a character acts on in the scene (checked against the world state)."""

    character: Id
    fact: Text


class Psych(DocumentArtifact):
    """character-psychology's report on one scene."""

    KIND: ClassVar[str] = "PSYCH"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"

    scene_id: SceneId
    characters: list[PsychAssessment]
    knowledge_used: list[KnowledgeUse] = Field(default_factory=list)


class VoiceAssessment(SubModel):
    """One character's dialogue against their voice lock."""

    character: Id
    voice_assessment: Text
    vocabulary_consistency: Text
    tone_alignment: Text
    emotional_authenticity: Text
    distinctiveness: Score1to5
    drift_flags: list[Entry] = Field(default_factory=list)


class VoiceProfileRow(SubModel):
    """A character's measured voice (see ``filmslate.rules._stylometry.VoiceProfile``), as numbers.

    Rates are per word except ``question_rate`` and ``exclamation_rate`` (per sentence).
    """

    character: Id
    lines: Annotated[int, Field(ge=0)]
    words: Annotated[int, Field(ge=0)]
    mean_sentence_words: NonNegative
    type_token_ratio: NonNegative
    mean_word_length: NonNegative
    long_word_rate: NonNegative
    contraction_rate: NonNegative
    question_rate: NonNegative
    exclamation_rate: NonNegative
    profanity_rate: NonNegative
    slang_rate: NonNegative
    dialect_marker_rate: NonNegative
    hedge_rate: NonNegative
    filler_rate: NonNegative
    figurative_rate: NonNegative
    ellipsis_rate: NonNegative
    dash_rate: NonNegative


class DialogueCheck(DocumentArtifact):
    """dialogue-consistency-check's report on one scene.

    ``knowledge_stated`` lists what speakers say they know (checked against the world state);
    ``voice_profiles`` is every speaker's running profile up to and including this scene, so
    the next scene's drift check reads this report only, whatever the length of the script.
    """

    KIND: ClassVar[str] = "DIALOGUE_CHECK"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"

    scene_id: SceneId
    characters: list[VoiceAssessment]
    recommended_adjustments: list[Item] = Field(default_factory=list)
    knowledge_stated: list[KnowledgeUse] = Field(default_factory=list)
    voice_profiles: list[VoiceProfileRow] = Field(default_factory=list)
