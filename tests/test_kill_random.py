"""kill -9 at random points of a whole production, each run resumed by the next.

A production runs in a child process that the test kills with SIGKILL at random points (a
fixed seed picks them: after the n-th run-log row, plus a random delay, so a kill lands in
any step: a model call, a render, an artifact write, the lock takeover, the recovery). The
next child resumes where the last one died; a last run finishes the film. Then:

- the spend equals an uninterrupted run's (in total and per shot): nothing paid twice;
- every submission a video provider received had its intent recorded (committed) before
  the call, and every recorded job carries the reference of its intent;
- ``Project.verify()`` is clean and no budget hold is left open.

Each test kills a handful of times (``FILMSLATE_KILLS``, 6 by default). The soak, 25 kills or
more with other seeds, is ``python benchmarks/bench_kill.py``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FinishedDemo, demo_project
from filmslate import Project
from filmslate.engine._video import VideoJob
from filmslate.synthetic import SyntheticFilm, synthetic_project, synthetic_runner
from filmslate.synthetic._video import VIDEO_MODEL, SyntheticVideo
from filmslate.workflow._orchestrator import Orchestrator

REPO = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("FILMSLATE_KILL_SEED", "20250611"))  # another seed: another soak
KILLS = int(os.environ.get("FILMSLATE_KILLS", "6"))  # kills per production (the soak: 25)
JOURNAL = "submissions.jsonl"  # beside the project: what the provider was sent, in order


class Journaled(SyntheticVideo):
    """The synthetic video model, keeping a journal of every submission it receives and
    whether that submission's intent was already committed to the project's index."""

    def __init__(self, root: Path) -> None:
        super().__init__(final_width=256)
        self.root = root

    def submit(self, job: VideoJob) -> str:
        with closing(
            sqlite3.connect(self.root / ".filmslate" / "index.sqlite", timeout=60)
        ) as conn:
            found = conn.execute(
                "SELECT state FROM render_jobs WHERE reference = ?", (job.reference,)
            ).fetchone()
        line = {"reference": job.reference, "shot": job.shot_id, "intent": found and found[0]}
        with open(self.root.parent / JOURNAL, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return super().submit(job)


def runner_for(root: Path, film: SyntheticFilm) -> Orchestrator:
    runner = synthetic_runner(root, film)
    runner.render_service().providers[VIDEO_MODEL] = Journaled(root)
    return Orchestrator(runner)


def child(root: str, scenes: int, shots: int) -> None:
    """One run of the production (a separate process, killed at some point)."""
    outcome = runner_for(Path(root), SyntheticFilm(scenes, shots)).run()
    print(outcome.status, flush=True)


@dataclass
class Production:
    """What a finished production spent and wrote."""

    spend: float
    by_shot: dict[str, float]
    rows: int


def finished(root: Path) -> Production:
    """What the production at ``root`` spent and wrote (read only: it may be shared)."""
    uri = f"file:{root / '.filmslate' / 'index.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        spend = conn.execute(
            "SELECT coalesce(sum(CAST(actual_cost AS REAL)), 0) FROM runlog WHERE event = 'spend'"
        ).fetchone()[0]
        by_shot = dict(
            conn.execute(
                "SELECT shot_id, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = "
                "'spend' AND shot_id != '' GROUP BY shot_id"
            ).fetchall()
        )
        rows = conn.execute("SELECT count(*) FROM runlog").fetchone()[0]
    return Production(round(spend, 9), {k: round(v, 9) for k, v in by_shot.items()}, rows)


def log_rows(root: Path) -> int:
    try:
        with closing(sqlite3.connect(root / ".filmslate" / "index.sqlite", timeout=5)) as conn:
            return int(conn.execute("SELECT coalesce(max(seq), 0) FROM runlog").fetchone()[0])
    except sqlite3.Error:
        return 0


def kill_after(root: Path, scenes: int, shots: int, rows: int, delay: float) -> int:
    """Start a run; SIGKILL it once the log has ``rows`` rows and ``delay`` more seconds
    passed (at least one row past where the last run died, so every kill lands in new
    work). Returns its exit code (-9 when killed, 0 when it finished first)."""
    rows = max(rows, log_rows(root) + 1)
    code = f"import test_kill_random as t; t.child({str(root)!r}, {scenes}, {shots})"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")])}
    with subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        deadline = time.monotonic() + 120
        while proc.poll() is None and log_rows(root) < rows and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, -9), err.decode()[-2000:]
    return proc.returncode


def killed_production(tmp_path: Path, scenes: int, shots: int, kills: int) -> None:
    """The whole check: an uninterrupted baseline, then ``kills`` killed and resumed runs."""
    baseline_root = tmp_path / "baseline" / "film"
    runner, film = synthetic_project(baseline_root, scenes, shots)
    runner.project.close()
    assert runner_for(baseline_root, film).run().status == "complete"
    baseline = finished(baseline_root)

    root = tmp_path / "killed" / "film"
    synthetic_project(root, scenes, shots)[0].project.close()
    rng = random.Random(SEED)
    points = sorted(rng.sample(range(2, baseline.rows), kills))
    codes = [kill_after(root, scenes, shots, n, rng.uniform(0.0, 0.05)) for n in points]
    assert codes.count(-9) >= kills * 2 // 3, codes  # most runs really were killed

    outcome = runner_for(root, film).run()  # the last run finishes the film
    assert outcome.status == "complete", outcome.describe()
    after = finished(root)
    assert after.spend == pytest.approx(baseline.spend)
    assert after.by_shot == pytest.approx(baseline.by_shot)
    assert_intents(root)
    assert_no_worst_case_renders(root)


def assert_no_worst_case_renders(root: Path) -> None:
    with Project(root) as project:
        assert project.verify() == []
        conn = project.store.conn
        assert conn.execute("SELECT count(*) FROM reservations").fetchone()[0] == 0
        unknown = conn.execute(
            "SELECT count(*) FROM runlog WHERE event = 'spend' AND outcome = 'UNKNOWN' "
            "AND model_used IN (SELECT provider FROM render_jobs)"
        ).fetchone()[0]
        assert unknown == 0  # no render was ever charged at its worst case


def assert_intents(root: Path) -> None:
    """Every submission the provider got had a committed intent; every job has one."""
    sent = [json.loads(line) for line in (root.parent / JOURNAL).read_text().splitlines()]
    assert sent and all(s["intent"] == "intent" for s in sent), sent
    with Project(root) as project:
        jobs = project.store.conn.execute(
            "SELECT shot_id, reference, state FROM render_jobs"
        ).fetchall()
    references = {s["reference"] for s in sent}
    assert jobs and all(state == "done" for _, _, state in jobs), jobs
    assert all(ref in references for _, ref, _ in jobs), (jobs, references)


def test_kill_9_at_random_points_spends_what_an_uninterrupted_run_spends(
    tmp_path: Path,
) -> None:
    killed_production(tmp_path, scenes=1, shots=2, kills=8)


@pytest.mark.slow
def test_kill_9_at_random_points_of_a_longer_production(tmp_path: Path) -> None:
    killed_production(tmp_path, scenes=2, shots=2, kills=KILLS)


def test_the_journal_sees_an_intent_before_every_submission(tmp_path: Path) -> None:
    """The check itself: a submission without a committed intent would be caught."""
    root = tmp_path / "film"
    runner, _ = synthetic_project(root, 1, 1)
    runner.project.close()
    provider = Journaled(root)
    provider.submit(VideoJob("S01_SH01", "x", 1.0, 128, 72, 8, reference="never-recorded"))
    [line] = (tmp_path / JOURNAL).read_text().splitlines()
    assert json.loads(line)["intent"] is None
    shutil.rmtree(root)


# -- the demo production, through the real `slate run` ----------------------------------------


def slate_run_killed(root: Path, rows: int, delay: float) -> int:
    """`slate run` on the project, SIGKILLed after ``rows`` log rows (at least one new one)
    and ``delay`` s."""
    rows = max(rows, log_rows(root) + 1)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    with subprocess.Popen(
        [sys.executable, "-m", "filmslate", "run", "-C", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as proc:
        deadline = time.monotonic() + 300
        while proc.poll() is None and log_rows(root) < rows and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode in (0, -9), out.decode()[-3000:]
    return proc.returncode


@pytest.mark.slow
def test_kill_9_at_random_points_of_the_demo_production(
    tmp_path: Path, finished_demo: FinishedDemo
) -> None:
    assert finished_demo.status == "complete", finished_demo.describe()
    baseline = finished(finished_demo.root)  # the demo produced uninterrupted (conftest)

    root = tmp_path / "killed" / "side-b"
    demo_project(root)
    rng = random.Random(SEED)
    points = sorted(rng.sample(range(2, baseline.rows), KILLS))
    codes = [slate_run_killed(root, n, rng.uniform(0.0, 0.2)) for n in points]
    assert codes.count(-9) >= KILLS * 4 // 5, codes  # most runs really were killed
    assert slate_run_killed(root, 10**9, 0.0) == 0  # the last run finishes the film
    after = finished(root)
    assert after.spend == pytest.approx(baseline.spend)
    assert after.by_shot == pytest.approx(baseline.by_shot)
    assert_no_worst_case_renders(root)
    with Project(root) as project:
        jobs = project.store.conn.execute("SELECT job_id, reference, state FROM render_jobs")
        recorded = {job_id for job_id, reference, state in jobs if reference and state == "done"}
    submitted = {p.name.split(".")[0] for p in (root / ".filmslate" / "renders").glob("*.job.json")}
    assert submitted == recorded  # every job the animatic was sent has its recorded intent
