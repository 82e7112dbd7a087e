"""Story order against shooting order (issue 16 §2): a flashback is tracked and checked
against the world at its story time, and its diff never reaches the present. Through the
real runner, store, world-state-tracker and continuity-supervisor (scripted answers), and
through `slate import` for a Fountain flashback heading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from filmslate import Project
from filmslate.core._errors import InputNotReady, SchemaError
from filmslate.engine._skill import Registry
from filmslate.rules._worldstate_story import (
    story_base,
    story_bases,
    story_previous,
    tracking_order,
)
from filmslate.schemas import Breakdown, Scenes, WorldState
from filmslate.skills.continuity._supervisor import ContinuitySupervisor
from filmslate.skills.continuity._world import WorldStateTracker
from filmslate.testing import scripted_runner
from filmslate.workflow._importer import import_screenplay
from test_runtime import configure
from test_worldstate import add

ROWS = [
    {"scene_id": "S01", "summary": "Alex waits.", "location": "BARN", "time_of_day": "NIGHT",
     "characters_present": ["ALEX"]},
    {"scene_id": "S02", "summary": "Alex falls.", "location": "BARN",
     "time_of_day": "NIGHT - LATER", "characters_present": ["ALEX"]},
    {"scene_id": "S03", "summary": "Young Alex at school.", "location": "SCHOOL",
     "time_of_day": "DAY", "characters_present": ["ALEX"], "story_position": "before S02"},
    {"scene_id": "S04", "summary": "Alex limps out.", "location": "BARN",
     "time_of_day": "NIGHT - CONTINUOUS", "characters_present": ["ALEX"]},
]  # fmt: skip
SLING = {"broken left arm": ["sling"]}
DIFFS: list[dict[str, Any]] = [
    {"scene_id": "S01", "character_updates": {"ALEX": {"location": "BARN"}}},
    {"scene_id": "S02",
     "character_updates": {"ALEX": {"add_injuries": ["broken left arm"], "injury_signs": SLING}}},
    {"scene_id": "S03",
     "character_updates": {"ALEX": {"learn": ["his teacher is Ruth"], "location": "SCHOOL"}}},
    {"scene_id": "S04", "character_updates": {"ALEX": {"emotional_state": "shaken"}}},
]  # fmt: skip


def _scenes() -> Scenes:
    return Scenes.model_validate({"rows": ROWS})


def test_story_bases_skip_the_flashback() -> None:
    rows = _scenes().rows
    assert story_bases(rows) == {"S01": None, "S02": "S01", "S03": "S01", "S04": "S02"}
    assert story_previous(rows, "S04") == "S02"  # the flashback between is skipped
    assert story_previous(rows, "S03") is None  # a flashback is a cut
    forward = [*rows[:2], rows[2].model_copy(update={"story_position": "after S04"}), rows[3]]
    assert story_base(forward, "S03") == "S04"


def test_a_scenes_file_without_positions_is_unchanged_and_a_bad_one_is_named() -> None:
    plain = Scenes.model_validate({"rows": [{**r, "story_position": ""} for r in ROWS]})
    header = plain.render().decode().splitlines()[0]
    assert header.endswith("time_of_day,characters_present")
    assert Scenes.parse(_scenes().render()) == _scenes()
    bad = _scenes().render().replace(b"before S02", b"sometime")
    with pytest.raises(SchemaError) as refused:
        Scenes.parse(bad)
    assert "line 4" in str(refused.value) and "story_position" in str(refused.value)
    assert "before <scene>" in str(refused.value)


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    add(root, _scenes())
    rows = [
        {
            "scene_id": r["scene_id"],
            "characters_present": ["ALEX"],
            "locations_used": [r["location"]],
        }
        for r in ROWS
    ]
    add(root, Breakdown.model_validate({"rows": rows}))
    return root


def _registry() -> Registry:
    registry = Registry()
    registry.register(WorldStateTracker)
    registry.register(ContinuitySupervisor)
    return registry


def test_a_flashback_starts_from_its_story_time_and_never_changes_the_present(
    film: Path,
) -> None:
    r, model = scripted_runner(film, DIFFS, _registry())
    for scene in ("S01", "S02", "S03", "S04"):
        assert r.run("world-state-tracker", scene).gate.passed, scene
    store = r.store
    flashback = store.load(store.state_after("S03").name)  # type: ignore[union-attr]
    assert isinstance(flashback, WorldState)
    assert flashback.characters["ALEX"].injuries == []  # the world before the fall
    assert "WORLD STATE BEFORE S03 (after S01" in model.requests[2].prompt
    assert "out of story order (before S02)" in model.requests[2].prompt
    present = store.load(store.state_after("S04").name)  # type: ignore[union-attr]
    assert isinstance(present, WorldState)
    alex = present.characters["ALEX"]
    assert alex.injuries == ["broken left arm"] and alex.injury_signs == {
        "broken left arm": ["sling"]
    }
    assert alex.knowledge == [] and alex.location == "BARN"  # S03 stayed in the past
    assert store.state_after("S02").name in store.lineage(store.latest("STATE_DIFF", "S04").name)  # type: ignore[union-attr]


def test_the_supervisor_checks_a_flashback_against_its_story_time(film: Path) -> None:
    both_arms = {"kind": "uninjured", "character": "ALEX", "subject": "left arm",
                 "detail": "climbs the rope with both arms"}  # fmt: skip
    no_sling = {"kind": "uninjured", "character": "ALEX", "subject": "sling",
                "detail": "no sling, waves both arms"}  # fmt: skip
    script: list[Any] = [*DIFFS, {"observations": [both_arms]}, {"observations": [no_sling]}]
    r, model = scripted_runner(film, script, _registry())
    for scene in ("S01", "S02", "S03", "S04"):
        r.run("world-state-tracker", scene)
    past = r.run_once("continuity-supervisor", "S03")
    assert past.gate.verdict == "PASS", past.gate.reasons
    prompt = model.requests[-1].prompt
    assert "out of story order: before S02" in prompt and "injuries none" in prompt
    now = r.run_once("continuity-supervisor", "S04")
    assert now.gate.verdict == "FAIL"
    assert "broken left arm" in now.gate.reasons[0] and "S04" in now.gate.reasons[0]
    assert "broken left arm shows as sling" in model.requests[-1].prompt
    # S04 CONTINUOUS joins S02 in the barn, not the flashback at the school
    assert not any("two places" in reason for reason in now.gate.reasons)


SCRIPT = """\
INT. BARN - NIGHT

Alex waits by the door.

INT. SCHOOL - DAY (FLASHBACK)

Young Alex writes on a slate.

EXT. HARBOUR - FLASH FORWARD - DAY

Alex, older, looks out to sea.
"""


def test_import_marks_flashbacks_in_the_time_of_day(project: Project, tmp_path: Path) -> None:
    script = tmp_path / "play.fountain"
    script.write_text(SCRIPT)
    import_screenplay(project, script, {})
    rows = project.store.load("SCENES_v001.csv").rows
    assert [(r.location, r.time_of_day) for r in rows] == [
        ("BARN", "NIGHT"),
        ("SCHOOL", "DAY (FLASHBACK)"),
        ("HARBOUR", "DAY (FLASH FORWARD)"),
    ]
    assert story_bases(rows) == {"S01": None, "S02": None, "S03": "S01"}


def test_a_position_must_name_another_scene_of_the_table() -> None:
    text = _scenes().render().replace(b"before S02", b"before S09")
    with pytest.raises(SchemaError, match="line 4: story_position 'before S09' of S03 must name"):
        Scenes.parse(text)


FORWARD = [
    {"scene_id": "S01", "summary": "Alex waits.", "location": "BARN", "time_of_day": "NIGHT",
     "characters_present": ["ALEX"]},
    {"scene_id": "S02", "summary": "Old Alex at the harbour.", "location": "HARBOUR",
     "time_of_day": "DAY", "characters_present": ["ALEX"], "story_position": "after S03"},
    {"scene_id": "S03", "summary": "Alex falls.", "location": "BARN",
     "time_of_day": "NIGHT - LATER", "characters_present": ["ALEX"]},
]  # fmt: skip


def test_a_flash_forward_is_tracked_after_the_scene_it_follows(tmp_path: Path) -> None:
    rows = Scenes.model_validate({"rows": FORWARD}).rows
    assert [r.scene_id for r in tracking_order(rows)] == ["S01", "S03", "S02"]
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    add(root, Scenes.model_validate({"rows": FORWARD}))
    cast = [
        {
            "scene_id": r["scene_id"],
            "characters_present": ["ALEX"],
            "locations_used": [r["location"]],
        }
        for r in FORWARD
    ]
    add(root, Breakdown.model_validate({"rows": cast}))
    hurt = {"ALEX": {"add_injuries": ["broken left arm"]}}
    script: list[Any] = [
        {"scene_id": "S01"},
        {"scene_id": "S03", "character_updates": hurt},
        {"scene_id": "S02", "character_updates": {"ALEX": {"location": "HARBOUR"}}},
    ]
    r, model = scripted_runner(root, script, _registry())
    with pytest.raises(InputNotReady, match="world-state-tracker --scene S03"):
        r.run("world-state-tracker", "S02")  # the future is not known yet
    for row in tracking_order(rows):
        assert r.run("world-state-tracker", row.scene_id).gate.passed, row.scene_id
    future = r.store.load(r.store.state_after("S02").name)  # type: ignore[union-attr]
    assert isinstance(future, WorldState)
    assert future.characters["ALEX"].injuries == ["broken left arm"]  # the state after S03
    assert "out of story order (after S03)" in model.requests[-1].prompt
