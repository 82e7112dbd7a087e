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
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel

from ..core._errors import GateFailed
from ..schemas import (
    CharacterState,
    CharacterUpdate,
    LocationState,
    LocationUpdate,
    PropState,
    PropUpdate,
    Rules,
    StateDiff,
    Timeline,
    WorldState,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# A ``via`` must name what happened; these say nothing about it.
PLACEHOLDER_VIA = frozenset(
    {
        "",
        "-",
        "--",
        "n/a",
        "na",
        "none",
        "null",
        "nil",
        "unknown",
        "tbd",
        "todo",
        "x",
        "?",
        "moved",
        "move",
        "changed",
        "change",
        "updated",
        "update",
        "event",
        "same",
        "as before",
        "off-screen",
        "offscreen",
        "see scene",
        "various",
        "transfer",
        "transferred",
    }
)
RULES = {
    "scene_order": "diffs apply in scene order",
    "unknown_character": "a prop's owner is a character the world knows",
    "injury_persists": "injuries persist until explicitly healed",
    "prop_needs_event": "a prop changes location, owner or status only through a named event",
    "inventory_matches_owner": "inventories agree with prop owners",
    "item_not_held": "an item leaves an inventory only if it was held",
    "inventory_needs_update": "items leave an inventory only through an update",
    "knowledge_only_grows": "knowledge only grows, through learn",
    # checked by world-state-tracker, which knows the scene and its breakdown:
    "unknown_scene": "the scene is listed in SCENES and BREAKDOWN",
    "scene_mismatch": "a scene's diff is about that scene",
    "first_appearance": "a new character or prop enters the world in a scene that shows it",
    "changes_recorded": "the state changes the breakdown lists are recorded in the diff",
}
"""Every rule id the engine can name, with the rule in a sentence."""
_SCENE_NUMBER = re.compile(r"S(\d+)")


@dataclass(frozen=True)
class RuleBreach:
    """One broken rule: where, what, and how to fix the diff."""

    rule: str
    scene: str
    entity: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return (
            f"{self.scene} {self.entity}: {self.problem} (rule {self.rule}: "
            f"{RULES.get(self.rule, self.rule)}). To fix: {self.fix}"
        )


class WorldStateError(GateFailed):
    """A diff broke one or more world-state rules; nothing was applied.

    ``rule`` is the first rule broken, ``breaches`` all of them (each names the scene, the
    entity and the rule, and says how to fix the diff).
    """

    def __init__(self, breaches: Sequence[RuleBreach]) -> None:
        first = breaches[0]
        message = " | ".join(str(b) for b in breaches)
        super().__init__(message, rule=first.rule, scene=first.scene, entity=first.entity)
        self.rule = first.rule
        self.breaches = tuple(breaches)

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule broken, in the order found."""
        return tuple(b.rule for b in self.breaches)


# -- the public API --------------------------------------------------------------------------


def apply_diff(state: WorldState, diff: StateDiff) -> WorldState:
    """The world after ``diff``: refuses (WorldStateError) a diff that breaks a rule.

    ``state`` is never changed. A character, prop or location the state does not know yet
    appears the first time an update names it (its first appearance).
    """
    breaches: list[RuleBreach] = []
    _check_order(state, diff, breaches)
    step = _Step(state, diff, breaches)
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


def build_states(initial: WorldState, diffs: Iterable[StateDiff]) -> Iterator[WorldState]:
    """Each state after each diff, in order (the first refusal stops the iteration)."""
    state = initial
    for diff in diffs:
        state = apply_diff(state, diff)
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
        for fact in _missing(old.knowledge, kept.knowledge):
            breaches.append(
                RuleBreach(
                    "knowledge_only_grows",
                    diff.scene_id,
                    cid,
                    f"forgets {fact!r}",
                    "knowledge cannot be removed: keep every entry, add new ones with learn",
                )
            )
        for injury in _missing(old.injuries, kept.injuries, update.heal_injuries):
            breaches.append(
                RuleBreach(
                    "injury_persists",
                    diff.scene_id,
                    cid,
                    f"loses the injury {injury!r} unhealed",
                    f"keep it, or list it in character_updates.{cid}.heal_injuries",
                )
            )
        allowed = [*update.lose_items, *moved_away.get(cid, ())]
        for item in _missing(old.inventory, kept.inventory, allowed):
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
    return _key(a) == _key(b)


# -- the rules, section by section -----------------------------------------------------------


def _check_order(state: WorldState, diff: StateDiff, breaches: list[RuleBreach]) -> None:
    current = state.timeline.current_scene
    if current is not None and scene_number(diff.scene_id) <= scene_number(current):
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


class _Step:
    """One diff being applied: the prop pass decides owners, the character pass follows."""

    def __init__(self, state: WorldState, diff: StateDiff, breaches: list[RuleBreach]) -> None:
        self.state = state
        self.diff = diff
        self.breaches = breaches
        self.scene = diff.scene_id
        self.new_owner: dict[str, str] = {}  # prop -> owner after the diff, when it changes
        self.old_owner: dict[str, str] = {}

    def refuse(self, rule: str, entity: str, problem: str, fix: str) -> None:
        self.breaches.append(RuleBreach(rule, self.scene, entity, problem, fix))

    # props ---------------------------------------------------------------------------

    def props(self) -> dict[str, PropState]:
        out = dict(self.state.props)
        for pid, update in self.diff.prop_updates.items():
            old = self.state.props.get(pid)
            self._check_via(pid, update)
            self._check_owner(pid, update)
            out[pid] = _merged(old or PropState(), update, ("owner", "location", "status"))
            before = old.owner if old else ""
            if update.owner is not None and update.owner != before:
                self.new_owner[pid] = update.owner
                self.old_owner[pid] = before
        return _sorted_if_grown(out, self.state.props)

    def _check_via(self, pid: str, update: PropUpdate) -> None:
        words = update.via.split()
        if _key(update.via).strip(" .!") in PLACEHOLDER_VIA or len(words) < 2:
            self.refuse(
                "prop_needs_event",
                pid,
                f"via {update.via!r} does not name an event",
                f"set prop_updates.{pid}.via to what happens, e.g. 'Bea pockets the "
                "key during the fight'",
            )

    def _check_owner(self, pid: str, update: PropUpdate) -> None:
        owner = update.owner
        if (
            owner
            and owner not in self.state.characters
            and owner not in self.diff.character_updates
        ):
            self.refuse(
                "unknown_character",
                pid,
                f"the new owner {owner!r} is not a known character",
                f"use a character id the world knows, or introduce "
                f"{owner} with a character_updates entry (first appearance), or set "
                "owner to '' for nobody",
            )

    # characters ------------------------------------------------------------------------

    def characters(self) -> dict[str, CharacterState]:
        out = dict(self.state.characters)
        for cid, update in self.diff.character_updates.items():
            out[cid] = self._character(cid, self.state.characters.get(cid), update)
        for pid, owner in self.new_owner.items():  # owner changes move props between hands
            previous = self.old_owner[pid]
            if previous in out:
                held = out[previous]
                out[previous] = held.model_copy(
                    update={"inventory": _without(held.inventory, [pid])}
                )
            if owner in out:
                held = out[owner]
                out[owner] = held.model_copy(update={"inventory": _with(held.inventory, [pid])})
        return _sorted_if_grown(out, self.state.characters)

    def _character(
        self, cid: str, old: CharacterState | None, update: CharacterUpdate
    ) -> CharacterState:
        current = old or CharacterState()
        self._check_heals(cid, current, update)
        self._check_items(cid, current, update)
        return current.model_copy(
            update={
                "injuries": _with(
                    _without(current.injuries, update.heal_injuries), update.add_injuries
                ),
                "knowledge": _with(current.knowledge, update.learn),
                "inventory": _with(
                    _without(current.inventory, update.lose_items), update.gain_items
                ),
                "location": current.location if update.location is None else update.location,
                "emotional_state": current.emotional_state
                if update.emotional_state is None
                else update.emotional_state,
            }
        )

    def _check_heals(self, cid: str, current: CharacterState, update: CharacterUpdate) -> None:
        for injury in update.heal_injuries:
            if not _contains(current.injuries, injury):
                has = ", ".join(repr(i) for i in current.injuries) or "none"
                self.refuse(
                    "injury_persists",
                    cid,
                    f"heals {injury!r}, an injury they do not have (injuries: {has})",
                    "heal an injury by its exact recorded wording, or drop the heal",
                )
            if _contains(update.add_injuries, injury):
                self.refuse(
                    "injury_persists",
                    cid,
                    f"both gains and heals {injury!r} in one scene",
                    "an injury gained here persists: drop the heal (a "
                    "later scene can heal it), or note the scratch in timeline_update",
                )

    def _check_items(self, cid: str, current: CharacterState, update: CharacterUpdate) -> None:
        for item in update.lose_items:
            if not _contains(current.inventory, item):
                self.refuse(
                    "item_not_held",
                    cid,
                    f"loses {item!r}, which they do not hold",
                    f"drop it from lose_items (inventory: "
                    f"{', '.join(current.inventory) or 'empty'})",
                )
            elif (pid := self._prop_id(item)) is not None:
                self._check_prop_leaves(cid, pid)
        for item in update.gain_items:
            if (pid := self._prop_id(item)) is not None:
                self._check_prop_arrives(cid, pid)

    def _check_prop_leaves(self, cid: str, pid: str) -> None:
        owner = self._owner_after(pid)
        if owner == cid and pid in self.new_owner:
            self.refuse(
                "inventory_matches_owner",
                cid,
                f"loses {pid} while prop_updates makes {cid} its owner",
                f"drop {pid} from lose_items, or give the prop its real new owner",
            )
        elif owner == cid:
            self.refuse(
                "prop_needs_event",
                pid,
                f"leaves {cid}'s inventory with no prop update",
                f"add prop_updates.{pid} with the new owner ('' for nobody), "
                "its location and a via naming the event",
            )

    def _check_prop_arrives(self, cid: str, pid: str) -> None:
        owner = self._owner_after(pid)
        if owner == cid:
            return
        if pid in self.new_owner:
            self.refuse(
                "inventory_matches_owner",
                cid,
                f"gains {pid} while prop_updates gives it to {owner or 'nobody'}",
                f"make the prop's owner {cid}, or drop {pid} from gain_items",
            )
        else:
            self.refuse(
                "prop_needs_event",
                pid,
                f"enters {cid}'s inventory with no prop update",
                f"add prop_updates.{pid} with owner {cid!r} and a via naming how they get it",
            )

    def _prop_id(self, item: str) -> str | None:
        """The tracked prop an inventory item names, if any (props are matched by id)."""
        for pid in (item, item.upper()):
            if pid in self.state.props or pid in self.diff.prop_updates:
                return pid
        return None

    def _owner_after(self, pid: str) -> str:
        if pid in self.new_owner:
            return self.new_owner[pid]
        old = self.state.props.get(pid)
        return old.owner if old else ""


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
        out[lid] = _merged(
            old.get(lid) or LocationState(), update, ("condition", "lighting_state", "notes")
        )
    return _sorted_if_grown(out, old)


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
            "fictional_constraints": _with(old.fictional_constraints, update.add_constraints),
            "modified_rules": _with(old.modified_rules, update.modify_rules),
        }
    )


# -- small helpers ---------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _key(text: str) -> str:
    # Cached: the same entries are compared scene after scene as the story goes on.
    return " ".join(text.casefold().split())


def _contains(entries: Sequence[str], entry: str) -> bool:
    key = _key(entry)
    return any(_key(e) == key for e in entries)


def _with(entries: list[str], added: Sequence[str]) -> list[str]:
    """A new list: ``entries`` plus each of ``added`` not already there (sets of entries)."""
    out = list(entries)
    if not added:
        return out
    keys = {_key(e) for e in out}
    for entry in added:
        if _key(entry) not in keys:
            keys.add(_key(entry))
            out.append(entry)
    return out


def _without(entries: list[str], removed: Sequence[str]) -> list[str]:
    gone = {_key(r) for r in removed}
    return [e for e in entries if _key(e) not in gone] if gone else list(entries)


def _missing(old: Sequence[str], new: Sequence[str], allowed: Sequence[str] = ()) -> list[str]:
    """Entries of ``old`` absent from ``new`` and not in ``allowed``."""
    if new[: len(old)] == old:  # the usual case, compared at C speed: only appended to
        return []
    kept = {_key(e) for e in new} | {_key(e) for e in allowed}
    return [e for e in old if _key(e) not in kept]


def _merged(old: M, update: BaseModel, fields: tuple[str, ...]) -> M:
    """``old`` with each field the update sets (None = unchanged)."""
    changes = {f: getattr(update, f) for f in fields if getattr(update, f) is not None}
    return old.model_copy(update=changes) if changes else old


def _sorted_if_grown(out: dict[str, T], old: Mapping[str, object]) -> dict[str, T]:
    """Keep maps in id order (as the schema renders them); sort only when ids were added."""
    return dict(sorted(out.items())) if len(out) != len(old) else out
