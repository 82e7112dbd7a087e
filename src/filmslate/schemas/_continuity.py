"""Continuity layer: the four locks, WORLD_STATE, STATE_DIFF, CONTINUITY_REPORT (SPEC §4), and
VISUAL_CONTINUITY: what the vision tier saw in a scene's takes and the findings code made."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ._document import DocumentArtifact
from ._document_sections import OMIT_WHEN_EMPTY
from ._json import JsonArtifact, sorted_by_key
from ._state_versions import (
    STATE_SCHEMA_VERSION,
    Version2Fields,
    upgrade_state_diff,
    upgrade_world_state,
)
from ._types import (
    Entry,
    HexColour,
    Id,
    Item,
    Name,
    Paragraphs,
    SceneId,
    ShotId,
    SubModel,
    Target,
    Text,
)

# -- locks (.txt, pasted verbatim into GenPacks) --------------------------------------------


class Appearance(SubModel):
    """Canonical appearance of a character."""

    age_range: Text
    build: Text
    hair: Text
    eyes: Text
    distinguishing_marks: list[Entry] = Field(default_factory=list)
    ethnicity: Text | None = Field(None, description="only where narratively justified")


class Wardrobe(SubModel):
    """Wardrobe baseline."""

    default_outfit: Text
    palette: list[HexColour] = Field(default_factory=list)
    accessories: list[Entry] = Field(default_factory=list)
    justified_variants: list[Entry] = Field(default_factory=list)


class Behavior(SubModel):
    """Behavioral baseline."""

    speech_patterns: Text
    temperament: Text
    decision_style: Text
    stress_behavior: Text
    default_emotional_tone: Text


class CharLock(DocumentArtifact):
    """A character's locked look, behavior and knowledge: the anti-drift contract."""

    KIND: ClassVar[str] = "CHAR_LOCK"
    EXTENSION: ClassVar[str] = "txt"
    TITLE: ClassVar[str] = "CHARACTER LOCK"
    SUBJECT_FIELD: ClassVar[str | None] = "name"

    name: Name
    appearance: Appearance = Field(title="canonical appearance")
    wardrobe: Wardrobe = Field(title="wardrobe baseline")
    behavior: Behavior = Field(title="behavioral baseline")
    voice_profile: Paragraphs
    knowledge_at_introduction: list[Item] = Field(default_factory=list)
    visual_anchors: list[Item] = Field(default_factory=list)
    forbidden_drift: list[Item] = Field(default_factory=list)


class Layout(SubModel):
    """Physical layout of a set."""

    geometry: Text
    entries_exits: Text = Field(title="entries / exits")
    windows: Text
    spatial_relations: Text


class Lighting(SubModel):
    """Lighting rules of a set."""

    temperature_k: Annotated[int, Field(ge=1000, le=20000)] = Field(title="temperature (K)")
    primary_source: Text
    shadow: Text
    contrast: Text
    allowed_variation: Text


class Environment(SubModel):
    """Environmental conditions of a set."""

    weather: Text
    ambient_sound: Text
    time_of_day: Text
    cleanliness_decay: Text = Field(title="cleanliness / decay")


class SetLock(DocumentArtifact):
    """A location's locked layout, anchors, light and atmosphere."""

    KIND: ClassVar[str] = "SET_LOCK"
    EXTENSION: ClassVar[str] = "txt"
    TITLE: ClassVar[str] = "SET LOCK"
    SUBJECT_FIELD: ClassVar[str | None] = "name"

    name: Name
    layout: Layout = Field(title="physical layout")
    # SPEC asks for 3-5 anchors; that is a gate, so any count is a valid lock here.
    visual_anchors: list[Item] = Field(default_factory=list)
    lighting: Lighting = Field(title="lighting rules")
    environment: Environment = Field(title="environmental conditions")
    palette: list[HexColour] = Field(default_factory=list)
    prop_anchors: list[Item] = Field(default_factory=list)
    tone_rules: list[Item] = Field(default_factory=list, title="tone / atmosphere rules")
    forbidden_drift: list[Item] = Field(default_factory=list)
    # Issue 16 §4: the rooms and areas of the set ("KITCHEN", "Cellar stairs"); a scene at
    # any of them (``FARMHOUSE_KITCHEN``, or ``KITCHEN`` itself) resolves to this lock. Written
    # only when declared, so the locks made before it read and render as they did.
    places: list[Item] = Field(
        default_factory=list,
        title="places",
        description="the set's rooms and areas, each a place a scene may name",
        json_schema_extra={OMIT_WHEN_EMPTY: True},
    )


class Tone(SubModel):
    """Tone profile of a voice."""

    pitch: Literal["low", "mid", "high"]
    timbre: Text
    energy: Text


MIN_WPM, MAX_WPM = 80, 450  # the rates espeak-ng speaks; hosted voices sit well inside
_WPM = re.compile(r"(\d+(?:\.\d+)?)\s*(?:wpm|words?\s*(?:a|per|/)\s*min)", re.IGNORECASE)


def words_per_minute(speed: str) -> float | None:
    """The rate a voice lock's ``cadence.speed`` gives in words a minute, if it gives one."""
    match = _WPM.search(speed)
    return float(match.group(1)) if match else None


class Cadence(SubModel):
    """Cadence of a voice."""

    sentence_length: Literal["short", "medium", "long"]
    pauses: Text
    speed: Text
    hesitations: Text

    @field_validator("speed")
    @classmethod
    def _a_speakable_rate(cls, speed: str) -> str:
        """A rate in words a minute ("160 wpm") is spoken as written, so it must be one a
        voice can speak."""
        rate = words_per_minute(speed)
        if rate is not None and not MIN_WPM <= rate <= MAX_WPM:
            raise ValueError(
                f"{rate:g} words a minute is outside what a voice speaks ({MIN_WPM}-{MAX_WPM}): "
                "give a rate in that range (e.g. '160 wpm') or words ('slow', 'fast')"
            )
        return speed


class Accent(SubModel):
    """Accent and dialect."""

    region: Text
    strength: Literal["none", "light", "moderate", "strong"]
    vocabulary: Text
    slang_level: Literal["none", "low", "medium", "high"]


class EmotionalRange(SubModel):
    """Emotional delivery range."""

    default: Text
    upper_limit: Text
    baseline: Text
    stress_reaction: Text


class SpeechConstraints(SubModel):
    """What a voice may and may not say."""

    vocabulary_level: Literal["simple", "everyday", "educated", "technical", "ornate"]
    swearing: Literal["never", "rare", "frequent"]
    figurative_language: Text
    directness: Text


class VoiceLock(DocumentArtifact):
    """A speaking character's locked voice."""

    KIND: ClassVar[str] = "VOICE_LOCK"
    EXTENSION: ClassVar[str] = "txt"
    TITLE: ClassVar[str] = "VOICE LOCK"
    SUBJECT_FIELD: ClassVar[str | None] = "name"

    name: Name
    tone: Tone = Field(title="tone profile")
    cadence: Cadence
    accent: Accent = Field(title="accent / dialect")
    emotional_range: EmotionalRange = Field(title="emotional delivery range")
    constraints: SpeechConstraints = Field(title="speech constraints")
    signature_phrases: list[Item] = Field(default_factory=list)
    forbidden_drift: list[Item] = Field(default_factory=list)
    external_voice_id: Text | None = None


class StyleLock(DocumentArtifact):
    """The look of the production; first in every GenPack."""

    KIND: ClassVar[str] = "STYLE_LOCK"
    EXTENSION: ClassVar[str] = "txt"
    TITLE: ClassVar[str] = "STYLE LOCK"
    SUBJECT_FIELD: ClassVar[str | None] = "name"

    name: Name
    medium: Text
    palette: list[HexColour] = Field(default_factory=list)
    lens_film_look: Paragraphs = Field(title="lens / film look")
    grading: Paragraphs
    forbidden_drift: list[Item] = Field(default_factory=list)


# -- world state (.json) --------------------------------------------------------------------


class Timeline(SubModel):
    """Where the story is in time."""

    current_scene: SceneId | None = None
    elapsed_time: Text = ""
    global_notes: list[Item] = Field(default_factory=list)


class CharacterState(Version2Fields):
    """A character's state. Empty text means unknown or none."""

    injuries: list[Item] = Field(default_factory=list)
    knowledge: list[Item] = Field(default_factory=list)
    inventory: list[Item] = Field(default_factory=list)
    emotional_state: Text = ""
    location: Text = ""
    V2_FIELDS: ClassVar[tuple[str, ...]] = ("wardrobe", "injury_signs")
    # schema version 2 (issue 16 §3):
    wardrobe: Text = Field("", description="what they wear now ('' = their lock's default)")
    injury_signs: dict[Item, list[Item]] = Field(
        default_factory=dict,
        description="injury (as recorded) -> its visible signs ('limp', 'sling', 'bandage')",
    )


class PropState(SubModel):
    """A prop's owner, place and condition ('' = none/unknown)."""

    owner: Text = ""
    location: Text = ""
    status: Text = ""


class LocationState(SubModel):
    """A location's current condition."""

    condition: Text = ""
    lighting_state: Text = ""
    notes: Text = ""


class Rules(SubModel):
    """The fiction's rules."""

    fictional_constraints: list[Item] = Field(default_factory=list)
    modified_rules: list[Item] = Field(default_factory=list)


class WorldState(JsonArtifact):
    """The canonical state of the world after a scene; changed only through diffs."""

    KIND: ClassVar[str] = "WORLD_STATE"
    SCHEMA_VERSION: ClassVar[int] = STATE_SCHEMA_VERSION

    timeline: Timeline = Field(default_factory=Timeline)
    characters: dict[Id, CharacterState] = Field(default_factory=dict)
    props: dict[Id, PropState] = Field(default_factory=dict)
    locations: dict[Id, LocationState] = Field(default_factory=dict)
    rules: Rules = Field(default_factory=Rules)

    @field_validator("characters", "props", "locations")
    @classmethod
    def _sorted_by_id(cls, value: dict[str, Any]) -> dict[str, Any]:
        return sorted_by_key(value)

    @model_validator(mode="before")
    @classmethod
    def _upgraded(cls, data: Any) -> Any:
        return upgrade_world_state(data) if isinstance(data, dict) else data


class CharacterUpdate(Version2Fields):
    """Changes to one character (None = unchanged)."""

    add_injuries: list[Item] = Field(default_factory=list)
    heal_injuries: list[Item] = Field(default_factory=list)
    learn: list[Item] = Field(default_factory=list)
    gain_items: list[Item] = Field(default_factory=list)
    lose_items: list[Item] = Field(default_factory=list)
    location: Text | None = None
    emotional_state: Text | None = None
    via: Text | None = None
    V2_FIELDS: ClassVar[tuple[str, ...]] = ("wardrobe", "injury_signs")
    # schema version 2 (issue 16 §3):
    wardrobe: Text | None = Field(None, description="the new costume (replaces wardrobe)")
    injury_signs: dict[Item, list[Item]] = Field(
        default_factory=dict, description="injury -> its visible signs, for injuries they have"
    )


class PropUpdate(Version2Fields):
    """A prop's change; ``via`` names the event (props never teleport), ``from`` the giver."""

    # ``from`` is a Python keyword: the field is ``giver`` in code, ``from`` in the file.
    model_config = ConfigDict(
        extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    location: Text | None = None
    owner: Text | None = None
    status: Text | None = None
    via: Item
    V2_FIELDS: ClassVar[tuple[str, ...]] = ("giver",)
    # schema version 2 (issue 16 §3): who hands it over ('' = nobody: it is picked up);
    # null = not said (version 1 files): the recorded holder.
    giver: Text | None = Field(None, alias="from")


class LocationUpdate(SubModel):
    """Changes to one location (None = unchanged)."""

    condition: Text | None = None
    lighting_state: Text | None = None
    notes: Text | None = None


class TimelineUpdate(SubModel):
    """Time passing in the scene."""

    elapsed_time: Text | None = None
    notes: list[Item] = Field(default_factory=list)


class RuleUpdates(SubModel):
    """Rules added or modified by the scene."""

    add_constraints: list[Item] = Field(default_factory=list)
    modify_rules: list[Item] = Field(default_factory=list)


class StateDiff(JsonArtifact):
    """What one scene changes in the world state."""

    KIND: ClassVar[str] = "STATE_DIFF"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"
    SCHEMA_VERSION: ClassVar[int] = STATE_SCHEMA_VERSION

    scene_id: SceneId
    character_updates: dict[Id, CharacterUpdate] = Field(default_factory=dict)
    prop_updates: dict[Id, PropUpdate] = Field(default_factory=dict)
    location_updates: dict[Id, LocationUpdate] = Field(default_factory=dict)
    timeline_update: TimelineUpdate = Field(default_factory=TimelineUpdate)
    rule_updates: RuleUpdates = Field(default_factory=RuleUpdates)

    @field_validator("character_updates", "prop_updates", "location_updates")
    @classmethod
    def _sorted_by_id(cls, value: dict[str, Any]) -> dict[str, Any]:
        return sorted_by_key(value)

    @model_validator(mode="before")
    @classmethod
    def _upgraded(cls, data: Any) -> Any:
        return upgrade_state_diff(data) if isinstance(data, dict) else data


# -- continuity report (.md) ----------------------------------------------------------------


class Check(SubModel):
    """The outcome of one continuity check."""

    status: Literal["PASS", "FAIL", "N/A"]
    notes: Text = ""


Category = Literal[
    "character", "set", "prop_inventory", "injury_emotional", "knowledge", "timeline"
]


class Finding(SubModel):
    """One contradiction found."""

    category: Category
    severity: Literal["Low", "Medium", "High"]
    scenes: list[SceneId] = Field(default_factory=list)
    artifacts: list[Entry] = Field(default_factory=list)
    description: Text
    correction: Text = ""


class ContinuityReport(DocumentArtifact):
    """continuity-supervisor's checks, findings and corrections for a target."""

    KIND: ClassVar[str] = "CONTINUITY_REPORT"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "target"

    target: Target
    character_check: Check
    set_check: Check
    prop_inventory_check: Check = Field(title="prop & inventory check")
    injury_emotional_check: Check = Field(title="injury & emotional state check")
    knowledge_check: Check
    timeline_check: Check
    findings: list[Finding] = Field(default_factory=list)
    corrections: list[Item] = Field(default_factory=list)


# -- visual continuity (.json; issue 13 §4) --------------------------------------------------


class CharacterSeen(SubModel):
    """One character as the vision tier sees them in a take's frames."""

    character: Text = Field(description="the character id as the shot lists it, e.g. NELL")
    wearing: Text = Field("", description="what they wear, in a few words")
    injuries: list[Entry] = Field(
        default_factory=list, description="injuries and marks visible on them"
    )
    holding: list[Entry] = Field(
        default_factory=list, description="props in their hands (prop ids where listed)"
    )
    hidden: list[Entry] = Field(
        default_factory=list,
        description="what the framing hides (e.g. 'left arm out of frame'), so it is not judged",
    )


class ShotSeen(SubModel):
    """What the vision tier saw in one shot's take: who, what they wear and hold, the light."""

    shot_id: ShotId
    take: Text = Field("", description="the take's file name")
    characters: list[CharacterSeen] = Field(default_factory=list)
    light: Text = Field("", description="the light: source, colour, time of day")
    kelvin: Annotated[int, Field(ge=1000, le=20000)] | None = None
    anchors: list[Entry] = Field(
        default_factory=list, description="the set lock's anchors the frames show"
    )


class ShotFinding(Finding):
    """A continuity finding on one shot's take (the shot regen would make again)."""

    shot_id: ShotId


class VisualContinuity(JsonArtifact):
    """A scene's accepted takes as seen (per shot, in shot order) and the findings code made
    from them against the world state, the locks and the shot before."""

    KIND: ClassVar[str] = "VISUAL_CONTINUITY"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"

    scene_id: SceneId
    shots: list[ShotSeen] = Field(default_factory=list)
    findings: list[ShotFinding] = Field(default_factory=list)
