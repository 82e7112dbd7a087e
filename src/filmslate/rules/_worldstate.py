"""The world-state engine: apply one scene's STATE_DIFF to a WORLD_STATE, under the rules.

Pure code, no I/O. ``apply_diff`` returns the next state and never changes the one it was
given; a diff that breaks a rule is refused as a whole with every broken rule named, so a
model revising the diff can fix all of them in one pass. docs/world_state.md describes every
section of a diff and each rule.

The next state shares the entries a diff does not touch with the previous one (characters,
props and locations are immutable values here), so one step costs time in proportion to the
size of the state and of the diff, never to the number of scenes already applied.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

from ..core._scene_ids import comes_after
from ..schemas import (
    CharacterState,
    CharacterUpdate,
    LocationState,
    LocationUpdate,
    Rules,
    StateDiff,
    Timeline,
    WorldState,
)
from ._worldstate_breach import RULES, RuleBreach, WorldStateError
from ._worldstate_entries import entry_key, merged, missing_entries, sorted_if_grown, with_entries
from ._worldstate_step import PLACEHOLDER_VIA, Step

# The parts live beside this module: the rule ids and breaches (``_worldstate_breach``), one
# diff's prop and character pass (``_worldstate_step``) and the entry helpers
# (``_worldstate_entries``). The public names are re-exported so callers import from here.
__all__ = [
    "PLACEHOLDER_VIA",
    "RULES",
    "RuleBreach",
    "WorldStateError",
    "apply_diff",
    "build_states",
    "check_successor",
    "same_entry",
    "scene_number",
]

_SCENE_NUMBER = re.compile(r"S(\d+)")


# -- the public API --------------------------------------------------------------------------


def apply_diff(state: WorldState, diff: StateDiff, order: Sequence[str] = ()) -> WorldState:
    """The world after ``diff``: refuses (WorldStateError) a diff that breaks a rule.

    ``order`` is the scene ids in story order (the rows of SCENES): a diff applies only to a
    state before its scene. Without it, ids order by (episode, number).

    ``state`` is never changed. A character, prop or location the state does not know yet
    appears the first time an update names it (its first appearance).
    """
    breaches: list[RuleBreach] = []
    _check_order(state, diff, breaches, order)
    step = Step(state, diff, breaches)
    props = step.props()
    characters = step.characters()
    if breaches:
        raise WorldStateError(breaches)
    after = WorldState.model_construct(
        timeline=_timeline(state.timeline, diff),
        characters=characters,
        props=props,
        locations=_locations(state.locations, diff.location_updates),
        rules=_rules(state.rules, diff),
    )
    touched = {*diff.character_updates, *step.old_owner.values()}
    if guard := check_successor(state, diff, after, touched):  # empty by construction: a guard
        raise WorldStateError(guard)
    return after


def build_states(
    initial: WorldState, diffs: Iterable[StateDiff], order: Sequence[str] = ()
) -> Iterator[WorldState]:
    """Each state after each diff, in order (the first refusal stops the iteration)."""
    state = initial
    for diff in diffs:
        state = apply_diff(state, diff, order)
        yield state


def check_successor(
    before: WorldState, diff: StateDiff, after: WorldState, only: Collection[str] | None = None
) -> list[RuleBreach]:
    """What ``after`` loses that ``diff`` does not account for (empty for a true successor).

    Knowledge never shrinks; an injury leaves only through ``heal_injuries``; an item leaves
    an inventory only through ``lose_items`` or a prop's owner change. Use it to check a
    state that was not made by ``apply_diff`` (edited by hand, or by another tool); ``only``
    limits the check to some characters (apply_diff checks those the diff touches).
    """
    breaches: list[RuleBreach] = []
    moved_away = _props_leaving(before, diff)
    for cid, old in before.characters.items():
        if only is not None and cid not in only:
            continue
        new = after.characters.get(cid)
        update = diff.character_updates.get(cid, CharacterUpdate())
        kept = new or CharacterState()
        for fact in missing_entries(old.knowledge, kept.knowledge):
            breaches.append(
                RuleBreach(
                    "knowledge_only_grows",
                    diff.scene_id,
                    cid,
                    f"forgets {fact!r}",
                    "knowledge cannot be removed: keep every entry, add new ones with learn",
                )
            )
        for injury in missing_entries(old.injuries, kept.injuries, update.heal_injuries):
            breaches.append(
                RuleBreach(
                    "injury_persists",
                    diff.scene_id,
                    cid,
                    f"loses the injury {injury!r} unhealed",
                    f"keep it, or list it in character_updates.{cid}.heal_injuries",
                )
            )
        if update.wardrobe is None and kept.wardrobe != old.wardrobe:
            breaches.append(
                RuleBreach(
                    "wardrobe_needs_update",
                    diff.scene_id,
                    cid,
                    f"wears {kept.wardrobe!r} instead of {old.wardrobe!r} with no wardrobe "
                    "change in the diff",
                    f"set character_updates.{cid}.wardrobe with a via naming the change",
                )
            )
        allowed = [*update.lose_items, *moved_away.get(cid, ())]
        for item in missing_entries(old.inventory, kept.inventory, allowed):
            breaches.append(
                RuleBreach(
                    "inventory_needs_update",
                    diff.scene_id,
                    cid,
                    f"no longer holds {item!r}",
                    f"list it in character_updates.{cid}.lose_items, or move the prop with a "
                    "prop_updates entry",
                )
            )
    return breaches


def scene_number(scene_id: str) -> int:
    """``S07`` -> 7 (scene ids order by number, whatever their padding)."""
    match = _SCENE_NUMBER.fullmatch(scene_id)
    if match is None:
        raise ValueError(f"not a scene id: {scene_id!r}")
    return int(match.group(1))


def same_entry(a: str, b: str) -> bool:
    """Entries match ignoring case and spacing ('Cut on left arm' == 'cut on  left arm')."""
    return entry_key(a) == entry_key(b)


# -- the rules, section by section -----------------------------------------------------------


def _check_order(
    state: WorldState, diff: StateDiff, breaches: list[RuleBreach], order: Sequence[str]
) -> None:
    current = state.timeline.current_scene
    if current is not None and not comes_after(diff.scene_id, current, order):
        breaches.append(
            RuleBreach(
                "scene_order",
                diff.scene_id,
                "timeline",
                f"the world state is already at {current}",
                f"apply diffs in scene order: only a scene after {current} can be applied to "
                "this state",
            )
        )


def _props_leaving(before: WorldState, diff: StateDiff) -> dict[str, list[str]]:
    """character -> props the diff moves out of their hands."""
    out: dict[str, list[str]] = {}
    for pid, update in diff.prop_updates.items():
        old = before.props.get(pid)
        if old and old.owner and update.owner is not None and update.owner != old.owner:
            out.setdefault(old.owner, []).append(pid)
    return out


def _locations(
    old: Mapping[str, LocationState], updates: Mapping[str, LocationUpdate]
) -> dict[str, LocationState]:
    out = dict(old)
    for lid, update in updates.items():
        out[lid] = merged(
            old.get(lid) or LocationState(), update, ("condition", "lighting_state", "notes")
        )
    return sorted_if_grown(out, old)


def _timeline(old: Timeline, diff: StateDiff) -> Timeline:
    update = diff.timeline_update
    notes = [*old.global_notes, *(f"{diff.scene_id}: {n}" for n in update.notes)]
    return old.model_copy(
        update={
            "current_scene": diff.scene_id,
            "elapsed_time": old.elapsed_time
            if update.elapsed_time is None
            else update.elapsed_time,
            "global_notes": notes,
        }
    )


def _rules(old: Rules, diff: StateDiff) -> Rules:
    update = diff.rule_updates
    return old.model_copy(
        update={
            "fictional_constraints": with_entries(
                old.fictional_constraints, update.add_constraints
            ),
            "modified_rules": with_entries(old.modified_rules, update.modify_rules),
        }
    )
