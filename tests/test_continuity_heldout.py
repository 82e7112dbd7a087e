"""Gaps the held-out planted cases (tests/planted/heldout_*.json) found in the continuity
checks, each pinned through the checks' entry points: an arm in a sling is how a wrist or
shoulder injury shows; a rumour is not a fact, but a rumour passed on as one is known."""

from __future__ import annotations

import pytest

from filmslate.rules._continuity import Observation, check_continuity, scene_facts
from filmslate.rules._continuity import with_observations as observed
from filmslate.rules._continuity_match import judge_claim, matches_injury
from filmslate.schemas import Breakdown, Finding, Scenes, StateDiff, WorldState


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
        ("people say Marta might be the informant", "ambiguous"),  # 'people' is more
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
