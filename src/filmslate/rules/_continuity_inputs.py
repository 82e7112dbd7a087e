"""What the continuity checks take: scene facts, observations, locks, policy, text helpers.

The inputs half of :mod:`filmslate.rules._continuity` (see its docstring for the whole
design): the records one scene's checks read, the small helpers that compare ids, places and
free text the same way in every check, and the one constructor of a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import Field

from ..core._config import Config
from ..schemas import (
    CharacterState,
    CharacterUpdate,
    CharLock,
    Finding,
    LocationState,
    PropState,
    SetLock,
    StateDiff,
    SubModel,
    Text,
    WorldState,
)
from ..schemas._continuity import Category
from ._fountain import canonical_id
from ._set_places import place_names, resolve_set

Severity = Literal["Low", "Medium", "High"]
Join = Literal["continuous", "simultaneous", "cut", ""]
ObservationKind = Literal[
    "uses_prop", "wears", "shows_injury", "uninjured", "states_fact", "at_location", "lighting"
]
PHASES = ("DAWN", "MORNING", "DAY", "DUSK", "NIGHT")
"""Phases of a day, in order; the day wraps from NIGHT to DAWN."""
DEFAULT_LIGHT_TOLERANCE_K = 500
DEFAULT_LIGHT_FAIL_K = 1500

PHASE_PATTERNS = [
    re.compile(rf"\b(?:{words})\b")
    for words in (
        "PREDAWN|DAWN|SUNRISE|DAYBREAK|FIRST LIGHT",
        "MORNING",
        "DAY|DAYTIME|NOON|MIDDAY|AFTERNOON|DAYLIGHT|SUNLIGHT|SUNLIT",
        "DUSK|EVENING|SUNSET|TWILIGHT|NIGHTFALL|GOLDEN HOUR|MAGIC HOUR",
        "NIGHT|NIGHTTIME|MIDNIGHT|MOONLIGHT|MOONLIT|STARLIGHT",
    )
]
_CONTINUOUS = re.compile(r"\b(?:CONTINUOUS|CONT|(?:MOMENTS?|SECONDS?) LATER)\b")
_CUT = re.compile(
    r"\b(?:LATER|NEXT|AFTER|AGO|FLASHBACK|PRESENT|TOMORROW|YESTERDAY|"
    r"MINUTES?|HOURS?|DAYS|WEEKS?|MONTHS?|YEARS?)\b"
)
_SIMULTANEOUS = re.compile(r"\b(?:SAME|SIMULTANEOUS|INTERCUT)\b")
_FILLER = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "with",
        "and",
        "or",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "into",
        "onto",
        "over",
        "under",
        "her",
        "his",
        "their",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "no",
        "not",
        "never",
        "without",
        "wears",
        "wear",
        "wearing",
        "worn",
        "shows",
        "show",
        "showing",
        "shown",
        "some",
        "very",
    }
)


# -- inputs ----------------------------------------------------------------------------------


class Observation(SubModel):
    """One thing a scene shows that code can check. Fields by ``kind``:

    - ``uses_prop``: ``character`` uses prop ``subject`` (a prop id).
    - ``wears``: ``character``'s ``subject`` (outfit, hair, eyes, build, accessory, colour,
      mark) is seen as ``detail``.
    - ``shows_injury``: ``character`` shows injury ``subject``.
    - ``uninjured``: ``character`` is seen without injury ``subject`` (its name or visible
      sign; empty = any injury), or does something it rules out; ``detail`` says how.
    - ``states_fact``: ``character`` states or acts on the fact ``detail``.
    - ``at_location``: ``character`` is placed at location ``subject`` during the scene.
    - ``lighting``: the scene's light: ``detail`` describes it (a time-of-day word there
      counts), ``kelvin`` its colour temperature when known.

    ``scene_id`` is only needed when one answer covers several scenes.
    """

    kind: ObservationKind
    character: Text = ""
    subject: Text = ""
    detail: Text = ""
    kelvin: int | None = Field(None, ge=1000, le=20000)
    scene_id: Text = ""


class ClaimJudgment(SubModel):
    """The judgment tier's verdict on an ambiguous claim (recorded in the report)."""

    character: Text = Field(description="the character id who states the claim")
    claim: Text = Field(description="the claim exactly as the observation states it")
    entailed: bool = Field(description="true only if what they know implies the claim")
    reason: Text = Field("", description="one sentence: why")


@dataclass(frozen=True)
class SceneFacts:
    """What code knows about one scene (ids are compared in canonical form)."""

    scene_id: str
    location: str
    time_of_day: str = ""
    characters: tuple[str, ...] = ()
    props_used: tuple[str, ...] = ()
    new_props: tuple[str, ...] = ()
    state_changes: tuple[str, ...] = ()
    story: str = ""
    """Where the scene sits in story time when out of order ('before S02'); '' in order."""
    diff: StateDiff | None = None
    before: WorldState = field(default_factory=WorldState)
    after: WorldState = field(default_factory=WorldState)
    observations: tuple[Observation, ...] = ()
    judgments: tuple[ClaimJudgment, ...] = ()
    """The judgment tier's verdicts on claims code found ambiguous (issue 16 §3)."""

    @property
    def join(self) -> Join:
        """How the scene joins the previous one, from its time-of-day text."""
        return time_join(self.time_of_day)

    @property
    def stated_phase(self) -> int | None:
        """The phase the scene states: its time-of-day text, else a lighting observation."""
        phase = phase_of(self.time_of_day)
        lights = (phase_of(f"{o.subject} {o.detail}") for o in self.seen("lighting"))
        return phase if phase is not None else next((p for p in lights if p is not None), None)

    def seen(self, kind: ObservationKind) -> list[Observation]:
        """The observations of one kind."""
        return [o for o in self.observations if o.kind == kind]

    def present(self, character: str) -> bool:
        """True when the character is listed in the scene."""
        return key(character) in {key(c) for c in self.characters}


@dataclass(frozen=True)
class Locks:
    """The locks to check against, by subject name."""

    characters: Mapping[str, CharLock] = field(default_factory=dict)
    sets: Mapping[str, SetLock] = field(default_factory=dict)

    def char(self, character: str) -> CharLock | None:
        """The lock of a character, if any."""
        wanted = key(character)
        return next((v for k, v in self.characters.items() if key(k) == wanted), None)

    def set_for(self, location: str) -> SetLock | None:
        """The lock of a location: by the set's name or its declared places, or of the place
        that contains it (``_set_places.resolve_set``)."""
        names = {name: place_names(name, lock) for name, lock in self.sets.items()}
        return resolve_set(location, self.sets, names)


@dataclass(frozen=True)
class Policy:
    """The numbers the checks use (from ``[thresholds]`` in filmslate.toml)."""

    light_tolerance_k: int = DEFAULT_LIGHT_TOLERANCE_K
    light_fail_k: int = DEFAULT_LIGHT_FAIL_K

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        """The light-temperature tolerances from ``[thresholds]``."""
        thresholds = config.thresholds
        return cls(thresholds.light_temperature_tolerance_k, thresholds.light_temperature_fail_k)


# -- small text helpers ----------------------------------------------------------------------


@lru_cache(maxsize=4096)  # the same few ids are compared over and over in a long pass
def key(name: str) -> str:
    """Canonical form of an id or place: ``"Old Mill"`` -> ``"OLD_MILL"``."""
    return canonical_id(name)


def same_place(a: str, b: str) -> bool:
    """Places match when equal or one is inside the other (``LIGHTHOUSE_LAMP_ROOM``)."""
    ka, kb = key(a), key(b)
    return ka == kb or ka.startswith(kb + "_") or kb.startswith(ka + "_")


def words(text: str) -> frozenset[str]:
    """Content words: lower case, no filler words, no plural ``s``."""
    out = set()
    for word in re.findall(r"[a-z0-9]+", text.casefold()):
        if word in _FILLER or len(word) < 2:
            continue
        out.add(word[:-1] if word.endswith("s") and not word.endswith("ss") else word)
    return frozenset(out)


def covered(description: str, reference: str) -> bool:
    """Every content word of the description appears in the reference (and there is one)."""
    said = words(description)
    return bool(said) and said <= words(reference)


def phase_of(text: str) -> int | None:
    """The phase of day a text names first (index into PHASES), or None."""
    upper = " ".join(re.findall(r"[A-Z]+", text.upper().replace("PRE-DAWN", "PREDAWN")))
    found = [
        (m.start(), phase)
        for phase, pattern in enumerate(PHASE_PATTERNS)
        if (m := pattern.search(upper))
    ]
    return min(found)[1] if found else None


def time_join(text: str) -> Join:
    """How a time-of-day text joins its scene to the previous one.

    ``continuous``: CONTINUOUS, MOMENTS / SECONDS LATER; ``cut``: a stated time jump (LATER,
    NEXT ..., HOURS LATER, FLASHBACK ...); ``simultaneous``: SAME, SAME TIME, SIMULTANEOUS,
    INTERCUT; ``""``: nothing said.
    """
    upper = " ".join(re.findall(r"[A-Z]+", text.upper()))
    if _CONTINUOUS.search(upper):
        return "continuous"
    if _CUT.search(upper):
        return "cut"
    if _SIMULTANEOUS.search(upper):
        return "simultaneous"
    return ""


def finding(
    category: Category,
    severity: Severity,
    scenes: Iterable[str],
    artifacts: Iterable[str],
    description: str,
    correction: str,
) -> Finding:
    """A finding with its scenes and artifacts de-duplicated in order."""
    return Finding(
        category=category,
        severity=severity,
        scenes=list(dict.fromkeys(scenes)),
        artifacts=list(dict.fromkeys(artifacts)),
        description=description,
        correction=correction,
    )


def by_key(
    mapping: Mapping[str, CharacterState | PropState | LocationState], name: str
) -> CharacterState | PropState | LocationState | None:
    """The entry of a world-state mapping whose id matches ``name`` in canonical form."""
    wanted = key(name)
    return next((v for k, v in mapping.items() if key(k) == wanted), None)


def char_state(state: WorldState, cid: str) -> CharacterState:
    """A character's state (an empty one when the world state does not track them)."""
    found = by_key(state.characters, cid)
    return found if isinstance(found, CharacterState) else CharacterState()


def prop_state(state: WorldState, pid: str) -> PropState | None:
    """A prop's state, or None when the world state does not track it."""
    found = by_key(state.props, pid)
    return found if isinstance(found, PropState) else None


def diff_stem(scene: str) -> str:
    """The artifact stem of a scene's diff (``STATE_DIFF_S03``), named in findings."""
    return f"STATE_DIFF_{scene}"


def update_of(f: SceneFacts, cid: str) -> CharacterUpdate | None:
    """The scene diff's update of one character, if it has one."""
    if f.diff is None:
        return None
    return next((u for c, u in f.diff.character_updates.items() if key(c) == key(cid)), None)


def entry_key(text: str) -> str:
    """A list entry (injury, item, fact) as compared: case- and space-insensitive."""
    return " ".join(text.casefold().split())
