"""The prop_inventory check: props never teleport.

A used prop must be in the user's hands (or the scene's cast's), handed to them by the
scene's diff from someone who is there, or new here; its recorded status must not say it is
gone. A diff's prop update is not a pass on its own: it must move the prop to the user (or
from them), and its giver (``from``, else the recorded holder) must be in the scene, or the
prop must lie where it is picked up (``from: ''``).
"""

from __future__ import annotations

from ..schemas import Finding, PropUpdate, WorldState
from ._continuity_inputs import (
    SceneFacts,
    Severity,
    diff_stem,
    finding,
    key,
    prop_state,
    same_place,
    update_of,
    words,
)

_GONE = frozenset(
    {"destroyed", "lost", "burned", "burnt", "smashed", "sunk", "gone", "consumed", "shattered"}
)


def check_props(f: SceneFacts) -> list[Finding]:
    """Props never teleport (prop_inventory).

    For each ``uses_prop`` observation: fine when the user holds the prop at the start of the
    scene (its owner, or it is in their inventory), the scene's diff hands it to them or has
    them hand it on (a prop update whose owner or ``from`` is the user, or whose ``via`` names
    the user, in the scene, holding it on the way), puts it in their
    inventory, or the prop is first introduced here. A hand-over in the diff whose giver or
    receiver is not in the scene, or a pick-up ('' giver) of a prop lying at another place:
    **High**.
    Otherwise, when someone else holds it: **High** if the holder is not in the scene,
    **Medium** if they are (a hand-over the diff does not record). When nobody holds it and
    its recorded location is another place: **High**.

    For each prop in BREAKDOWN ``props_used`` (not already judged above): fine when a sound
    hand-over in the diff moves it, it is new here, or its holder is in the scene; **High**
    when its holder is elsewhere, or nobody holds it and it lies elsewhere.
    A used prop whose recorded status says it is gone (destroyed, lost, burned ...): **High**,
    unless the scene's diff gives it a status that is not (found, repaired) with its event.
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
    prop = prop_state(state, pid)
    if prop is not None and prop.owner:
        return prop.owner
    for cid, char in state.characters.items():
        if any(key(item) == key(pid) for item in char.inventory):
            return cid
    return ""


def _update(f: SceneFacts, pid: str) -> PropUpdate | None:
    if f.diff is None:
        return None
    return next((u for p, u in f.diff.prop_updates.items() if key(p) == key(pid)), None)


def _moved_here(f: SceneFacts, pid: str) -> bool:
    return _update(f, pid) is not None


def _handover(f: SceneFacts, pid: str, user: str, holder: str) -> tuple[bool, list[Finding]]:
    """(the diff accounts for the use, findings about the hand-over itself)."""
    update = _update(f, pid)
    if update is None:
        return False, []
    giver = holder if update.giver is None else update.giver
    hands_over = update.owner is not None and key(update.owner) != key(holder)
    if hands_over and giver and not f.present(giver):
        return True, [_absent_giver(f, pid, giver, update.owner or "")]
    prop = prop_state(f.before, pid)
    if hands_over and prop is not None and update.owner and not f.present(update.owner):
        return True, [_absent_receiver(f, pid, giver, update.owner)]
    lies = prop.location if prop else ""
    # a pick-up the diff states ('from': ''); version 1 diffs named no giver, and their via
    # is trusted for a prop nobody held
    picked_up = update.giver == ""
    if hands_over and picked_up and lies and not same_place(lies, f.location):
        return True, [_picked_up_elsewhere(f, pid, lies)]
    mine = [update.owner or "", giver if update.giver is not None else ""]
    # a hand-over down a line within the scene ("Ana passes it to Bea, who passes it on to
    # Cal"): one update, and the via names whoever holds it on the way
    between = bool(user) and f.present(user) and f"_{key(user)}_" in f"_{key(update.via)}_"
    return (not user or between or any(m and key(m) == key(user) for m in mine)), []


def _absent_giver(f: SceneFacts, pid: str, giver: str, owner: str) -> Finding:
    return finding(
        "prop_inventory",
        "High",
        [f.scene_id],
        ["BREAKDOWN", diff_stem(f.scene_id), "WORLD_STATE"],
        f"{pid} passes from {giver} to {owner or 'nobody'} in {f.scene_id}, but {giver} is "
        "not in the scene",
        f"put {giver} in {f.scene_id}, or record the hand-over in the scene where {giver} "
        f"gives {pid} away",
    )


def _absent_receiver(f: SceneFacts, pid: str, giver: str, owner: str) -> Finding:
    return finding(
        "prop_inventory",
        "High",
        [f.scene_id],
        ["BREAKDOWN", diff_stem(f.scene_id), "WORLD_STATE"],
        f"{pid} passes from {giver or 'nobody'} to {owner} in {f.scene_id}, but {owner} is "
        "not in the scene",
        f"put {owner} in {f.scene_id}, or leave {pid} somewhere in it (owner '', its "
        f"location) for {owner} to pick up later",
    )


def _picked_up_elsewhere(f: SceneFacts, pid: str, lies: str) -> Finding:
    return finding(
        "prop_inventory",
        "High",
        [f.scene_id],
        ["BREAKDOWN", diff_stem(f.scene_id), "WORLD_STATE"],
        f"{pid} is picked up at {f.location} in {f.scene_id}, but it lies at {lies}",
        f"play the pick-up at {lies}, or move {pid} to {f.location} in an earlier diff",
    )


def _gone(status: str) -> bool:
    return bool(status) and bool(words(status) & _GONE)


def _restored(f: SceneFacts, pid: str) -> bool:
    """The scene's diff gives a gone prop a status that is not gone (found, repaired)."""
    if f.diff is None:
        return False
    update = next((u for p, u in f.diff.prop_updates.items() if key(p) == key(pid)), None)
    return update is not None and update.status is not None and not _gone(update.status)


def _gains(f: SceneFacts, pid: str, user: str) -> bool:
    if f.diff is None or not user:
        return False
    update = update_of(f, user)
    return update is not None and any(key(i) == key(pid) for i in update.gain_items)


def _use_by(f: SceneFacts, pid: str, user: str, how: str) -> list[Finding]:
    arts = ["BREAKDOWN", diff_stem(f.scene_id), "WORLD_STATE"]
    who = f"{user} uses" if user else "the scene uses"
    said = f" ({how})" if how else ""
    prop = prop_state(f.before, pid)
    holder = _holder(f.before, pid)
    if prop is not None and _gone(prop.status) and not _restored(f, pid):
        return [
            finding(
                "prop_inventory",
                "High",
                [f.scene_id],
                arts,
                f"{who} {pid}{said}, but the world state records it as {prop.status!r}",
                f"drop {pid} from {f.scene_id}, or restore it in "
                "an earlier diff with an event that explains it",
            )
        ]
    if _gains(f, pid, user) or (user and holder and key(holder) == key(user)):
        return []
    if any(key(p) == key(pid) for p in f.new_props):
        return []
    accounted, problems = _handover(f, pid, user, holder)
    if accounted:
        return problems
    if prop is None and not holder:
        return [
            finding(
                "prop_inventory",
                "Low",
                [f.scene_id],
                arts,
                f"{pid} is used in {f.scene_id} but the world state does not track it",
                f"add {pid} to the world state (owner, location) in the diff of the "
                "scene that introduces it",
            )
        ]
    if holder:
        if not user and f.present(holder):
            return []
        severity: Severity = "Medium" if f.present(holder) else "High"
        where = "who is in the scene" if f.present(holder) else "who is not in the scene"
        return [
            finding(
                "prop_inventory",
                severity,
                [f.scene_id],
                arts,
                f"{who} {pid}{said}, but {holder} holds it, {where}",
                f"record how {pid} reaches {user or f.location} (a prop update in "
                f"{diff_stem(f.scene_id)} with a via naming the hand-over), or "
                f"give the action to {holder}",
            )
        ]
    location = prop.location if prop else ""
    if location and not same_place(location, f.location) and not _moved_here(f, pid):
        return [
            finding(
                "prop_inventory",
                "High",
                [f.scene_id],
                arts,
                f"{who} {pid}{said} at {f.location}, but it is recorded at {location}",
                f"move {pid} to {f.location} through a prop update with a via naming "
                f"the event, or play the action at {location}",
            )
        ]
    return []
