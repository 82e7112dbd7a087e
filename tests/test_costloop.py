"""The cost loop applies its reductions: apply_cost_plan through the real runner and store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import run_slate
from filmslate import GateFailed, HardStop, Project
from filmslate.core._errors import CostReviewRequired, UserError
from filmslate.engine._override import record_override
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._stops import all_open_hard_stops
from filmslate.schemas import BudgetStatus, CostReport, ShotList
from filmslate.skills.governance._governance import BudgetGates, CostOptimizer
from filmslate.skills.production._production import ShotPlanner
from filmslate.store._ledger import Ledger
from filmslate.store._runlog import LogEntry
from filmslate.testing import FAKE_MP4, scripted_runner
from filmslate.workflow._backward import LoopBack, record_loop_back
from filmslate.workflow._costloop import apply_cost_plan
from test_runtime import configure
from test_skills_production import ALEX, BEN, BREAKDOWN, MILL, MIRA, SCENES, _report, put, shot
from test_text_timeouts import PREMISE

# hero A -> 0.5/s, B -> 0.2/s, C -> 0.1/s (proxy + final)
PRICED = {
    'premium = "animatic"': 'premium = "fal:hero"',
    'mid = "animatic"': 'mid = "fal:mid"',
    'low = "animatic"': 'low = "fal:low"',
    '# video = { "fal:some-model"': (
        'video = { "fal:hero" = { proxy = 0.1, final = 0.4 }, "fal:mid" = { proxy = 0.05, '
        'final = 0.15 }, "fal:low" = { proxy = 0.02, final = 0.08 }, "fal:some-model"'
    ),
}

# 0.66 + 1.32 + 2.6 + 1.6 + 2.56 = 8.74 projected; every reduction brings it to 6.57
PLAN = {
    "rows": [
        shot(
            1,
            camera_type="establishing",
            hero_tier="C",
            char_ids=[],
            duration_s=6.0,
            blocking_summary="The mill at dusk, rain on the skylight.",
        ),
        shot(
            2,
            camera_type="insert",
            char_ids=[],
            duration_s=6.0,
            blocking_summary="The ledger on the desk.",
        ),
        shot(
            3,
            camera_type="close_up",
            hero_tier="A",
            char_ids=["MIRA"],
            blocking_summary="Mira holds Alex's gaze.",
            regen_risk_estimate="medium",
        ),
        shot(
            4,
            char_ids=["ALEX", "MIRA", "BEN"],
            complexity_level="high",
            duration_s=5.0,
            regen_risk_estimate="high",
            blocking_summary="Ben walks in between them.",
        ),
        shot(5, complexity_level="medium", duration_s=8.0, regen_risk_estimate="high"),
    ]
}


def make_film(root: Path, **config: str) -> Path:
    with Project.init(root, name="film") as project:
        path = project.root
    configure(path, **config)
    project = Project(path)
    put(project, "SCENES", None, SCENES)
    put(project, "BREAKDOWN", None, BREAKDOWN)
    put(project, "CONTINUITY_REPORT", "S01", _report())
    for lock in (ALEX, MIRA, BEN):
        put(project, "CHAR_LOCK", lock.name, lock)
    put(project, "SET_LOCK", "OLD_MILL", MILL)
    project.close()
    return path


def cap(amount: float) -> dict[str, str]:
    return {**PRICED, "scene_cap = 1000.0": f"scene_cap = {amount}"}


def planned(root: Path, answer: dict[str, Any] = PLAN) -> Runner:
    """A runner whose scene S01 has a shot list planned by shot-planner."""
    registry = Registry()
    for skill in (ShotPlanner, CostOptimizer, BudgetGates):
        registry.register(skill)
    r, _ = scripted_runner(root, [answer], registry)
    assert r.run("shot-planner", "S01").gate.passed
    return r


def rows_of(r: Runner, scene: str = "S01") -> list[Any]:
    record = r.store.latest("SHOTLIST", scene)
    assert record is not None
    shotlist = r.store.load(record.name)
    assert isinstance(shotlist, ShotList)
    return shotlist.rows


def report_of(r: Runner, target: str = "S01") -> CostReport:
    record = r.store.latest("COST_REPORT", target)
    assert record is not None
    report = r.store.load(record.name)
    assert isinstance(report, CostReport)
    return report


def test_over_the_scene_cap_writes_a_reduced_shot_list_and_a_passing_report(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(7.9)))
    with pytest.raises(GateFailed, match=r"projected 8\.74 exceeds the scene cap 7\.90"):
        r.run("cost-optimizer", "S01")  # the review fails and stops the cost skill
    result = apply_cost_plan(r, "S01")
    # largest saving first, and only until the projection fits: SH02 is not shortened
    assert [(c.shot_id, c.step) for c in result.changes] == [
        ("S01_SH02", "downgrade"),
        ("S01_SH01", "shorten"),
    ]
    assert result.status == "applied" and result.projected_before == pytest.approx(8.74)
    assert result.projected_after == pytest.approx(7.805)
    assert [rec.filename for rec in result.records] == ["SHOTLIST_S01_v002.csv"]
    rows = {row.shot_id: row for row in rows_of(r)}
    assert (rows["S01_SH02"].hero_tier, rows["S01_SH02"].duration_s) == ("C", 6.0)
    assert (rows["S01_SH01"].hero_tier, rows["S01_SH01"].duration_s) == ("C", 3.5)
    assert "cost plan: shorten 6s -> 3.5s" in rows["S01_SH01"].notes
    assert [rows[s] for s in ("S01_SH03", "S01_SH04", "S01_SH05")] == ShotList.model_validate(
        PLAN
    ).rows[2:]  # untouched
    # the new version is usable downstream: fresh, and gated PASS by shot-planner's rules
    assert not r.store.is_stale("SHOTLIST_S01_v002.csv")
    write = r.store.conn.execute(
        "SELECT skill_name, outcome, notes FROM runlog WHERE event = 'write' AND "
        "artifact_output = 'SHOTLIST_S01_v002.csv'"
    ).fetchone()
    assert write[:2] == ("cost-optimizer", "PASS")
    assert "S01_SH02: downgrade hero B -> C" in write[2] and "SHOTLIST_S01_v001" in write[2]
    assert "COST_REPORT_S01_v001" in write[2]  # the report that triggered the plan
    # the rerun passes; the simplification lifted the cost stop with a logged override
    assert (result.verdict, result.report and result.report.filename) == (
        "PASS",
        "COST_REPORT_S01_v002.md",
    )
    assert report_of(r).projected_total == pytest.approx(7.805)
    assert all_open_hard_stops(r.project) == []
    assert r.store.latest("OVERRIDE", "S01") is not None
    assert r.project.verify() == []


def test_complex_shots_are_shortened_and_long_ones_split(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(6.6)))
    result = apply_cost_plan(r, "S01")
    assert [(c.shot_id, c.step) for c in result.changes] == [
        ("S01_SH02", "downgrade"),
        ("S01_SH01", "shorten"),
        ("S01_SH02", "shorten"),
        ("S01_SH05", "simplify"),
    ]
    assert {row.shot_id: row.duration_s for row in rows_of(r)}["S01_SH05"] == 5.0
    assert result.verdict == "PASS"

    # a 20s coverage shot (a hand-made list) is shortened to 12s, then split in two
    film = make_film(tmp_path / "long", **cap(4.0))
    with Project(film) as project:
        put(
            project,
            "SHOTLIST",
            "S01",
            ShotList.model_validate(
                {
                    "rows": [
                        shot(1, camera_type="wide", hero_tier="C", char_ids=[], duration_s=20.0),
                        shot(2, camera_type="close_up", hero_tier="A", char_ids=["MIRA"]),
                    ]
                }
            ),
        )
    r2, _ = scripted_runner(film, [], _registry())
    result = apply_cost_plan(r2, "S01")
    assert [(c.step, c.after) for c in result.changes] == [("shorten", "12s"), ("split", "6s + 6s")]
    assert result.renumbered == {"S01_SH01": "S01_SH01, S01_SH02", "S01_SH02": "S01_SH03"}
    assert [(row.shot_id, row.duration_s, row.hero_tier) for row in rows_of(r2)] == [
        ("S01_SH01", 6.0, "C"),
        ("S01_SH02", 6.0, "C"),
        ("S01_SH03", 4.0, "A"),
    ]
    # the cost now fits, but one A shot of three breaks the premium quota: the plan does not
    # touch A tiers, so the rerun's FAIL is reported (and the runner stops the cost skill)
    assert result.verdict == "FAIL" and "premium overuse: 1 of 3" in result.reasons[0]
    assert result.report is not None and result.report.filename == "COST_REPORT_S01_v001.md"


def _registry() -> Registry:
    registry = Registry()
    for skill in (ShotPlanner, CostOptimizer):
        registry.register(skill)
    return registry


def test_within_the_cap_nothing_is_written(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(50.0)))
    before = len(r.store.artifacts())
    for target in ("S01", "PROJECT"):
        result = apply_cost_plan(r, target)
        assert result.status == "within_cap" and result.changes == []
        assert result.projected_after == pytest.approx(8.74)
    assert len(r.store.artifacts()) == before
    assert r.store.latest("SHOTLIST", "S01").filename == "SHOTLIST_S01_v001.csv"  # type: ignore[union-attr]


def test_an_impossible_fit_records_a_budget_stop_until_an_override(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(5.0)))
    with pytest.raises(HardStop, match=r"overrun 1\.57\. Nothing was changed") as stop:
        apply_cost_plan(r, "S01")
    assert stop.value.context["kind"] == "budget"
    stops = all_open_hard_stops(r.project)
    assert [(s.kind, s.target, s.skill) for s in stops] == [("budget", "S01", "cost-optimizer")]
    assert r.store.latest("SHOTLIST", "S01").filename == "SHOTLIST_S01_v001.csv"  # type: ignore[union-attr]
    with pytest.raises(HardStop, match="hard stop \\(budget\\)"):
        apply_cost_plan(r, "S01")  # still stopped: no second stop, nothing written
    assert len(all_open_hard_stops(r.project)) == 1
    # a logged human override raises the scene cap; the full plan then fits
    record_override(r.project, "S01", "producer approved the extra cost", 1.6, "ana")
    result = apply_cost_plan(r, "S01")
    assert result.projected_after == pytest.approx(6.57) and result.verdict == "PASS"


def test_a_shot_with_a_proxy_is_not_changed(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(7.9)))
    r.store.write("PROXY", "S01_SH02", FAKE_MP4, inputs=["SHOTLIST_S01_v001.csv"])
    result = apply_cost_plan(r, "S01")
    assert [(c.shot_id, c.step) for c in result.changes] == [
        ("S01_SH01", "shorten"),
        ("S01_SH05", "simplify"),
    ]
    assert result.kept == ["S01_SH02: PROXY_S01_SH02_v001.mp4 exists: left as it is"]
    old = ShotList.model_validate(PLAN).rows[1]
    assert rows_of(r)[1] == old  # same id, tier, duration and notes
    # its row is unchanged, but the new shot-list version makes the proxy stale: say so
    assert result.stale_renders == ["PROXY_S01_SH02_v001.mp4"]


def _spend(led: Ledger, scene: str, amount: float) -> None:
    hold = led.reserve("R-test", scene, "", amount, "test call")
    led.settle(hold, amount, LogEntry(run_id="R-test", skill_name="test", scene_id=scene))


def test_the_cost_gate_counts_what_is_already_committed(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(10.0)))
    assert r.run("cost-optimizer", "S01").gate.passed  # 8.74 of 10
    _spend(r.ledger, "S01", 2.0)
    with pytest.raises(
        GateFailed,
        match=r"8\.74 exceeds the scene cap 10\.00 \(2\.00 "
        r"committed, 8\.00 left\)",
    ):
        r.run("cost-optimizer", "S01", force=True)


def test_a_review_at_the_warning_point_writes_a_new_report(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **{"scene_cap = 1000.0": "scene_cap = 10.0"}))
    first = r.run("cost-optimizer", "S01")  # the animatic renders for free: projection 0
    assert first.records[0].filename == "COST_REPORT_S01_v001.md"
    _spend(r.ledger, "S01", 9.5)  # crosses 90%: the scene enters its warning state
    with pytest.raises(CostReviewRequired, match="slate cost --target S01"):
        r.ledger.reserve("R2", "S01", "", 0.1, "after the warning")
    assert any("S01: cost review required" in a for a in actions(r))
    review = r.run("cost-optimizer", "S01", force=True)  # same shot list, new spend
    assert review.records[0].filename == "COST_REPORT_S01_v002.md"
    assert any(
        "spent 9.50, committed 9.50 of the S01 scene cap 10.00" in line and "warning" in line
        for line in report_of(r).tier_reallocation_suggestions
    )
    again = r.run("cost-optimizer", "S01", force=True)  # nothing new: no new version
    assert again.records[0].filename == "COST_REPORT_S01_v002.md"
    r.ledger.reserve("R3", "S01", "", 0.1, "after the review")  # no longer refused
    assert any("S01: cost review done" in a for a in actions(r))


def actions(r: Runner) -> list[str]:
    """The enforcement actions of a fresh BUDGET_STATUS."""
    status = r.store.load(r.run("budget-gates", "PROJECT", force=True).records[0].name)
    assert isinstance(status, BudgetStatus)
    return list(status.enforcement_actions)


def test_the_project_target_answers_to_the_project_cap(tmp_path: Path) -> None:
    r = planned(
        make_film(tmp_path / "film", **{**PRICED, "project_cap = 15000.0": "project_cap = 7.9"})
    )
    result = apply_cost_plan(r, "PROJECT")
    assert (result.cap_level, result.cap_scope, result.cap) == ("project", "PROJECT", 7.9)
    assert [rec.filename for rec in result.records] == ["SHOTLIST_S01_v002.csv"]
    assert result.verdict == "PASS" and report_of(r, "PROJECT").projected_total == pytest.approx(
        7.805
    )
    with pytest.raises(UserError, match="a scene \\(S03\\) or PROJECT"):
        apply_cost_plan(r, "ACT_1")


def test_slate_cost_apply_simplifies_through_the_command(tmp_path: Path) -> None:
    root = make_film(tmp_path / "film", **cap(7.9))
    planned(root).project.close()
    done = run_slate("cost", "--scene", "S01", "--apply", "-C", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "projected 8.74" in done.stdout and "S01_SH02: downgrade" in done.stdout
    assert "wrote SHOTLIST_S01_v002.csv" in done.stdout and "PASS" in done.stdout
    again = run_slate("cost", "--scene", "S01", "--apply", "-C", str(root))
    assert again.returncode == 0 and "fits: nothing changed" in again.stdout


def test_with_a_premise_an_impossible_fit_goes_to_story_architect_bounded(
    tmp_path: Path,
) -> None:
    r = planned(make_film(tmp_path / "film", **cap(5.0)))
    r.store.write("PREMISE", None, PREMISE)
    for _ in range(2):  # loops.max_revisions = 2 simplifications of the story
        with pytest.raises(LoopBack) as back:
            apply_cost_plan(r, "S01", story=True)
        route = back.value.route
        assert (route.skill, route.target) == ("story-architect", "PROJECT")
        assert route.findings == (
            "simplify: the S01 projection 8.74 USD does not fit the 5.00 left under the scene "
            "cap S01, even after every cheaper routing and shorter shot (6.57, over by 1.57): "
            "fewer or shorter scenes and fewer shots, the costliest first: "
            "S01 (5 shots, 29 s, 8.74 USD)",
        )
        assert all_open_hard_stops(r.project) == []  # nothing stops and nothing is written
        assert r.store.latest("SHOTLIST", "S01").filename == "SHOTLIST_S01_v001.csv"  # type: ignore[union-attr]
        assert record_loop_back(r, back.value) is None  # what the orchestrator logs
    with pytest.raises(HardStop, match=r"and 2 story simplification\(s\) by story-architect"):
        apply_cost_plan(r, "S01", story=True)
    assert [s.kind for s in all_open_hard_stops(r.project)] == ["budget"]


def test_imported_scenes_cannot_be_simplified_upstream(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(5.0)))  # SCENES with no PREMISE
    with pytest.raises(HardStop, match=r"overrun 1\.57\. Nothing was changed"):
        apply_cost_plan(r, "S01", story=True)


def test_once_a_take_is_rendered_the_story_is_not_simplified(tmp_path: Path) -> None:
    r = planned(make_film(tmp_path / "film", **cap(5.0)))
    r.store.write("PREMISE", None, PREMISE)
    r.store.write("PROXY", "S01_SH02", FAKE_MP4, inputs=["SHOTLIST_S01_v001.csv"])
    # a new story would make the paid take stale: a person decides
    with pytest.raises(HardStop, match=r"Nothing was changed"):
        apply_cost_plan(r, "S01", story=True)
