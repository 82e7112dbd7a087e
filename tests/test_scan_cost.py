"""Cost grows linearly (issue 17 §4, the 500-scene benchmark, docs/scale.md). Every step
scans the whole SCENES table (the loader's world-state base, a skill's own row), so what a
scan does per row must be a lookup, not a parse (a 300-scene production parsed rows' story
places 723,000 times, 24 times as often as at 60 scenes). And every step
looks for the jobs dead runs left open: by their state, not by reading every job the
production ever made (each with its ~2 KB payload)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import _CacheInfo as CacheInfo
from pathlib import Path

import pytest

from filmslate import Project
from filmslate.core._scene_ids import scene_key
from filmslate.engine._render_jobs import VIDEO_TABLE, adopt_open_jobs, ensure_table
from filmslate.engine._runner import Runner
from filmslate.engine._story_inputs import state_base
from filmslate.rules import _worldstate_story
from filmslate.schemas import Scenes, ShotRow
from filmslate.store._store import Store
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


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Runner, CacheInfo, CacheInfo]:
    """A whole small production, with what the scans asked the two caches meanwhile."""
    runner, _ = synthetic_project(tmp_path_factory.mktemp("scan") / "film", SMALL, 1)
    scene_key.cache_clear()
    _worldstate_story._place.cache_clear()
    assert Orchestrator(runner).run().status == "complete"
    return runner, scene_key.cache_info(), _worldstate_story._place.cache_info()


def test_a_whole_production_parses_each_scene_id_and_place_once(
    finished: tuple[Runner, CacheInfo, CacheInfo],
) -> None:
    _, ids, places = finished
    assert ids.misses <= 2 * SMALL and ids.hits > 20 * ids.misses, ids  # S01 and S1 at most
    assert places.misses <= 2 and places.hits > 20 * SMALL, places


def test_a_scenes_dialogue_step_checks_its_own_dialogue_only(
    finished: tuple[Runner, CacheInfo, CacheInfo],
) -> None:
    runner = finished[0]
    skill = runner.registry.get("dialogue-shots")()
    assert runner.existing_outputs(skill, "S03") == {"DIALOGUE": {"S03": "PASS"}}
    everyone = runner.existing_outputs(skill)  # no target: every scene's, as before
    assert sorted(everyone["DIALOGUE"]) == [f"S{n:02d}" for n in range(1, SMALL + 1)]
    lock = runner.registry.get("character-lock")()  # a kind named by its subject: all
    assert len(runner.existing_outputs(lock, "S03")["CHAR_LOCK"]) > 1


def _finished_jobs(store: Store, jobs: int) -> None:
    """``jobs`` finished video jobs on record, as a production leaves them."""
    ensure_table(store.conn, VIDEO_TABLE)
    with store.transaction() as tx:
        tx.execute(f"DELETE FROM {VIDEO_TABLE}")
        tx.executemany(
            f"INSERT INTO {VIDEO_TABLE} (shot_id, resolution, genpack_sha, provider, state, "
            "payload) VALUES (?, 'final', 'sha', 'video', 'done', ?)",
            [(f"S{n:04d}_SH01", "x" * 2000) for n in range(jobs)],  # payloads are ~2 KB
        )


def _vm_steps(conn: sqlite3.Connection, call: Callable[[], object]) -> int:
    """SQLite VM steps (a deterministic measure of the index's work) of one call."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    conn.set_progress_handler(count, 1)
    try:
        call()
    finally:
        conn.set_progress_handler(None, 1)
    return steps[0]


def test_each_steps_look_for_open_jobs_does_not_read_every_job(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film") as project:
        store, steps = project.store, []
        for jobs in (20, 2000):
            _finished_jobs(store, jobs)
            steps.append(_vm_steps(store.conn, lambda: adopt_open_jobs(store)))
    assert steps[1] < 1.2 * steps[0] + 50, steps  # a scan: 100 times as many steps


def test_a_shots_route_counts_premium_shots_without_reading_every_job(tmp_path: Path) -> None:
    runner, _ = synthetic_project(tmp_path / "film", 1, 1)
    shot = ShotRow(
        shot_id="S01_SH01", scene_id="S01", duration_s=2, camera_type="wide",
        blocking_summary="Alex waits.", set_id="BARN", hero_tier="A",
        complexity_level="low", regen_risk_estimate="low",
    )  # fmt: skip
    service, steps = runner.render_service(), []
    for jobs in (20, 2000):
        _finished_jobs(runner.store, jobs)
        steps.append(_vm_steps(runner.store.conn, lambda: service.route(shot)))
    assert steps[1] < 1.2 * steps[0] + 50, steps
