"""The deterministic core of continuity-supervisor: contradictions found by code.

Pure functions over structured inputs, no I/O and no model. What code knows about one scene
is a :class:`SceneFacts`: its SCENES and BREAKDOWN rows, its STATE_DIFF, the WORLD_STATE just
before and just after it, and optional :class:`Observation` records of what the scene shows
(a character using a prop, wearing a coat, showing or lacking an injury, stating a fact,
standing somewhere, the scene's light). Observations come from a model reading the scene or
from a person; code never guesses them, and the checks only ever add findings for them.

``check_continuity`` runs every check over scenes in order and returns
:class:`~filmslate.schemas.Finding` rows (category, severity, scenes, artifacts, description,
correction); ``report`` turns them into a ContinuityReport whose gate (``gate_for``) FAILs on
any High finding. ``scene_facts`` builds the facts from the artifacts, replaying the diffs
around the stored world state so each scene gets its own before and after.

Matching free text (an outfit against a lock, a stated fact against what a character knows)
is done on content words: lower-cased words without filler words and plural ``s``. A
description matches a reference when every content word of the description appears in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal, get_args

from pydantic import Field

from ..core._config import Config
from ..core._errors import ArtifactNameError
from ..core._names import ArtifactName
from ..schemas import (
    Breakdown,
    BreakdownRow,
    CharacterState,
    CharacterUpdate,
    CharLock,
    Check,
    ContinuityReport,
    Finding,
    LocationState,
    PropState,
    SceneRow,
    Scenes,
    SetLock,
    StateDiff,
    SubModel,
    Text,
    WorldState,
)
from ..schemas._continuity import Category
from ._fountain import canonical_id
from ._worldstate import RuleBreach, WorldStateError, apply_diff

Severity = Literal["Low", "Medium", "High"]
Join = Literal["continuous", "simultaneous", "cut", ""]
ObservationKind = Literal["uses_prop", "wears", "shows_injury", "uninjured", "states_fact",
                          "at_location", "lighting"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
PHASES = ("DAWN", "MORNING", "DAY", "DUSK", "NIGHT")
"""Phases of a day, in order; the day wraps from NIGHT to DAWN."""
DEFAULT_LIGHT_TOLERANCE_K = 500
DEFAULT_LIGHT_FAIL_K = 1500

_PHASE_PATTERNS = [re.compile(rf"\b(?:{words})\b") for words in (
    "PREDAWN|DAWN|SUNRISE|DAYBREAK|FIRST LIGHT",
    "MORNING",
    "DAY|DAYTIME|NOON|MIDDAY|AFTERNOON|DAYLIGHT|SUNLIGHT|SUNLIT",
    "DUSK|EVENING|SUNSET|TWILIGHT|NIGHTFALL|GOLDEN HOUR|MAGIC HOUR",
    "NIGHT|NIGHTTIME|MIDNIGHT|MOONLIGHT|MOONLIT|STARLIGHT")]
_CONTINUOUS = re.compile(r"\b(?:CONTINUOUS|CONT|(?:MOMENTS?|SECONDS?) LATER)\b")
_CUT = re.compile(r"\b(?:LATER|NEXT|AFTER|AGO|FLASHBACK|PRESENT|TOMORROW|YESTERDAY|"
                  r"MINUTES?|HOURS?|DAYS|WEEKS?|MONTHS?|YEARS?)\b")
_SIMULTANEOUS = re.compile(r"\b(?:SAME|SIMULTANEOUS|INTERCUT)\b")
_KELVIN = re.compile(r"(\d{3,5})\s*K\b")
_KELVIN_RANGE = re.compile(r"(\d{3,5})\s*K?\s*(?:-|–|to)\s*(\d{3,5})\s*K\b", re.IGNORECASE)
_KELVIN_PLUS_MINUS = re.compile(r"(?:±|\+/-|\+-)\s*(\d{2,5})\s*K\b")
_HEX = re.compile(r"#[0-9A-Fa-f]{6}")
_GONE = frozenset({"destroyed", "lost", "burned", "burnt", "smashed", "sunk", "gone",
                   "consumed", "shattered"})
_FILLER = frozenset({
    "a", "an", "the", "of", "with", "and", "or", "in", "on", "at", "to", "for", "from", "into",
    "onto", "over", "under", "her", "his", "their", "its", "is", "are", "was", "were", "be",
    "been", "has", "have", "had", "no", "not", "never", "without", "wears", "wear", "wearing",
    "worn", "shows", "show", "showing", "shown", "some", "very"})


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
    diff: StateDiff | None = None
    before: WorldState = field(default_factory=WorldState)
    after: WorldState = field(default_factory=WorldState)
    observations: tuple[Observation, ...] = ()

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
        """The lock of a location, or of the place that contains it (longest name first)."""
        wanted = key(location)
        best: tuple[int, SetLock] | None = None
        for name, lock in self.sets.items():
            k = key(name)
            if (k == wanted or wanted.startswith(k + "_")) and (best is None or len(k) > best[0]):
                best = (len(k), lock)
        return best[1] if best else None


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
    found = [(m.start(), phase) for phase, pattern in enumerate(_PHASE_PATTERNS)
             if (m := pattern.search(upper))]
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


def _finding(category: Category, severity: Severity, scenes: Iterable[str],
             artifacts: Iterable[str], description: str, correction: str) -> Finding:
    return Finding(category=category, severity=severity, scenes=list(dict.fromkeys(scenes)),
                   artifacts=list(dict.fromkeys(artifacts)), description=description,
                   correction=correction)


def _by_key(mapping: Mapping[str, CharacterState | PropState | LocationState], name: str
            ) -> CharacterState | PropState | LocationState | None:
    wanted = key(name)
    return next((v for k, v in mapping.items() if key(k) == wanted), None)


def _character(state: WorldState, cid: str) -> CharacterState:
    found = _by_key(state.characters, cid)
    return found if isinstance(found, CharacterState) else CharacterState()


def _prop(state: WorldState, pid: str) -> PropState | None:
    found = _by_key(state.props, pid)
    return found if isinstance(found, PropState) else None


def _diff_stem(scene: str) -> str:
    return f"STATE_DIFF_{scene}"


# -- the checks ------------------------------------------------------------------------------


def check_props(f: SceneFacts) -> list[Finding]:
    """Props never teleport (prop_inventory).

    For each ``uses_prop`` observation: fine when the user holds the prop at the start of the
    scene (its owner, or it is in their inventory), the scene's diff moves it (a prop update
    naming the event) or puts it in their inventory, or the prop is first introduced here.
    Otherwise, when someone else holds it: **High** if the
    holder is not in the scene, **Medium** if they are (a hand-over the diff does not record).
    When nobody holds it and its recorded location is another place: **High**.

    For each prop in BREAKDOWN ``props_used`` (not already judged above): fine when the diff
    updates it in this scene (a named event moves it), it is new here, or its holder is in the
    scene; **High** when its holder is elsewhere, or nobody holds it and it lies elsewhere.
    A used prop whose recorded status says it is gone (destroyed, lost, burned ...): **High**.
    A prop the world state does not track and nobody carries: **Low**.
    """
    findings: list[Finding] = []
    judged: set[str] = set()
    for obs in f.seen("uses_prop"):
        judged.add(key(obs.subject))
        findings += _use_by(f, obs.subject, obs.character, obs.detail)
    for pid in f.props_used:
        if key(pid) not in judged:
            judged.add(key(pid))
            findings += _use_by(f, pid, "", "")
    return findings


def _holder(state: WorldState, pid: str) -> str:
    prop = _prop(state, pid)
    if prop is not None and prop.owner:
        return prop.owner
    for cid, char in state.characters.items():
        if any(key(item) == key(pid) for item in char.inventory):
            return cid
    return ""


def _moved_here(f: SceneFacts, pid: str) -> bool:
    return f.diff is not None and any(key(p) == key(pid) for p in f.diff.prop_updates)


def _gains(f: SceneFacts, pid: str, user: str) -> bool:
    if f.diff is None or not user:
        return False
    update = _update_of(f, user)
    return update is not None and any(key(i) == key(pid) for i in update.gain_items)


def _use_by(f: SceneFacts, pid: str, user: str, how: str) -> list[Finding]:
    arts = ["BREAKDOWN", _diff_stem(f.scene_id), "WORLD_STATE"]
    who = f"{user} uses" if user else "the scene uses"
    said = f" ({how})" if how else ""
    prop = _prop(f.before, pid)
    holder = _holder(f.before, pid)
    if prop is not None and prop.status and words(prop.status) & _GONE:
        return [_finding("prop_inventory", "High", [f.scene_id], arts,
                         f"{who} {pid}{said}, but the world state records it as "
                         f"{prop.status!r}", f"drop {pid} from {f.scene_id}, or restore it in "
                         "an earlier diff with an event that explains it")]
    if _gains(f, pid, user) or (user and holder and key(holder) == key(user)):
        return []
    if _moved_here(f, pid) or any(key(p) == key(pid) for p in f.new_props):
        return []
    if prop is None and not holder:
        return [_finding("prop_inventory", "Low", [f.scene_id], arts,
                         f"{pid} is used in {f.scene_id} but the world state does not track it",
                         f"add {pid} to the world state (owner, location) in the diff of the "
                         "scene that introduces it")]
    if holder:
        if not user and f.present(holder):
            return []
        severity: Severity = "Medium" if f.present(holder) else "High"
        where = "who is in the scene" if f.present(holder) else "who is not in the scene"
        return [_finding("prop_inventory", severity, [f.scene_id], arts,
                         f"{who} {pid}{said}, but {holder} holds it, {where}",
                         f"record how {pid} reaches {user or f.location} (a prop update in "
                         f"{_diff_stem(f.scene_id)} with a via naming the hand-over), or "
                         f"give the action to {holder}")]
    location = prop.location if prop else ""
    if location and not same_place(location, f.location) and not _moved_here(f, pid):
        return [_finding("prop_inventory", "High", [f.scene_id], arts,
                         f"{who} {pid}{said} at {f.location}, but it is recorded at {location}",
                         f"move {pid} to {f.location} through a prop update with a via naming "
                         f"the event, or play the action at {location}")]
    return []


def check_injuries(f: SceneFacts) -> list[Finding]:
    """Injuries persist until healed (injury_emotional).

    An injury is active in a scene when the character has it at the start of the scene and
    the scene's diff does not heal it. An ``uninjured`` observation whose ``subject`` shares a
    content word with an active injury (or names none) contradicts it: **High**. A
    ``shows_injury`` observation matching no injury the character has or gains in this scene
    is an unrecorded injury: **Medium**.
    """
    findings: list[Finding] = []
    arts = [_diff_stem(f.scene_id), "WORLD_STATE"]
    for obs in f.seen("uninjured"):
        for injury in _active_injuries(f, obs.character):
            if obs.subject and not words(obs.subject) & words(injury):
                continue
            shown = f" ({obs.detail})" if obs.detail else ""
            findings.append(_finding(
                "injury_emotional", "High", [f.scene_id], arts,
                f"{obs.character} appears without {injury!r}{shown} in {f.scene_id}, but the "
                "injury was never healed", f"show {injury!r} in {f.scene_id} (or play the "
                f"action as the injury allows), or heal it in a diff with the event that "
                "heals it"))
    for obs in f.seen("shows_injury"):
        known = [*_character(f.before, obs.character).injuries, *_added_injuries(f, obs.character)]
        if not any(words(obs.subject) & words(i) for i in known):
            findings.append(_finding(
                "injury_emotional", "Medium", [f.scene_id], arts,
                f"{obs.character} shows {obs.subject!r} in {f.scene_id}, an injury the world "
                "state does not record", "add it with add_injuries in the diff of the scene "
                "where it happens, or remove it from the scene"))
    return findings


def _update_of(f: SceneFacts, cid: str) -> CharacterUpdate | None:
    if f.diff is None:
        return None
    return next((u for c, u in f.diff.character_updates.items() if key(c) == key(cid)), None)


def _added_injuries(f: SceneFacts, cid: str) -> list[str]:
    update = _update_of(f, cid)
    return list(update.add_injuries) if update else []


def _active_injuries(f: SceneFacts, cid: str) -> list[str]:
    update = _update_of(f, cid)
    healed = {_entry(h) for h in (update.heal_injuries if update else [])}
    return [i for i in _character(f.before, cid).injuries if _entry(i) not in healed]


def check_knowledge(f: SceneFacts, locks: Locks) -> list[Finding]:
    """Nobody uses knowledge they never learned (knowledge).

    A ``states_fact`` observation is fine when the fact is covered by an entry of the
    character's knowledge after the scene (which includes what the diff's ``learn`` adds in
    this scene) or by their lock's knowledge at introduction: every content word of the fact
    appears in the entry, or (for entries of two words or more) every word of the entry
    appears in the fact. Otherwise **High**.
    """
    findings = []
    for obs in f.seen("states_fact"):
        lock = locks.char(obs.character)
        known = [*_character(f.after, obs.character).knowledge,
                 *(lock.knowledge_at_introduction if lock else [])]
        if any(_same_fact(obs.detail, entry) for entry in known):
            continue
        arts = ["WORLD_STATE", _diff_stem(f.scene_id)]
        if lock:
            arts.append(f"CHAR_{key(obs.character)}_LOCK")
        findings.append(_finding(
            "knowledge", "High", [f.scene_id], arts,
            f"{obs.character} knows {obs.detail!r} in {f.scene_id}, which they never learned",
            f"show {obs.character} learning it (learn in the diff of the scene where it "
            f"happens), or cut the line from {f.scene_id}"))
    return findings


def _same_fact(fact: str, entry: str) -> bool:
    said, known = words(fact), words(entry)
    return bool(said) and (said <= known or (len(known) >= 2 and known <= said))


def check_places(f: SceneFacts, prev: SceneFacts | None, locks: Locks) -> list[Finding]:
    """Nobody is in two places at once (timeline).

    Same scene: a character listed in the scene whose ``at_location`` observation names
    another place, or with two observations naming different places: **High**.

    Consecutive scenes joined by SAME / SAME TIME / SIMULTANEOUS (the same moment): a
    character listed in both at different places: **High**. Joined by CONTINUOUS / MOMENTS
    LATER (no time passes): a character listed in both at different places is fine when a
    diff of either scene moves them to this scene's place with a named event (``via``), or
    when a set lock's layout names the other place (the two connect). Otherwise **High** when
    both places have set locks that do not connect them, **Medium** when a lock is missing
    and the connection cannot be confirmed. Places inside one another count as one place.
    """
    findings = _places_in_scene(f)
    if prev is None or f.join not in ("continuous", "simultaneous") \
            or same_place(prev.location, f.location):
        return findings
    scenes = [prev.scene_id, f.scene_id]
    arts = ["SCENES", _diff_stem(prev.scene_id), _diff_stem(f.scene_id)]
    for cid in (c for c in f.characters if prev.present(c)):
        severity: Severity | None = "High"
        if f.join == "continuous":
            severity = None if _moved(cid, f, (prev, f)) else \
                {True: None, False: "High", None: "Medium"}[_connected(prev, f, locks)]
        if severity is None:
            continue
        findings.append(_finding(
            "timeline", severity, scenes, arts,
            f"{cid} is at {prev.location} in {prev.scene_id} and at {f.location} in "
            f"{f.scene_id}, joined as {f.time_of_day!r}: two places in the same moment",
            f"mark a time cut (LATER) on {f.scene_id}, drop {cid} from one scene, or record "
            f"the move (a location update with a via) and the connection in the set locks"))
    return findings


def _places_in_scene(f: SceneFacts) -> list[Finding]:
    findings = []
    places: dict[str, list[str]] = {}
    for cid in f.characters:
        places.setdefault(key(cid), []).append(f.location)
    for obs in f.seen("at_location"):
        places.setdefault(key(obs.character), []).append(obs.subject)
    for cid, where in places.items():
        distinct: list[str] = []
        for place in where:
            if not any(same_place(place, seen) for seen in distinct):
                distinct.append(place)
        if len(distinct) > 1:
            findings.append(_finding(
                "timeline", "High", [f.scene_id], ["SCENES", "BREAKDOWN"],
                f"{cid} is placed at {' and '.join(distinct)} in {f.scene_id}",
                f"keep {cid} in one place in {f.scene_id}, or split the scene"))
    return findings


def _moved(cid: str, here: SceneFacts, scenes: Sequence[SceneFacts]) -> bool:
    for scene in scenes:
        update = _update_of(scene, cid)
        if update and update.location and update.via and same_place(update.location,
                                                                     here.location):
            return True
    return False


def _connected(a: SceneFacts, b: SceneFacts, locks: Locks) -> bool | None:
    lock_a, lock_b = locks.set_for(a.location), locks.set_for(b.location)
    for lock, other in ((lock_a, b.location), (lock_b, a.location)):
        if lock is not None and _names_place(lock, other):
            return True
    return False if lock_a is not None and lock_b is not None else None


def _names_place(lock: SetLock, place: str) -> bool:
    layout = lock.layout
    text = key(" ".join([layout.geometry, layout.entries_exits, layout.windows,
                         layout.spatial_relations]))
    return f"_{key(place)}_" in f"_{text}_"


def check_time(f: SceneFacts, prev: SceneFacts | None, prev_phase: int | None) -> list[Finding]:
    """Time of day moves forward, and jumps only across a stated cut (timeline).

    The phase of a scene (DAWN, MORNING, DAY, DUSK, NIGHT) is what its time-of-day text or
    a lighting observation states; a continuous scene that states none inherits the previous
    one. Let ``d`` be the forward distance from the previous phase (0-4, wrapping NIGHT ->
    DAWN). Across CONTINUOUS / MOMENTS LATER / SAME: ``d = 0`` is fine, ``d = 1`` is **Low**
    (light turning within continuous action), going back (``d >= 3``) or skipping a phase
    (``d = 2``) is **High**. Between other consecutive scenes, a jump of ``d >= 2`` is
    **Medium** unless the time text states a cut (LATER, NEXT ..., HOURS LATER) or the scene's
    diff records elapsed time or a timeline note.
    """
    phase = f.stated_phase
    if prev is None or prev_phase is None or phase is None:
        return []
    step = (phase - prev_phase) % len(PHASES)
    if step == 0:
        return []
    moves = f"from {PHASES[prev_phase]} in {prev.scene_id} to {PHASES[phase]} in {f.scene_id}"
    scenes, arts = [prev.scene_id, f.scene_id], ["SCENES", _diff_stem(f.scene_id)]
    if f.join in ("continuous", "simultaneous"):
        if step == 1:
            return [_finding("timeline", "Low", scenes, arts,
                             f"the light turns {moves} within continuous action",
                             f"make sure the turn of light is shown, or mark a cut on "
                             f"{f.scene_id}")]
        how = "goes backwards" if step >= 3 else "jumps"
        return [_finding("timeline", "High", scenes, arts,
                         f"time of day {how} {moves} across {f.time_of_day!r}",
                         f"set {f.scene_id} to {PHASES[prev_phase]}, or replace "
                         f"{f.time_of_day!r} with a time cut")]
    if step == 1 or f.join == "cut" or _elapsed(f):
        return []
    return [_finding("timeline", "Medium", scenes, arts,
                     f"time of day jumps {moves} with no transition",
                     f"mark the cut in {f.scene_id}'s heading (LATER, THE NEXT MORNING) or "
                     "record the elapsed time in its diff")]


def _elapsed(f: SceneFacts) -> bool:
    return f.diff is not None and bool(f.diff.timeline_update.elapsed_time
                                       or f.diff.timeline_update.notes)


def effective_phase(f: SceneFacts, prev_phase: int | None) -> int | None:
    """The scene's phase: stated, or inherited across a continuous join."""
    phase = f.stated_phase
    if phase is None and f.join in ("continuous", "simultaneous"):
        return prev_phase
    return phase


def check_lighting(f: SceneFacts, locks: Locks, policy: Policy, phase: int | None
                   ) -> list[Finding]:
    """A scene's light agrees with its set lock (set).

    - The scene's phase (stated or inherited) must be one the lock's environment time of day
      or allowed variation names, when they name any: otherwise **Medium**.
    - The colour temperature of a ``lighting`` observation, and any ``NNNNK`` figure in the
      location's ``lighting_state`` after the scene, must lie in the lock's allowed range: a
      range the allowed variation states (``3000-3600K``, ``±300K`` around the lock's
      temperature), else the lock's temperature ± ``light_tolerance_k``. Outside it:
      **Medium**; more than ``light_fail_k`` from the lock's temperature: **High**.
    - A ``lighting`` observation matching an item of the lock's forbidden-drift list: **High**.
    """
    lock = locks.set_for(f.location)
    if lock is None:
        return []
    stem = f"SET_{lock.name}_LOCK"
    findings = []
    allowed = _lock_phases(lock)
    if phase is not None and allowed and phase not in allowed:
        names = "/".join(PHASES[p] for p in sorted(allowed))
        findings.append(_finding(
            "set", "Medium", [f.scene_id], ["SCENES", stem],
            f"{f.scene_id} plays at {PHASES[phase]} but {stem} is locked to {names}",
            f"move {f.scene_id} to {names}, or add a justified {PHASES[phase]} variant to "
            f"{stem} (a new lock version)"))
    for obs in f.seen("lighting"):
        if obs.kelvin is not None:
            findings += _kelvin(f, lock, policy, obs.kelvin, f"the observed light ({obs.detail})"
                                if obs.detail else "the observed light", stem)
        findings += [_finding("set", "High", [f.scene_id], [stem],
                              f"the light in {f.scene_id} ({obs.detail}) is on {stem}'s "
                              f"forbidden-drift list: {item!r}",
                              f"relight {f.scene_id} within {stem}")
                     for item in lock.forbidden_drift if covered(item, obs.detail)]
    state = _by_key(f.after.locations, f.location)
    if isinstance(state, LocationState):
        for figure in _KELVIN.findall(state.lighting_state):
            findings += _kelvin(f, lock, policy, int(figure),
                                f"the world state's lighting ({state.lighting_state})", stem)
    return findings


def _lock_phases(lock: SetLock) -> set[int]:
    text = f"{lock.environment.time_of_day} {lock.lighting.allowed_variation}"
    upper = " ".join(re.findall(r"[A-Z]+", text.upper().replace("PRE-DAWN", "PREDAWN")))
    if re.search(r"\b(?:ANY|ALL)\b", upper):
        return set()
    return {phase for phase, pattern in enumerate(_PHASE_PATTERNS) if pattern.search(upper)}


def allowed_kelvin(lock: SetLock, policy: Policy) -> tuple[int, int]:
    """The colour-temperature range a set lock allows (see ``check_lighting``)."""
    base = lock.lighting.temperature_k
    variation = lock.lighting.allowed_variation
    if match := _KELVIN_RANGE.search(variation):
        low, high = sorted((int(match[1]), int(match[2])))
        return min(low, base), max(high, base)
    if match := _KELVIN_PLUS_MINUS.search(variation):
        return base - int(match[1]), base + int(match[1])
    return base - policy.light_tolerance_k, base + policy.light_tolerance_k


def _kelvin(f: SceneFacts, lock: SetLock, policy: Policy, kelvin: int, what: str, stem: str
            ) -> list[Finding]:
    low, high = allowed_kelvin(lock, policy)
    if low <= kelvin <= high:
        return []
    far = abs(kelvin - lock.lighting.temperature_k) > policy.light_fail_k
    return [_finding("set", "High" if far else "Medium", [f.scene_id],
                     [stem, "WORLD_STATE", _diff_stem(f.scene_id)],
                     f"{what} in {f.scene_id} is {kelvin}K; {stem} allows {low}-{high}K",
                     f"relight {f.scene_id} to about {lock.lighting.temperature_k}K, or record "
                     f"a justified variation in {stem} (a new lock version)")]


def check_wardrobe(f: SceneFacts, locks: Locks) -> list[Finding]:
    """Wardrobe and appearance follow the character lock (character).

    A ``wears`` observation whose detail covers an item of the lock's forbidden-drift list
    (every content word of the item appears in it): **High**. Otherwise it must be covered by
    the lock text for its aspect: ``outfit`` / ``accessory`` by the default outfit plus
    accessories or by a justified variant; ``hair``, ``eyes``, ``build``, ``mark`` by those
    appearance fields; ``colour`` as a hex code by the palette. A change the scene itself
    justifies passes too: a BREAKDOWN state change naming the character that covers the
    detail. Anything else: **Medium**. (A change carried from an earlier scene belongs in the
    lock as a justified variant: a new lock version.)
    """
    findings = []
    for obs in f.seen("wears"):
        lock = locks.char(obs.character)
        if lock is None:
            continue
        stem = f"CHAR_{lock.name}_LOCK"
        forbidden = [item for item in lock.forbidden_drift if covered(item, obs.detail)]
        if forbidden:
            findings.append(_finding(
                "character", "High", [f.scene_id], [stem],
                f"{obs.character}'s {obs.subject or 'look'} in {f.scene_id} ({obs.detail}) is "
                f"on the forbidden-drift list: {forbidden[0]!r}",
                f"restore {obs.character}'s locked {obs.subject or 'look'} in {f.scene_id}"))
        elif not _fits_lock(obs, lock) and not _justified(f, obs):
            findings.append(_finding(
                "character", "Medium", [f.scene_id], [stem, "BREAKDOWN"],
                f"{obs.character}'s {obs.subject or 'look'} in {f.scene_id} ({obs.detail}) "
                f"does not match {stem}", f"use the locked {obs.subject or 'look'}, or add a "
                f"justified variant to {stem} (a new lock version) and note the change in "
                "the breakdown"))
    return findings


def _fits_lock(obs: Observation, lock: CharLock) -> bool:
    look, dress = lock.appearance, lock.wardrobe
    aspect = obs.subject.casefold()
    if aspect in ("colour", "color") and (hexes := _HEX.findall(obs.detail)):
        return all(h.upper() in dress.palette for h in hexes)
    base = " ".join([dress.default_outfit, *dress.accessories])
    refs = {"hair": [look.hair], "eyes": [look.eyes], "build": [look.build],
            "mark": [" ".join(look.distinguishing_marks)]}.get(aspect)
    if refs is None:
        refs = [base, *(f"{v} {' '.join(dress.accessories)}" for v in dress.justified_variants)]
    return any(covered(obs.detail, ref) for ref in refs)


def _justified(f: SceneFacts, obs: Observation) -> bool:
    return any(f"_{key(obs.character)}_" in f"_{key(change)}_" and covered(obs.detail, change)
               for change in f.state_changes)


def check_scene(f: SceneFacts, prev: SceneFacts | None, locks: Locks, policy: Policy,
                prev_phase: int | None) -> list[Finding]:
    """Every check on one scene (and its join with the previous one)."""
    phase = effective_phase(f, prev_phase)
    return [*check_props(f), *check_injuries(f), *check_knowledge(f, locks),
            *check_places(f, prev, locks), *check_time(f, prev, prev_phase),
            *check_lighting(f, locks, policy, phase), *check_wardrobe(f, locks)]


def check_continuity(scenes: Sequence[SceneFacts], locks: Locks | None = None,
                     policy: Policy | None = None, previous: SceneFacts | None = None,
                     previous_phase: int | None = None) -> list[Finding]:
    """Every check over scenes in order.

    ``previous`` is the scene before the first one: used only by the checks that join two
    scenes, never checked itself. Its phase of day is ``previous_phase`` when given (see
    ``phase_at``: a continuous scene inherits it from further back), else what it states.
    """
    locks = locks or Locks()
    policy = policy or Policy()
    findings: list[Finding] = []
    prev = previous
    prev_phase = previous_phase
    if prev_phase is None and previous is not None:
        prev_phase = previous.stated_phase
    for scene in scenes:
        findings += check_scene(scene, prev, locks, policy, prev_phase)
        prev_phase = effective_phase(scene, prev_phase)
        prev = scene
    return findings


def phase_at(rows: Sequence[SceneRow], index: int) -> int | None:
    """The phase of day of one SCENES row, from time-of-day texts only: a continuous scene
    that states none inherits it from the rows before it."""
    for row in reversed(rows[:index + 1]):
        phase = phase_of(row.time_of_day)
        if phase is not None:
            return phase
        if time_join(row.time_of_day) not in ("continuous", "simultaneous"):
            return None
    return None


# -- facts from the artifacts ----------------------------------------------------------------


def scene_facts(scenes: Scenes, breakdown: Breakdown, diffs: Mapping[str, StateDiff],
                world: WorldState, only: Sequence[str] | None = None
                ) -> tuple[list[SceneFacts], list[Finding]]:
    """Facts for the scenes in ``only`` (default: every scene the world state has reached or
    that has a diff), with findings for missing diffs and diffs that break world rules.

    The stored world state sits after one scene (its ``current_scene``). Diffs are undone
    back from there to the first scene wanted (what a diff overwrote becomes unknown, '')
    and applied forward again, so each scene gets the state just before it and just after.
    """
    order = [row.scene_id for row in scenes.rows]
    anchor = order.index(world.timeline.current_scene) \
        if world.timeline.current_scene in order else -1
    wanted = list(only) if only is not None else \
        [s for i, s in enumerate(order) if i <= anchor or s in diffs]
    if not wanted:
        return [], []
    start = order.index(wanted[0])
    state = world
    for i in range(anchor, start - 1, -1):
        if order[i] in diffs:
            state = rewind(state, diffs[order[i]], _previous_applied(order, diffs, i))
    for i in range(anchor + 1, start):
        if order[i] in diffs:
            state, _ = replay_step(state, diffs[order[i]])
    rows = {r.scene_id: r for r in breakdown.rows}
    by_id = {r.scene_id: r for r in scenes.rows}
    problems: list[Finding] = []
    out: list[SceneFacts] = []
    last = order.index(wanted[-1])
    for sid in order[start:last + 1]:
        diff = diffs.get(sid)
        after = state
        if diff is not None:
            after, breaches = replay_step(state, diff)
            problems += [_breach_finding(b) for b in breaches]
        else:
            problems.append(_missing_diff(sid))
        if sid in wanted:
            out.append(_facts(by_id[sid], rows.get(sid), diff, state, after))
        state = after
    return out, problems


def _previous_applied(order: Sequence[str], diffs: Mapping[str, StateDiff], i: int
                      ) -> str | None:
    return next((order[j] for j in range(i - 1, -1, -1) if order[j] in diffs), None)


def _facts(row: SceneRow, bd: BreakdownRow | None, diff: StateDiff | None,
           before: WorldState, after: WorldState) -> SceneFacts:
    return SceneFacts(
        scene_id=row.scene_id, location=row.location, time_of_day=row.time_of_day,
        characters=tuple(row.characters_present),
        props_used=tuple(bd.props_used if bd else ()),
        new_props=tuple(bd.new_props_introduced if bd else ()),
        state_changes=tuple(bd.state_changes if bd else ()),
        diff=diff, before=before, after=after)


def _missing_diff(scene: str) -> Finding:
    return _finding("timeline", "High", [scene], [_diff_stem(scene), "WORLD_STATE"],
                    f"{scene} has no STATE_DIFF: the world state cannot account for it",
                    f"run world-state-tracker on {scene}")


_RULE_CATEGORY: dict[str, Category] = {
    "injury_persists": "injury_emotional", "knowledge_only_grows": "knowledge",
    "prop_needs_event": "prop_inventory", "inventory_matches_owner": "prop_inventory",
    "item_not_held": "prop_inventory", "inventory_needs_update": "prop_inventory",
    "unknown_character": "prop_inventory"}


def _breach_finding(breach: RuleBreach) -> Finding:
    return _finding(_RULE_CATEGORY.get(breach.rule, "timeline"), "High", [breach.scene],
                    [_diff_stem(breach.scene), "WORLD_STATE"],
                    f"{breach.entity}: {breach.problem} (world-state rule {breach.rule})",
                    breach.fix)


def replay_step(before: WorldState, diff: StateDiff) -> tuple[WorldState, list[RuleBreach]]:
    """Apply a diff under the world-state rules; a refused diff is applied leniently anyway
    (so later scenes can still be checked) and its breaches are returned."""
    try:
        return apply_diff(before, diff), []
    except WorldStateError as refused:
        return _lenient(before, diff), list(refused.breaches)


def _entry(text: str) -> str:
    return " ".join(text.casefold().split())


def _plus(entries: Sequence[str], added: Sequence[str]) -> list[str]:
    out = list(entries)
    for item in added:
        if _entry(item) not in {_entry(e) for e in out}:
            out.append(item)
    return out


def _minus(entries: Sequence[str], removed: Sequence[str]) -> list[str]:
    gone = {_entry(r) for r in removed}
    return [e for e in entries if _entry(e) not in gone]


def _lenient(before: WorldState, diff: StateDiff) -> WorldState:
    chars = dict(before.characters)
    for cid, up in diff.character_updates.items():
        old = chars.get(cid, CharacterState())
        chars[cid] = old.model_copy(update={
            "injuries": _plus(_minus(old.injuries, up.heal_injuries), up.add_injuries),
            "knowledge": _plus(old.knowledge, up.learn),
            "inventory": _plus(_minus(old.inventory, up.lose_items), up.gain_items),
            "location": old.location if up.location is None else up.location,
            "emotional_state": old.emotional_state if up.emotional_state is None
            else up.emotional_state})
    props = dict(before.props)
    for pid, pu in diff.prop_updates.items():
        changes = {k: v for k, v in (("owner", pu.owner), ("location", pu.location),
                                     ("status", pu.status)) if v is not None}
        props[pid] = props.get(pid, PropState()).model_copy(update=changes)
    places = dict(before.locations)
    for lid, lu in diff.location_updates.items():
        changes = {k: v for k, v in (("condition", lu.condition), ("lighting_state",
                   lu.lighting_state), ("notes", lu.notes)) if v is not None}
        places[lid] = places.get(lid, LocationState()).model_copy(update=changes)
    timeline = before.timeline.model_copy(update={"current_scene": diff.scene_id})
    return before.model_copy(update={"characters": dict(sorted(chars.items())),
                                     "props": dict(sorted(props.items())),
                                     "locations": dict(sorted(places.items())),
                                     "timeline": timeline})


def rewind(after: WorldState, diff: StateDiff, previous_scene: str | None) -> WorldState:
    """The state before a diff, as far as it can be known from the state after it.

    Lists are exact (injuries added are removed, healed ones restored; knowledge learned is
    removed; items gained are removed, lost ones restored; a prop given to a new owner leaves
    that owner's inventory). A value the diff overwrote (a location, an owner, an emotional
    state, a lighting state) becomes '' (unknown): the checks never judge an unknown.
    """
    chars = dict(after.characters)
    for pid, pu in diff.prop_updates.items():
        if pu.owner and pu.owner in chars:
            held = chars[pu.owner]
            chars[pu.owner] = held.model_copy(update={"inventory": _minus(held.inventory,
                                                                            [pid])})
    for cid, up in diff.character_updates.items():
        now = chars.get(cid)
        if now is None:
            continue
        chars[cid] = now.model_copy(update={
            "injuries": _plus(_minus(now.injuries, up.add_injuries), up.heal_injuries),
            "knowledge": _minus(now.knowledge, up.learn),
            "inventory": _plus(_minus(now.inventory, up.gain_items), up.lose_items),
            "location": "" if up.location is not None else now.location,
            "emotional_state": "" if up.emotional_state is not None else now.emotional_state})
    props = {pid: p.model_copy(update={k: "" for k in ("owner", "location", "status")
                                       if getattr(diff.prop_updates[pid], k) is not None})
             if pid in diff.prop_updates else p for pid, p in after.props.items()}
    places = {lid: s.model_copy(update={k: "" for k in ("condition", "lighting_state", "notes")
                                        if getattr(diff.location_updates[lid], k) is not None})
              if lid in diff.location_updates else s for lid, s in after.locations.items()}
    prefix = f"{diff.scene_id}: "
    timeline = after.timeline.model_copy(update={
        "current_scene": previous_scene,
        "global_notes": [n for n in after.timeline.global_notes if not n.startswith(prefix)]})
    return after.model_copy(update={"characters": chars, "props": props, "locations": places,
                                    "timeline": timeline})


def with_observations(facts: Sequence[SceneFacts],
                      observations: Iterable[Observation]) -> list[SceneFacts]:
    """The facts with observations attached to their scenes (unknown scenes are ignored)."""
    by_scene: dict[str, list[Observation]] = {}
    for obs in observations:
        by_scene.setdefault(obs.scene_id, []).append(obs)
    return [replace(f, observations=(*f.observations, *by_scene.get(f.scene_id, ())))
            for f in facts]


# -- the report ------------------------------------------------------------------------------


_READS: dict[Category, tuple[str, ...]] = {
    "character": ("CHAR_LOCK", "SCENES", "BREAKDOWN"),
    "set": ("SET_LOCK", "SCENES", "WORLD_STATE"),
    "prop_inventory": ("BREAKDOWN", "STATE_DIFF", "WORLD_STATE"),
    "injury_emotional": ("STATE_DIFF", "WORLD_STATE"),
    "knowledge": ("STATE_DIFF", "WORLD_STATE", "CHAR_LOCK"),
    "timeline": ("SCENES", "STATE_DIFF", "SET_LOCK")}
"""The artifact kinds each check reads (named in its notes)."""
_NEEDS: dict[Category, str] = {"character": "CHAR_LOCK", "set": "SET_LOCK"}
"""A check with no finding and no input of this kind had nothing to check (N/A)."""
_SEVERITIES: tuple[Severity, ...] = ("High", "Medium", "Low")


def merge(code: Sequence[Finding], model: Iterable[Finding]) -> list[Finding]:
    """Code findings verbatim, then each model finding that is not already there.

    The model can add; it can never remove or soften a code finding, because nothing it
    returns is allowed to replace one (a restated finding with another severity is an
    additional row, and the code row stays).
    """
    out = list(code)
    seen = {_identity(f) for f in out}
    for finding in model:
        if _identity(finding) not in seen:
            seen.add(_identity(finding))
            out.append(finding)
    return out


def _identity(f: Finding) -> tuple[str, str, tuple[str, ...], str]:
    return (f.category, f.severity, tuple(f.scenes), " ".join(f.description.casefold().split()))


def report(target: str, findings: Sequence[Finding], checked_artifacts: Sequence[str]
           ) -> ContinuityReport:
    """The CONTINUITY_REPORT: one check per category, the findings, the corrections.

    A check FAILs when its category has a Medium or High finding, is N/A when it had nothing
    to check (no finding and no lock of the kind it needs among the checked artifacts), and
    PASSes otherwise; its notes count the findings and name what was checked.
    """
    checks = {f"{cat}_check": _check(cat, findings, checked_artifacts) for cat in CATEGORIES}
    corrections = list(dict.fromkeys(f.correction for f in findings if f.correction))
    return ContinuityReport.model_validate({"target": target, **checks,
                                            "findings": [f.model_dump() for f in findings],
                                            "corrections": corrections})


def _check(category: Category, findings: Sequence[Finding], checked: Sequence[str]) -> Check:
    mine = [f for f in findings if f.category == category]
    kinds = {name: _kind_of(name) for name in checked}
    relevant = [n for n, k in kinds.items() if k in _READS[category]]
    needed = _NEEDS.get(category)
    if not mine and needed and needed not in kinds.values():
        return Check(status="N/A", notes=f"no {needed} to check against")
    counts = ", ".join(f"{n} {s}" for s in _SEVERITIES
                       if (n := sum(1 for f in mine if f.severity == s)))
    failed = any(f.severity in ("High", "Medium") for f in mine)
    notes = f"{counts or 'no contradictions'}; checked {_summarise(relevant, kinds)}"
    return Check(status="FAIL" if failed else "PASS", notes=notes)


def _kind_of(name: str) -> str:
    try:
        return ArtifactName.parse(name).kind
    except ArtifactNameError:
        return ""


def _summarise(names: Sequence[str], kinds: Mapping[str, str], most: int = 4) -> str:
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(kinds[name], []).append(name)
    parts = [", ".join(group) if len(group) <= most else f"{len(group)} {kind_name} versions"
             for kind_name, group in groups.items()]
    return ", ".join(parts) or "nothing"


def gate_failures(findings: Sequence[Finding]) -> list[str]:
    """The gate's reasons: every High finding (the gate FAILs on any)."""
    return [f"High {f.category} finding in {', '.join(f.scenes) or 'the target'}: "
            f"{f.description}" for f in findings if f.severity == "High"]


def name_artifacts(findings: Sequence[Finding], names: Sequence[str]) -> list[Finding]:
    """Findings with artifact stems (``STATE_DIFF_S03``) replaced by the file names read."""
    by_stem = {re.sub(r"_v\d+\.\w+$", "", n): n for n in names}
    return [f.model_copy(update={"artifacts": list(dict.fromkeys(by_stem.get(a, a)
                                                                  for a in f.artifacts))})
            for f in findings]
