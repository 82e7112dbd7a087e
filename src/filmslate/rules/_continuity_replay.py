"""Scene facts from the artifacts: the stored world state replayed around each scene's diff.

The stored WORLD_STATE sits after one scene; ``scene_facts`` rewinds the diffs back to the
first scene wanted and replays them forward, so every scene gets the state just before it and
just after it, with findings for missing diffs and diffs that break the world-state rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ..schemas import (
    Breakdown,
    BreakdownRow,
    CharacterState,
    Finding,
    LocationState,
    PropState,
    SceneRow,
    Scenes,
    StateDiff,
    WorldState,
)
from ..schemas._continuity import Category
from ._continuity_inputs import Observation, SceneFacts, diff_stem, entry_key, finding
from ._continuity_story import StoryReplay, findings_of, story_facts
from ._worldstate import RuleBreach, WorldStateError, apply_diff
from ._worldstate_step import signs_after
from ._worldstate_story import story_place


def scene_facts(
    scenes: Scenes,
    breakdown: Breakdown,
    diffs: Mapping[str, StateDiff],
    world: WorldState,
    only: Sequence[str] | None = None,
) -> tuple[list[SceneFacts], list[Finding]]:
    """Facts for the scenes in ``only`` (default: every scene the world state has reached or
    that has a diff), with findings for missing diffs and diffs that break world rules.

    The stored world state sits after one scene (its ``current_scene``). Diffs are undone
    back from there to the first state wanted (what a diff overwrote becomes unknown, '')
    and applied forward again, so each scene gets the state just before it and just after,
    in story time: a flashback starts from the state at its story position and its diff does
    not change the present (``_continuity_story``).
    """
    order = [row.scene_id for row in scenes.rows]
    anchor = (
        order.index(world.timeline.current_scene) if world.timeline.current_scene in order else -1
    )
    wanted = (
        [s for s in only if s in order]
        if only is not None
        else [s for i, s in enumerate(order) if i <= anchor or s in diffs]
    )
    if not wanted:
        return [], []
    rows = {r.scene_id: r for r in breakdown.rows}
    by_id = {r.scene_id: r for r in scenes.rows}

    def step(state: WorldState, diff: StateDiff) -> tuple[WorldState, list[RuleBreach]]:
        return replay_step(state, diff, order)

    replay = StoryReplay(scenes, diffs, step, rewind)

    def build(
        sid: str, diff: StateDiff | None, before: WorldState, after: WorldState
    ) -> SceneFacts:
        return _facts(by_id[sid], rows.get(sid), diff, before, after)

    out, walked = story_facts(replay, world, wanted, build)
    return out, findings_of(replay, walked, _missing_diff, _breach_finding)


def _facts(
    row: SceneRow,
    bd: BreakdownRow | None,
    diff: StateDiff | None,
    before: WorldState,
    after: WorldState,
) -> SceneFacts:
    return SceneFacts(
        scene_id=row.scene_id,
        location=row.location,
        time_of_day=row.time_of_day,
        characters=tuple(row.characters_present),
        props_used=tuple(bd.props_used if bd else ()),
        new_props=tuple(bd.new_props_introduced if bd else ()),
        state_changes=tuple(bd.state_changes if bd else ()),
        story=str(place) if (place := story_place(row)) else "",
        diff=diff,
        before=before,
        after=after,
    )


def _missing_diff(scene: str) -> Finding:
    return finding(
        "timeline",
        "High",
        [scene],
        [diff_stem(scene), "WORLD_STATE"],
        f"{scene} has no STATE_DIFF: the world state cannot account for it",
        f"run world-state-tracker on {scene}",
    )


_RULE_CATEGORY: dict[str, Category] = {
    "injury_persists": "injury_emotional",
    "knowledge_only_grows": "knowledge",
    "prop_needs_event": "prop_inventory",
    "inventory_matches_owner": "prop_inventory",
    "item_not_held": "prop_inventory",
    "inventory_needs_update": "prop_inventory",
    "unknown_character": "prop_inventory",
    "giver_holds_prop": "prop_inventory",
    "wardrobe_needs_event": "character",
    "wardrobe_needs_update": "character",
    "signs_need_injury": "injury_emotional",
}


def _breach_finding(breach: RuleBreach) -> Finding:
    return finding(
        _RULE_CATEGORY.get(breach.rule, "timeline"),
        "High",
        [breach.scene],
        [diff_stem(breach.scene), "WORLD_STATE"],
        f"{breach.entity}: {breach.problem} (world-state rule {breach.rule})",
        breach.fix,
    )


def replay_step(
    before: WorldState, diff: StateDiff, order: Sequence[str] = ()
) -> tuple[WorldState, list[RuleBreach]]:
    """Apply a diff under the world-state rules (``order``: SCENES' ids); a refused diff is
    applied leniently anyway (so later scenes can still be checked) and its breaches are
    returned."""
    try:
        return apply_diff(before, diff, order), []
    except WorldStateError as refused:
        return _lenient(before, diff), list(refused.breaches)


def _plus(entries: Sequence[str], added: Sequence[str]) -> list[str]:
    out = list(entries)
    for item in added:
        if entry_key(item) not in {entry_key(e) for e in out}:
            out.append(item)
    return out


def _minus(entries: Sequence[str], removed: Sequence[str]) -> list[str]:
    gone = {entry_key(r) for r in removed}
    return [e for e in entries if entry_key(e) not in gone]


def _lenient(before: WorldState, diff: StateDiff) -> WorldState:
    chars = dict(before.characters)
    for cid, up in diff.character_updates.items():
        old = chars.get(cid, CharacterState())
        injuries = _plus(_minus(old.injuries, up.heal_injuries), up.add_injuries)
        chars[cid] = old.model_copy(
            update={
                "injuries": injuries,
                "injury_signs": signs_after(old.injury_signs, injuries, up.injury_signs),
                "wardrobe": old.wardrobe if up.wardrobe is None else up.wardrobe,
                "knowledge": _plus(old.knowledge, up.learn),
                "inventory": _plus(_minus(old.inventory, up.lose_items), up.gain_items),
                "location": old.location if up.location is None else up.location,
                "emotional_state": old.emotional_state
                if up.emotional_state is None
                else up.emotional_state,
            }
        )
    props = dict(before.props)
    for pid, pu in diff.prop_updates.items():
        changes = {
            k: v
            for k, v in (("owner", pu.owner), ("location", pu.location), ("status", pu.status))
            if v is not None
        }
        props[pid] = props.get(pid, PropState()).model_copy(update=changes)
    places = dict(before.locations)
    for lid, lu in diff.location_updates.items():
        changes = {
            k: v
            for k, v in (
                ("condition", lu.condition),
                ("lighting_state", lu.lighting_state),
                ("notes", lu.notes),
            )
            if v is not None
        }
        places[lid] = places.get(lid, LocationState()).model_copy(update=changes)
    timeline = before.timeline.model_copy(update={"current_scene": diff.scene_id})
    return before.model_copy(
        update={
            "characters": dict(sorted(chars.items())),
            "props": dict(sorted(props.items())),
            "locations": dict(sorted(places.items())),
            "timeline": timeline,
        }
    )


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
            chars[pu.owner] = held.model_copy(update={"inventory": _minus(held.inventory, [pid])})
    for cid, up in diff.character_updates.items():
        now = chars.get(cid)
        if now is None:
            continue
        chars[cid] = now.model_copy(
            update={
                "injuries": _plus(_minus(now.injuries, up.add_injuries), up.heal_injuries),
                "knowledge": _minus(now.knowledge, up.learn),
                "inventory": _plus(_minus(now.inventory, up.gain_items), up.lose_items),
                "location": "" if up.location is not None else now.location,
                "wardrobe": "" if up.wardrobe is not None else now.wardrobe,
                "injury_signs": {
                    i: signs
                    for i, signs in now.injury_signs.items()
                    if entry_key(i)
                    not in {entry_key(k) for k in (*up.injury_signs, *up.add_injuries)}
                },
                "emotional_state": "" if up.emotional_state is not None else now.emotional_state,
            }
        )
    props = {
        pid: p.model_copy(
            update={
                k: ""
                for k in ("owner", "location", "status")
                if getattr(diff.prop_updates[pid], k) is not None
            }
        )
        if pid in diff.prop_updates
        else p
        for pid, p in after.props.items()
    }
    places = {
        lid: s.model_copy(
            update={
                k: ""
                for k in ("condition", "lighting_state", "notes")
                if getattr(diff.location_updates[lid], k) is not None
            }
        )
        if lid in diff.location_updates
        else s
        for lid, s in after.locations.items()
    }
    prefix = f"{diff.scene_id}: "
    timeline = after.timeline.model_copy(
        update={
            "current_scene": previous_scene,
            "global_notes": [n for n in after.timeline.global_notes if not n.startswith(prefix)],
        }
    )
    return after.model_copy(
        update={"characters": chars, "props": props, "locations": places, "timeline": timeline}
    )


def with_observations(
    facts: Sequence[SceneFacts], observations: Iterable[Observation]
) -> list[SceneFacts]:
    """The facts with observations attached to their scenes (unknown scenes are ignored)."""
    by_scene: dict[str, list[Observation]] = {}
    for obs in observations:
        by_scene.setdefault(obs.scene_id, []).append(obs)
    return [
        replace(f, observations=(*f.observations, *by_scene.get(f.scene_id, ()))) for f in facts
    ]
