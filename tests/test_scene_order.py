"""Scene ids in any order (issue 16 §5): the scene before another is the previous row of
SCENES, never the number minus one, so ids with gaps (S01, S03, S10) and renumbered ones
(S01, S10, S03: a scene inserted later got a later number) track the world state and pass
continuity through the real orchestrator, runner, store and skills (synthetic answers)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from filmslate.core._scene_ids import comes_after, earlier_in, ordered, previous_in, scene_key
from filmslate.rules._worldstate import WorldStateError, apply_diff
from filmslate.schemas import StateDiff, Timeline, WorldState
from filmslate.synthetic import synthetic_project
from filmslate.workflow._orchestrator import Orchestrator


def test_the_previous_scene_is_the_previous_row() -> None:
    order = ["S01", "S10", "S03"]
    assert previous_in(order, "S03") == "S10"
    assert previous_in(order, "S10") == "S01"
    assert previous_in(order, "S01") is None
    assert earlier_in(order, "S3") == ["S10", "S01"]  # a padding slip names the same scene
    assert previous_in(["S01", "S03"], "S02") == "S01"  # not in SCENES: by its number
    assert ordered(["S03", "S99", "S01", "S10"], order) == ["S01", "S10", "S03", "S99"]
    assert comes_after("S03", "S10", order) and not comes_after("S10", "S03", order)
    assert scene_key("E02_S03") == (2, 3) and previous_in(["E01_S02", "E02_S01"], "E02_S01")


def test_a_renumbered_diff_applies_in_row_order_not_number_order() -> None:
    state = WorldState(timeline=Timeline(current_scene="S10"))
    after = apply_diff(state, StateDiff(scene_id="S03"), ["S01", "S10", "S03"])
    assert after.timeline.current_scene == "S03"
    with pytest.raises(WorldStateError) as late:  # S10 is already past in row order
        apply_diff(
            WorldState(timeline=Timeline(current_scene="S03")),
            StateDiff(scene_id="S10"),
            ["S01", "S10", "S03"],
        )
    assert late.value.rule == "scene_order"


@pytest.mark.parametrize("ids", [("S01", "S03", "S10"), ("S01", "S10", "S03")])
def test_scenes_with_gaps_or_renumbered_run_continuity(
    tmp_path: Path, ids: tuple[str, ...]
) -> None:
    runner, film = synthetic_project(tmp_path / "film", 3, 1, ids=ids)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    store = runner.store
    for before, scene in itertools.pairwise(ids):
        state = store.state_after(scene)
        assert state is not None
        diff = store.latest("STATE_DIFF", scene)
        assert diff is not None and store.state_after(before) is not None
        # the state the scene was tracked from is the state after the previous row
        assert store.state_after(before).name in store.lineage(diff.name)  # type: ignore[union-attr]
        report = store.latest("CONTINUITY_REPORT", scene)
        assert report is not None
    last = store.load(store.state_after(ids[-1]).name)  # type: ignore[union-attr]
    assert isinstance(last, WorldState) and last.timeline.current_scene == ids[-1]
    # every character met in an earlier row is still known after the last one
    assert set(last.characters) >= {c for i in range(3) for c in film.scene_cast(i)}
    assert runner.project.verify() == []
