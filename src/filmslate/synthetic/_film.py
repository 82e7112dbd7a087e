"""The answerer: :class:`SyntheticFilm` plays every text model a production needs.

It reads which skill is asking (``request.skill``), about which target (``request.target``),
and, where one request cannot say it alone, the subject named in the prompt (the scene a
breakdown call is about, the character a lock is for). The answers themselves are built in
the sibling modules, one per layer, from the film's shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

from ..core._errors import ProviderError
from ..engine._gateway import TextRequest
from ..schemas import (
    CharLock,
    Premise,
    SceneRow,
    SetLock,
    ShotList,
    ShotRow,
    StateDiff,
    StyleLock,
    VoiceLock,
)
from ..skills.continuity import SupervisorAnswer
from ..skills.narrative import BreakdownAnswer, DialogueAnswer, PsychAnswer, StoryAnswer
from ..skills.production import RubricAnswer
from ..skills.validation import (
    AudienceAnswer,
    CultureAnswer,
    PlausibilityAnswer,
    RedTeamAnswer,
    ResearchAnswer,
)
from . import _continuity, _narrative, _production, _validation
from ._shape import FilmShape


@dataclass(frozen=True)
class SyntheticFilm(FilmShape):
    """A film of ``scenes`` scenes and ``shots_per_scene`` shots each, answered offline.

    ``answer(request)`` returns the structured answer of any model-backed skill. Content is a
    function of (scene index, shot index, seed) only. ``qc_failures`` maps a shot id to how
    many of its first QC attempts the vision model fails (with ``[qc] rubric_source =
    "model"``), to exercise the regeneration loop.
    """

    SKILLS: ClassVar[tuple[str, ...]] = (
        "story-architect",
        "script-breakdown",
        "character-lock",
        "set-lock",
        "voice-lock",
        "character-psychology",
        "dialogue-consistency-check",
        "research-agent",
        "plausibility-auditor",
        "cultural-check",
        "narrative-red-team",
        "narrative-red-team-light",
        "audience-simulator",
        "world-state-tracker",
        "continuity-supervisor",
        "shot-planner",
        "qc-grader",
    )

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
            raise ProviderError(
                f"the synthetic film has no answer for {request.skill}: it "
                f"answers {', '.join(self.SKILLS)}",
                skill=request.skill,
            )
        return handler(request)

    # -- the source material and narrative (see _narrative) ------------------------------

    def premise(self) -> Premise:
        """The PREMISE this film grows from."""
        return _narrative.premise(self)

    def style_lock(self) -> StyleLock:
        """The production's STYLE lock."""
        return _narrative.style_lock(self)

    def scene_row(self, index: int) -> SceneRow:
        """One row of SCENES: a three-sentence summary, goal, conflict and outcome."""
        return _narrative.scene_row(self, index)

    def story(self) -> StoryAnswer:
        """story-architect: six beats with rising stakes, and every scene."""
        return _narrative.story(self)

    def breakdown(self, scene_id: str) -> BreakdownAnswer:
        """script-breakdown for one scene: the cast's props, their owners, what changes."""
        return _narrative.breakdown(self, scene_id)

    def psych(self, scene_id: str) -> PsychAnswer:
        """character-psychology: every character present, no drift."""
        return _narrative.psych(self, scene_id)

    def dialogue(self, prompt: str) -> DialogueAnswer:
        """dialogue-consistency-check: every speaker of the dialogue section, distinct."""
        return _narrative.dialogue(self, prompt)

    # -- validation (see _validation) ---------------------------------------------------

    def research(self) -> ResearchAnswer:
        """research-agent: one licensed claim, low risk, no real culture."""
        return _validation.research()

    def plausibility(self) -> PlausibilityAnswer:
        """plausibility-auditor: full marks, nothing flagged."""
        return _validation.plausibility()

    def culture(self) -> CultureAnswer:
        """cultural-check (only asked when a truth packet names a culture): a passing score."""
        return _validation.culture()

    def red_team(self) -> RedTeamAnswer:
        """narrative-red-team: weaknesses found, no critical failure, two different fixes."""
        return _validation.red_team()

    def audience(self) -> AudienceAnswer:
        """audience-simulator: three reactions, clear stakes, good scores."""
        return _validation.audience()

    # -- continuity (see _continuity) ---------------------------------------------------

    def char_lock(self, name: str) -> CharLock:
        """character-lock: a precise, checkable look, manner and knowledge."""
        return _continuity.char_lock(self, name)

    def set_lock(self, name: str) -> SetLock:
        """set-lock: layout, three anchors, daylight, the clip palette."""
        return _continuity.set_lock(self, name)

    def voice_lock(self, name: str) -> VoiceLock:
        """voice-lock: pitch and timbre that agree, a plain accent, a defined range."""
        return _continuity.voice_lock(self, name)

    def state_diff(self, scene_id: str) -> StateDiff:
        """world-state-tracker: where the cast goes, how they feel, and first appearances."""
        return _continuity.state_diff(self, scene_id)

    # -- production (see _production) ---------------------------------------------------

    def shot_rows(self, index: int) -> list[ShotRow]:
        """The planned shots of a scene (see :meth:`shot_row`)."""
        return _production.shot_rows(self, index)

    def shot_row(self, index: int, shot: int, hero_a: bool = False) -> ShotRow:
        """One shot: wide coverage (C), a two-shot (B), a close-up (A or B) or a single (B),
        in turn; one or two characters at most, short durations, hero A never wide."""
        return _production.shot_row(self, index, shot, hero_a)

    def shot_list(self, scene_id: str) -> ShotList:
        """shot-planner: the scene's shots."""
        return _production.shot_list(self, scene_id)

    def rubric(self, shot_id: str, attempt: int) -> RubricAnswer:
        """qc-grader (model rubric): compliant, except the first attempts ``qc_failures``
        names for this shot, which lose the light (a severe lighting score)."""
        return _production.rubric(self, shot_id, attempt)


_SCENE_LINE = re.compile(r"^- scene: ((?:E\d{2,}_)?S\d{2,})$", re.MULTILINE)
_LOCK_SUBJECT = re.compile(r"^Write the [A-Z ]+ for ([A-Z0-9_]+)\.$", re.MULTILINE)


def _scene_in(prompt: str) -> str:
    """The scene a script-breakdown request is about (one request per scene)."""
    found = _SCENE_LINE.search(prompt)
    if found is None:
        raise ProviderError(
            "the synthetic film cannot tell which scene this breakdown "
            "request is about (no '- scene: S..' line)"
        )
    return found.group(1)


def _subject_in(prompt: str) -> str:
    """The subject a lock request is about ("Write the SET LOCK for NET_LOFT.")."""
    found = _LOCK_SUBJECT.search(prompt)
    if found is None:
        raise ProviderError(
            "the synthetic film cannot tell which subject this lock request "
            "is about (no 'Write the ... for NAME.' line)"
        )
    return found.group(1)
