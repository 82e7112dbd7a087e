"""The calls made on an episode itself (issue 16 §1, "budget caps per episode"): its red team,
audience and edit plan (target ``E01``, no scene) count against ``[budget] episode_cap``
like its scenes' and shots' calls, in the reservation before the call (the worst case), the
settlement after, the run log's recompute (`slate verify`, `slate reindex`), a kill -9's
recovery, and what `slate episode list`, `slate cost --target E01` and `slate budget` show.
An index written before (its episode totals without those calls) is brought up to date when
opened, and an old log's rows (which carry the target already) recompute the same totals.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import SRC, run_slate
from filmslate import Project
from filmslate.core._errors import BudgetExceeded
from filmslate.store._ledger import Ledger, scopes_of, totals_from_log
from filmslate.synthetic import synthetic_project
from filmslate.testing import scripted_runner
from filmslate.web._budget import budget_page
from filmslate.workflow._loops import run_loop

IDS = ("E01_S01", "E01_S02", "E02_S01", "E02_S02")
CALL = 0.01  # what each text call costs
# E01's calls in the narrative loop: character-psychology on its two scenes, then its own
# red team and audience (story-architect and script-breakdown are the season's, PROJECT)
E01_SCENE_CALLS, E01_OWN_CALLS = 2, 2


def _configure(root: Path, **budget: float) -> None:
    config = root / "filmslate.toml"
    lines = "".join(f"{key} = {value}\n" for key, value in budget.items())
    text = config.read_text(encoding="utf-8")
    for key in budget:  # a key the template already sets is replaced, not doubled
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} ="))
    config.write_text(text.replace("[budget]\n", f"[budget]\n{lines}", 1), encoding="utf-8")


@pytest.fixture
def series(tmp_path: Path) -> Path:
    """A two-episode series whose narrative loop ran, every text call priced at CALL."""
    root = tmp_path / "series"
    _, film = synthetic_project(root, 4, 1, ids=IDS)
    for episode in ("E01", "E02"):
        run_slate("episode", "add", episode, "-C", str(root), check=True)
    _configure(root, episode_cap=1.0)
    runner, _ = scripted_runner(root, film.answer, cost=CALL, worst_case=2 * CALL)
    result = run_loop(runner, "narrative")
    assert result.passed, result.describe()
    runner.close()
    return root


def _settled(root: Path, episode: str) -> float:
    with Project(root) as p:
        state = Ledger(p.store, p.config).state("episode", episode)
        assert state is not None
        return state.settled


def _slate(root: Path, *args: str) -> str:
    return run_slate(*args, "-C", str(root), check=True).stdout


def test_an_episodes_own_calls_count_in_its_spend(series: Path) -> None:
    spent = (E01_SCENE_CALLS + E01_OWN_CALLS) * CALL
    assert _settled(series, "E01") == pytest.approx(spent)  # its scenes' calls only: 0.02
    assert _settled(series, "E02") == pytest.approx(spent)
    assert f"spend {spent:.2f} of 1.00" in _slate(series, "episode", "list")
    assert f"budget: spent {spent:.2f}, committed {spent:.2f} of the E01 episode cap" in _slate(
        series, "cost", "--target", "E01"
    )
    assert f"| episode | E01 | 1.0 | {spent:.2f} | ok |" in _slate(series, "budget")
    with Project(series) as p:  # the web budget page's caps
        caps = {(c.level, c.scope): c.settled for c in budget_page(p).caps}
    assert caps[("episode", "E01")] == pytest.approx(spent)
    # the log's recompute says the same: verify finds the totals right, reindex rebuilds them
    assert "clean" in _slate(series, "verify")
    _slate(series, "reindex")
    assert _settled(series, "E01") == pytest.approx(spent)
    assert "clean" in _slate(series, "verify")
    with (series / "logs" / "RUN_LOG_v001.csv").open(encoding="utf-8", newline="") as fh:
        totals = totals_from_log(csv.DictReader(fh))
    assert totals[("episode", "E01")].settled == pytest.approx(spent)
    assert totals[("episode", "E02")].settled == pytest.approx(spent)


def test_an_episode_call_over_the_episode_cap_is_stopped_before_the_call(series: Path) -> None:
    # E01 has 0.04 committed; the red team's worst case (0.07) does not fit under 0.10, though
    # what it would really cost (0.01) would: the worst case counts
    _configure(series, episode_cap=0.1)
    runner, model = scripted_runner(series, lambda _: {}, cost=CALL, worst_case=7 * CALL)
    with pytest.raises(BudgetExceeded, match="episode cap for E01 would be exceeded"):
        runner.run("narrative-red-team", "E01", force=True)
    assert model.requests == []  # refused before the call: nothing was sent
    assert runner.ledger.open_reservations() == 0
    runner.close()
    assert _settled(series, "E01") == pytest.approx(0.04)
    assert "spend 0.04 of 0.10" in _slate(series, "episode", "list")
    assert "clean" in _slate(series, "verify")


def test_an_interrupted_episode_call_is_charged_to_the_episode(series: Path) -> None:
    crasher = textwrap.dedent("""
        import os, sys
        from pathlib import Path
        from filmslate.synthetic import SyntheticFilm
        from filmslate.testing import scripted_runner

        film = SyntheticFilm(4, 1, 4, 3, 0, {}, tuple(sys.argv[2].split(",")))

        def answer(request):
            if request.skill == "narrative-red-team" and request.target == "E01":
                os.kill(os.getpid(), 9)  # kill -9 while the paid call is under way
            return film.answer(request)

        runner, _ = scripted_runner(Path(sys.argv[1]), answer, cost=0.01, worst_case=0.03)
        runner.run("narrative-red-team", "E01", force=True)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", crasher, str(series), ",".join(IDS)],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    # `slate budget` recovers the dead run's hold first: charged at its worst case, to E01
    status = _slate(series, "budget")
    assert _settled(series, "E01") == pytest.approx(0.04 + 0.03)
    assert "E01" in status
    assert "clean" in _slate(series, "verify")


def test_an_index_from_before_is_brought_up_to_date(series: Path) -> None:
    spent = (E01_SCENE_CALLS + E01_OWN_CALLS) * CALL
    _make_old(series)
    assert _old_settled(series, "E01") == pytest.approx(E01_SCENE_CALLS * CALL)
    # opened: its episode totals gain the episode's own calls, and the log agrees
    assert _settled(series, "E01") == pytest.approx(spent)
    assert _settled(series, "E02") == pytest.approx(spent)
    assert "clean" in _slate(series, "verify")
    assert "disagree" not in _slate(series, "status")
    _make_old(series)
    _slate(series, "reindex")  # the old log, recomputed from its rows
    assert _settled(series, "E01") == pytest.approx(spent)
    assert "clean" in _slate(series, "verify")


def test_a_call_on_an_episode_counts_for_the_project_and_the_episode() -> None:
    assert scopes_of("", "", "E01") == [("project", "PROJECT"), ("episode", "E01")]
    assert scopes_of("E02_S01", "", "E02_S01") == [
        ("project", "PROJECT"),
        ("episode", "E02"),
        ("scene", "E02_S01"),
    ]
    assert scopes_of("", "", "PROJECT") == [("project", "PROJECT")]  # the season's
    assert scopes_of("S03", "", "S03") == [("project", "PROJECT"), ("scene", "S03")]  # a film's
    assert scopes_of("", "", "CHAR_E01") == [("project", "PROJECT")]  # a lock is project-wide


def test_a_log_row_without_a_target_counts_by_its_scene() -> None:
    rows = [
        {"event": "spend", "scene_id": "E01_S01", "shot_id": "", "actual_cost": "0.5"},
        {"event": "spend", "scene_id": "", "shot_id": "", "actual_cost": "0.25"},
        {"event": "spend", "scene_id": "", "shot_id": "", "target": "E02", "actual_cost": "1"},
    ]
    totals = totals_from_log(rows)
    assert totals[("project", "PROJECT")].settled == pytest.approx(1.75)
    assert totals[("episode", "E01")].settled == pytest.approx(0.5)
    assert totals[("episode", "E02")].settled == pytest.approx(1.0)
    assert ("episode", "") not in totals


def _make_old(root: Path) -> None:
    """The index as the code before made it: reservations without a target, the episodes'
    totals without their own calls, and the running figures at their version 2."""
    conn = sqlite3.connect(root / ".filmslate" / "index.sqlite", isolation_level=None)
    try:
        conn.execute("ALTER TABLE reservations DROP COLUMN target")
        own = conn.execute(
            "SELECT target, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend' "
            "AND scene_id = '' AND target IN ('E01', 'E02') GROUP BY target"
        ).fetchall()
        for episode, amount in own:
            conn.execute(
                "UPDATE spend_totals SET settled = settled - ? WHERE level = 'episode' "
                "AND scope = ?",
                (amount, episode),
            )
        conn.execute("DELETE FROM meta WHERE key = 'ledger_scopes'")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'running_counts'")
    finally:
        conn.close()


def _old_settled(root: Path, episode: str) -> float:
    conn = sqlite3.connect(root / ".filmslate" / "index.sqlite")
    try:
        row = conn.execute(
            "SELECT settled FROM spend_totals WHERE level = 'episode' AND scope = ?", (episode,)
        ).fetchone()
    finally:
        conn.close()
    return float(row[0])
