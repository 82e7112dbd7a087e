"""Knowledge as claims, injury signs, and forbidden drift read with its negation (issue 16
§3); the supervisor asks the judgment tier about the claims code cannot decide and records
the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from filmslate import Project
from filmslate.core._config import Config
from filmslate.engine._skill import Registry
from filmslate.rules._compose import negative_items_of
from filmslate.rules._continuity_inputs import SceneFacts
from filmslate.rules._continuity_match import judge_claim, matches_injury
from filmslate.rules._continuity_visual import observations
from filmslate.rules._lock_drift import breaks, parse_drift
from filmslate.rules._locks import lock_gate
from filmslate.schemas import Breakdown, CharLock, ContinuityReport, Scenes, WorldState
from filmslate.schemas._continuity import CharacterSeen, ShotSeen
from filmslate.skills.continuity._supervisor import ClaimVerdicts, ContinuitySupervisor
from filmslate.skills.continuity._world import WorldStateTracker
from filmslate.testing import scripted_runner
from fixtures.continuity.lighthouse import CHAR_LOCKS
from test_runtime import configure
from test_worldstate import add

KNOWN = ["Marta is the informant", "the bridge is not safe", "Cal drove the getaway car"]


@pytest.mark.parametrize(
    ("claim", "verdict"),
    [
        ("Marta is the informant", "known"),
        ("she knows that Marta is the informant", "known"),
        ("the informant is Marta", "known"),
        ("Marta is the informant who killed Tomas", "ambiguous"),  # wrapped in more
        ("Cal drove the car that night", "ambiguous"),
        ("the bridge is safe", "unknown"),  # they know the opposite
        ("the money is in the well", "unknown"),
    ],
)
def test_a_claim_is_known_only_when_an_entry_entails_it(claim: str, verdict: str) -> None:
    assert judge_claim(claim, KNOWN)[0] == verdict


@pytest.mark.parametrize(
    ("seen", "injury", "match"),
    [
        ("a limp", "sprained left ankle", True),  # a usual sign
        ("sling", "broken right wrist", True),
        ("white gauze", "cut on right thumb", True),
        ("a sling", "cut on right thumb", False),
        ("left hand", "cut on left arm", False),  # another body part
        ("cut on right arm", "cut on left arm", False),  # the other side
        ("the cut on his arm", "cut on left arm", True),
        ("cut on left arm", "cut on left arm", True),  # pointing at the recorded injury
    ],
)
def test_an_observation_matches_an_injury_or_its_signs(seen: str, injury: str, match: bool) -> None:
    assert matches_injury(seen, injury, {}) is match
    recorded = {"cut on right thumb": ["ice pack"]}  # a sign only the state records
    assert matches_injury("an ice pack", "cut on right thumb", recorded)
    assert not matches_injury("an ice pack", "cut on right thumb", {})


@pytest.mark.parametrize(
    ("item", "seen", "inside", "broken"),
    [
        ("never without his glasses", "wire glasses", None, False),
        ("never without his glasses", "reads without his glasses", None, True),
        ("never without his glasses", "takes his glasses off", None, True),
        ("never without his glasses", "a grey suit", None, False),  # not mentioned: unjudged
        ("no hat indoors", "a felt hat", True, True),
        ("no hat indoors", "a felt hat", False, False),
        ("no hat indoors", "no hat, hair loose", True, False),
        ("always wears the locket", "the locket missing from her neck", None, True),
        ("red lipstick", "bright red lipstick", None, True),
        ("no daylight", "no daylight, only the oil lamp", None, False),
        ("no daylight", "daylight through the shutters", None, True),
    ],
)
def test_forbidden_drift_is_read_with_its_negation(
    item: str, seen: str, inside: bool | None, broken: bool
) -> None:
    assert breaks(parse_drift(item), seen, inside) is broken


ROWS = [
    {"scene_id": "S01", "summary": "Alex meets Bea.", "location": "CAFE", "time_of_day": "DAY",
     "characters_present": ["ALEX"]},
]  # fmt: skip


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    add(root, Scenes.model_validate({"rows": ROWS}))
    row = {"scene_id": "S01", "characters_present": ["ALEX"], "locations_used": ["CAFE"]}
    add(root, Breakdown.model_validate({"rows": [row]}))
    known = {"ALEX": {"knowledge": ["Cal drove the getaway car"]}}
    add(root, WorldState.model_validate({"characters": known}))
    return root


def _claim(detail: str) -> dict[str, Any]:
    return {"kind": "states_fact", "character": "ALEX", "detail": detail}


@pytest.mark.parametrize(("entailed", "verdict"), [(True, "PASS"), (False, "FAIL")])
def test_the_judgment_tier_decides_an_ambiguous_claim_and_its_verdict_is_recorded(
    film: Path, entailed: bool, verdict: str
) -> None:
    registry = Registry()
    registry.register(WorldStateTracker)
    registry.register(ContinuitySupervisor)
    claim = "Cal drove the car that night"
    judged = {"character": "ALEX", "claim": claim, "entailed": entailed, "reason": "same car"}
    script: list[Any] = [
        {"scene_id": "S01"},
        {"observations": [_claim(claim), _claim("Cal drove the getaway car")]},
        {"verdicts": [judged]},
    ]
    r, model = scripted_runner(film, script, registry)
    r.run("world-state-tracker", "S01")
    result = r.run_once("continuity-supervisor", "S01")
    assert result.gate.verdict == verdict
    asked = model.requests[-1]
    assert asked.output_type is ClaimVerdicts and claim in asked.prompt
    assert "getaway car" in asked.prompt and len(model.requests) == 3  # one question
    report = r.store.load(result.records[0].name)
    assert isinstance(report, ContinuityReport)
    [mine] = [f for f in report.findings if f.category == "knowledge"]
    if entailed:
        assert mine.severity == "Low" and "judged entailed" in mine.description
        assert "same car" in mine.description
    else:
        assert mine.severity == "High" and "judged not entailed: same car" in mine.description


def test_no_question_when_code_decides_every_claim(film: Path) -> None:
    registry = Registry()
    registry.register(WorldStateTracker)
    registry.register(ContinuitySupervisor)
    script: list[Any] = [
        {"scene_id": "S01"},
        {"observations": [_claim("Cal drove the getaway car")]},
    ]
    r, model = scripted_runner(film, script, registry)
    r.run("world-state-tracker", "S01")
    assert r.run_once("continuity-supervisor", "S01").gate.verdict == "PASS"
    assert len(model.requests) == 2


@pytest.mark.parametrize(
    ("drift", "conflict"),
    [("no glasses", True), ("never without his glasses", False), ("wire glasses", True)],
)
def test_the_lock_gate_reads_drift_against_the_anchors_with_its_negation(
    drift: str, conflict: bool
) -> None:
    nell = CharLock.model_validate(CHAR_LOCKS[0])
    lock = nell.model_copy(update={"visual_anchors": ["wire glasses"], "forbidden_drift": [drift]})
    reasons = lock_gate(lock, Config.model_validate({"project": {"name": "t"}})).reasons
    assert any("wire glasses" in r and "conflicting traits" in r for r in reasons) is conflict


def test_a_requirement_is_never_a_negative_prompt() -> None:
    items = ["never without his glasses", "no hat", "always wears the locket"]
    assert negative_items_of(items) == ["hat"]  # the glasses and the locket stay allowed


def test_a_take_showing_an_injurys_sign_shows_the_injury() -> None:
    hurt = {"ALEX": {"injuries": ["sprained left ankle"], "injury_signs": {}}}
    facts = SceneFacts(
        scene_id="S01", location="MILL", characters=("ALEX",),
        before=WorldState.model_validate({"characters": hurt}),
    )  # fmt: skip
    limping = ShotSeen(
        shot_id="S01_SH01", characters=[CharacterSeen(character="ALEX", injuries=["a limp"])]
    )
    running = ShotSeen(shot_id="S01_SH02", characters=[CharacterSeen(character="ALEX")])
    assert [o.kind for o in observations(limping, facts)] == ["shows_injury"]
    assert [o.kind for o in observations(running, facts)] == ["uninjured"]
