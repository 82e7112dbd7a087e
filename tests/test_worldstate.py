"""World state by diffs: the engine's rules, and world-state-tracker through the real runner."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from filmslate import Project
from filmslate.core._errors import InputNotReady
from filmslate.core._names import format_stem
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.rules._worldstate import (
    RULES,
    WorldStateError,
    apply_diff,
    build_states,
    check_successor,
)
from filmslate.schemas import Breakdown, Scenes, ScriptScene, StateDiff, WorldState
from filmslate.skills.continuity._world import WorldStateTracker, check_order
from filmslate.testing import ScriptedTextModel, scripted_runner
from test_runtime import configure

TRACKER = "world-state-tracker"

BEFORE: dict[str, Any] = {
    "timeline": {
        "current_scene": "S01",
        "elapsed_time": "one night",
        "global_notes": ["S01: the storm cuts the phone line"],
    },
    "characters": {
        "ALEX": {
            "injuries": ["cut on left arm"],
            "knowledge": ["the vault code"],
            "inventory": ["KNIFE", "lighter"],
            "emotional_state": "wary",
            "location": "BARN",
        },
        "BEA": {"location": "FARMHOUSE"},
    },
    "props": {
        "KNIFE": {"owner": "ALEX", "location": "BARN", "status": "clean"},
        "LANTERN": {"owner": "", "location": "BARN", "status": "lit"},
    },
    "locations": {"BARN": {"condition": "dusty", "lighting_state": "lantern light"}},
    "rules": {"fictional_constraints": ["no phones work in the valley"]},
}


def state(**changes: Any) -> WorldState:
    return WorldState.model_validate({**BEFORE, **changes})


def diff(scene: str = "S02", **sections: Any) -> StateDiff:
    return StateDiff.model_validate({"scene_id": scene, **sections})


def refused(diff_: StateDiff, before: WorldState | None = None) -> WorldStateError:
    with pytest.raises(WorldStateError) as caught:
        apply_diff(before or state(), diff_)
    error = caught.value
    assert error.rule in RULES
    assert diff_.scene_id in str(error) and "To fix:" in str(error)
    return error


# -- accepted ---------------------------------------------------------------------------------


def test_an_empty_diff_only_moves_the_timeline() -> None:
    after = apply_diff(state(), diff())
    assert after.timeline.current_scene == "S02"
    assert after.model_dump(exclude={"timeline"}) == state().model_dump(exclude={"timeline"})
    assert after.timeline.global_notes == state().timeline.global_notes


def test_injuries_persist_until_healed_and_knowledge_grows() -> None:
    after = apply_diff(
        state(),
        diff(
            character_updates={
                "ALEX": {
                    "add_injuries": ["bruised ribs"],
                    "heal_injuries": ["Cut on  LEFT arm"],
                    "learn": ["Bea lied about the keys", "the vault code"],
                    "emotional_state": "furious",
                    "location": "FARMHOUSE",
                }
            }
        ),
    )
    alex = after.characters["ALEX"]
    assert alex.injuries == ["bruised ribs"]
    assert alex.knowledge == ["the vault code", "Bea lied about the keys"]  # no duplicate
    assert (alex.emotional_state, alex.location) == ("furious", "FARMHOUSE")
    later = apply_diff(after, diff("S03", character_updates={"ALEX": {"learn": ["x marks"]}}))
    assert later.characters["ALEX"].injuries == ["bruised ribs"]  # still there two scenes on


def test_plain_items_come_and_go_through_gain_and_lose() -> None:
    after = apply_diff(
        state(),
        diff(character_updates={"ALEX": {"gain_items": ["matches"], "lose_items": ["LIGHTER"]}}),
    )
    assert after.characters["ALEX"].inventory == ["KNIFE", "matches"]


@pytest.mark.parametrize("redundant", [False, True])
def test_a_prop_changing_hands_moves_between_inventories(redundant: bool) -> None:
    updates = (
        {"ALEX": {"lose_items": ["KNIFE"]}, "BEA": {"gain_items": ["KNIFE"]}} if redundant else {}
    )
    after = apply_diff(
        state(),
        diff(
            character_updates=updates,
            prop_updates={
                "KNIFE": {
                    "owner": "BEA",
                    "location": "FARMHOUSE",
                    "via": "Alex hands Bea the knife at the door",
                }
            },
        ),
    )
    assert after.props["KNIFE"].model_dump() == {
        "owner": "BEA",
        "location": "FARMHOUSE",
        "status": "clean",
    }
    assert after.characters["ALEX"].inventory == ["lighter"]
    assert after.characters["BEA"].inventory == ["KNIFE"]


def test_a_prop_can_be_dropped_and_picked_up() -> None:
    dropped = apply_diff(
        state(),
        diff(
            prop_updates={
                "KNIFE": {
                    "owner": "",
                    "location": "BARN floor",
                    "status": "bloodied",
                    "via": "Alex drops it in the struggle",
                }
            }
        ),
    )
    assert "KNIFE" not in dropped.characters["ALEX"].inventory
    assert dropped.props["KNIFE"].owner == ""
    taken = apply_diff(
        dropped,
        diff(
            "S03", prop_updates={"KNIFE": {"owner": "BEA", "via": "Bea picks it up from the floor"}}
        ),
    )
    assert taken.characters["BEA"].inventory == ["KNIFE"]
    assert taken.props["KNIFE"].location == "BARN floor"  # unchanged fields stay


def test_first_appearances_of_characters_props_and_locations() -> None:
    after = apply_diff(
        state(),
        diff(
            character_updates={"CAL": {"location": "SHED", "learn": ["the barn is empty"]}},
            prop_updates={
                "MAP": {
                    "owner": "CAL",
                    "location": "SHED",
                    "status": "torn",
                    "via": "Cal finds the map under the floorboards",
                }
            },
            location_updates={"SHED": {"condition": "half collapsed", "notes": "one door"}},
        ),
    )
    assert after.characters["CAL"].model_dump() == {
        "injuries": [],
        "knowledge": ["the barn is empty"],
        "inventory": ["MAP"],
        "emotional_state": "",
        "location": "SHED",
    }
    assert (
        after.props["MAP"].owner == "CAL" and after.locations["SHED"].condition == "half collapsed"
    )
    assert list(after.characters) == ["ALEX", "BEA", "CAL"]  # id order, as rendered
    assert WorldState.parse(after.render()) == after


def test_locations_timeline_and_rules() -> None:
    after = apply_diff(
        state(),
        diff(
            location_updates={"BARN": {"lighting_state": "dark", "notes": "lantern smashed"}},
            timeline_update={"elapsed_time": "two nights", "notes": ["the river floods"]},
            rule_updates={
                "add_constraints": ["the bridge is out"],
                "modify_rules": ["phones work on the ridge"],
            },
        ),
    )
    assert after.locations["BARN"].model_dump() == {
        "condition": "dusty",
        "lighting_state": "dark",
        "notes": "lantern smashed",
    }
    assert after.timeline.model_dump() == {
        "current_scene": "S02",
        "elapsed_time": "two nights",
        "global_notes": ["S01: the storm cuts the phone line", "S02: the river floods"],
    }
    assert after.rules.fictional_constraints == [
        "no phones work in the valley",
        "the bridge is out",
    ]
    assert after.rules.modified_rules == ["phones work on the ridge"]


def test_the_input_state_is_never_changed() -> None:
    before = state()
    snapshot = copy.deepcopy(before.model_dump())
    apply_diff(
        before,
        diff(
            character_updates={
                "ALEX": {"add_injuries": ["burn"], "learn": ["z"], "lose_items": ["lighter"]},
                "BEA": {"learn": ["y"]},
            },
            prop_updates={"KNIFE": {"owner": "BEA", "via": "Bea takes the knife"}},
            location_updates={"BARN": {"condition": "burnt"}},
            timeline_update={"notes": ["fire"]},
            rule_updates={"add_constraints": ["c"]},
        ),
    )
    assert before.model_dump() == snapshot
    with pytest.raises(WorldStateError):
        apply_diff(
            before, diff(character_updates={"ALEX": {"learn": ["q"], "heal_injuries": ["flu"]}})
        )
    assert before.model_dump() == snapshot


def test_build_states_applies_in_order() -> None:
    diffs = [
        diff(f"S0{n}", character_updates={"ALEX": {"learn": [f"fact {n}"]}}) for n in (2, 3, 4)
    ]
    states = list(build_states(state(), diffs))
    assert [s.timeline.current_scene for s in states] == ["S02", "S03", "S04"]
    assert states[-1].characters["ALEX"].knowledge[-3:] == ["fact 2", "fact 3", "fact 4"]
    assert states[0].characters["ALEX"].knowledge[-1] == "fact 2"  # earlier states intact


# -- refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scene", ["S01", "S00"])
def test_diffs_apply_in_scene_order(scene: str) -> None:
    error = refused(diff(scene))
    assert error.rule == "scene_order" and "already at S01" in str(error)


def test_scene_numbers_order_numerically() -> None:
    at_s99 = state(timeline={"current_scene": "S99"})
    assert apply_diff(at_s99, diff("S100")).timeline.current_scene == "S100"


def test_healing_an_injury_the_character_does_not_have_is_refused() -> None:
    error = refused(diff(character_updates={"ALEX": {"heal_injuries": ["bandaged arm"]}}))
    assert error.rule == "injury_persists"
    assert "ALEX" in str(error) and "'cut on left arm'" in str(error)


def test_gaining_and_healing_one_injury_in_one_scene_is_refused() -> None:
    error = refused(
        diff(character_updates={"BEA": {"add_injuries": ["scratch"], "heal_injuries": ["scratch"]}})
    )
    assert error.rules == ("injury_persists", "injury_persists")  # not had + both at once


@pytest.mark.parametrize("via", ["-", "n/a", "moved", "Moved.", "stolen"])
def test_a_prop_changes_only_through_a_named_event(via: str) -> None:
    error = refused(diff(prop_updates={"KNIFE": {"location": "SHED", "via": via}}))
    assert error.rule == "prop_needs_event" and "KNIFE" in str(error)


def test_an_empty_via_breaks_the_schema() -> None:
    with pytest.raises(ValueError, match="via"):
        diff(prop_updates={"KNIFE": {"location": "SHED", "via": " "}})


def test_a_prop_cannot_enter_or_leave_an_inventory_without_a_prop_update() -> None:
    error = refused(diff(character_updates={"BEA": {"gain_items": ["KNIFE"]}}))
    assert error.rule == "prop_needs_event" and "BEA" in str(error)
    error = refused(diff(character_updates={"ALEX": {"lose_items": ["KNIFE"]}}))
    assert error.rule == "prop_needs_event"
    error = refused(diff(character_updates={"BEA": {"gain_items": ["LANTERN"]}}))
    assert error.rule == "prop_needs_event"


def test_inventories_must_agree_with_owner_changes() -> None:
    error = refused(
        diff(
            character_updates={
                "ALEX": {"gain_items": ["KNIFE"]},
                "BEA": {"lose_items": ["lighter"]},
            },
            prop_updates={
                "LANTERN": {"owner": "BEA", "via": "Bea takes the lantern"},
                "KNIFE": {"owner": "BEA", "via": "Bea wrestles the knife away"},
            },
        )
    )
    assert "inventory_matches_owner" in error.rules  # ALEX gains what BEA now owns
    assert "item_not_held" in error.rules  # BEA never had a lighter
    error = refused(
        diff(
            character_updates={
                "BEA": {"gain_items": ["LANTERN"]},
                "ALEX": {"gain_items": ["LANTERN"]},
            },
            prop_updates={"LANTERN": {"owner": "ALEX", "via": "Alex grabs the lantern"}},
        )
    )
    assert error.rules == ("inventory_matches_owner",)


def test_losing_a_prop_one_keeps_or_is_given_is_refused() -> None:
    error = refused(
        diff(
            character_updates={"ALEX": {"lose_items": ["KNIFE"]}},
            prop_updates={"KNIFE": {"status": "blunt", "via": "Alex grinds the blade on stone"}},
        )
    )
    assert error.rules == ("prop_needs_event",)  # the owner stays ALEX: it never left him
    holding = state(characters={**BEFORE["characters"], "BEA": {"inventory": ["LANTERN"]}})
    error = refused(
        diff(
            character_updates={"BEA": {"lose_items": ["LANTERN"]}},
            prop_updates={"LANTERN": {"owner": "BEA", "via": "Bea claims the lantern"}},
        ),
        holding,
    )
    assert error.rules == ("inventory_matches_owner",)


def test_losing_an_item_not_held_is_refused() -> None:
    error = refused(diff(character_updates={"BEA": {"lose_items": ["umbrella"]}}))
    assert error.rule == "item_not_held" and "umbrella" in str(error)


def test_a_prop_owner_must_be_a_known_character() -> None:
    error = refused(diff(prop_updates={"KNIFE": {"owner": "ZED", "via": "Zed takes it"}}))
    assert error.rule == "unknown_character" and "ZED" in str(error)
    # ... unless the same diff introduces them:
    after = apply_diff(
        state(),
        diff(
            character_updates={"ZED": {"location": "BARN"}},
            prop_updates={"KNIFE": {"owner": "ZED", "via": "Zed takes it"}},
        ),
    )
    assert after.characters["ZED"].inventory == ["KNIFE"]


def test_every_breach_is_reported_at_once() -> None:
    error = refused(
        diff(
            "S01",
            character_updates={"ALEX": {"heal_injuries": ["flu"]}},
            prop_updates={"KNIFE": {"location": "SHED", "via": "-"}},
        )
    )
    assert error.rules == ("scene_order", "prop_needs_event", "injury_persists")
    assert str(error).count("To fix:") == 3


def test_a_successor_that_forgets_or_drops_things_is_refused() -> None:
    before = state()
    forged = before.model_copy(
        update={
            "characters": {
                **before.characters,
                "ALEX": before.characters["ALEX"].model_copy(
                    update={"knowledge": [], "injuries": [], "inventory": ["KNIFE"]}
                ),
            }
        }
    )
    breaches = check_successor(before, diff(), forged)
    assert [b.rule for b in breaches] == [
        "knowledge_only_grows",
        "injury_persists",
        "inventory_needs_update",
    ]
    assert "the vault code" in str(breaches[0]) and "lighter" in str(breaches[2])
    honest = apply_diff(before, diff(character_updates={"ALEX": {"lose_items": ["lighter"]}}))
    assert (
        check_successor(
            before, diff(character_updates={"ALEX": {"lose_items": ["lighter"]}}), honest
        )
        == []
    )


# -- world-state-tracker through the real runner ---------------------------------------------

SCENE_ROWS = [
    {
        "scene_id": "S01",
        "summary": "Alex hides in the barn with a knife.",
        "location": "BARN",
        "time_of_day": "NIGHT",
        "characters_present": ["ALEX"],
    },
    {
        "scene_id": "S02",
        "summary": "Bea finds Alex and takes the knife.",
        "location": "BARN",
        "time_of_day": "NIGHT",
        "characters_present": ["ALEX", "BEA"],
    },
    {
        "scene_id": "S03",
        "summary": "Bea tells Dan what she saw.",
        "location": "FARMHOUSE",
        "time_of_day": "DAWN",
        "characters_present": ["BEA", "DAN"],
    },
]
BREAKDOWN_ROWS = [
    {
        "scene_id": "S01",
        "characters_present": ["ALEX"],
        "new_characters_introduced": ["ALEX"],
        "locations_used": ["BARN"],
        "new_locations_introduced": ["BARN"],
        "props_used": ["KNIFE"],
        "new_props_introduced": ["KNIFE"],
        "state_changes": ["Alex cuts his arm"],
    },
    {
        "scene_id": "S02",
        "characters_present": ["ALEX", "BEA"],
        "new_characters_introduced": ["BEA"],
        "locations_used": ["BARN"],
        "props_used": ["KNIFE"],
        "state_changes": ["Bea takes the knife"],
    },
    {
        "scene_id": "S03",
        "characters_present": ["BEA", "DAN"],
        "new_characters_introduced": ["DAN"],
        "locations_used": ["FARMHOUSE"],
        "new_locations_introduced": ["FARMHOUSE"],
    },
]
DIFF_S01 = {
    "scene_id": "S01",
    "character_updates": {"ALEX": {"add_injuries": ["cut on left arm"], "location": "BARN"}},
    "prop_updates": {
        "KNIFE": {"owner": "ALEX", "location": "BARN", "via": "Alex pulls the knife from the wall"}
    },
    "location_updates": {"BARN": {"condition": "dusty"}},
}
DIFF_S02 = {
    "scene_id": "S02",
    "character_updates": {"BEA": {"location": "BARN", "learn": ["Alex is hurt"]}},
    "prop_updates": {"KNIFE": {"owner": "BEA", "via": "Bea takes the knife from Alex"}},
}
DIFF_S03 = {
    "scene_id": "S03",
    "character_updates": {
        "DAN": {"location": "FARMHOUSE", "learn": ["Alex is hiding in the barn"]},
        "BEA": {"location": "FARMHOUSE"},
    },
    "location_updates": {"FARMHOUSE": {"lighting_state": "grey dawn light"}},
}
BAD_S02 = {
    **DIFF_S02,
    "character_updates": {
        "BEA": {"location": "BARN"},
        "ALEX": {"heal_injuries": ["bandaged arm"], "lose_items": ["KNIFE"]},
    },
    "prop_updates": {"KNIFE": {"owner": "BEA", "via": "moved"}},
}


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    add(root, Scenes.model_validate({"rows": SCENE_ROWS}))
    add(root, Breakdown.model_validate({"rows": BREAKDOWN_ROWS}))
    return root


def add(root: Path, artifact: Any) -> None:
    """Add a hand-written file the way a user does (``slate add``)."""
    stem = format_stem(artifact.KIND, artifact.subject)
    path = root.parent / f"{stem}.{artifact.EXTENSION}"
    path.write_bytes(artifact.render())
    with Project(root) as project:
        project.add(path)


def tracker(root: Path, script: Any) -> tuple[Runner, ScriptedTextModel]:
    """A runner with only the tracker registered, its tier mapped to a scripted model."""
    registry = Registry()
    registry.register(WorldStateTracker)
    return scripted_runner(root, script, registry)


def test_three_scenes_make_diffs_and_states_with_lineage(film: Path) -> None:
    r, model = tracker(film, [DIFF_S01, DIFF_S02, DIFF_S03])
    first = r.run(TRACKER, "S01")
    assert [x.filename for x in first.records] == [
        "STATE_DIFF_S01_v001.json",
        "WORLD_STATE_v001.json",
    ]
    assert r.run(TRACKER, "S02").gate.passed
    assert r.run(TRACKER, "S03").gate.passed
    store = r.store
    assert [x.filename for x in store.versions("WORLD_STATE")] == [
        "WORLD_STATE_v001.json",
        "WORLD_STATE_v002.json",
        "WORLD_STATE_v003.json",
    ]
    assert {x.filename for x in store.artifacts("STATE_DIFF")} == {
        f"STATE_DIFF_S0{n}_v001.json" for n in (1, 2, 3)
    }
    assert [n.filename for n in store.lineage("WORLD_STATE_v001.json")] == [
        "BREAKDOWN_v001.csv",
        "SCENES_v001.csv",
    ]
    assert [n.filename for n in store.lineage("WORLD_STATE_v003.json")] == [
        "BREAKDOWN_v001.csv",
        "SCENES_v001.csv",
        "WORLD_STATE_v002.json",
    ]
    final = store.load("WORLD_STATE_v003.json")
    assert final.timeline.current_scene == "S03"
    assert final.characters["ALEX"].injuries == ["cut on left arm"]  # persists, unhealed
    assert final.characters["BEA"].inventory == ["KNIFE"] and final.props["KNIFE"].owner == "BEA"
    assert final.characters["DAN"].knowledge == ["Alex is hiding in the barn"]
    # the prompt is bounded: S03 shows BEA and DAN, so ALEX's entry is not sent
    prompt = model.requests[2].prompt
    assert "  BEA: {" in prompt and "ALEX: {" not in prompt and "DAN: not in the world" in prompt
    assert r.run(TRACKER, "S03").status == "up_to_date"
    assert r.project.verify() == []


def test_a_rule_breaking_diff_fails_then_the_revision_passes(film: Path) -> None:
    r, model = tracker(film, [DIFF_S01, BAD_S02, DIFF_S02])
    r.run(TRACKER, "S01")
    result = r.run(TRACKER, "S02")
    assert result.gate.passed and result.attempt == 2
    assert [x.filename for x in result.records] == [
        "STATE_DIFF_S02_v002.json",
        "WORLD_STATE_v002.json",
    ]
    failed = r.store.conn.execute(
        "SELECT notes FROM runlog WHERE event = 'run' AND outcome = 'FAIL'"
    ).fetchone()[0]
    for rule in ("prop_needs_event", "injury_persists"):
        assert f"rule {rule}" in failed
    assert "rule prop_needs_event" in model.requests[2].prompt  # the revision sees why
    assert r.store.latest("STATE_DIFF", "S02").name.version == 2
    assert r.store.versions("WORLD_STATE")[-1].filename == "WORLD_STATE_v002.json"


def test_a_diff_for_another_scene_fails_without_being_stored(film: Path) -> None:
    r, _ = tracker(film, [{**DIFF_S01, "scene_id": "S03"}, DIFF_S01])
    result = r.run(TRACKER, "S01")
    assert result.gate.passed and result.attempt == 2
    assert r.store.versions("STATE_DIFF", "S03") == []
    notes = r.store.conn.execute(
        "SELECT notes FROM runlog WHERE event = 'run' AND outcome = 'FAIL'"
    ).fetchone()[0]
    assert "rule scene_mismatch" in notes and "set scene_id to S01" in notes


def test_what_the_breakdown_introduces_must_enter_the_world(film: Path) -> None:
    empty = {"scene_id": "S01"}
    r, model = tracker(film, [empty, DIFF_S01])
    assert r.run(TRACKER, "S01").gate.passed
    feedback = model.requests[1].prompt
    for entity in ("ALEX", "KNIFE"):
        assert f"S01 {entity}: the breakdown introduces" in feedback
    assert "rule changes_recorded" in feedback


def test_a_scene_without_changes_gets_an_empty_diff(film: Path) -> None:
    r, _ = tracker(film, [DIFF_S01, DIFF_S02, DIFF_S03, {"scene_id": "S04"}])
    rows = [*SCENE_ROWS, {**SCENE_ROWS[2], "scene_id": "S04", "summary": "Dawn, silence."}]
    add(film, Scenes.model_validate({"rows": rows}))
    add(film, Breakdown.model_validate({"rows": [*BREAKDOWN_ROWS, {"scene_id": "S04"}]}))
    r.run(TRACKER, "S01")
    r.run(TRACKER, "S02")
    r.run(TRACKER, "S03")
    result = r.run(TRACKER, "S04")
    assert result.gate.passed
    empty = r.store.load("STATE_DIFF_S04_v001.json")
    assert empty == StateDiff(scene_id="S04")


def test_a_target_out_of_order_is_refused_before_asking(film: Path) -> None:
    r, model = tracker(film, [DIFF_S01])
    with pytest.raises(
        InputNotReady,
        match="no WORLD_STATE after S01: run `slate run world-state-tracker --scene S01` first",
    ):
        r.run(TRACKER, "S02")
    r.run(TRACKER, "S01")
    with pytest.raises(InputNotReady, match="--scene S02` first"):
        r.run(TRACKER, "S03")
    assert len(model.requests) == 1


def test_the_prior_state_must_follow_scenes_order() -> None:
    order = ["S01", "S02", "S03"]
    check_order(order, "S01", None)
    check_order(order, "S03", "S02")
    with pytest.raises(WorldStateError, match="run world-state-tracker on S02 first") as late:
        check_order(order, "S03", "S01")
    assert late.value.rule == "scene_order"
    with pytest.raises(WorldStateError, match="state after S02, but S01 follows nothing"):
        check_order(order, "S01", "S02")


def test_a_scene_missing_from_the_breakdown_is_refused(film: Path) -> None:
    add(film, Breakdown.model_validate({"rows": BREAKDOWN_ROWS[1:]}))
    r, model = tracker(film, [DIFF_S01])
    with pytest.raises(WorldStateError, match="S01 is not in the latest BREAKDOWN") as caught:
        r.run(TRACKER, "S01")
    assert caught.value.rule == "unknown_scene" and model.requests == []


def test_redoing_an_earlier_scene_starts_from_the_state_before_it(film: Path) -> None:
    hurt_less = {
        **DIFF_S01,
        "character_updates": {"ALEX": {"add_injuries": ["grazed hand"], "location": "BARN"}},
    }
    r, model = tracker(film, [DIFF_S01, DIFF_S02, hurt_less, DIFF_S02])
    r.run(TRACKER, "S01")
    r.run(TRACKER, "S02")
    redo = r.run(TRACKER, "S01", force=True)  # the scene was revised: track it again
    assert [x.filename for x in redo.records] == [
        "STATE_DIFF_S01_v002.json",
        "WORLD_STATE_v003.json",
    ]
    assert "ALEX: not in the world yet" in model.requests[2].prompt  # from the initial state
    assert r.store.is_stale("STATE_DIFF_S02_v001.json")  # made from the old state after S01
    again = r.run(TRACKER, "S02")
    assert again.status == "done" and again.gate.passed
    after = r.store.load(again.records[1].name)
    assert after.characters["ALEX"].injuries == ["grazed hand"]


def test_the_first_scene_can_start_from_a_hand_written_initial_state(film: Path) -> None:
    initial = WorldState.model_validate(
        {
            "characters": {"ALEX": {"knowledge": ["the farm's layout"], "location": "BARN"}},
            "rules": {"fictional_constraints": ["no phones in the valley"]},
        }
    )
    add(film, initial)
    r, model = tracker(film, [DIFF_S01])
    assert r.run(TRACKER, "S01").gate.passed
    after = r.store.load("WORLD_STATE_v002.json")
    assert after.characters["ALEX"].knowledge == ["the farm's layout"]
    assert after.characters["ALEX"].injuries == ["cut on left arm"]
    assert "the farm's layout" in model.requests[0].prompt


def test_the_scene_script_slice_goes_into_the_prompt(film: Path) -> None:
    add(
        film,
        ScriptScene(
            scene_id="S01",
            text="INT. BARN - NIGHT\n\nALEX pulls a KNIFE "
            "from the wall and slices his arm on the blade.",
        ),
    )
    r, model = tracker(film, [DIFF_S01])
    assert r.run(TRACKER, "S01").gate.passed
    assert "slices his arm on the blade" in model.requests[0].prompt
    assert "SCRIPT_S01_v001.txt" in [n.filename for n in r.store.lineage("WORLD_STATE_v001.json")]
