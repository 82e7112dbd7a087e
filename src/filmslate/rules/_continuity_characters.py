"""The checks about a character's body, mind and look: injuries, knowledge, wardrobe.

Categories injury_emotional (injuries persist until healed), knowledge (nobody uses what they
never learned) and character (wardrobe and appearance follow the character lock).
"""

from __future__ import annotations

import re

from ..schemas import CharLock, Finding
from ._continuity_inputs import (
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
    words,
)

_HEX = re.compile(r"#[0-9A-Fa-f]{6}")


def check_injuries(f: SceneFacts) -> list[Finding]:
    """Injuries persist until healed (injury_emotional).

    An injury is active in a scene when the character has it at the start of the scene and
    the scene's diff does not heal it. An ``uninjured`` observation whose ``subject`` shares a
    content word with an active injury (or names none) contradicts it: **High**. A
    ``shows_injury`` observation matching no injury the character has or gains in this scene
    is an unrecorded injury: **Medium**.
    """
    findings: list[Finding] = []
    arts = [diff_stem(f.scene_id), "WORLD_STATE"]
    for obs in f.seen("uninjured"):
        for injury in _active_injuries(f, obs.character):
            if obs.subject and not words(obs.subject) & words(injury):
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
        if not any(words(obs.subject) & words(i) for i in known):
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


def _added_injuries(f: SceneFacts, cid: str) -> list[str]:
    update = update_of(f, cid)
    return list(update.add_injuries) if update else []


def _active_injuries(f: SceneFacts, cid: str) -> list[str]:
    update = update_of(f, cid)
    healed = {entry_key(h) for h in (update.heal_injuries if update else [])}
    return [i for i in char_state(f.before, cid).injuries if entry_key(i) not in healed]


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
        known = [
            *char_state(f.after, obs.character).knowledge,
            *(lock.knowledge_at_introduction if lock else []),
        ]
        if any(_same_fact(obs.detail, entry) for entry in known):
            continue
        arts = ["WORLD_STATE", diff_stem(f.scene_id)]
        if lock:
            arts.append(f"CHAR_{key(obs.character)}_LOCK")
        findings.append(
            finding(
                "knowledge",
                "High",
                [f.scene_id],
                arts,
                f"{obs.character} knows {obs.detail!r} in {f.scene_id}, which they never learned",
                f"show {obs.character} learning it (learn in the diff of the scene where it "
                f"happens), or cut the line from {f.scene_id}",
            )
        )
    return findings


def _same_fact(fact: str, entry: str) -> bool:
    said, known = words(fact), words(entry)
    return bool(said) and (said <= known or (len(known) >= 2 and known <= said))


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
        elif not _fits_lock(obs, lock) and not _justified(f, obs):
            findings.append(
                finding(
                    "character",
                    "Medium",
                    [f.scene_id],
                    [stem, "BREAKDOWN"],
                    f"{obs.character}'s {obs.subject or 'look'} in {f.scene_id} ({obs.detail}) "
                    f"does not match {stem}",
                    f"use the locked {obs.subject or 'look'}, or add a "
                    f"justified variant to {stem} (a new lock version) and note the change in "
                    "the breakdown",
                )
            )
    return findings


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


def _justified(f: SceneFacts, obs: Observation) -> bool:
    return any(
        f"_{key(obs.character)}_" in f"_{key(change)}_" and covered(obs.detail, change)
        for change in f.state_changes
    )
