"""The orchestrator end to end on synthetic films: the real runner, store, skills and media.

Every model-backed skill is answered by ``filmslate.synthetic.SyntheticFilm`` and every clip
comes from ``SyntheticVideo`` (small real MP4s that qc-grader decodes), so a whole production
runs offline from premise to cut.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from filmslate.engine._render import CRASH_AFTER_JOB
from filmslate.engine._runner import Runner
from filmslate.schemas import CharLock, QcBatch, ShotList
from filmslate.store._project import Project
from filmslate.synthetic import Settings, SyntheticFilm, synthetic_project, synthetic_runner
from filmslate.workflow._orchestrator import Orchestrator

REPO = Path(__file__).resolve().parents[1]
SCENES, SHOTS = 2, 3


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-scene, 3-shot film run to completion once (tests that change it work on a copy)."""
    root = tmp_path_factory.mktemp("finished") / "film"
    runner, _ = synthetic_project(root, SCENES, SHOTS)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    runner.project.close()
    return root


def copy_of(finished: Path, tmp_path: Path) -> Runner:
    """A runner on a private copy of the finished film."""
    root = tmp_path / "film"
    shutil.copytree(finished, root)
    return synthetic_runner(root, SyntheticFilm(SCENES, SHOTS))


def counts(project: Project) -> tuple[int, int]:
    """(artifact versions, run-log rows)."""
    conn = project.store.conn
    return (
        conn.execute("SELECT count(*) FROM artifacts").fetchone()[0],
        conn.execute("SELECT count(*) FROM runlog").fetchone()[0],
    )


def latest_versions(project: Project, kind: str) -> dict[str, int]:
    """Subject -> latest version number of every stem of a kind."""
    return {r.name.subject or "": r.name.version for r in project.store.latest_of_each(kind)}


def shot_rows(project: Project) -> dict[str, list[str]]:
    """Shot id -> characters in frame, from the latest shot lists."""
    out = {}
    for record in project.store.latest_of_each("SHOTLIST"):
        shotlist = project.store.load(record.name)
        assert isinstance(shotlist, ShotList)
        out.update({row.shot_id: list(row.char_ids) for row in shotlist.rows})
    return out


def test_a_full_run_reaches_a_verified_cut(finished: Path) -> None:
    with Project(finished) as project:
        cut = project.store.latest("CUT", "PROJECT")
        assert cut is not None and cut.filename == "CUT_PROJECT_v001.mp4"
        assert project.verify() == []
        shots = shot_rows(project)
        assert len(shots) == SCENES * SHOTS
        assert set(latest_versions(project, "FINAL")) == set(shots)
        stops = project.store.conn.execute(
            "SELECT count(*) FROM runlog WHERE event = 'hard_stop'"
        ).fetchone()[0]
        assert stops == 0


def test_a_second_run_runs_and_writes_nothing(finished: Path, tmp_path: Path) -> None:
    runner = copy_of(finished, tmp_path)
    before = counts(runner.project)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete"
    assert outcome.ran == []
    assert counts(runner.project) == before


def test_a_revised_character_lock_reruns_exactly_that_characters_shots(
    finished: Path, tmp_path: Path
) -> None:
    runner = copy_of(finished, tmp_path)
    project = runner.project
    before = latest_versions(project, "PROXY")
    record = project.store.latest("CHAR_LOCK", "BRAM")
    assert record is not None
    lock = project.store.load(record.name)
    assert isinstance(lock, CharLock)
    revised = lock.model_copy(update={"forbidden_drift": [*lock.forbidden_drift, "no beard"]})
    source = tmp_path / "CHAR_BRAM_LOCK.txt"  # as `slate lock add` takes it
    source.write_bytes(revised.render())
    assert project.add(source, reason="the actor shaved").name.version == 2
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    after = latest_versions(project, "PROXY")
    rerendered = {shot for shot, version in after.items() if version > before[shot]}
    with_bram = {shot for shot, chars in shot_rows(project).items() if "BRAM" in chars}
    assert with_bram and rerendered == with_bram
    assert len(with_bram) < SCENES * SHOTS  # a real selection, not everything
    assert project.verify() == []


def test_two_qc_failures_go_through_regen_analyzer_and_recover(tmp_path: Path) -> None:
    shot = "S01_SH03"  # the scene's hero-A close-up: three attempts allowed
    runner, film = synthetic_project(
        tmp_path / "film", 1, 4, qc_failures={shot: 2}, settings=Settings(rubric_source="model")
    )
    assert [r.hero_tier for r in film.shot_rows(0) if r.shot_id == shot] == ["A"]
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    store = runner.store
    batch_record = store.latest("QC_BATCH", "S01")
    assert batch_record is not None
    batch = store.load(batch_record.name)
    assert isinstance(batch, QcBatch)
    assert [r.verdict for r in batch.rows if r.shot_id == shot] == ["FAIL", "FAIL", "PASS"]
    assert [r.verdict for r in batch.rows if r.shot_id != shot] == ["PASS"] * 3
    analyses = [t for s, t in ((r.skill, r.target) for r in outcome.ran) if s == "regen-analyzer"]
    assert analyses == [shot, shot]
    assert latest_versions(runner.project, "PROXY")[shot] == 3
    rules = store.latest("REGEN_RULES")
    assert rules is not None and rules.name.version == 2
    assert runner.project.verify() == []


def child(root: str) -> None:
    """The first run of the crash test: a separate process, killed after a job is recorded."""
    Orchestrator(synthetic_runner(Path(root), SyntheticFilm(1, 2))).run()


def test_a_killed_run_resumes_without_paying_twice(tmp_path: Path) -> None:
    root = tmp_path / "film"
    settings = Settings()
    runner, film = synthetic_project(root, 1, 2, settings=settings)
    runner.project.close()
    env = {
        **os.environ,
        "FILMSLATE_CRASH_AT": CRASH_AFTER_JOB,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]),
    }
    killed = subprocess.run(
        [sys.executable, "-c", f"import test_orchestrator as t; t.child({str(root)!r})"],
        env=env,
        cwd=REPO,
        check=False,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    runner = synthetic_runner(root, film, settings)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    assert runner.project.verify() == []
    shot = film.shot_rows(0)[0]  # the first render: the one the kill interrupted
    spends = runner.store.conn.execute(
        "SELECT CAST(actual_cost AS REAL), notes FROM runlog WHERE event = 'spend' AND shot_id = ?",
        (shot.shot_id,),
    ).fetchall()
    proxies = [cost for cost, notes in spends if "proxy render" in notes]
    assert proxies == [pytest.approx(shot.duration_s * settings.price_proxy)]
    assert sum(cost for cost, _ in spends) == pytest.approx(
        shot.duration_s * (settings.price_proxy + settings.price_final)
    )
    assert runner.ledger.open_reservations() == 0
