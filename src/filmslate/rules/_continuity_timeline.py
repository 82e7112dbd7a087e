"""The timeline checks: nobody is in two places at once, and time of day moves forward.

Also the phase of day a scene plays at (stated, or inherited across a continuous join):
``check_scene`` hands it to the lighting check, and the supervisor asks ``phase_at`` for the
phase of the scene before the ones it checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..schemas import Finding, SceneRow, SetLock
from ._continuity_inputs import (
    PHASES,
    Locks,
    SceneFacts,
    Severity,
    diff_stem,
    finding,
    key,
    phase_of,
    same_place,
    time_join,
    update_of,
    words,
)
from ._lock_drift import seen
from ._set_places import place_names
from ._worldstate_story import story_place


def check_places(f: SceneFacts, prev: SceneFacts | None, locks: Locks) -> list[Finding]:
    """Nobody is in two places at once (timeline).

    Same scene: a character listed in the scene whose ``at_location`` observation names
    another place, or with two observations naming different places: **High** (places of
    one set lock, by its declared places, count as one).

    Consecutive scenes joined by SAME / SAME TIME / SIMULTANEOUS (the same moment): a
    character listed in both at different places: **High**. Joined by CONTINUOUS / MOMENTS
    LATER (no time passes): a character listed in both at different places is fine when a
    diff of either scene moves them to this scene's place with a named event (``via``), or
    when a set lock's layout names the other place (the two connect). Otherwise **High** when
    both places have set locks that do not connect them, **Medium** when a lock is missing
    and the connection cannot be confirmed. Places inside one another count as one place.
    """
    findings = _places_in_scene(f, locks)
    if (
        prev is None
        or f.join not in ("continuous", "simultaneous")
        or same_place(prev.location, f.location)
    ):
        return findings
    scenes = [prev.scene_id, f.scene_id]
    arts = ["SCENES", diff_stem(prev.scene_id), diff_stem(f.scene_id)]
    for cid in (c for c in f.characters if prev.present(c)):
        severity: Severity | None = "High"
        if f.join == "continuous":
            severity = (
                None
                if _moved(cid, f, (prev, f))
                else {True: None, False: "High", None: "Medium"}[_connected(prev, f, locks)]
            )
        if severity is None:
            continue
        findings.append(
            finding(
                "timeline",
                severity,
                scenes,
                arts,
                f"{cid} is at {prev.location} in {prev.scene_id} and at {f.location} in "
                f"{f.scene_id}, joined as {f.time_of_day!r}: two places in the same moment",
                f"mark a time cut (LATER) on {f.scene_id}, drop {cid} from one scene, or record "
                f"the move (a location update with a via) and the connection in the set locks",
            )
        )
    return findings


def _one_place(a: str, b: str, locks: Locks) -> bool:
    """Same place, one inside the other, or both places of one set lock."""
    if same_place(a, b):
        return True
    lock = locks.set_for(a)
    return lock is not None and lock is locks.set_for(b)


def _places_in_scene(f: SceneFacts, locks: Locks) -> list[Finding]:
    findings = []
    places: dict[str, list[str]] = {}
    for cid in f.characters:
        places.setdefault(key(cid), []).append(f.location)
    for obs in f.seen("at_location"):
        places.setdefault(key(obs.character), []).append(obs.subject)
    for cid, where in places.items():
        distinct: list[str] = []
        for place in where:
            if not any(_one_place(place, seen, locks) for seen in distinct):
                distinct.append(place)
        if len(distinct) > 1:
            findings.append(
                finding(
                    "timeline",
                    "High",
                    [f.scene_id],
                    ["SCENES", "BREAKDOWN"],
                    f"{cid} is placed at {' and '.join(distinct)} in {f.scene_id}",
                    f"keep {cid} in one place in {f.scene_id}, or split the scene",
                )
            )
    return findings


def _moved(cid: str, here: SceneFacts, scenes: Sequence[SceneFacts]) -> bool:
    for scene in scenes:
        update = update_of(scene, cid)
        if update and update.location and update.via and same_place(update.location, here.location):
            return True
    return False


def _connected(a: SceneFacts, b: SceneFacts, locks: Locks) -> bool | None:
    """Whether two places connect: places of one set do; else a lock's layout names the
    other place (or its set, or one of its set's places). None: a lock is missing."""
    lock_a, lock_b = locks.set_for(a.location), locks.set_for(b.location)
    if lock_a is not None and lock_a is lock_b:
        return True
    for lock, other, its in ((lock_a, b.location, lock_b), (lock_b, a.location, lock_a)):
        names = [key(other), *(place_names(its.name, its) if its is not None else [])]
        if lock is not None and any(_names_place(lock, n) for n in names):
            return True
    return False if lock_a is not None and lock_b is not None else None


def _names_place(lock: SetLock, place: str) -> bool:
    layout = lock.layout
    text = key(
        " ".join([layout.geometry, layout.entries_exits, layout.windows, layout.spatial_relations])
    )
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

    Within a scene whose heading states a time, a ``lighting`` observation two or more
    phases away (midday sun in a NIGHT scene) is **Medium** (``_light_against_heading``).
    """
    phase = f.stated_phase
    if prev is None or prev_phase is None or phase is None:
        return _light_against_heading(f)
    step = (phase - prev_phase) % len(PHASES)
    if step == 0:
        return _light_against_heading(f)
    moves = f"from {PHASES[prev_phase]} in {prev.scene_id} to {PHASES[phase]} in {f.scene_id}"
    scenes, arts = [prev.scene_id, f.scene_id], ["SCENES", diff_stem(f.scene_id)]
    if f.join in ("continuous", "simultaneous"):
        if step == 1:
            return [
                finding(
                    "timeline",
                    "Low",
                    scenes,
                    arts,
                    f"the light turns {moves} within continuous action",
                    f"make sure the turn of light is shown, or mark a cut on {f.scene_id}",
                )
            ]
        how = "goes backwards" if step >= 3 else "jumps"
        return [
            finding(
                "timeline",
                "High",
                scenes,
                arts,
                f"time of day {how} {moves} across {f.time_of_day!r}",
                f"set {f.scene_id} to {PHASES[prev_phase]}, or replace "
                f"{f.time_of_day!r} with a time cut",
            )
        ]
    if step == 1 or f.join == "cut" or _elapsed(f):
        return []
    return [
        finding(
            "timeline",
            "Medium",
            scenes,
            arts,
            f"time of day jumps {moves} with no transition",
            f"mark the cut in {f.scene_id}'s heading (LATER, THE NEXT MORNING) or "
            "record the elapsed time in its diff",
        )
    ]


def _light_against_heading(f: SceneFacts) -> list[Finding]:
    """A ``lighting`` observation two or more phases from the heading's time of day (midday
    sun in a NIGHT scene): **Medium**. A neighbouring phase (dusk light at NIGHT) is fine."""
    stated = phase_of(f.time_of_day)
    if stated is None:
        return []
    out = []
    for obs in f.seen("lighting"):
        seen = phase_of(_shown(f"{obs.subject} {obs.detail}"))
        if seen is None or min((seen - stated) % 5, (stated - seen) % 5) < 2:
            continue
        out.append(
            finding(
                "timeline",
                "Medium",
                [f.scene_id],
                ["SCENES"],
                f"{f.scene_id} is set at {PHASES[stated]} but its light ({obs.detail}) is "
                f"{PHASES[seen]}",
                f"relight {f.scene_id} for {PHASES[stated]}, or change its time of day",
            )
        )
    return out


def _shown(text: str) -> str:
    """The words of a description it shows present, in order ('no daylight, the lamp' ->
    'the lamp')."""
    present = seen(text).present
    return " ".join(t for t in re.findall(r"[A-Za-z]+", text) if words(t) <= present)


def _elapsed(f: SceneFacts) -> bool:
    return f.diff is not None and bool(
        f.diff.timeline_update.elapsed_time or f.diff.timeline_update.notes
    )


def effective_phase(f: SceneFacts, prev_phase: int | None) -> int | None:
    """The scene's phase: stated, or inherited across a continuous join."""
    phase = f.stated_phase
    if phase is None and f.join in ("continuous", "simultaneous"):
        return prev_phase
    return phase


def phase_at(rows: Sequence[SceneRow], index: int) -> int | None:
    """The phase of day of one SCENES row, from time-of-day texts only: a continuous scene
    that states none inherits it from the rows before it (in story time: a scene in order
    skips the flashbacks before it, a flashback looks back only within itself)."""
    place = story_place(rows[index])
    for row in reversed(rows[: index + 1]):
        if story_place(row) != place:
            if place is not None:
                return None
            continue
        phase = phase_of(row.time_of_day)
        if phase is not None:
            return phase
        if time_join(row.time_of_day) not in ("continuous", "simultaneous"):
            return None
    return None
