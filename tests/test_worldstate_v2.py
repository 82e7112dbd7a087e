"""WORLD_STATE / STATE_DIFF schema version 2 (issue 16 §3): givers, wardrobe, injury signs,
and the upgrade of version 1 files (the demo film's states and diffs are version 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FinishedDemo
from filmslate.rules._worldstate import WorldStateError, apply_diff, check_successor
from filmslate.schemas import StateDiff, WorldState
from filmslate.schemas._state_versions import (
    STATE_SCHEMA_VERSION,
    state_version,
    upgrade_state_diff,
    upgrade_world_state,
)
from test_worldstate import TRACKER, film, tracker  # noqa: F401  (the fixture)

WORLD = WorldState.model_validate(
    {
        "characters": {"ALEX": {"inventory": ["KNIFE"]}, "BEA": {}, "CAL": {}},
        "props": {"KNIFE": {"owner": "ALEX", "location": "BARN"}, "ROPE": {"location": "BARN"}},
    }
)


def diff(**sections: object) -> StateDiff:
    return StateDiff.model_validate({"scene_id": "S01", **sections})


def test_version_1_files_read_as_version_2_and_render_unchanged(
    finished_demo: FinishedDemo,
) -> None:
    demo = finished_demo.root / "continuity"  # the demo's own files, made in this test run
    for path in sorted(demo.glob("*_v0*.json")):
        data = path.read_bytes()
        document = json.loads(data)
        assert state_version(document) == 1
        model = WorldState if path.name.startswith("WORLD") else StateDiff
        parsed = model.parse(data)
        assert parsed.render() == data  # nothing version 2 is written when nothing uses it
    state = json.loads((demo / "WORLD_STATE_v005.json").read_bytes())
    upgraded = upgrade_world_state(state)
    assert upgraded["characters"]["IDA"]["wardrobe"] == ""
    assert upgraded["characters"]["IDA"]["injury_signs"] == {}
    assert state_version(upgraded) == STATE_SCHEMA_VERSION == 2
    old = json.loads((demo / "STATE_DIFF_S04_v002.json").read_bytes())
    assert upgrade_state_diff(old)["prop_updates"]["CASSETTE"]["from"] is None
    assert upgrade_state_diff(upgrade_state_diff(old)) == upgrade_state_diff(old)


def test_version_2_fields_round_trip_with_from_as_the_key() -> None:
    made = diff(
        prop_updates={"ROPE": {"owner": "BEA", "from": "", "via": "Bea picks up the rope"}},
        character_updates={
            "BEA": {"wardrobe": "a torn red dress", "via": "Bea tears her dress on the nail"}
        },
    )
    text = made.render().decode()
    assert '"from": ""' in text and "giver" not in text and '"wardrobe": "a torn red dress"' in text
    assert StateDiff.parse(made.render()) == made


def test_a_giver_must_hold_the_prop() -> None:
    with pytest.raises(WorldStateError) as refused:
        apply_diff(
            WORLD,
            diff(prop_updates={"KNIFE": {"owner": "CAL", "from": "BEA", "via": "Bea hands it on"}}),
        )
    assert refused.value.rule == "giver_holds_prop"
    assert "BEA, but ALEX holds it" in str(refused.value) and "from to 'ALEX'" in str(refused.value)
    handed = apply_diff(
        WORLD,
        diff(prop_updates={"KNIFE": {"owner": "CAL", "from": "ALEX", "via": "Alex hands it"}}),
    )
    assert (
        handed.characters["CAL"].inventory == ["KNIFE"]
        and handed.characters["ALEX"].inventory == []
    )
    picked = apply_diff(
        WORLD, diff(prop_updates={"ROPE": {"owner": "BEA", "from": "", "via": "Bea picks it up"}})
    )
    assert picked.props["ROPE"].owner == "BEA"
    with pytest.raises(WorldStateError, match="handed over by nobody, but ALEX holds it"):
        apply_diff(
            WORLD, diff(prop_updates={"KNIFE": {"owner": "BEA", "from": "", "via": "Bea takes it"}})
        )


def test_wardrobe_changes_only_through_a_diff_with_an_event() -> None:
    changed = apply_diff(
        WORLD,
        diff(
            character_updates={
                "BEA": {"wardrobe": "borrowed raincoat", "via": "Cal lends Bea his coat"}
            }
        ),
    )
    assert changed.characters["BEA"].wardrobe == "borrowed raincoat"
    later = apply_diff(changed, StateDiff(scene_id="S02"))
    assert later.characters["BEA"].wardrobe == "borrowed raincoat"  # it persists
    with pytest.raises(WorldStateError) as refused:
        apply_diff(WORLD, diff(character_updates={"BEA": {"wardrobe": "a raincoat"}}))
    assert refused.value.rule == "wardrobe_needs_event"
    edited = changed.model_copy(
        update={
            "characters": {
                **changed.characters,
                "BEA": changed.characters["BEA"].model_copy(update={"wardrobe": "a ball gown"}),
            }
        }
    )
    breaches = check_successor(changed, StateDiff(scene_id="S02"), edited)
    assert [b.rule for b in breaches] == ["wardrobe_needs_update"]


def test_injury_signs_belong_to_an_injury_and_leave_with_it() -> None:
    hurt = apply_diff(
        WORLD,
        diff(
            character_updates={
                "ALEX": {
                    "add_injuries": ["sprained left ankle"],
                    "injury_signs": {"sprained left ankle": ["limp"]},
                }
            }
        ),
    )
    assert hurt.characters["ALEX"].injury_signs == {"sprained left ankle": ["limp"]}
    healed = apply_diff(
        hurt,
        StateDiff.model_validate(
            {
                "scene_id": "S02",
                "character_updates": {"ALEX": {"heal_injuries": ["sprained left ankle"]}},
            }
        ),
    )
    assert healed.characters["ALEX"].injury_signs == {}
    with pytest.raises(WorldStateError) as refused:
        apply_diff(
            WORLD, diff(character_updates={"BEA": {"injury_signs": {"black eye": ["bruise"]}}})
        )
    assert refused.value.rule == "signs_need_injury"


def test_the_tracker_fails_a_diff_whose_giver_never_held_the_prop(film: Path) -> None:  # noqa: F811
    bad = {
        "scene_id": "S01",
        "character_updates": {"ALEX": {"location": "BARN", "gain_items": ["KNIFE"]}},
        "prop_updates": {
            "KNIFE": {"owner": "ALEX", "from": "BEA", "via": "Bea hands Alex the knife"}
        },
    }
    good = {
        **bad,
        "prop_updates": {
            "KNIFE": {"owner": "ALEX", "from": "", "via": "Alex finds the knife in the hay"}
        },
    }
    r, model = tracker(film, [bad, good])
    result = r.run(TRACKER, "S01")
    assert result.gate.passed
    assert any("giver_holds_prop" in line for line in model.requests[1].prompt.splitlines())
