"""The checks about a character's body, mind and look: injuries, knowledge, wardrobe.

Categories injury_emotional (injuries persist until healed), knowledge (nobody uses what they
never learned) and character (wardrobe and appearance follow the character lock).
"""

from __future__ import annotations

import re

from ..schemas import CharLock, Finding
from ._continuity_inputs import (
    ClaimJudgment,
    Locks,
    Observation,
    SceneFacts,
    char_state,
    covered,
    diff_stem,
    entry_key,
    finding,
    key,
    update_of,
)
from ._continuity_match import judge_claim, matches_injury
from ._lock_drift import breaks, interior_of, parse_drift

_HEX = re.compile(r"#[0-9A-Fa-f]{6}")


def check_injuries(f: SceneFacts) -> list[Finding]:
    """Injuries persist until healed (injury_emotional).

    An injury is active in a scene when the character has it at the start of the scene and
    the scene's diff does not heal it. An ``uninjured`` observation that points at an active
    injury (names it, or one of its visible signs: ``_continuity_match.matches_injury``), or
    names none, contradicts it: **High**. A ``shows_injury`` observation matching no injury
    the character has or gains in this scene (by name or visible sign) is an unrecorded
    injury: **Medium**. The state is the one at the scene's story time: a flashback before
    the injury shows the character unhurt.
    """
    findings: list[Finding] = []
    arts = [diff_stem(f.scene_id), "WORLD_STATE"]
    for obs in f.seen("uninjured"):
        signs = _signs(f, obs.character)
        for injury in _active_injuries(f, obs.character):
            if obs.subject and not matches_injury(obs.subject, injury, signs):
                continue
            shown = f" ({obs.detail})" if obs.detail else ""
            findings.append(
                finding(
                    "injury_emotional",
                    "High",
                    [f.scene_id],
                    arts,
                    f"{obs.character} appears without {injury!r}{shown} in {f.scene_id}, but the "
                    "injury was never healed",
                    f"show {injury!r} in {f.scene_id} (or play the "
                    f"action as the injury allows), or heal it in a diff with the event that "
                    "heals it",
                )
            )
    for obs in f.seen("shows_injury"):
        known = [*char_state(f.before, obs.character).injuries, *_added_injuries(f, obs.character)]
        signs = _signs(f, obs.character)
        if not any(matches_injury(obs.subject, i, signs) for i in known):
            findings.append(
                finding(
                    "injury_emotional",
                    "Medium",
                    [f.scene_id],
                    arts,
                    f"{obs.character} shows {obs.subject!r} in {f.scene_id}, an injury the world "
                    "state does not record",
                    "add it with add_injuries in the diff of the scene "
                    "where it happens, or remove it from the scene",
                )
            )
    return findings


def _signs(f: SceneFacts, cid: str) -> dict[str, list[str]]:
    """The recorded visible signs of a character's injuries, as of the scene's end."""
    return {**char_state(f.before, cid).injury_signs, **char_state(f.after, cid).injury_signs}


def _added_injuries(f: SceneFacts, cid: str) -> list[str]:
    update = update_of(f, cid)
    return list(update.add_injuries) if update else []


def _active_injuries(f: SceneFacts, cid: str) -> list[str]:
    update = update_of(f, cid)
    healed = {entry_key(h) for h in (update.heal_injuries if update else [])}
    return [i for i in char_state(f.before, cid).injuries if entry_key(i) not in healed]


def check_knowledge(f: SceneFacts, locks: Locks) -> list[Finding]:
    """Nobody uses knowledge they never learned (knowledge).

    A ``states_fact`` observation is a claim, checked against the character's knowledge
    after the scene (with what the diff's ``learn`` adds here) and their lock's knowledge at
    introduction (``_continuity_match.judge_claim``): known when one entry entails it, fine;
    unknown: **High**; ambiguous (an entry wrapped in more, or several entries joined): the
    judgment tier's recorded verdict decides (entailed: a **Low** finding recording why; not
    entailed, or not judged: **High**).
    """
    findings = []
    for obs in f.seen("states_fact"):
        lock = locks.char(obs.character)
        known = [
            *char_state(f.after, obs.character).knowledge,
            *(lock.knowledge_at_introduction if lock else []),
        ]
        verdict, entry = judge_claim(obs.detail, known)
        if verdict == "known":
            continue
        arts = ["WORLD_STATE", diff_stem(f.scene_id)]
        if lock:
            arts.append(f"CHAR_{key(obs.character)}_LOCK")
        judged = _judgment(f, obs)
        if verdict == "ambiguous" and judged is not None and judged.entailed:
            findings.append(
                finding(
                    "knowledge",
                    "Low",
                    [f.scene_id],
                    arts,
                    f"{obs.character} states {obs.detail!r} in {f.scene_id}: judged entailed "
                    f"by what they know ({entry!r}): {judged.reason or 'no reason given'}",
                    "",
                )
            )
            continue
        findings.append(_unlearned(f, obs, verdict, entry, judged, arts))
    return findings


def ambiguous_claims(f: SceneFacts, locks: Locks) -> list[tuple[str, str, str]]:
    """(character, claim, the entry it turns on) for each claim code cannot decide and the
    judgment tier has not judged: what the supervisor asks the judgment tier about."""
    out = []
    for obs in f.seen("states_fact"):
        lock = locks.char(obs.character)
        known = [
            *char_state(f.after, obs.character).knowledge,
            *(lock.knowledge_at_introduction if lock else []),
        ]
        verdict, entry = judge_claim(obs.detail, known)
        if verdict == "ambiguous" and _judgment(f, obs) is None:
            out.append((obs.character, obs.detail, entry))
    return out


def _judgment(f: SceneFacts, obs: Observation) -> ClaimJudgment | None:
    return next(
        (
            j
            for j in f.judgments
            if key(j.character) == key(obs.character)
            and entry_key(j.claim) == entry_key(obs.detail)
        ),
        None,
    )


def _unlearned(
    f: SceneFacts,
    obs: Observation,
    verdict: str,
    entry: str,
    judged: ClaimJudgment | None,
    arts: list[str],
) -> Finding:
    why = ""
    if verdict == "ambiguous":
        how = f"judged not entailed: {judged.reason}" if judged else "not judged"
        why = f" (it goes beyond what they know, {entry!r}; {how})"
    elif entry:
        why = f" (they know the opposite: {entry!r})"
    return finding(
        "knowledge",
        "High",
        [f.scene_id],
        arts,
        f"{obs.character} knows {obs.detail!r} in {f.scene_id}, which they never learned{why}",
        f"show {obs.character} learning it (learn in the diff of the scene where it "
        f"happens), or cut the line from {f.scene_id}",
    )


def check_wardrobe(f: SceneFacts, locks: Locks, prev: SceneFacts | None = None) -> list[Finding]:
    """Wardrobe and appearance follow the character lock (character).

    A ``wears`` observation that breaks an item of the lock's forbidden-drift list, read with
    its negation (``_lock_drift``: "no hat indoors" bans a hat inside, "never without his
    glasses" requires the glasses): **High**. Otherwise it must be covered by what the
    character wears: when the world state records a costume (``wardrobe``, changed only by
    a diff, so a justified change persists into later scenes), ``outfit`` and ``accessory``
    must be covered by it (or the lock's accessories); else by the lock text for its aspect:
    ``outfit`` / ``accessory`` by the default outfit plus accessories or by a justified
    variant; ``hair``, ``eyes``, ``build``, ``mark`` by those appearance fields; ``colour`` as
    a hex code by the palette. A change the scene itself justifies passes too: a BREAKDOWN
    state change naming the character that covers the detail (of this scene, or of ``prev``
    when this one continues it: hair soaked in the storm is still wet a moment later).
    Anything else: **Medium**. Inside or outside (for "no hat indoors") is read from the
    place, the time text and the set lock's geometry ("an open quay, outdoors").
    """
    findings = []
    lock_of_set = locks.set_for(f.location)
    set_text = lock_of_set.layout.geometry if lock_of_set else ""
    changes = f.state_changes + (
        prev.state_changes if prev is not None and f.join == "continuous" else ()
    )
    for obs in f.seen("wears"):
        lock = locks.char(obs.character)
        if lock is None:
            continue
        stem = f"CHAR_{lock.name}_LOCK"
        inside = interior_of(f.location, f.time_of_day, set_text)
        forbidden = [
            item
            for item in lock.forbidden_drift
            if breaks(parse_drift(item), obs.detail, inside, kinds=True)
        ]
        if forbidden:
            findings.append(
                finding(
                    "character",
                    "High",
                    [f.scene_id],
                    [stem],
                    f"{obs.character}'s {obs.subject or 'look'} in {f.scene_id} ({obs.detail}) is "
                    f"on the forbidden-drift list: {forbidden[0]!r}",
                    f"restore {obs.character}'s locked {obs.subject or 'look'} in {f.scene_id}",
                )
            )
        elif not _fits(f, obs, lock) and not _justified(changes, obs):
            worn = char_state(f.after, obs.character).wardrobe
            findings.append(
                finding(
                    "character",
                    "Medium",
                    [f.scene_id],
                    [stem, "BREAKDOWN"],
                    f"{obs.character}'s {obs.subject or 'look'} in {f.scene_id} ({obs.detail}) "
                    + (
                        f"is not what the world state says they wear ({worn!r})"
                        if worn and _is_costume(obs)
                        else f"does not match {stem}"
                    ),
                    f"use the locked {obs.subject or 'look'}, or add a "
                    f"justified variant to {stem} (a new lock version) and note the change in "
                    "the breakdown",
                )
            )
    return findings


def _is_costume(obs: Observation) -> bool:
    return obs.subject.casefold() not in ("hair", "eyes", "build", "mark", "colour", "color")


def _fits(f: SceneFacts, obs: Observation, lock: CharLock) -> bool:
    """Covered by the costume the world state records, or (none recorded) by the lock."""
    worn = char_state(f.after, obs.character).wardrobe
    if worn and _is_costume(obs):
        return covered(obs.detail, " ".join([worn, *lock.wardrobe.accessories]))
    return _fits_lock(obs, lock)


def _fits_lock(obs: Observation, lock: CharLock) -> bool:
    look, dress = lock.appearance, lock.wardrobe
    aspect = obs.subject.casefold()
    if aspect in ("colour", "color") and (hexes := _HEX.findall(obs.detail)):
        return all(h.upper() in dress.palette for h in hexes)
    base = " ".join([dress.default_outfit, *dress.accessories])
    refs = {
        "hair": [look.hair],
        "eyes": [look.eyes],
        "build": [look.build],
        "mark": [" ".join(look.distinguishing_marks)],
    }.get(aspect)
    if refs is None:
        refs = [base, *(f"{v} {' '.join(dress.accessories)}" for v in dress.justified_variants)]
    return any(covered(obs.detail, ref) for ref in refs)


def _justified(changes: tuple[str, ...], obs: Observation) -> bool:
    return any(
        f"_{key(obs.character)}_" in f"_{key(change)}_" and covered(obs.detail, change)
        for change in changes
    )
