"""A synthetic production: every model-backed skill answered offline, deterministically.

:class:`SyntheticFilm` plays the part of every text model a production needs. Its
:meth:`~SyntheticFilm.answer` is a function of the request, so it plugs straight into
:class:`filmslate.testing.ScriptedTextModel`: it reads which skill is asking (``request.skill``),
about which target (``request.target``), and, where one request cannot say it alone, the
subject named in the prompt (the scene a breakdown call is about, the character a lock is
for). Every answer is derived from the film's shape (scenes, shots per scene, characters,
sets) and a seed: the same film gives the same answers, byte for byte, in any process.

The answers are built to pass every gate, so a whole production of N scenes and M shots per
scene runs to a cut with no person and no network:

- each scene has two characters (rotating through the cast), one set, a three-sentence
  summary and a concrete goal, conflict and outcome;
- each character owns one prop, brought into the story in their first scene, and learns one
  fact there: the world state stays the size of the cast, however long the film;
- the shot list of a scene mixes hero tiers (one hero-A close-up per four shots at most, so
  the premium visual quota holds in every scene), never puts a hero A in a wide shot, and
  keeps every shot within the clip limits.

:class:`SyntheticVideo` is the matching video provider: it serves one small, valid MP4 per
(size, frame rate, frame count), encoded once per process and reused, whose moving picture
passes qc-grader's technical checks (no black, frozen, flickering or cut frames; colours
from :data:`CLIP_PALETTE`, which every synthetic set lock carries). Its job ids describe the
clip, so a resumed run after a crash downloads the same job in another process.

:func:`synthetic_project` creates a project wired to both; :func:`synthetic_runner` opens an
existing one (as a second process after a crash does)::

    runner, film = synthetic_project(tmp / "film", scenes=2, shots_per_scene=3)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete"
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
from pydantic import BaseModel

from .core._config import CONFIG_FILE
from .core._errors import ProviderError
from .engine._gateway import TextRequest
from .engine._video import JobStatus, VideoJob, VideoProvider
from .schemas import (
    CharLock,
    Claim,
    PersonaReactions,
    Premise,
    SceneRow,
    SetLock,
    ShotList,
    ShotRow,
    StateDiff,
    StyleLock,
    VoiceLock,
)
from .skills.continuity._supervisor import SupervisorAnswer
from .skills.narrative import (
    BeatStakes,
    BreakdownAnswer,
    CharacterJudgment,
    DialogueAnswer,
    PropOwner,
    PsychAnswer,
    SpeakerAnswer,
    StoryAnswer,
)
from .skills.production._qc import RubricAnswer
from .skills.validation import (
    AudienceAnswer,
    CultureAnswer,
    PlausibilityAnswer,
    RedTeamAnswer,
    ResearchAnswer,
)
from .store._project import Project
from .testing import scripted_runner

if TYPE_CHECKING:
    from .engine._runner import Runner

__all__ = ["CLIP_PALETTE", "VIDEO_MODEL", "Settings", "SyntheticFilm", "SyntheticVideo",
           "clip_bytes", "configured", "set_key", "synthetic_project", "synthetic_runner"]

VIDEO_MODEL = "synthetic"
"""The model name every visual tier of a synthetic project maps to."""
CLIP_PALETTE = ("#3C5064", "#5A6E82", "#788CA0")
"""The colours of the synthetic clips: a slow blue-grey wave (every set lock carries them)."""
TITLE = "The Harbour Signal"
STYLE_NAME = "GREY_HARBOUR"
TIME_OF_DAY = "DAY"

_FIRST_NAMES = ("ADA", "BRAM", "CORA", "DESMOND", "ELKE", "FARID", "GRETA", "HUGO", "ILSE",
                "JONAS", "KAIA", "LEON", "MIRA", "NILS", "ORLA", "PIET")
_SET_NAMES = ("HARBOUR_OFFICE", "SIGNAL_TOWER", "NET_LOFT", "TRAM_DEPOT", "GLASSHOUSE",
              "SALT_MARKET", "FERRY_QUAY", "CHART_ROOM")
_OBJECTS = ("LEDGER", "LANTERN", "COMPASS", "KEYRING", "SATCHEL", "SPYGLASS", "NOTEBOOK",
            "TOOLROLL")
_COLOURS = (("navy", "#1F2A44"), ("rust", "#8A3B1E"), ("olive", "#4B5320"),
            ("charcoal", "#36454F"), ("ochre", "#C8893A"), ("teal", "#2F6F73"))
_EYES = ("green", "brown", "grey", "hazel", "blue", "amber")
_HAIR = ("dark brown, cropped close at the sides", "black, tied back at the nape",
         "copper red, cut level with the jaw", "silver grey, combed straight back")
_BUILDS = ("lean, 1.78 m, long arms", "broad-shouldered, 1.70 m, square hands",
           "slight, 1.62 m, quick on the feet", "stocky, 1.75 m, thick forearms")
_TEMPERS = ("patient and watchful", "brisk and decisive", "warm and stubborn",
            "dry and exacting")
_MOODS = ("focused", "wary", "hopeful", "determined", "tired but steady", "resolved")
_PITCHES = (("low", "warm and rounded"), ("mid", "clear and even"), ("high", "light and bright"))
_CAMERAS = ("wide", "two_shot", "close_up", "medium")


def _pick(options: tuple[Any, ...], *keys: int | str) -> Any:
    """A deterministic choice from ``options`` for the given keys (no global randomness)."""
    digest = zlib.crc32(":".join(str(k) for k in keys).encode("utf-8"))
    return options[digest % len(options)]


@dataclass(frozen=True)
class SyntheticFilm:
    """A film of ``scenes`` scenes and ``shots_per_scene`` shots each, answered offline.

    ``answer(request)`` returns the structured answer of any model-backed skill. Content is a
    function of (scene index, shot index, seed) only. ``qc_failures`` maps a shot id to how
    many of its first QC attempts the vision model fails (with ``[qc] rubric_source =
    "model"``), to exercise the regeneration loop.
    """

    scenes: int
    shots_per_scene: int
    characters: int = 4
    sets: int = 3
    seed: int = 0
    qc_failures: Mapping[str, int] = field(default_factory=dict)

    SKILLS: ClassVar[tuple[str, ...]] = (
        "story-architect", "script-breakdown", "character-lock", "set-lock", "voice-lock",
        "character-psychology", "dialogue-consistency-check", "research-agent",
        "plausibility-auditor", "cultural-check", "narrative-red-team",
        "narrative-red-team-light", "audience-simulator", "world-state-tracker",
        "continuity-supervisor", "shot-planner", "qc-grader")

    def __post_init__(self) -> None:
        if self.scenes < 1 or self.shots_per_scene < 1:
            raise ValueError("a synthetic film needs at least one scene and one shot per scene")
        if self.characters < 1 or self.sets < 1:
            raise ValueError("a synthetic film needs at least one character and one set")

    # -- the answerer ---------------------------------------------------------------------

    def answer(self, request: TextRequest) -> BaseModel:
        """The answer to one request (pass this method to ScriptedTextModel)."""
        handlers: dict[str, Callable[[TextRequest], BaseModel]] = {
            "story-architect": lambda r: self.story(),
            "script-breakdown": lambda r: self.breakdown(_scene_in(r.prompt)),
            "character-lock": lambda r: self.char_lock(_subject_in(r.prompt)),
            "set-lock": lambda r: self.set_lock(_subject_in(r.prompt)),
            "voice-lock": lambda r: self.voice_lock(_subject_in(r.prompt)),
            "character-psychology": lambda r: self.psych(r.target),
            "dialogue-consistency-check": lambda r: self.dialogue(r.prompt),
            "research-agent": lambda r: self.research(),
            "plausibility-auditor": lambda r: self.plausibility(),
            "cultural-check": lambda r: self.culture(),
            "narrative-red-team": lambda r: self.red_team(),
            "narrative-red-team-light": lambda r: self.red_team(),
            "audience-simulator": lambda r: self.audience(),
            "world-state-tracker": lambda r: self.state_diff(r.target),
            "continuity-supervisor": lambda r: SupervisorAnswer(),
            "shot-planner": lambda r: self.shot_list(r.target),
            "qc-grader": lambda r: self.rubric(r.target, r.attempt),
        }
        handler = handlers.get(request.skill)
        if handler is None:
            raise ProviderError(f"the synthetic film has no answer for {request.skill}: it "
                                f"answers {', '.join(self.SKILLS)}", skill=request.skill)
        return handler(request)

    # -- the film's shape -------------------------------------------------------------------

    @property
    def cast(self) -> list[str]:
        """Every character id, in order."""
        out = []
        for i in range(self.characters):
            base = _FIRST_NAMES[i % len(_FIRST_NAMES)]
            out.append(base if i < len(_FIRST_NAMES) else f"{base}_{i // len(_FIRST_NAMES) + 1}")
        return out

    @property
    def set_names(self) -> list[str]:
        """Every set id, in order."""
        out = []
        for i in range(self.sets):
            base = _SET_NAMES[i % len(_SET_NAMES)]
            out.append(base if i < len(_SET_NAMES) else f"{base}_{i // len(_SET_NAMES) + 1}")
        return out

    def scene_id(self, index: int) -> str:
        """``S01`` for index 0 (three digits from 100 scenes on, as SPEC §3 widens them)."""
        return f"S{index + 1:0{max(2, len(str(self.scenes)))}d}"

    def shot_id(self, index: int, shot: int) -> str:
        """``S01_SH01`` for scene 0, shot 0."""
        width = max(2, len(str(self.shots_per_scene)))
        return f"{self.scene_id(index)}_SH{shot + 1:0{width}d}"

    def scene_index(self, scene_id: str) -> int:
        """The index of ``S03`` (2)."""
        index = int(scene_id[1:]) - 1
        if not 0 <= index < self.scenes:
            raise ProviderError(f"{scene_id} is not a scene of this synthetic film "
                                f"({self.scenes} scenes)", target=scene_id)
        return index

    def scene_cast(self, index: int) -> list[str]:
        """The characters of a scene: two neighbours in the cast, rotating scene by scene."""
        cast = self.cast
        first = (index + self.seed) % len(cast)
        return list(dict.fromkeys([cast[first], cast[(first + 1) % len(cast)]]))

    def location(self, index: int) -> str:
        """The set of a scene."""
        sets = self.set_names
        return sets[(index + self.seed) % len(sets)]

    def first_scene_of(self, character: str) -> int:
        """The index of the scene where a character first appears."""
        return next(i for i in range(self.scenes) if character in self.scene_cast(i))

    def prop_of(self, character: str) -> str:
        """The prop a character owns (``ADA_LEDGER``)."""
        return f"{character}_{_pick(_OBJECTS, self.seed, character)}"

    def fact_of(self, character: str) -> str:
        """The one fact a character learns when first seen (and knows from their lock)."""
        return (f"{character.replace('_', ' ').title()} knows the harbour signal has failed "
                "three nights running")

    # -- the source material ----------------------------------------------------------------

    def premise(self) -> Premise:
        """The PREMISE this film grows from."""
        return Premise(title=TITLE, logline=(
            "When the harbour signal fails before the winter storm, the keepers of a small "
            "port work scene by scene to find the fault and light it again."),
            genre="drama", tone="steady, practical, warm under pressure",
            length="feature" if self.scenes > 30 else "short",
            theme="a town is kept by the people who keep its lights",
            characters=self.cast)

    def style_lock(self) -> StyleLock:
        """The production's STYLE lock."""
        return StyleLock(
            name=STYLE_NAME, medium="live-action look, 35mm spherical photography",
            palette=[*CLIP_PALETTE, "#E8DCC8"],
            lens_film_look="35mm and 50mm primes, deep focus on rooms, fine film grain.",
            grading="Cool blue-grey shadows, natural skin, highlights held below white.",
            forbidden_drift=["neon signage", "cartoon or anime rendering"])

    # -- narrative ----------------------------------------------------------------------------

    def scene_row(self, index: int) -> SceneRow:
        """One row of SCENES: three sentences of summary and a concrete goal, conflict and
        outcome."""
        cast = self.scene_cast(index)
        lead, other = cast[0], cast[-1]
        place = self.location(index).replace("_", " ").lower()
        names = " and ".join(c.replace("_", " ").title() for c in cast)
        return SceneRow(
            scene_id=self.scene_id(index),
            summary=(f"{names} meet at the {place} at stage {index + 1} of the repair. They "
                     "compare the signal readings of the last three nights. The plan for "
                     "the lamp moves one step closer to the storm."),
            goal=f"{_title(lead)} wants {_title(other)} to check the signal log at the {place}.",
            conflict=f"{_title(other)} doubts the log and insists on a second reading.",
            outcome=f"{_title(lead)} and {_title(other)} agree on the next reading at the "
                    f"{place}.",
            location=self.location(index), time_of_day=TIME_OF_DAY,
            characters_present=cast)

    def story(self) -> StoryAnswer:
        """story-architect: six beats with rising stakes, and every scene."""
        return StoryAnswer(
            central_dramatic_question="Will the keepers relight the harbour signal before "
                                      "the winter storm?",
            inciting_incident="The harbour signal goes dark three nights before the winter "
                              "storm is due.",
            escalation_sequence=["The spare lamp in the store is cracked.",
                                 "The supply ferry is cancelled until after the storm.",
                                 "The tower's wiring fails its first test."],
            midpoint_shift="The keepers find that the fault is in the town's own cable, not "
                           "the lamp, and must work from the quay instead of the tower.",
            crisis="With the storm at the harbour mouth, the only working cable runs through "
                   "the flooded depot.",
            climax="The keepers relight the harbour signal an hour before the winter storm "
                   "reaches the quay.",
            climax_answers="Yes: the signal burns again before the storm arrives.",
            resolution="The ferry comes home on the signal's light and the keepers hand the "
                       "tower back to the town.",
            escalation=[BeatStakes(beat="inciting incident: the signal goes dark", level=3),
                        BeatStakes(beat="the spare lamp is cracked", level=4),
                        BeatStakes(beat="midpoint: the fault is in the town cable", level=6),
                        BeatStakes(beat="crisis: the cable runs through the depot", level=8),
                        BeatStakes(beat="climax: the signal burns again", level=9)],
            midpoint_changes_trajectory=True,
            midpoint_explanation="Before it the keepers mend a lamp; after it they must "
                                 "repair the town's cable from the quay.",
            scenes=[self.scene_row(i) for i in range(self.scenes)])

    def breakdown(self, scene_id: str) -> BreakdownAnswer:
        """script-breakdown for one scene: the cast's props, their owners, what changes."""
        index = self.scene_index(scene_id)
        cast = self.scene_cast(index)
        place = self.location(index)
        return BreakdownAnswer(
            added_props=[self.prop_of(c) for c in cast],
            prop_owners=[PropOwner(prop=self.prop_of(c), owner=c) for c in cast],
            state_changes=[f"{c} comes to {place}" for c in cast],
            continuity_risks=[f"{self.prop_of(c)} stays with {c} in every scene" for c in cast])

    def char_lock(self, name: str) -> CharLock:
        """character-lock: a precise, checkable look, manner and knowledge."""
        colour, hexcode = _pick(_COLOURS, self.seed, name, "coat")
        marks = f"a small mole above the {_pick(('left', 'right'), self.seed, name)} eyebrow"
        return CharLock.model_validate({
            "name": name,
            "appearance": {"age_range": str(28 + zlib.crc32(name.encode()) % 30),
                           "build": _pick(_BUILDS, self.seed, name),
                           "hair": _pick(_HAIR, self.seed, name),
                           "eyes": _pick(_EYES, self.seed, name), "distinguishing_marks": [marks]},
            "wardrobe": {"default_outfit": f"{colour} wool coat over a grey jumper, dark "
                                           "trousers, brown leather boots",
                         "palette": [hexcode, "#808080", "#3B2A1E"],
                         "accessories": ["brass pocket watch on a short chain"]},
            "behavior": {"speech_patterns": "short, exact sentences; names times and places",
                         "temperament": _pick(_TEMPERS, self.seed, name),
                         "decision_style": "checks the facts twice, then acts at once",
                         "stress_behavior": "goes quiet and counts under the breath",
                         "default_emotional_tone": "dry good humour"},
            "voice_profile": "An even voice that slows down on numbers.",
            "knowledge_at_introduction": [self.fact_of(name)],
            "visual_anchors": [f"{colour} wool coat", "brass pocket watch on a short chain",
                               marks],
            "forbidden_drift": ["no hat", "the coat never changes colour"]})

    def set_lock(self, name: str) -> SetLock:
        """set-lock: layout, three anchors, daylight, the clip palette."""
        words = name.replace("_", " ").lower()
        return SetLock.model_validate({
            "name": name,
            "layout": {"geometry": "rectangular room 8 m by 5 m with a 3 m ceiling",
                       "entries_exits": "one door on the north wall and a stair to the loft",
                       "windows": "three tall windows on the east wall",
                       "spatial_relations": "the work table stands under the middle window; "
                                            "the door faces the stair"},
            "visual_anchors": [f"painted sign reading {words.upper()} above the door",
                               "long oak work table under the middle window",
                               "tide chart pinned beside the stair"],
            "lighting": {"temperature_k": 5600,
                         "primary_source": "daylight through the east windows",
                         "shadow": "soft", "contrast": "low",
                         "allowed_variation": "passing cloud dims the windows for a few "
                                              "seconds"},
            "environment": {"weather": "overcast and dry",
                            "ambient_sound": "gulls and a distant foghorn",
                            "time_of_day": "day",
                            "cleanliness_decay": "swept floor, paint worn at the door frame"},
            "palette": [*CLIP_PALETTE, _pick(_COLOURS, self.seed, name)[1]],
            "prop_anchors": [f"props rest on the work table of the {words} when not in hand"],
            "tone_rules": ["quiet and practical: working light, no spectacle"],
            "forbidden_drift": ["no neon signs", "no modern cars outside the windows"]})

    def voice_lock(self, name: str) -> VoiceLock:
        """voice-lock: pitch and timbre that agree, a plain accent, a defined range."""
        pitch, timbre = _pick(_PITCHES, self.seed, name, "voice")
        return VoiceLock.model_validate({
            "name": name,
            "tone": {"pitch": pitch, "timbre": timbre, "energy": "steady"},
            "cadence": {"sentence_length": "short", "pauses": "a beat before each answer",
                        "speed": "measured", "hesitations": "none"},
            "accent": {"region": "neutral", "strength": "none",
                       "vocabulary": "plain working words of the harbour", "slang_level": "low"},
            "emotional_range": {"default": "level and courteous",
                                "upper_limit": "a firm, raised voice, never a shout",
                                "baseline": "dry good humour",
                                "stress_reaction": "speaks slower and lower"},
            "constraints": {"vocabulary_level": "everyday", "swearing": "never",
                            "figurative_language": "none", "directness": "direct and plain"},
            "signature_phrases": ["Check it twice."],
            "forbidden_drift": ["never swears", "never shouts"]})

    def psych(self, scene_id: str) -> PsychAnswer:
        """character-psychology: every character present, no drift."""
        index = self.scene_index(scene_id)
        return PsychAnswer(characters=[CharacterJudgment(
            character=c,
            motivation_alignment=f"{_title(c)} wants the signal lit, as in every scene so far.",
            emotional_continuity=f"{_title(c)} stays {self.mood(index, c)}, in line with the "
                                 "lock's dry good humour.",
            trauma_history_influence="Years on the harbour make the failing light personal.",
            arc_progression_status="Steady: one more step of the repair.",
            reaction_proportionate=True, arc_change_has_catalyst=True, drift_warning="NO")
            for c in self.scene_cast(index)])

    def dialogue(self, prompt: str) -> DialogueAnswer:
        """dialogue-consistency-check: every speaker of the dialogue section, distinct."""
        section = prompt.split("## Dialogue of", 1)[-1].split("\n## ", 1)[0]
        speakers = dict.fromkeys(m.group(1) for m in re.finditer(r"^- ([^:\n]+):", section,
                                                                   re.MULTILINE))
        return DialogueAnswer(characters=[SpeakerAnswer(
            character=s, voice_assessment="Holds the locked voice.",
            vocabulary_consistency="Plain working words, as locked.",
            tone_alignment="Level and courteous.", emotional_authenticity="Fits the scene.",
            distinctiveness=4) for s in speakers])

    # -- validation ---------------------------------------------------------------------------

    def research(self) -> ResearchAnswer:
        """research-agent: one licensed claim, low risk, no real culture."""
        return ResearchAnswer(
            claims=[Claim(claim="A harbour signal lamp is serviced from the tower gallery.",
                          status="Creative License",
                          creative_license_note="the port and its routine are invented for "
                                                "the story")],
            realism_risk="low", cultural_context=False,
            cultural_context_note="a fictional port; no real culture, period or community is "
                                  "central")

    def plausibility(self) -> PlausibilityAnswer:
        """plausibility-auditor: full marks, nothing flagged."""
        return PlausibilityAnswer(procedural=2, physical=2, emotional=2, logistical=2,
                                  internal_consistency=2)

    def culture(self) -> CultureAnswer:
        """cultural-check (only asked when a truth packet names a culture): a passing score."""
        text = "Nothing in the scene misrepresents the community."
        return CultureAnswer(cultural_accuracy=text, dialect_language=text,
                             historical_alignment=text, social_norms=text, stereotype_risk=text,
                             authenticity_score=4)

    def red_team(self) -> RedTeamAnswer:
        """narrative-red-team: weaknesses found, no critical failure, two different fixes."""
        return RedTeamAnswer(
            hidden_weaknesses=["the cancelled ferry needs one line of cause so it reads as "
                               "weather, not luck"],
            stakes_audit="The stakes rise with every failed part and the storm's approach.",
            tension_audit="Tension dips in the middle scenes of readings; the clock holds it.",
            thematic_consistency="Every scene argues that a town is kept by its keepers.",
            fix_conservative="Add one line about the storm warning to the ferry scene.",
            fix_structural="Move the cable discovery earlier so the midpoint pays off a setup.")

    def audience(self) -> AudienceAnswer:
        """audience-simulator: three reactions, clear stakes, good scores."""
        return AudienceAnswer(
            reactions=PersonaReactions(
                mainstream_viewer="Follows the race against the storm with ease.",
                genre_fan="A tidy procedural drama with a clear clock.",
                critical_viewer="Restrained and well shaped, if a little even in the middle."),
            engagement_dips=["the middle run of reading scenes"],
            emotional_peaks=["the signal burns again before the storm"],
            predictability=3, clarity=4, engagement=4, stakes_clear_after_act_one=True)

    # -- continuity ---------------------------------------------------------------------------

    def mood(self, index: int, character: str) -> str:
        """A character's emotional state in a scene."""
        return str(_pick(_MOODS, self.seed, index, character))

    def state_diff(self, scene_id: str) -> StateDiff:
        """world-state-tracker: where the cast goes, how they feel, and first appearances
        (a character's prop and single fact enter with them: the state stays small)."""
        index = self.scene_index(scene_id)
        place = self.location(index)
        characters: dict[str, Any] = {}
        props: dict[str, Any] = {}
        for c in self.scene_cast(index):
            update: dict[str, Any] = {"location": place, "emotional_state": self.mood(index, c)}
            if self.first_scene_of(c) == index:
                update["learn"] = [self.fact_of(c)]
                props[self.prop_of(c)] = {
                    "owner": c, "location": place, "status": "in working order",
                    "via": f"{_title(c)} brings the {self.prop_of(c).split('_')[-1].lower()} "
                           "into the story"}
            characters[c] = update
        return StateDiff.model_validate({
            "scene_id": scene_id, "character_updates": characters, "prop_updates": props,
            "location_updates": {place: {"condition": "in use and tidy",
                                         "lighting_state": "daylight through the windows"}},
            "timeline_update": {"elapsed_time": f"day {index + 1}"}})

    # -- production ---------------------------------------------------------------------------

    def shot_rows(self, index: int) -> list[ShotRow]:
        """The planned shots of a scene (see :meth:`shot_row`)."""
        heroes = self.shots_per_scene // 4  # the premium visual quota: 25% of a scene
        rows = []
        for shot in range(self.shots_per_scene):
            row = self.shot_row(index, shot, hero_a=heroes > 0 and _CAMERAS[shot % 4] ==
                                "close_up")
            heroes -= row.hero_tier == "A"
            rows.append(row)
        return rows

    def shot_row(self, index: int, shot: int, hero_a: bool = False) -> ShotRow:
        """One shot: wide coverage (C), a two-shot (B), a close-up (A or B) or a single (B),
        in turn; one or two characters at most, short durations, hero A never wide."""
        cast = self.scene_cast(index)
        camera = _CAMERAS[shot % 4]
        place = self.location(index)
        one = cast[(shot // 4) % len(cast)]
        chars = {"wide": [], "two_shot": cast, "close_up": [one], "medium": [cast[-1]]}[camera]
        hero = "C" if camera == "wide" else "A" if hero_a else "B"
        words = place.replace("_", " ").lower()
        blocking = {"wide": f"The {words} from the door: the work table, the windows, the "
                            "tide chart",
                    "two_shot": f"{' and '.join(_title(c) for c in chars)} lean over the "
                                "signal log on the work table",
                    "close_up": f"{_title(one)} reads the last figure and looks up, resolved",
                    "medium": f"{_title(cast[-1])} checks the reading against the tide chart"}
        return ShotRow(
            shot_id=self.shot_id(index, shot), scene_id=self.scene_id(index),
            duration_s=3.0 if camera in ("wide", "close_up") else 4.0, camera_type=camera,
            blocking_summary=blocking[camera], set_id=place, char_ids=chars, hero_tier=hero,
            complexity_level="low" if camera == "wide" else "medium",
            regen_risk_estimate="low" if hero == "C" else "medium",
            notes="emotional anchor; locked-off camera" if hero == "A" else "")

    def shot_list(self, scene_id: str) -> ShotList:
        """shot-planner: the scene's shots."""
        return ShotList(rows=self.shot_rows(self.scene_index(scene_id)))

    def rubric(self, shot_id: str, attempt: int) -> RubricAnswer:
        """qc-grader (model rubric): compliant, except the first attempts ``qc_failures``
        names for this shot, which lose the light (a severe lighting score)."""
        failing = attempt <= self.qc_failures.get(shot_id, 0)
        return RubricAnswer(
            face_consistency=2, wardrobe_consistency=2, set_continuity=2, prop_accuracy=2,
            lighting_consistency=0 if failing else 2, motion_integrity=2,
            notes="the key light jumps to a warm tungsten tint halfway through" if failing
            else "faces, wardrobe, set anchors and light hold the locks")


def _title(character: str) -> str:
    return character.replace("_", " ").title()


_SCENE_LINE = re.compile(r"^- scene: (S\d{2,})$", re.MULTILINE)
_LOCK_SUBJECT = re.compile(r"^Write the [A-Z ]+ for ([A-Z0-9_]+)\.$", re.MULTILINE)


def _scene_in(prompt: str) -> str:
    """The scene a script-breakdown request is about (one request per scene)."""
    found = _SCENE_LINE.search(prompt)
    if found is None:
        raise ProviderError("the synthetic film cannot tell which scene this breakdown "
                            "request is about (no '- scene: S..' line)")
    return found.group(1)


def _subject_in(prompt: str) -> str:
    """The subject a lock request is about ("Write the SET LOCK for NET_LOFT.")."""
    found = _LOCK_SUBJECT.search(prompt)
    if found is None:
        raise ProviderError("the synthetic film cannot tell which subject this lock request "
                            "is about (no 'Write the ... for NAME.' line)")
    return found.group(1)


# -- video --------------------------------------------------------------------------------------

_CLIP_ID = re.compile(r"synthetic-(\d+)x(\d+)-(\d+)fps-(\d+)f-[0-9a-f]{8}")
_WAVE_FRAMES = 16  # frames per cycle of the moving wave: smooth motion, never frozen
_BASE = np.array([90.0, 110.0, 130.0])  # CLIP_PALETTE's middle colour
_SWING = 30.0  # the wave's amplitude: CLIP_PALETTE's outer colours


@cache
def clip_bytes(width: int, height: int, fps: int, frames: int) -> bytes:
    """A valid H.264 MP4: a blue-grey wave drifting across the frame, encoded once per process.

    The wave spans exactly one period across the frame, so the mean brightness never changes
    (no flicker) while every frame differs from the last (no frozen frames).
    """
    x = np.arange(width) / width
    pictures = []
    for t in range(frames):
        wave = np.sin(2 * np.pi * (x - t / _WAVE_FRAMES))
        row = _BASE[None, :] + _SWING * wave[:, None]
        pictures.append(np.broadcast_to(row, (height, width, 3)).astype(np.uint8).tobytes())
    with tempfile.TemporaryDirectory(prefix="filmslate-synthetic-") as folder:
        out = Path(folder) / "clip.mp4"
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
                   "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
                   "-pix_fmt", "yuv420p", "-threads", "1", "-fflags", "+bitexact",
                   "-flags:v", "+bitexact", "-map_metadata", "-1", "-an", str(out)]
        result = subprocess.run(command, input=b"".join(pictures), capture_output=True,
                                check=False)
        if result.returncode:
            raise ProviderError("ffmpeg could not encode the synthetic clip: "
                                + result.stderr.decode("utf-8", "replace").strip()[-200:])
        return out.read_bytes()


class SyntheticVideo(VideoProvider):
    """An offline video model serving :func:`clip_bytes` clips at a flat price.

    The job id names the clip (size, rate, frame count), so any process can download a job
    another one submitted: after a crash the resumed run pays nothing twice.
    """

    name: ClassVar[str] = VIDEO_MODEL
    offline: ClassVar[bool] = True

    def __init__(self, price_proxy: float = 0.01, price_final: float = 0.02,
                 final_width: int | None = None) -> None:
        self.price_proxy = price_proxy
        self.price_final = price_final
        self.final_width = final_width  # final renders are priced as final (wider) frames
        self.submitted = 0

    def submit(self, job: VideoJob) -> str:
        """Accept a job; its id encodes the clip to serve."""
        if job.duration_s > self.max_clip_s:
            raise ProviderError(f"{job.shot_id}: {job.duration_s:g}s exceeds the "
                                f"{self.max_clip_s:g}s clip limit")
        self.submitted += 1
        frames = max(1, round(job.duration_s * job.fps))
        digest = zlib.crc32(f"{job.shot_id}\n{job.prompt}".encode()) & 0xFFFFFFFF
        return f"synthetic-{job.width}x{job.height}-{job.fps}fps-{frames}f-{digest:08x}"

    def poll(self, job_id: str) -> JobStatus:
        """Done at once."""
        _parse_job(job_id)
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        """The clip the job id names."""
        return clip_bytes(*_parse_job(job_id))

    def price_per_second(self, width: int, height: int) -> float:
        """The flat price of the resolution tier this width belongs to."""
        final = self.final_width is not None and width >= self.final_width
        return self.price_final if final else self.price_proxy


def _parse_job(job_id: str) -> tuple[int, int, int, int]:
    found = _CLIP_ID.fullmatch(job_id)
    if found is None:
        raise ProviderError(f"unknown synthetic job {job_id!r}", job_id=job_id)
    width, height, fps, frames = (int(g) for g in found.groups())
    return width, height, fps, frames


# -- projects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What :func:`synthetic_project` writes into filmslate.toml (small, fast media)."""

    proxy: tuple[int, int, int] = (128, 72, 8)
    final: tuple[int, int, int] = (256, 144, 8)
    price_proxy: float = 0.01
    price_final: float = 0.02
    rubric_source: str = "technical"


def synthetic_project(root: Path, scenes: int, shots_per_scene: int, characters: int = 4,
                      sets: int = 3, seed: int = 0, *, qc_failures: Mapping[str, int] | None = None,
                      settings: Settings | None = None) -> tuple[Runner, SyntheticFilm]:
    """Create a project at ``root`` for a synthetic film and return a runner ready for
    ``Orchestrator(runner).run()``, with the film.

    The project gets the film's PREMISE and STYLE lock (added by hand, as a person would),
    every text tier mapped to the film's scripted model, every visual tier to
    :class:`SyntheticVideo`, caps far above what the film costs, small proxy and final
    resolutions, and shot-list limits that fit ``shots_per_scene``.
    """
    film = SyntheticFilm(scenes, shots_per_scene, characters, sets, seed,
                         dict(qc_failures or {}))
    settings = settings or Settings()
    with Project.init(root, name="synthetic", title=TITLE) as project:
        config = project.root / CONFIG_FILE
        config.write_text(configured(config.read_text(encoding="utf-8"), film, settings),
                          encoding="utf-8")
    with Project(root) as project, tempfile.TemporaryDirectory() as folder:
        for name, artifact in (("PREMISE.md", film.premise()),
                               (f"STYLE_{STYLE_NAME}_LOCK.txt", film.style_lock())):
            source = Path(folder) / name
            source.write_bytes(artifact.render())
            project.add(source, reason="synthetic film source material")
    return synthetic_runner(root, film, settings), film


def synthetic_runner(root: Path, film: SyntheticFilm, settings: Settings | None = None
                     ) -> Runner:
    """A runner on an existing synthetic project (e.g. in a second process after a crash)."""
    settings = settings or Settings()
    runner, _ = scripted_runner(root, film.answer)
    runner.render_service().providers[VIDEO_MODEL] = SyntheticVideo(
        settings.price_proxy, settings.price_final, final_width=settings.final[0])
    return runner


def configured(text: str, film: SyntheticFilm, settings: Settings) -> str:
    """The default filmslate.toml text with the synthetic film's settings."""
    cap = 1000.0 * film.scenes * film.shots_per_scene + 1000.0
    values: dict[tuple[str, str], str] = {
        ("budget", "project_cap"): f"{cap:.1f}",
        ("budget", "scene_cap"): f"{cap:.1f}",
        ("budget", "shot_cap"): f"{cap:.1f}",
        ("qc", "rubric_source"): f'"{settings.rubric_source}"',
        ("visual", "max_shots_per_scene"): str(max(12, film.shots_per_scene)),
        ("visual", "shots_per_summary_sentence"): str(max(4, -(-film.shots_per_scene // 3))),
        ("prices", "video"): (f'{{ "{VIDEO_MODEL}" = {{ proxy = {settings.price_proxy}, '
                              f'final = {settings.price_final} }} }}'),
    }
    for tier in ("throughput", "judgment", "premium", "vision", "research"):
        values[("tiers", tier)] = f'"scripted:{tier}"'
    for tier in ("premium", "mid", "low"):
        values[("visual", tier)] = f'"{VIDEO_MODEL}"'
    for level, (width, height, fps) in (("proxy", settings.proxy), ("final", settings.final)):
        section = f"resolution.{level}"
        values.update({(section, "width"): str(width), (section, "height"): str(height),
                       (section, "fps"): str(fps)})
    for (section, key), value in values.items():
        text = set_key(text, section, key, value)
    return text


def set_key(text: str, section: str, key: str, value: str) -> str:
    """``text`` (TOML) with ``key = value`` in ``[section]``: the key's line replaced (its
    comment dropped), or a new line right under the section header."""
    lines = text.split("\n")
    current, header_at = "", None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[] ")
            header_at = number if current == section else header_at
            continue
        if current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            lines[number] = f"{key} = {value}"
            return "\n".join(lines)
    if header_at is None:
        lines += ["", f"[{section}]", f"{key} = {value}"]
    else:
        lines.insert(header_at + 1, f"{key} = {value}")
    return "\n".join(lines)
