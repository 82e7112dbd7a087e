"""One STATE_DIFF being applied (``_worldstate.apply_diff``): the prop pass decides each
prop's owner, then the character pass updates injuries, knowledge and inventories and checks
that every item leaving or entering a hand goes with a prop update.

Every broken rule is recorded as a :class:`RuleBreach`; ``apply_diff`` refuses the diff when
there is any.
"""

from __future__ import annotations

from ..schemas import CharacterState, CharacterUpdate, PropState, PropUpdate, StateDiff, WorldState
from ._worldstate_breach import RuleBreach
from ._worldstate_entries import (
    entry_key,
    has_entry,
    merged,
    sorted_if_grown,
    with_entries,
    without_entries,
)

__all__ = ["PLACEHOLDER_VIA", "Step", "signs_after"]

# fmt: off
# A ``via`` must name what happened; these say nothing about it. (A table of words: kept
# several to a line rather than the formatter's one a line, so the list reads at a glance.)
PLACEHOLDER_VIA = frozenset({
    "", "-", "--", "n/a", "na", "none", "null", "nil", "unknown", "tbd", "todo", "x", "?",
    "moved", "move", "changed", "change", "updated", "update", "event", "same", "as before",
    "off-screen", "offscreen", "see scene", "various", "transfer", "transferred",
})
# fmt: on


class Step:
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
            self._check_giver(pid, old, update)
            out[pid] = merged(old or PropState(), update, ("owner", "location", "status"))
            before = old.owner if old else ""
            if update.owner is not None and update.owner != before:
                self.new_owner[pid] = update.owner
                self.old_owner[pid] = before
        return sorted_if_grown(out, self.state.props)

    def _check_via(self, pid: str, update: PropUpdate) -> None:
        words = update.via.split()
        if entry_key(update.via).strip(" .!") in PLACEHOLDER_VIA or len(words) < 2:
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

    def _check_giver(self, pid: str, old: PropState | None, update: PropUpdate) -> None:
        """A named giver (``from``) held the prop when the scene began ('' = nobody did)."""
        giver = update.giver
        if giver is None:
            return  # not said (version 1): the recorded holder gives it
        holder = old.owner if old else ""
        if entry_key(giver) == entry_key(holder):
            return
        held = f"{holder} holds it" if holder else "nobody holds it"
        self.refuse(
            "giver_holds_prop",
            pid,
            f"is handed over by {giver or 'nobody'}, but {held}",
            f"set prop_updates.{pid}.from to {holder!r} (the recorded holder), or record "
            f"in an earlier scene how {giver or 'it'} came to hold it",
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
                    update={"inventory": without_entries(held.inventory, [pid])}
                )
            if owner in out:
                held = out[owner]
                out[owner] = held.model_copy(
                    update={"inventory": with_entries(held.inventory, [pid])}
                )
        return sorted_if_grown(out, self.state.characters)

    def _character(
        self, cid: str, old: CharacterState | None, update: CharacterUpdate
    ) -> CharacterState:
        current = old or CharacterState()
        self._check_heals(cid, current, update)
        self._check_items(cid, current, update)
        self._check_wardrobe(cid, update)
        injuries = with_entries(
            without_entries(current.injuries, update.heal_injuries), update.add_injuries
        )
        self._check_signs(cid, injuries, update)
        return current.model_copy(
            update={
                "injuries": injuries,
                "wardrobe": current.wardrobe if update.wardrobe is None else update.wardrobe,
                "injury_signs": signs_after(current.injury_signs, injuries, update.injury_signs),
                "knowledge": with_entries(current.knowledge, update.learn),
                "inventory": with_entries(
                    without_entries(current.inventory, update.lose_items), update.gain_items
                ),
                "location": current.location if update.location is None else update.location,
                "emotional_state": current.emotional_state
                if update.emotional_state is None
                else update.emotional_state,
            }
        )

    def _check_heals(self, cid: str, current: CharacterState, update: CharacterUpdate) -> None:
        for injury in update.heal_injuries:
            if not has_entry(current.injuries, injury):
                has = ", ".join(repr(i) for i in current.injuries) or "none"
                self.refuse(
                    "injury_persists",
                    cid,
                    f"heals {injury!r}, an injury they do not have (injuries: {has})",
                    "heal an injury by its exact recorded wording, or drop the heal",
                )
            if has_entry(update.add_injuries, injury):
                self.refuse(
                    "injury_persists",
                    cid,
                    f"both gains and heals {injury!r} in one scene",
                    "an injury gained here persists: drop the heal (a "
                    "later scene can heal it), or note the scratch in timeline_update",
                )

    def _check_wardrobe(self, cid: str, update: CharacterUpdate) -> None:
        via = update.via or ""
        if update.wardrobe is not None and (
            entry_key(via).strip(" .!") in PLACEHOLDER_VIA or len(via.split()) < 2
        ):
            self.refuse(
                "wardrobe_needs_event",
                cid,
                f"changes into {update.wardrobe!r} with no event named",
                f"set character_updates.{cid}.via to what happens, e.g. 'changes into "
                "dry clothes at the inn'",
            )

    def _check_signs(self, cid: str, injuries: list[str], update: CharacterUpdate) -> None:
        for injury in update.injury_signs:
            if not has_entry(injuries, injury):
                self.refuse(
                    "signs_need_injury",
                    cid,
                    f"gives visible signs to {injury!r}, an injury they do not have",
                    "key injury_signs by an injury's exact recorded wording (or add it "
                    "with add_injuries)",
                )

    def _check_items(self, cid: str, current: CharacterState, update: CharacterUpdate) -> None:
        for item in update.lose_items:
            if not has_entry(current.inventory, item):
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


def signs_after(
    signs: dict[str, list[str]], injuries: list[str], added: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Visible signs after an update: an injury's new signs join its old ones; a healed
    injury's signs go with it."""
    if not signs and not added:
        return signs
    keys = {entry_key(i) for i in injuries}
    out = {i: list(s) for i, s in signs.items() if entry_key(i) in keys}
    for injury, more in added.items():
        if entry_key(injury) in keys:
            name = next((i for i in out if entry_key(i) == entry_key(injury)), injury)
            out[name] = with_entries(out.get(name, []), more)
    return dict(sorted(out.items()))
