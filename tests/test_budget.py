"""Budget enforcement: caps at every level, warning and stop points, reservations under
concurrency and crashes, and the governance reports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from conftest import SRC, run_slate
from filmslate import BudgetExceeded, HardStop, Project
from filmslate.core._errors import CostReviewRequired
from filmslate.engine._override import record_override
from filmslate.engine._stops import all_open_hard_stops
from filmslate.schemas import ShotList
from filmslate.store._ledger import Ledger
from runtime_skills import registry
from test_runtime import GOOD_PREMISE, REPORT, configure, runner

CAPS = {
    "project_cap = 15000.0": "project_cap = 100.0",
    "scene_cap = 1000.0": "scene_cap = 50.0",
    "shot_cap = 200.0": "shot_cap = 20.0",
}


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root, **CAPS)
    return root


def ledger(root: Path) -> Ledger:
    project = Project(root)
    return Ledger(project.store, project.config)


def spend(led: Ledger, scene: str, shot: str, amount: float) -> None:
    hold = led.reserve("R-test", scene, shot, amount, "test call")
    from filmslate.store._runlog import LogEntry

    led.settle(
        hold, amount, LogEntry(run_id="R-test", skill_name="test", scene_id=scene, shot_id=shot)
    )


@pytest.mark.parametrize(
    "scene,shot,cap,level,scope",
    [
        ("", "", 100.0, "project", "PROJECT"),
        ("S01", "", 50.0, "scene", "S01"),
        ("S01", "S01_SH01", 20.0, "shot", "S01_SH01"),
    ],
)
def test_warning_at_90_and_stop_at_100_at_every_level(
    film: Path, scene: str, shot: str, cap: float, level: str, scope: str
) -> None:
    led = ledger(film)
    spend(led, scene, shot, cap * 0.85)
    assert led.state(level, scope).state == "ok"  # type: ignore[arg-type]
    spend(led, scene, shot, cap * 0.05)  # crosses 90%: allowed, enters warning
    assert led.state(level, scope).state == "warning"  # type: ignore[arg-type]
    warnings = led.conn.execute(
        "SELECT notes FROM runlog WHERE event = 'budget_warning'"
    ).fetchall()
    assert any(scope in w[0] for w in warnings)
    with pytest.raises(CostReviewRequired, match="slate cost"):
        led.reserve("R2", scene, shot, 0.01, "after warning")
    target = "PROJECT" if level == "project" else scene
    r, _ = runner(film, [])
    r.run("cost-optimizer", target, force=True)  # the cost review
    led = ledger(film)
    spend(led, scene, shot, cap * 0.05)  # reviewed: allowed again up to the cap
    with pytest.raises(BudgetExceeded, match=f"{level} cap for {scope} would be exceeded"):
        led.reserve("R3", scene, shot, cap * 0.2, "too much")
    stops = all_open_hard_stops(led.store and Project(film))
    assert stops and stops[-1][1] == "budget"
    assert led.open_reservations() == 0


def test_override_grants_headroom_for_a_budget_stop(film: Path) -> None:
    led = ledger(film)
    spend(led, "", "", 80.0)
    with pytest.raises(BudgetExceeded):
        led.reserve("R", "", "", 30.0, "big call")
    project = Project(film)
    record_override(project, "PROJECT", "festival deadline, producer approved", 30.0, "ana")
    led = Ledger(project.store, project.config)
    assert led.state("project", "PROJECT").cap == pytest.approx(130.0)
    led.reserve("R", "", "", 30.0, "big call")  # fits now (review requirement reset)
    override = project.store.latest("OVERRIDE", "PROJECT")
    text = project.store.read(override.name).decode()
    assert "festival deadline" in text and "30" in text


def test_a_stop_on_a_small_cap_shows_the_fractions_of_a_cent(film: Path) -> None:
    # a text call costs a tenth of a cent: rounded to cents the stop read "0.00 committed of
    # 0.00 ... needs up to 0.00", which says nothing about why the call was refused
    configure(film, **{"scene_cap = 50.0": "scene_cap = 0.035"})
    led = ledger(film)
    spend(led, "S01", "", 0.0305)
    with pytest.raises(BudgetExceeded) as caught:
        led.reserve("R", "S01", "", 0.0062, "a red team")
    assert "0.0305 committed of 0.035 USD, a red team needs up to 0.0062" in str(caught.value)


def _threaded_call(root: Path, index: int, results: list[str]) -> None:
    r, _ = runner(root, [GOOD_PREMISE | {"title": f"T{index}"}], cost=7.0, worst=9.0)
    try:
        r.run_once("pitch", "PROJECT")
        results.append("settled")
    except BudgetExceeded:
        results.append("refused")
    except HardStop:  # another call was refused first: the project is stopped
        results.append("stopped")
    finally:
        r.project.close()


def test_fifty_parallel_paid_calls_in_threads_never_overshoot(film: Path) -> None:
    configure(film, **{"warn_pct = 90.0": "warn_pct = 99.0"})
    results: list[str] = []
    threads = [threading.Thread(target=_threaded_call, args=(film, i, results)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    led = ledger(film)
    state = led.state("project", "PROJECT")
    assert len(results) == 50
    assert results.count("settled") >= 10  # 9.0 reserved each: 11 fit under 100
    assert state.settled <= 100.0 and state.committed <= 100.0
    assert state.settled == pytest.approx(7.0 * results.count("settled"))
    assert led.open_reservations() == 0


def _process_call(root: str, index: int) -> str:
    results: list[str] = []
    _threaded_call(Path(root), index, results)
    return results[0]


def test_fifty_parallel_paid_calls_in_processes_never_overshoot(film: Path) -> None:
    configure(film, **{"warn_pct = 90.0": "warn_pct = 99.0"})
    with ProcessPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(_process_call, [str(film)] * 50, range(50)))
    led = ledger(film)
    state = led.state("project", "PROJECT")
    assert results.count("settled") + results.count("refused") + results.count("stopped") == 50
    assert results.count("settled") >= 10
    assert state.committed <= 100.0
    assert state.settled == pytest.approx(7.0 * results.count("settled"))
    assert led.open_reservations() == 0


CRASHER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from test_runtime import runner, GOOD_PREMISE
    def answer(request):
        if os.environ.get("DIE_IN_CALL"):
            os.kill(os.getpid(), 9)
        return GOOD_PREMISE
    r, _ = runner(Path(sys.argv[1]), answer, cost=1.0, worst=5.0)
    r.run("pitch", "PROJECT")
""")


@pytest.mark.parametrize("how,charged", [("FILMSLATE_CRASH_AT", 0.0), ("DIE_IN_CALL", 5.0)])
def test_a_crash_between_reserve_and_settle_leaks_nothing(
    film: Path, how: str, charged: float
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{Path(__file__).parent}",
        how: "after_reserve" if how == "FILMSLATE_CRASH_AT" else "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, str(film), str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -9, proc.stderr
    led = ledger(film)
    assert led.open_reservations() == 1
    r, _ = runner(film, [GOOD_PREMISE], cost=1.0, worst=5.0)
    result = r.run("pitch", "PROJECT")  # resume: recover first, then run
    assert result.gate.verdict == "PASS"
    assert r.ledger.open_reservations() == 0
    assert r.ledger.state("project", "PROJECT").settled == pytest.approx(charged + 1.0)
    assert Project(film).verify() == []


def _shots(rows: list[dict[str, object]]) -> ShotList:
    base = {
        "scene_id": "S01",
        "camera_type": "medium",
        "blocking_summary": "x",
        "set_id": "LIGHTHOUSE",
        "char_ids": ["NELL"],
        "complexity_level": "low",
    }
    return ShotList.model_validate({"rows": [{**base, **r} for r in rows]})


def test_cost_report_uses_the_formula_and_multipliers(film: Path) -> None:
    text = (film / "filmslate.toml").read_text()
    text = (
        text.replace('premium = "animatic"', 'premium = "fal:hero"')
        .replace('mid = "animatic"', 'mid = "fal:mid"')
        .replace(
            "[prices]",
            '[prices]\nvideo = { "fal:hero" = { proxy = 0.1, final = 0.4 }, '
            '"fal:mid" = { proxy = 0.05, final = 0.15 } }',
        )
    )
    (film / "filmslate.toml").write_text(text)
    r, _ = runner(film, [])
    r.store.write(
        "SHOTLIST",
        "S01",
        _shots(
            [
                {
                    "shot_id": "S01_SH01",
                    "duration_s": 4,
                    "hero_tier": "A",
                    "regen_risk_estimate": "high",
                },
                {
                    "shot_id": "S01_SH02",
                    "duration_s": 6,
                    "hero_tier": "B",
                    "regen_risk_estimate": "low",
                },
                {
                    "shot_id": "S01_SH03",
                    "duration_s": 12,
                    "hero_tier": "C",
                    "regen_risk_estimate": "medium",
                    "complexity_level": "high",
                },
            ]
        ),
    )
    result = r.run_once("cost-optimizer", "PROJECT")
    report = r.store.load(result.records[0].name)
    # 4s x 0.5 x 1.6 + 6s x 0.2 x 1.1 + 12s x 0 x 1.3
    assert report.projected_total == pytest.approx(3.2 + 1.32)
    assert report.total_duration_s == 22
    assert report.high_risk_shots == ["S01_SH01"]
    recs = " ".join(report.reduction_recommendations)
    assert "proxy first" in recs and "S01_SH03: split" in recs and "S01_SH01: high regen" in recs
    # one premium shot of three is over the 25% premium quota: the gate says so
    assert result.gate.verdict == "FAIL"
    assert "premium overuse: 1 of 3 shots" in result.gate.reasons[0]


def test_budget_status_has_every_field(film: Path) -> None:
    r, _ = runner(film, [GOOD_PREMISE, REPORT], cost=2.0, worst=3.0)
    r.run("pitch", "PROJECT")
    r.run("budget-gates", "PROJECT")
    status = r.store.load(r.store.latest("BUDGET_STATUS").name)
    assert status.current_spend == pytest.approx(2.0)
    assert status.percent_used == pytest.approx(2.0)
    assert [c.level for c in status.caps] == ["project"]
    assert status.violations == "NO"
    assert {t.tier: (t.runs, t.spend) for t in status.tier_usage}["judgment"] == (1, 2.0)
    assert registry  # the plug-in registry is what the runner used


def test_reindex_rebuilds_spend_headroom_and_warnings(film: Path) -> None:
    from filmslate import reindex

    led = ledger(film)
    spend(led, "S01", "S01_SH01", 18.5)  # shot cap 20: warning at 18
    spend(led, "S02", "", 30.0)
    with pytest.raises(BudgetExceeded):
        led.reserve("R", "", "", 60.0, "big")
    record_override(Project(film), "PROJECT", "approved", 10.0)
    before = led.conn.execute("SELECT * FROM spend_totals ORDER BY 1, 2").fetchall()
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (film / ".filmslate" / name).unlink(missing_ok=True)
    project = Project(film)
    reindex(project.store, project.config)
    after = project.store.conn.execute("SELECT * FROM spend_totals ORDER BY 1, 2").fetchall()
    assert after == before


def test_a_budget_stop_leaves_the_free_reviews_it_asks_for(film: Path) -> None:
    # SPEC §8: at 100% no further generation until simplification or a logged override; the
    # cost review and the budget status are how a person decides which, and cost nothing
    led = ledger(film)
    spend(led, "", "", 95.0)
    with pytest.raises(BudgetExceeded):
        led.reserve("R", "", "", 30.0, "big call")
    assert all_open_hard_stops(Project(film))
    cost = run_slate("cost", "--target", "PROJECT", "-C", str(film))
    assert cost.returncode == 0, cost.stdout + cost.stderr
    assert run_slate("budget", "-C", str(film)).returncode == 0
    generation = run_slate("run", "story-architect", "-C", str(film))
    assert generation.returncode == 2 and "hard stop (budget)" in generation.stderr
