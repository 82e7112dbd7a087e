"""Cost grows linearly (issue 17 §4, the 500-scene benchmark): every step scans the whole
SCENES table (the loader's world-state base, a skill's own row), so what a scan does per row
must be a lookup, not a parse. Measured in docs/scale.md: before, parsing each row's story
place and id again at every step made the per-scene CPU of the narrative phases grow by 40%
from 60 to 300 scenes."""

from __future__ import annotations

from pathlib import Path

from filmslate.core._scene_ids import scene_key
from filmslate.engine._story_inputs import state_base
from filmslate.rules import _worldstate_story
from filmslate.schemas import Scenes
from filmslate.synthetic import synthetic_project
from filmslate.workflow._orchestrator import Orchestrator

SCENES = 400
SMALL = 6


def _scenes() -> Scenes:
    rows = [
        {"scene_id": f"S{n:03d}", "summary": "Alex waits.", "location": "BARN",
         "time_of_day": "NIGHT", "characters_present": ["ALEX"]}
        for n in range(1, SCENES + 1)
    ]  # fmt: skip
    rows[SCENES // 2]["story_position"] = "before S002"  # one flashback: the bases are asked
    return Scenes.model_validate({"rows": rows})


def test_every_scenes_world_state_base_parses_each_row_once() -> None:
    rows = _scenes().rows
    _worldstate_story._place.cache_clear()
    previous = None
    for row in rows:  # as the loader asks at each scene's steps
        state_base(rows, row.scene_id, previous)
        previous = row.scene_id
    parsed = _worldstate_story._place.cache_info()
    assert parsed.misses == 2  # the two distinct (story position, time of day) texts
    assert parsed.hits > SCENES * SCENES // 2  # the scans themselves still visit the rows
    assert state_base(rows, rows[SCENES // 2 + 1].scene_id, rows[SCENES // 2].scene_id) == (
        rows[SCENES // 2 - 1].scene_id  # the scene after the flashback: the last in order
    )


def test_a_whole_production_parses_each_scene_id_and_place_once(tmp_path: Path) -> None:
    runner, _ = synthetic_project(tmp_path / "film", SMALL, 1)
    scene_key.cache_clear()
    _worldstate_story._place.cache_clear()
    assert Orchestrator(runner).run().status == "complete"
    ids, places = scene_key.cache_info(), _worldstate_story._place.cache_info()
    assert ids.misses <= 2 * SMALL and ids.hits > 20 * ids.misses, ids  # S01 and S1 at most
    assert places.misses <= 2 and places.hits > 20 * SMALL, places
