"""kill -9 at random points of a production run with `--jobs 4`, each run resumed by the next.

Like tests/test_kill_random.py, with several scenes' renders in flight when a kill lands. The
video provider is a vendor that keeps every submission it receives (its journal, fsynced
before it answers) and finds a job by the client reference it was sent with: a resumed run
asks it about an interrupted submission instead of sending it again. Then:

- no job was ever submitted twice (every job the vendor received is distinct), and it received
  exactly the jobs an uninterrupted run sends;
- the spend equals the uninterrupted run's, in total and per shot;
- verify is clean, no hold is left open, nothing was charged at its worst case.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from filmslate.synthetic import VIDEO_MODEL, SyntheticFilm, synthetic_project, synthetic_runner
from filmslate.synthetic._latency import JournaledVideo
from filmslate.workflow._orchestrator import Orchestrator
from test_kill_random import assert_no_worst_case_renders, finished, log_rows

REPO = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("FILMSLATE_KILL_SEED", "20250611"))
KILLS = int(os.environ.get("FILMSLATE_KILLS", "6"))
SCENES, SHOTS, JOBS = 3, 2, 4
JOURNAL = "vendor.jsonl"  # beside the project: every job the vendor received


def orchestrator(root: Path, jobs: int) -> Orchestrator:
    runner = synthetic_runner(root, SyntheticFilm(SCENES, SHOTS))
    video = JournaledVideo(0.05, root.parent / JOURNAL, final_width=256)
    runner.render_service().providers[VIDEO_MODEL] = video
    orch = Orchestrator(runner)
    orch.jobs = jobs
    return orch


def child(root: str) -> None:
    """One run with --jobs 4 (a separate process, killed at some point)."""
    print(orchestrator(Path(root), JOBS).run().status, flush=True)


def kill_after(root: Path, rows: int, delay: float) -> int:
    rows = max(rows, log_rows(root) + 1)
    code = f"import test_kill_jobs as t; t.child({str(root)!r})"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")])}
    with subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:  # fmt: skip
        deadline = time.monotonic() + 120
        while proc.poll() is None and log_rows(root) < rows and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, -9), err.decode()[-2000:]
    return proc.returncode


def received(root: Path) -> list[str]:
    """The jobs the vendor received (its job ids without the reference)."""
    lines = (root.parent / JOURNAL).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["job_id"].split("#", 1)[0] for line in lines]


def test_kill_9_under_concurrency_resumes_without_submitting_twice(tmp_path: Path) -> None:
    baseline_root = tmp_path / "baseline" / "film"
    synthetic_project(baseline_root, SCENES, SHOTS)[0].project.close()
    assert orchestrator(baseline_root, 1).run().status == "complete"
    baseline = finished(baseline_root)

    root = tmp_path / "killed" / "film"
    synthetic_project(root, SCENES, SHOTS)[0].project.close()
    rng = random.Random(SEED)
    points = sorted(rng.sample(range(2, baseline.rows), KILLS))
    codes = [kill_after(root, n, rng.uniform(0.0, 0.1)) for n in points]
    assert codes.count(-9) >= KILLS * 2 // 3, codes  # most runs really were killed
    outcome = orchestrator(root, JOBS).run()
    assert outcome.status == "complete", outcome.describe()

    jobs = received(root)
    assert len(jobs) == len(set(jobs)), "a job was submitted twice"
    assert sorted(jobs) == sorted(received(baseline_root))
    after = finished(root)
    assert after.spend == pytest.approx(baseline.spend)
    assert after.by_shot == pytest.approx(baseline.by_shot)
    assert_no_worst_case_renders(root)
