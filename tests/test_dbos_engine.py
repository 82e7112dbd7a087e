"""The dbos engine (issue 17 §2-3): `slate run --engine dbos` on SQLite makes the production the
local engine makes, for the same spend; a run killed after a job was sent, before DBOS recorded
the step, resumes it without sending it again; and two `slate worker`s on a real local Postgres
(started from the system's binaries) share a run's jobs, each sent once.

Each runs a small synthetic film through the real `slate run` (tests/e2e_film.py: its answers
served in the child process by a text plugin), not the demo: two scenes of three shots, S01
spoken (dialogue, so scratch voices), one shot failing its first QC (a regeneration), proxies
then finals, and a cut; the paths of the demo, in a tenth of its time."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_slate
from e2e_film import FAILS_ENV, make_film, plugin_env
from filmslate.testing.latency_provider import submissions
from filmslate.testing.postgres import PostgresUnavailable, find_binaries, local_postgres

pytest.importorskip("dbos", reason="the dbos engine needs the scale extra (filmslate[scale])")
pytestmark = pytest.mark.slow

# espeak-ng's voice differs by a few samples from run to run (providers.scratch_voice), so
# the dialogue audio and the cuts mixing it are compared by name; everything else to the byte.
VARIES = re.compile(r"production/(AUDIO_.*\.wav|CUT_.*\.mp4)$")
SHAPE = (2, 3)  # scenes, shots per scene; S01's cast is ADA and BRAM
REGEN = "S02_SH02=1"  # its first QC attempt fails: a regeneration
PRICES = (
    "{ latency = { proxy = 0.0001, final = 0.0001 }, "
    "animatic = { proxy = 0.0001, final = 0.0003 } }"
)
SCRIPT = """SCRIPT: S01

INT. HARBOUR OFFICE - NIGHT

ADA checks the signal log.

ADA
The signal died at nine.

BRAM
Then we read it again.
"""


def small_film(tmp_path: Path, model: str) -> tuple[Path, dict[str, str]]:
    """The small film at ``tmp_path / "film"``, its video made by ``model``, and the
    environment of its `slate` processes (the text plugin, the latency provider)."""
    root, site = tmp_path / "film", tmp_path / "site"
    settings = {("visual", tier): f'"{model}"' for tier in ("premium", "mid", "low")}
    settings |= {("qc", "rubric_source"): '"model"', ("prices", "video"): PRICES}
    make_film(root, *SHAPE, settings)
    install_latency(site)
    env = plugin_env(site, *SHAPE, {FAILS_ENV: REGEN})
    script = tmp_path / "SCRIPT_S01.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    run_slate("add", str(script), "--reason", "the script", cwd=root, env=env, check=True)
    return root, env


def install_latency(site: Path) -> None:
    """The latency provider as pip leaves a plugin: a distribution with an entry point."""
    info = site / "latency_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: latency-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[filmslate.video_providers]\nlatency = filmslate.testing.latency_provider:make\n"
    )


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
    tmp_path: Path,
) -> None:
    local, env = small_film(tmp_path / "local", "latency:0.05")  # a vendor's: paid
    done = run_slate("run", cwd=local, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    root, env = small_film(tmp_path / "dbos", "latency:0.05")
    done = run_slate("run", "--engine", "dbos", cwd=root, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "production complete" in done.stdout
    ours, theirs = artifacts(root), artifacts(local)
    assert sorted(ours) == sorted(theirs)
    differ = sorted(name for name in ours if ours[name] != theirs[name])
    assert all(VARIES.search(name) for name in differ), differ
    # the demo's paths on the small film: a regeneration, the cut, speech jobs
    assert {"production/PROXY_S02_SH02_v002.mp4", "production/CUT_PROJECT_v001.mp4"} <= set(ours)
    assert speech_jobs(root) > 0
    assert spend(root) == spend(local) > 0
    with sqlite3.connect(root / ".filmslate" / "dbos.sqlite") as conn:  # the jobs ran in DBOS
        ran = dict(conn.execute("SELECT status, count(*) FROM workflow_status GROUP BY 1"))
    assert ran == {"SUCCESS": len(jobs(root)) + speech_jobs(root)}
    assert run_slate("verify", cwd=root, env=env).returncode == 0


def speech_jobs(root: Path) -> int:
    with sqlite3.connect(root / ".filmslate" / "index.sqlite") as conn:
        return int(conn.execute("SELECT count(*) FROM speech_jobs").fetchone()[0])


def test_a_run_killed_after_sending_a_job_resumes_it_without_sending_it_again(
    tmp_path: Path,
) -> None:
    root, env = small_film(tmp_path, "latency:0.2")
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
    root, env = small_film(tmp_path, "latency:0.2-blind")
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
    root, env = small_film(tmp_path, "latency:0.3-local")
    env["FILMSLATE_DBOS_URL"] = postgres
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
    root, env = small_film(tmp_path, "latency:0.2")  # a vendor's job, found by its reference
    env["FILMSLATE_DBOS_URL"] = postgres
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
