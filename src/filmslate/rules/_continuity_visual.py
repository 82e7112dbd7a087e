"""Visual continuity (issue 13 §4): what the vision tier saw in a scene's takes, judged by code.

The vision tier only reports what each take shows (:class:`~filmslate.schemas._continuity.
ShotSeen`: who is visible, what they wear, their visible injuries, what is in their hands, what
the framing hides, the light). Everything here is deterministic:

1. **Each shot against the world state and the locks.** A shot's sightings become the
   continuity checks' own :class:`Observation` records (``wears`` outfit, ``shows_injury``,
   ``uses_prop`` for a prop in a hand, ``lighting``) plus one ``uninjured`` for every injury
   the world state records before the scene (and the scene's diff does not heal) that the take
   does not show and the framing does not hide. The existing checks judge them
   (``check_injuries``: a recorded injury not shown is **High**; ``check_wardrobe``,
   ``check_props``, ``check_lighting`` with their severities). Only what the sightings add is
   kept: the text's own findings are continuity-supervisor's.
2. **A character of the shot list nobody saw**: **Medium** (QC's face count speaks for faces).
   A take of a framing that shows the set (wide, establishing, tracking) in which none of the
   set lock's visual anchors is seen: **Medium** (the place may not read as itself).
3. **Consecutive shots** (shot-list order, a character visible in both): a prop in their hand
   in one and gone in the next while the scene's diff records no change to it; what they wear
   changing (neither description covers the other); an injury shown in one and gone in the
   next: each **High**, on the later shot (the one to make again).

Matching is on content words (``_continuity_inputs.words``): a held item names a tracked prop
when one's words contain the other's; an injury is shown when a visible injury shares a
content word with it that is not a side or direction (left, right, upper ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..schemas import Finding, SetLock, ShotRow
from ..schemas._continuity import CharacterSeen, ShotFinding, ShotSeen
from ._continuity_characters import check_injuries, check_wardrobe
from ._continuity_inputs import (
    Locks,
    Observation,
    ObservationKind,
    Policy,
    SceneFacts,
    char_state,
    covered,
    diff_stem,
    entry_key,
    key,
    update_of,
    words,
)
from ._continuity_lighting import check_lighting
from ._continuity_match import matches_injury
from ._continuity_props import check_props

__all__ = ["SET_FRAMINGS", "gate_reasons", "high_by_shot", "observations", "visual_findings"]

SET_FRAMINGS = frozenset({"wide", "establishing", "tracking"})  # the set is in view
_SIDES = frozenset({"left", "right", "upper", "lower", "side", "front", "back", "small", "big"})
_HANDS = frozenset({"hand", "arm", "hands", "arms", "wrist"})


def visual_findings(
    facts: SceneFacts,
    shots: Sequence[ShotSeen],
    planned: Mapping[str, ShotRow],
    locks: Locks,
    policy: Policy,
) -> list[ShotFinding]:
    """Every finding on the scene's takes, in shot order (``planned``: shot -> its row)."""
    found: list[ShotFinding] = []
    previous: ShotSeen | None = None
    for seen in shots:
        row = planned.get(seen.shot_id)
        found += _shot(facts, seen, locks, policy)
        found += _unseen(seen, row.char_ids if row else ())
        if row is not None and row.camera_type in SET_FRAMINGS:
            found += _no_anchor(seen, locks.set_for(row.set_id or facts.location))
        if previous is not None:
            found += _jumps(facts, previous, seen)
        previous = seen
    return found


def observations(seen: ShotSeen, facts: SceneFacts) -> list[Observation]:
    """A shot's sightings as the continuity checks' observations (see the module docs)."""
    where = f"in {seen.shot_id}"
    props = _known_props(facts)

    def saw(kind: ObservationKind, character: str = "", **fields: Any) -> Observation:
        return Observation(kind=kind, character=character, scene_id=facts.scene_id, **fields)

    out: list[Observation] = []
    for c in seen.characters:
        who = c.character
        if c.wearing:
            out.append(saw("wears", who, subject="outfit", detail=c.wearing))
        out += [saw("shows_injury", who, subject=injury) for injury in c.injuries]
        out += [
            saw("uninjured", who, subject=injury, detail=f"not visible {where}")
            for injury in _active_injuries(facts, who)
            if not _shown(injury, c, char_state(facts.before, who).injury_signs)
        ]
        out += [
            saw("uses_prop", who, subject=_prop_id(item, props), detail=f"in hand {where}")
            for item in c.holding
        ]
    if seen.light or seen.kelvin is not None:
        out.append(saw("lighting", detail=seen.light or where, kelvin=seen.kelvin))
    return out


def gate_reasons(findings: Iterable[ShotFinding]) -> list[str]:
    """One reason per High finding: the shot, then the finding and its fix."""
    return [_reason(f) for f in findings if f.severity == "High"]


def high_by_shot(findings: Iterable[ShotFinding]) -> dict[str, list[str]]:
    """The High findings' reasons grouped by shot, in shot order (what each regen is given)."""
    out: dict[str, list[str]] = {}
    for f in findings:
        if f.severity == "High":
            out.setdefault(f.shot_id, []).append(_reason(f))
    return out


def _reason(f: ShotFinding) -> str:
    fix = f" (fix: {f.correction})" if f.correction else ""
    return f"{f.shot_id}: {f.category} High: {f.description}{fix}"


# -- one shot --------------------------------------------------------------------------------


def _shot(facts: SceneFacts, seen: ShotSeen, locks: Locks, policy: Policy) -> list[ShotFinding]:
    """The findings the shot's sightings add to what the text alone gives."""
    plain = replace(facts, props_used=(), observations=())
    looked = replace(plain, observations=tuple(observations(seen, facts)))
    known = {_identity(f) for f in _checks(plain, locks, policy)}
    return [_on(seen, f) for f in _checks(looked, locks, policy) if _identity(f) not in known]


def _checks(facts: SceneFacts, locks: Locks, policy: Policy) -> list[Finding]:
    return [
        *check_injuries(facts),
        *check_wardrobe(facts, locks),
        *check_props(facts),
        *check_lighting(facts, locks, policy, None),  # the phase is the text's to judge
    ]


def _unseen(seen: ShotSeen, cast: Sequence[str]) -> list[ShotFinding]:
    visible = {key(c.character) for c in seen.characters}
    return [
        _finding(
            seen,
            "character",
            "Medium",
            f"{cid} is in the shot list but not seen in the take",
            f"make {cid} visible in {seen.shot_id} as the shot list and GenPack say",
        )
        for cid in cast
        if key(cid) not in visible
    ]


def _no_anchor(seen: ShotSeen, lock: SetLock | None) -> list[ShotFinding]:
    if lock is None or not lock.visual_anchors:
        return []
    if any(_alike(a, anchor) for a in seen.anchors for anchor in lock.visual_anchors):
        return []
    return [
        _finding(
            seen,
            "set",
            "Medium",
            f"none of SET_{lock.name}_LOCK's anchors ({'; '.join(lock.visual_anchors)}) is seen "
            "in a framing that shows the set",
            f"show the set's anchors in {seen.shot_id}",
        )
    ]


# -- consecutive shots -----------------------------------------------------------------------


def _jumps(facts: SceneFacts, before: ShotSeen, after: ShotSeen) -> list[ShotFinding]:
    """Jumps between two consecutive shots, on the later one."""
    out: list[ShotFinding] = []
    earlier = {key(c.character): c for c in before.characters}
    props = _known_props(facts)
    for c in after.characters:
        was = earlier.get(key(c.character))
        if was is None:
            continue  # not visible in the shot before: nothing to compare
        out += _prop_jumps(facts, before.shot_id, was, after, c, props)
        if was.wearing and c.wearing and not _same_look(was.wearing, c.wearing):
            out.append(
                _finding(
                    after,
                    "character",
                    "High",
                    f"{c.character} wears {c.wearing!r} but {was.wearing!r} in {before.shot_id}, "
                    "the shot before: the wardrobe changes between consecutive shots",
                    f"keep {c.character} in {was.wearing} in {after.shot_id}",
                )
            )
        out += _injury_jumps(facts, before.shot_id, was, after, c)
    return out


def _prop_jumps(
    facts: SceneFacts,
    shot_before: str,
    was: CharacterSeen,
    after: ShotSeen,
    now: CharacterSeen,
    props: Sequence[str],
) -> list[ShotFinding]:
    held = {key(_prop_id(i, props)) for i in now.holding}
    hands_hidden = any(words(h) & (_HANDS | words(" ".join(was.holding))) for h in now.hidden)
    out = []
    for item in was.holding:
        pid = _prop_id(item, props)
        if key(pid) in held or hands_hidden or _changed(facts, pid):
            continue
        out.append(
            _finding(
                after,
                "prop_inventory",
                "High",
                f"{now.character} holds {item} in {shot_before}, the shot before, but not here, "
                f"and {diff_stem(facts.scene_id)} records no change to it",
                f"keep {item} in {now.character}'s hand in {after.shot_id}, or record the "
                f"hand-over in {diff_stem(facts.scene_id)}",
            )
        )
    return out


def _injury_jumps(
    facts: SceneFacts, shot_before: str, was: CharacterSeen, after: ShotSeen, now: CharacterSeen
) -> list[ShotFinding]:
    recorded = _active_injuries(facts, now.character)  # judged against the world state already
    healed = _healed(facts, now.character)
    out = []
    for injury in was.injuries:
        if _shown(injury, now) or any(_alike(injury, r) for r in recorded):
            continue
        if any(_alike(injury, h) for h in healed):
            continue
        out.append(
            _finding(
                after,
                "injury_emotional",
                "High",
                f"{now.character} shows {injury!r} in {shot_before}, the shot before, but not here",
                f"show {injury!r} on {now.character} in {after.shot_id}",
            )
        )
    return out


# -- helpers ---------------------------------------------------------------------------------


def _active_injuries(facts: SceneFacts, cid: str) -> list[str]:
    """Injuries the character has before the scene that its diff does not heal."""
    healed = {entry_key(h) for h in _healed(facts, cid)}
    return [i for i in char_state(facts.before, cid).injuries if entry_key(i) not in healed]


def _healed(facts: SceneFacts, cid: str) -> list[str]:
    update = update_of(facts, cid)
    return list(update.heal_injuries) if update else []


def _alike(a: str, b: str) -> bool:
    """Two injury descriptions share a content word that is not a side or a size."""
    return bool((words(a) & words(b)) - _SIDES)


def _shown(injury: str, c: CharacterSeen, signs: Mapping[str, Sequence[str]] | None = None) -> bool:
    """The injury is visible on the character (by name or a visible sign: a limp for an
    ankle), or the framing hides where it is."""
    return any(
        _alike(injury, v) or matches_injury(v, injury, signs or {}) for v in c.injuries
    ) or any(_alike(injury, h) for h in c.hidden)


def _same_look(a: str, b: str) -> bool:
    return covered(a, b) or covered(b, a)


def _known_props(facts: SceneFacts) -> list[str]:
    tracked = [*facts.before.props, *facts.new_props, *facts.props_used]
    tracked += [i for c in facts.before.characters.values() for i in c.inventory]
    return list(dict.fromkeys(tracked))


def _prop_id(item: str, props: Sequence[str]) -> str:
    """The tracked prop an item in a hand names (its words contain the prop's, or the other
    way round), else the item as said."""
    said = words(item)
    for pid in props:
        named = words(pid.replace("_", " "))
        if named and said and (named <= said or said <= named):
            return pid
    return item


def _changed(facts: SceneFacts, pid: str) -> bool:
    """The scene's diff records a change to the prop (a prop update, or someone gaining or
    losing it)."""
    diff = facts.diff
    if diff is None:
        return False
    if any(key(p) == key(pid) for p in diff.prop_updates):
        return True
    moves = (i for u in diff.character_updates.values() for i in [*u.gain_items, *u.lose_items])
    return any(key(i) == key(pid) for i in moves)


def _identity(f: Finding) -> tuple[str, str, str]:
    return f.category, f.severity, " ".join(f.description.casefold().split())


def _on(seen: ShotSeen, f: Finding) -> ShotFinding:
    artifacts = [a for a in (seen.take, *f.artifacts) if a]
    return ShotFinding(
        **{**f.model_dump(), "artifacts": list(dict.fromkeys(artifacts))}, shot_id=seen.shot_id
    )


def _finding(
    seen: ShotSeen, category: str, severity: str, description: str, correction: str
) -> ShotFinding:
    return ShotFinding.model_validate(
        {
            "category": category,
            "severity": severity,
            "scenes": [seen.shot_id.split("_SH", 1)[0]],
            "artifacts": [seen.take] if seen.take else [],
            "description": description,
            "correction": correction,
            "shot_id": seen.shot_id,
        }
    )
