"""Cost grows linearly (issue 17 §4, the 500-scene benchmark, docs/scale.md). Every step
scans the whole SCENES table (the loader's world-state base, a skill's own row), so what a
scan does per row must be a lookup, not a parse (a 300-scene production parsed rows' story
places 723,000 times, 24 times as often as at 60 scenes). And every step
looks for the jobs dead runs left open: by their state, not by reading every job the
production ever made (each with its ~2 KB payload)."""

from __future__ import annotations

from pathlib import Path

from filmslate import Project
from filmslate.core._scene_ids import scene_key
from filmslate.engine._render_jobs import VIDEO_TABLE, adopt_open_jobs, ensure_table
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


def _steps_to_adopt(project: Project, jobs: int) -> int:
    """SQLite VM steps of one adopt_open_jobs with ``jobs`` finished video jobs on record."""
    conn = project.store.conn
    ensure_table(conn, VIDEO_TABLE)
    with project.store.transaction() as tx:
        tx.execute(f"DELETE FROM {VIDEO_TABLE}")
        tx.executemany(
            f"INSERT INTO {VIDEO_TABLE} (shot_id, resolution, genpack_sha, provider, state, "
            "payload) VALUES (?, 'final', 'sha', 'video', 'done', ?)",
            [(f"S{n:04d}_SH01", "x" * 2000) for n in range(jobs)],  # payloads are ~2 KB
        )
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    conn.set_progress_handler(count, 1)
    try:
        assert adopt_open_jobs(project.store) == 0
    finally:
        conn.set_progress_handler(None, 1)
    return steps[0]


def test_each_steps_look_for_open_jobs_does_not_read_every_job(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film") as project:
        few, many = _steps_to_adopt(project, 20), _steps_to_adopt(project, 2000)
    assert many < 1.2 * few + 50, (few, many)  # a scan: 100 times as many steps
