"""The dbos engine (issue 17 §2-3): `slate run --engine dbos` on SQLite makes the production the
local engine makes, for the same spend; a run killed after a job was sent, before DBOS recorded
the step, resumes it without sending it again; and two `slate worker`s on a real local Postgres
(started from the system's binaries) share a run's jobs, each sent once."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SRC, FinishedDemo, demo_project, run_slate
from filmslate.testing.latency_provider import submissions
from filmslate.testing.postgres import PostgresUnavailable, find_binaries, local_postgres

pytest.importorskip("dbos", reason="the dbos engine needs the scale extra (filmslate[scale])")
pytestmark = pytest.mark.slow

# espeak-ng's voice differs by a few samples from run to run (providers.scratch_voice), so
# the dialogue audio and the cuts mixing it are compared by name; everything else to the byte.
VARIES = re.compile(r"production/(AUDIO_.*\.wav|CUT_.*\.mp4)$")


def install_latency(site: Path) -> dict[str, str]:
    """The latency provider as pip leaves a plugin: a distribution with an entry point."""
    info = site / "latency_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: latency-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[filmslate.video_providers]\nlatency = filmslate.testing.latency_provider:make\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(SRC), str(site)])}


def latency_demo(root: Path, model: str) -> None:
    """The demo, its video made by the latency provider's ``model``."""
    demo_project(root)
    config = (root / "filmslate.toml").read_text()
    for tier in ("premium", "mid", "low"):
        config = config.replace(f'{tier} = "animatic"', f'{tier} = "{model}"')
    config = config.replace(
        "video = { animatic = {",
        "video = { latency = { proxy = 0.0001, final = 0.0001 }, animatic = {",
    )
    (root / "filmslate.toml").write_text(config)


def artifacts(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / ".filmslate" / "index.sqlite") as conn:
        return dict(conn.execute("SELECT relpath, sha256 FROM artifacts").fetchall())


def spend(root: Path) -> float:
    with sqlite3.connect(root / ".filmslate" / "index.sqlite") as conn:
        row = conn.execute("SELECT settled FROM spend_totals WHERE level = 'project'").fetchone()
    return round(float(row[0]), 6)


def jobs(root: Path) -> list[tuple[str, str, str, str]]:
    """(shot, resolution, job id, state) of every video job."""
    with sqlite3.connect(root / ".filmslate" / "index.sqlite") as conn:
        return conn.execute(
            "SELECT shot_id, resolution, job_id, state FROM render_jobs ORDER BY 1, 2"
        ).fetchall()


def assert_sent_once(root: Path) -> None:
    sent = Counter(s["reference"] for s in submissions(root))
    assert sent and max(sent.values()) == 1, sent.most_common(3)
    recorded = {job_id for _, _, job_id, _ in jobs(root)}
    assert recorded <= {s["job"] for s in submissions(root)}


def test_the_dbos_engine_makes_the_local_engines_production_for_the_same_spend(
    tmp_path: Path, finished_demo: FinishedDemo
) -> None:
    root = tmp_path / "side-b"
    demo_like(finished_demo.root, root)
    done = run_slate("run", "--engine", "dbos", cwd=root, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "production complete" in done.stdout
    ours, theirs = artifacts(root), artifacts(finished_demo.root)
    assert sorted(ours) == sorted(theirs)
    differ = sorted(name for name in ours if ours[name] != theirs[name])
    assert all(VARIES.search(name) for name in differ), differ
    assert spend(root) == spend(finished_demo.root) > 0
    with sqlite3.connect(root / ".filmslate" / "dbos.sqlite") as conn:  # the jobs ran in DBOS
        ran = dict(conn.execute("SELECT status, count(*) FROM workflow_status GROUP BY 1"))
    assert ran == {"SUCCESS": len(jobs(root)) + speech_jobs(root)}
    assert run_slate("verify", cwd=root).returncode == 0


def demo_like(finished: Path, root: Path) -> None:
    """The demo as ``finished`` was begun: its config and replay answers (the example's may
    have changed since), the demo's inputs."""
    demo_project(root)
    shutil.copy(finished / "filmslate.toml", root / "filmslate.toml")
    shutil.rmtree(root / "replay")
    shutil.copytree(finished / "replay", root / "replay")


def speech_jobs(root: Path) -> int:
    with sqlite3.connect(root / ".filmslate" / "index.sqlite") as conn:
        return int(conn.execute("SELECT count(*) FROM speech_jobs").fetchone()[0])


def test_a_run_killed_after_sending_a_job_resumes_it_without_sending_it_again(
    tmp_path: Path,
) -> None:
    env = install_latency(tmp_path / "site")
    root = tmp_path / "side-b"
    latency_demo(root, "latency:0.2")
    killed = run_slate(
        "run", "--engine", "dbos", "--jobs", "4", cwd=root, timeout=600,
        env={**env, "FILMSLATE_CRASH_AT": "dbos_job_submitted"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert submissions(root)  # sent; its step never recorded; its intent kept
    assert {state for *_, state in jobs(root)} <= {"intent", "submitted"}

    done = run_slate("run", "--engine", "dbos", "--jobs", "4", cwd=root, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "production complete" in done.stdout
    assert_sent_once(root)  # found by its reference, never sent again
    assert {state for *_, state in jobs(root)} == {"done"}
    assert len(submissions(root)) == len(jobs(root))
    assert run_slate("verify", cwd=root, env=env).returncode == 0


def test_a_job_of_a_provider_that_cannot_look_it_up_stops_the_run_instead(
    tmp_path: Path,
) -> None:
    env = install_latency(tmp_path / "site")
    root = tmp_path / "side-b"
    latency_demo(root, "latency:0.2-blind")
    killed = run_slate(
        "run", "--engine", "dbos", cwd=root, timeout=600,
        env={**env, "FILMSLATE_CRASH_AT": "dbos_job_submitted"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    stopped = run_slate("run", "--engine", "dbos", cwd=root, env=env, timeout=600)
    said = stopped.stdout + stopped.stderr
    assert stopped.returncode != 0
    assert "may have been submitted" in said and "not submitted again blindly" in said, said
    assert len(submissions(root)) == 1
    assert [state for *_, state in jobs(root)] == ["unknown"]  # charged at worst case


# -- many machines: two workers on a real Postgres ------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    try:
        find_binaries()
    except PostgresUnavailable as exc:
        pytest.skip(f"no local Postgres for the many-machines test: {exc}")
    with local_postgres() as url:
        yield url


def test_a_jobs_reference_is_claimed_once_on_postgres(tmp_path: Path, postgres: str) -> None:
    from filmslate.core._config import default_toml, parse_config
    from filmslate.workflow._dbos import Runtime

    config = parse_config(default_toml("x"))
    runtime = Runtime(tmp_path, config, executor="t", listen=False, url=postgres)
    runtime._create_sends()
    try:
        assert [runtime.claim("a"), runtime.claim("a"), runtime.claim("b")] == [True, False, True]
    finally:
        runtime._engine().dispose()  # its pooled connections closed here, not by a later GC


def start_worker(root: Path, name: str, env: dict[str, str]) -> subprocess.Popen[str]:
    full = {**os.environ, "COLUMNS": "200", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "filmslate", "worker", "--name", name],
        cwd=root, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stop_worker(worker: subprocess.Popen[str]) -> str:
    worker.send_signal(signal.SIGTERM)
    try:
        said, _ = worker.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        said, _ = worker.communicate()
    return said


def test_two_workers_on_postgres_share_a_runs_jobs_each_sent_once(
    tmp_path: Path, postgres: str
) -> None:
    env = {**install_latency(tmp_path / "site"), "FILMSLATE_DBOS_URL": postgres}
    root = tmp_path / "side-b"
    latency_demo(root, "latency:0.3-local")
    workers = [start_worker(root, name, env) for name in ("w1", "w2")]
    try:
        done = run_slate(
            "run", "--engine", "dbos", cwd=root, timeout=900,
            env={**env, "FILMSLATE_DBOS_LOCAL_JOBS": "0"},  # the run itself sends none
        )  # fmt: skip
    finally:
        said = [stop_worker(w) for w in workers]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + "".join(said)
    assert "production complete" in done.stdout
    assert_sent_once(root)
    pids = Counter(s["pid"] for s in submissions(root))
    assert set(pids) == {w.pid for w in workers}, pids  # both took jobs, the run none
    assert all("running the jobs of" in s and "stopped" in s for s in said), said
    assert {state for *_, state in jobs(root)} == {"done"}
    assert not (root / ".filmslate" / "dbos.sqlite").exists()  # all in Postgres


def test_a_worker_killed_after_sending_a_job_is_restarted_and_sends_it_once(
    tmp_path: Path, postgres: str
) -> None:
    env = {**install_latency(tmp_path / "site"), "FILMSLATE_DBOS_URL": postgres}
    root = tmp_path / "side-b"
    latency_demo(root, "latency:0.2")  # a vendor's job, found by its reference
    doomed = start_worker(root, "w1", {**env, "FILMSLATE_CRASH_AT": "dbos_job_submitted"})
    other = start_worker(root, "w2", env)
    full = {**os.environ, "COLUMNS": "200", **env, "FILMSLATE_DBOS_LOCAL_JOBS": "0"}
    run = subprocess.Popen(
        [sys.executable, "-m", "filmslate", "run", "--engine", "dbos"], cwd=root, env=full,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    running = [other]
    try:
        assert doomed.wait(timeout=600) == -signal.SIGKILL  # right after its first send
        doomed.communicate()  # its pipe closed
        assert len([s for s in submissions(root) if s["pid"] == doomed.pid]) == 1
        running.append(start_worker(root, "w1", env))  # its name: it resumes its job
        said, _ = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
        stopped = [stop_worker(w) for w in running]
    assert run.returncode == 0, said[-3000:] + "".join(stopped)
    assert "production complete" in said
    assert_sent_once(root)  # the restarted worker found the job by its reference
    assert {state for *_, state in jobs(root)} == {"done"}
    assert run_slate("verify", cwd=root, env=env).returncode == 0
