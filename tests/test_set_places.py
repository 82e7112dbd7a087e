"""Set locks resolved by place (issue 16 §4): a SET lock declares its rooms and areas
(PLACES), a scene at any of them gets that lock, for a scene target and a shot target alike,
and a continuous move between two locked places loads both ends' locks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import FinishedDemo
from filmslate import Project
from filmslate.core._errors import SchemaError
from filmslate.engine._skill import Registry
from filmslate.rules._continuity import Locks
from filmslate.rules._set_places import set_subject_for
from filmslate.schemas import Breakdown, ContinuityReport, Scenes, SetLock
from filmslate.skills.continuity._supervisor import ContinuitySupervisor
from filmslate.skills.continuity._world import WorldStateTracker
from filmslate.testing import scripted_runner
from planted_cases import BASE_SET
from test_runtime import configure
from test_worldstate import add

GATED = {
    **BASE_SET,
    "visual_anchors": ["a long oak table", "a black iron stove", "a dresser of blue plates"],
    "lighting": {**BASE_SET["lighting"], "allowed_variation": "±300K as the lamp is trimmed"},
    "prop_anchors": ["the lamp on the table"],
    "tone_rules": ["close and warm"],
    "forbidden_drift": ["no electric light"],
}


def lock(name: str, **over: Any) -> SetLock:
    return SetLock.model_validate({**GATED, "name": name, **over})


def test_a_lock_without_places_is_written_as_before_and_places_round_trip(
    finished_demo: FinishedDemo,
) -> None:
    data = (finished_demo.root / "continuity" / "SET_SHOP_FRONT_LOCK_v001.txt").read_bytes()
    parsed = SetLock.parse(data)
    assert parsed.places == [] and parsed.render() == data and b"PLACES" not in data
    house = lock("FARMHOUSE", places=["KITCHEN", "Cellar stairs"])
    text = house.render()
    assert text.endswith(b"PLACES:\n- KITCHEN\n- Cellar stairs\n")
    assert SetLock.parse(text) == house
    with pytest.raises(SchemaError, match="unknown section 'ROOMS:'"):
        SetLock.parse(text.replace(b"PLACES:", b"ROOMS:"))


def test_a_place_resolves_to_the_lock_that_declares_it() -> None:
    house = lock("FARMHOUSE", places=["KITCHEN", "Cellar stairs"])
    kitchen = lock("KITCHEN")  # a lock of its own wins over a declared place
    locks = Locks(sets={"FARMHOUSE": house, "BARN": lock("BARN")})
    assert locks.set_for("KITCHEN") is house
    assert locks.set_for("FARMHOUSE_KITCHEN") is house
    assert locks.set_for("cellar stairs") is house
    assert locks.set_for("FARMHOUSE_KITCHEN_PANTRY") is house  # inside a declared place
    assert locks.set_for("BARN_LOFT") is locks.sets["BARN"]
    assert locks.set_for("STATION") is None
    pairs = [("FARMHOUSE", house), ("KITCHEN", kitchen)]
    assert set_subject_for("KITCHEN", pairs) == "KITCHEN"
    assert set_subject_for("CELLAR_STAIRS", pairs) == "FARMHOUSE"


ROWS = [
    {"scene_id": "S01", "summary": "Alex feeds the horse.", "location": "BARN",
     "time_of_day": "NIGHT", "characters_present": ["ALEX"]},
    {"scene_id": "S02", "summary": "Alex runs into the kitchen.", "location": "KITCHEN",
     "time_of_day": "NIGHT - CONTINUOUS", "characters_present": ["ALEX"]},
]  # fmt: skip


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    add(root, Scenes.model_validate({"rows": ROWS}))
    rows = [
        {
            "scene_id": r["scene_id"],
            "characters_present": ["ALEX"],
            "locations_used": [r["location"]],
        }
        for r in ROWS
    ]
    add(root, Breakdown.model_validate({"rows": rows}))
    back_door = {**BASE_SET["layout"], "entries_exits": "a back door onto the yard"}
    add(root, lock("FARMHOUSE", places=["KITCHEN", "CELLAR"], layout=back_door))
    add(root, lock("BARN", layout={**BASE_SET["layout"], "entries_exits": "big doors"}))
    return root


def test_the_supervisor_loads_the_lock_of_a_declared_place_and_both_ends_of_a_move(
    film: Path,
) -> None:
    registry = Registry()
    registry.register(WorldStateTracker)
    registry.register(ContinuitySupervisor)
    blue = {"kind": "lighting", "detail": "cold blue light", "kelvin": 6500}
    script: list[Any] = [
        {"scene_id": "S01", "character_updates": {"ALEX": {"location": "BARN"}}},
        {"scene_id": "S02", "character_updates": {"ALEX": {"location": "KITCHEN"}}},
        {"observations": [blue]},
    ]
    r, model = scripted_runner(film, script, registry)
    r.run("world-state-tracker", "S01")
    r.run("world-state-tracker", "S02")
    result = r.run_once("continuity-supervisor", "S02")
    assert result.gate.verdict == "FAIL"
    report = r.store.load(result.records[0].name)
    assert isinstance(report, ContinuityReport)
    found = {(f.category, f.severity): f.description for f in report.findings}
    assert "6500K; SET_FARMHOUSE_LOCK allows 2700-3300K" in found[("set", "High")]
    # the move from the barn: both locks were read, and neither connects the two places
    assert "two places in the same moment" in found[("timeline", "High")]
    assert "SET_BARN_LOCK_v001.txt" in report.set_check.notes
    assert "SET FARMHOUSE" in model.requests[-1].prompt
