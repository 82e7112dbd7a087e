"""Gaps the held-out planted cases (tests/planted/heldout_*.json) found in the continuity
checks, each pinned through the checks' entry points: an arm in a sling is how a wrist or
shoulder injury shows (and a broken arm has no limp); a rumour is not a fact, but a rumour
passed on as one is known; forbidden drift names kinds ('no hat' bans a cap) and exceptions
('no jewellery except her wedding ring'); a scene continuing another keeps its changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.rules._continuity import Locks, Observation, check_continuity, scene_facts
from filmslate.rules._continuity import with_observations as observed
from filmslate.rules._continuity_match import judge_claim, matches_injury
from filmslate.rules._lock_drift import breaks, parse_drift
from filmslate.schemas import Breakdown, CharLock, Finding, Scenes, StateDiff, WorldState
from planted_cases import BASE_CHAR


def _one_scene(world: dict[str, object], obs: dict[str, str]) -> list[Finding]:
    scenes = Scenes.model_validate(
        {
            "rows": [
                {
                    "scene_id": "S01",
                    "summary": "x",
                    "location": "CLINIC",
                    "time_of_day": "DAY",
                    "characters_present": ["ROSA"],
                }
            ]
        }
    )
    breakdown = Breakdown.model_validate(
        {
            "rows": [
                {"scene_id": "S01", "characters_present": ["ROSA"], "locations_used": ["CLINIC"]}
            ]
        }
    )
    diffs = {"S01": StateDiff.model_validate({"scene_id": "S01"})}
    facts, problems = scene_facts(
        scenes, breakdown, diffs, WorldState.model_validate(world), ["S01"]
    )
    facts = observed(facts, [Observation.model_validate({**obs, "scene_id": "S01"})])
    return problems + check_continuity(facts)


@pytest.mark.parametrize(
    ("seen", "injury", "match"),
    [
        ("left arm in a sling", "fractured left wrist", True),  # the limb holds the wrist
        ("left arm in a sling", "dislocated left shoulder", True),
        ("arm in a cast", "broken elbow", True),
        ("right arm in a sling", "dislocated left shoulder", False),  # the side still counts
        ("bandaged left hand", "cut on left arm", False),  # a hand is its own part
        ("limp", "twisted left knee", True),
        ("bandage on his left leg", "gash on left shin", True),
        ("bandage on his left leg", "cut on left palm", False),
    ],
)
def test_a_limb_matches_the_parts_it_holds(seen: str, injury: str, match: bool) -> None:
    assert matches_injury(seen, injury, {}) is match


def test_an_arm_in_a_sling_is_the_recorded_wrist_fracture() -> None:
    world = {
        "characters": {
            "ROSA": {
                "injuries": ["fractured left wrist"],
                "injury_signs": {"fractured left wrist": ["sling"]},
            }
        }
    }
    shown = {"kind": "shows_injury", "character": "ROSA", "subject": "left arm in a sling"}
    assert _one_scene(world, shown) == []
    other = {**shown, "subject": "right arm in a sling"}
    assert [f.severity for f in _one_scene(world, other)] == ["Medium"]


@pytest.mark.parametrize(
    ("claim", "verdict"),
    [
        ("Marta is the informant", "ambiguous"),  # a rumour stated as fact: not entailed
        ("I know Marta is the informant", "ambiguous"),
        ("there is a rumour Marta is the informant", "known"),  # passed on as a rumour
        ("people say Marta might be the informant", "known"),  # a rumour passed on
        ("I heard Marta is the informant", "known"),  # hearsay, reported as hearsay
        ("Marta is not the informant", "unknown"),
    ],
)
def test_a_rumour_entails_only_a_rumour(claim: str, verdict: str) -> None:
    assert judge_claim(claim, ["a rumour that Marta is the informant"])[0] == verdict


def test_a_fact_entails_its_hedged_and_reported_forms() -> None:
    fact = ["Marta is the informant"]
    for claim in (
        "Marta is the informant",
        "maybe Marta is the informant",
        "there is a rumour Marta is the informant",
        "she told me Marta is the informant",
    ):
        assert judge_claim(claim, fact)[0] == "known", claim


def test_a_broken_arm_has_no_limp() -> None:
    world = {"characters": {"ROSA": {"injuries": ["broken left arm"]}}}
    walks = {"kind": "uninjured", "character": "ROSA", "subject": "limp", "detail": "no limp"}
    assert _one_scene(world, walks) == []
    assert matches_injury("limp", "broken left leg", {})
    assert matches_injury("arm in a sling", "broken left arm", {})


@pytest.mark.parametrize(
    ("item", "seen", "interior", "broken"),
    [
        ("no hat indoors", "flat cap", True, True),  # a cap is a hat
        ("no hat indoors", "flat cap", False, False),
        ("never without his glasses", "reads without his spectacles", None, True),
        ("no jewellery except her wedding ring", "her wedding ring", None, False),
        ("no jewellery except her wedding ring", "gold necklace", None, True),
        ("no jewellery except her wedding ring", "wedding ring, pearl necklace", None, True),
        ("no jewellery", "no jewellery, bare wrists", None, False),
        ("red lipstick", "bright red lipstick", None, True),
    ],
)
def test_drift_reads_kinds_and_exceptions(
    item: str, seen: str, interior: bool | None, broken: bool
) -> None:
    assert breaks(parse_drift(item), seen, interior, kinds=True) is broken


def test_the_lock_gate_still_compares_words() -> None:
    # a cap among the anchors does not contradict 'no hat indoors' in the lock itself
    assert not breaks(parse_drift("no hat indoors"), "flat cap")


def _wears(rows: list[dict[str, Any]], obs: dict[str, str]) -> list[Finding]:
    """Sam's look in the last of some scenes, against a plain lock (grey coat, short hair)."""
    scenes = Scenes.model_validate(
        {"rows": [{"summary": "x", **{k: v for k, v in r.items() if k != "changes"}} for r in rows]}
    )
    breakdown = Breakdown.model_validate(
        {
            "rows": [
                {
                    "scene_id": r["scene_id"],
                    "characters_present": r["characters_present"],
                    "locations_used": [r["location"]],
                    "state_changes": r.get("changes", []),
                }
                for r in rows
            ]
        }
    )
    ids = [str(r["scene_id"]) for r in rows]
    diffs = {s: StateDiff.model_validate({"scene_id": s}) for s in ids}
    facts, problems = scene_facts(scenes, breakdown, diffs, WorldState(), ids)
    facts = observed(facts, [Observation.model_validate({**obs, "scene_id": ids[-1]})])
    lock = CharLock.model_validate({"name": "SAM", **BASE_CHAR})
    return problems + check_continuity(facts, Locks(characters={"SAM": lock}))


def test_a_change_carries_into_the_scene_that_continues_it() -> None:
    storm = {
        "scene_id": "S01",
        "location": "STREET",
        "time_of_day": "NIGHT",
        "characters_present": ["SAM"],
        "changes": ["SAM is drenched by the storm: wet hair"],
    }
    wet = {"kind": "wears", "character": "SAM", "subject": "hair", "detail": "wet hair"}
    later = {**storm, "scene_id": "S02", "changes": []}
    assert _wears([storm, {**later, "time_of_day": "NIGHT - CONTINUOUS"}], wet) == []
    # a cut is not a continuation: the hair has had time to dry, the lock's hair is back
    cut = _wears([storm, {**later, "time_of_day": "NIGHT - NEXT DAY"}], wet)
    assert [(f.category, f.severity) for f in cut] == [("character", "Medium")]


PIER = """Title: The Pier

INT. HARBOUR OFFICE - NIGHT

MAYA, 30s, sits at a desk. A bandage on her left hand.

MAYA
He said the boat leaves at dawn.

EXT. PIER - DAY (FLASHBACK)

Young MAYA runs along the pier, laughing, hands unmarked. Her father TOM waves.

TOM
Keep it safe.

INT. HARBOUR OFFICE - CONTINUOUS

Maya stands.

MAYA
I kept it safe.
"""


def test_an_imported_flashback_and_the_scene_it_interrupted(tmp_path: Path) -> None:
    """`slate import`: the CONTINUOUS scene back in the office after the pier flashback is the
    office's night, not a flashback; continuity joins it to S01 and shows the flashback
    before the cut hand."""
    Project.init(tmp_path / "film", name="pier").close()
    script = tmp_path / "pier.fountain"
    script.write_text(PIER)
    run_slate("import", str(script), cwd=tmp_path / "film", check=True)
    with Project(tmp_path / "film") as project:
        scenes = project.store.load("SCENES_v001.csv")
        breakdown = project.store.load("BREAKDOWN_v001.csv")
    assert isinstance(scenes, Scenes) and isinstance(breakdown, Breakdown)
    assert [r.time_of_day for r in scenes.rows] == [
        "NIGHT",
        "DAY (FLASHBACK)",
        "NIGHT (CONTINUOUS)",
    ]
    ids = [r.scene_id for r in scenes.rows]
    # the cut is recorded in S01 (an injury in the initial state would be there before the
    # story, so also in a flashback with no position: docs/world_state.md)
    cut = {"MAYA": {"add_injuries": ["cut on left hand"]}}
    diffs = {
        s: StateDiff.model_validate({"scene_id": s, "character_updates": cut if s == "S01" else {}})
        for s in ids
    }
    world = WorldState()
    facts, problems = scene_facts(scenes, breakdown, diffs, world, ids)
    seen = [
        {"scene_id": "S02", "kind": "uninjured", "character": "MAYA", "detail": "hands unmarked"},
        {"scene_id": "S03", "kind": "shows_injury", "character": "MAYA", "subject": "bandage"},
    ]
    facts = observed(facts, [Observation.model_validate(o) for o in seen])
    flagged = [f for f in problems + check_continuity(facts) if f.severity != "Low"]
    assert flagged == []


def _scenes(
    rows: list[dict[str, Any]],
    diffs: dict[str, dict[str, Any]],
    world: WorldState,
    seen: list[dict[str, Any]],
) -> list[Finding]:
    """Findings over a few scenes (each row: scene_id, location, time, cast, props)."""
    scenes = Scenes.model_validate(
        {
            "rows": [
                {
                    "summary": "x",
                    "scene_id": r["scene_id"],
                    "location": r["location"],
                    "time_of_day": r.get("time", "DAY"),
                    "characters_present": r["cast"],
                }
                for r in rows
            ]
        }
    )
    breakdown = Breakdown.model_validate(
        {
            "rows": [
                {
                    "scene_id": r["scene_id"],
                    "characters_present": r["cast"],
                    "locations_used": [r["location"]],
                    "props_used": r.get("props", []),
                }
                for r in rows
            ]
        }
    )
    ids = [str(r["scene_id"]) for r in rows]
    states = {s: StateDiff.model_validate({"scene_id": s, **diffs.get(s, {})}) for s in ids}
    facts, problems = scene_facts(scenes, breakdown, states, world, ids)
    facts = observed(facts, [Observation.model_validate(o) for o in seen])
    return [f for f in problems + check_continuity(facts) if f.severity != "Low"]


def test_a_lost_prop_found_in_the_scene_can_be_used() -> None:
    world = WorldState.model_validate(
        {"characters": {"JOE": {}}, "props": {"KEY": {"location": "PARK", "status": "lost"}}}
    )
    row = {"scene_id": "S01", "location": "PARK", "cast": ["JOE"], "props": ["KEY"]}
    use = [{"scene_id": "S01", "kind": "uses_prop", "character": "JOE", "subject": "KEY"}]
    found = {
        "KEY": {"owner": "JOE", "from": "", "status": "found", "via": "Joe finds it in the grass"}
    }
    assert _scenes([row], {"S01": {"prop_updates": found}}, world, use) == []
    # picked up but still 'lost' (the diff does not say it is found): still gone
    still = {"KEY": {"owner": "JOE", "from": "", "via": "Joe picks something up in the grass"}}
    flagged = _scenes([row], {"S01": {"prop_updates": still}}, world, use)
    assert [(f.category, f.severity) for f in flagged] == [("prop_inventory", "High")]


@pytest.mark.parametrize(
    ("claim", "verdict"),
    [
        ("Lena told me the gate code changed", "known"),  # the source frames the fact
        ("according to Lena, the gate code changed", "known"),
        ("the coastguard says the gate code changed back", "ambiguous"),  # more than known
        ("Lena told me the gate code never changed", "unknown"),
        ("the gate code changed", "known"),
    ],
)
def test_a_reporting_frame_names_the_source_not_the_claim(claim: str, verdict: str) -> None:
    assert judge_claim(claim, ["the gate code changed"])[0] == verdict


def test_a_light_the_world_state_records_as_out_is_not_seen_lit() -> None:
    world = WorldState.model_validate(
        {"locations": {"COTTAGE": {"lighting_state": "moonlight only: the oil lamp is smashed"}}}
    )
    row = {"scene_id": "S01", "location": "COTTAGE", "time": "NIGHT", "cast": ["ELI"]}

    def light(detail: str) -> list[dict[str, Any]]:
        return [{"scene_id": "S01", "kind": "lighting", "detail": detail}]

    flagged = _scenes([row], {}, world, light("warm oil lamp glow"))
    assert [(f.category, f.severity) for f in flagged] == [("set", "High")]
    assert _scenes([row], {}, world, light("moonlight; the smashed lamp on the floor")) == []
    assert _scenes([row], {}, world, light("a candle on the table")) == []
    relit = {"location_updates": {"COTTAGE": {"lighting_state": "a new lamp, lit"}}}
    assert _scenes([row], {"S01": relit}, world, light("warm lamp glow")) == []


def test_a_hand_over_to_someone_not_in_the_scene_is_a_teleport() -> None:
    world = WorldState.model_validate(
        {
            "characters": {"NICO": {"inventory": ["KEY"]}, "CAL": {}},
            "props": {"KEY": {"owner": "NICO", "location": "BAR"}},
        }
    )
    row = {"scene_id": "S01", "location": "BAR", "cast": ["NICO"], "props": ["KEY"]}
    to_cal = {"KEY": {"owner": "CAL", "from": "NICO", "via": "Nico hands the key to Cal"}}
    flagged = _scenes([row], {"S01": {"prop_updates": to_cal}}, world, [])
    assert [(f.category, f.severity) for f in flagged] == [("prop_inventory", "High")]
    assert "CAL is not in the scene" in flagged[0].description
    left = {
        "KEY": {"owner": "", "from": "NICO", "location": "BAR", "via": "Nico leaves it for Cal"}
    }
    assert _scenes([row], {"S01": {"prop_updates": left}}, world, []) == []


@pytest.mark.parametrize(
    ("claim", "verdict"),
    [
        ("the factory closes in March", "known"),  # another tense, the same claim
        ("the factory closed in March", "known"),
        ("the factory is closing in May", "ambiguous"),  # close: the judgment tier decides
        ("the factory is not closing in March", "unknown"),
    ],
)
def test_a_claim_in_another_tense_is_the_same_claim(claim: str, verdict: str) -> None:
    assert judge_claim(claim, ["the factory is closing in March"])[0] == verdict


@pytest.mark.parametrize(
    ("time", "light", "flagged"),
    [
        ("NIGHT", "bright midday sun through the window", True),
        ("DAY", "moonlit, long blue shadows", True),
        ("NIGHT", "no daylight, only the oil lamp", False),  # named absent
        ("NIGHT", "moonlight and sodium streetlights", False),
        ("DUSK", "the last light as night falls", False),  # a neighbouring phase
        ("NIGHT", "first light of dawn", False),
    ],
)
def test_a_scenes_light_agrees_with_its_heading(time: str, light: str, flagged: bool) -> None:
    row = {"scene_id": "S01", "location": "KITCHEN", "time": time, "cast": ["MO"]}
    seen = [{"scene_id": "S01", "kind": "lighting", "detail": light}]
    found = _scenes([row], {}, WorldState(), seen)
    assert [(f.category, f.severity) for f in found] == (
        [("timeline", "Medium")] if flagged else []
    )


def test_a_hand_over_down_a_line_names_who_holds_it_on_the_way() -> None:
    world = WorldState.model_validate(
        {
            "characters": {"ANA": {"inventory": ["TORCH"]}, "BEA": {}, "CAL": {}, "DEV": {}},
            "props": {"TORCH": {"owner": "ANA", "location": "TUNNEL"}},
        }
    )
    row = {
        "scene_id": "S01",
        "location": "TUNNEL",
        "cast": ["ANA", "BEA", "CAL", "DEV"],
        "props": ["TORCH"],
    }
    line = {
        "TORCH": {
            "owner": "CAL",
            "from": "ANA",
            "via": "Ana passes the torch to Bea, who passes it on to Cal",
        }
    }

    def uses(who: str) -> list[dict[str, Any]]:
        return [{"scene_id": "S01", "kind": "uses_prop", "character": who, "subject": "TORCH"}]

    assert _scenes([row], {"S01": {"prop_updates": line}}, world, uses("BEA")) == []
    flagged = _scenes([row], {"S01": {"prop_updates": line}}, world, uses("DEV"))
    assert [(f.category, f.severity) for f in flagged] == [("prop_inventory", "Medium")]


def test_an_imported_back_to_present_and_a_flash_forward(tmp_path: Path) -> None:
    """`slate import`: BACK TO PRESENT is a time marker, not part of the place, and takes the
    time of the scene the flashback left; CONTINUOUS after a flash forward, back where the
    present was, is the present; CONTINUOUS within a flashback stays in it."""
    heads = [
        "INT. HARBOUR OFFICE - NIGHT",
        "EXT. PIER - DAY - FLASHBACK",
        "EXT. PIER END - CONTINUOUS",
        "INT. HARBOUR OFFICE - BACK TO PRESENT",
        "EXT. CEMETERY - DAY (FLASH FORWARD)",
        "INT. HARBOUR OFFICE - CONTINUOUS",
    ]
    script = tmp_path / "pier.fountain"
    script.write_text("\n".join(f"{h}\n\nMaya waits.\n\nMAYA\nNow.\n" for h in heads))
    Project.init(tmp_path / "film", name="pier").close()
    run_slate("import", str(script), cwd=tmp_path / "film", check=True)
    with Project(tmp_path / "film") as project:
        scenes = project.store.load("SCENES_v001.csv")
    assert isinstance(scenes, Scenes)
    assert [(r.location, r.time_of_day) for r in scenes.rows] == [
        ("HARBOUR_OFFICE", "NIGHT"),
        ("PIER", "DAY (FLASHBACK)"),
        ("PIER_END", "DAY (FLASHBACK) (CONTINUOUS)"),
        ("HARBOUR_OFFICE", "NIGHT (BACK TO PRESENT)"),
        ("CEMETERY", "DAY (FLASH FORWARD)"),
        ("HARBOUR_OFFICE", "NIGHT (CONTINUOUS)"),
    ]


@pytest.mark.parametrize(
    ("claim", "entry", "verdict"),
    [
        ("the Albatross has sunk", "the Albatross sank off the cape", "known"),
        ("the money is hidden in the chapel", "Tomas hid the money in the chapel", "known"),
        ("Cal stole the ledger", "the ledger was stolen by Cal", "known"),
        ("Cal did not steal the ledger", "the ledger was stolen by Cal", "unknown"),
    ],
)
def test_irregular_verb_forms_are_one_claim(claim: str, entry: str, verdict: str) -> None:
    assert judge_claim(claim, [entry])[0] == verdict
