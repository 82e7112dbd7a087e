"""`slate cost`: the zero-regen floor (accepted seconds x the routed models' prices) per scene
and for the film, beside the actual spend and the ratio (issue 12 §9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate.engine._cost_floor import cost_floor
from filmslate.schemas import ShotList
from filmslate.store._project import Project
from filmslate.synthetic import synthetic_project
from filmslate.synthetic._project import Settings
from filmslate.workflow._orchestrator import Orchestrator

PROXY, FINAL = 0.01, 0.02  # the synthetic model's prices per second (Settings defaults)


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo-sized synthetic production: 4 scenes of 4 shots, one shot retaken once."""
    root = tmp_path_factory.mktemp("floor") / "film"
    runner, _ = synthetic_project(
        root, 4, 4, qc_failures={"S02_SH02": 1}, settings=Settings(rubric_source="model")
    )
    outcome = Orchestrator(runner).run()
    runner.project.close()
    assert outcome.status == "complete", outcome.describe()
    return root


def seconds(project: Project, scene: str) -> dict[str, float]:
    record = project.store.latest("SHOTLIST", scene)
    assert record is not None
    shots = project.store.load(record.name)
    assert isinstance(shots, ShotList)
    return {row.shot_id: row.duration_s for row in shots.rows}


def video_spend(project: Project, scene: str) -> float:
    return float(
        project.store.conn.execute(
            "SELECT sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend' "
            "AND scene_id = ? AND skill_name IN ('render-proxy', 'render-final')",
            (scene,),
        ).fetchone()[0]
    )


def test_the_floor_is_one_proxy_and_one_final_per_accepted_shot(film: Path) -> None:
    with Project(film) as project:
        report = cost_floor(project)
        assert [line.scope for line in report.scenes] == ["S01", "S02", "S03", "S04"]
        for line in report.scenes:
            planned = seconds(project, line.scope)
            assert (line.accepted, line.shots) == (len(planned), len(planned))
            assert line.accepted_s == pytest.approx(sum(planned.values()))
            assert line.floor == pytest.approx(sum(planned.values()) * (PROXY + FINAL))
            assert line.video_spend == pytest.approx(video_spend(project, line.scope))
        by_scene = {line.scope: line for line in report.scenes}
        # no retake: the spend is the floor; one retaken proxy: more, by exactly that proxy
        assert by_scene["S01"].ratio == pytest.approx(1.0)
        retake = seconds(project, "S02")["S02_SH02"] * PROXY
        assert by_scene["S02"].video_spend == pytest.approx(by_scene["S02"].floor + retake)
        assert report.film.floor == pytest.approx(sum(line.floor for line in report.scenes))
        assert report.film.total_spend >= report.film.video_spend > report.film.floor


def test_slate_cost_prints_the_floor_beside_the_spend(film: Path) -> None:
    result = run_slate("cost", "-C", str(film))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cost floor (USD, zero-regen: every accepted take rendered once)" in result.stdout
    rows = {
        m[1]: m.groups()[1:]
        for m in re.finditer(
            r"^(S\d\d|FILM)\s+(\d+)/(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$",
            result.stdout,
            re.MULTILINE,
        )
    }
    assert list(rows) == ["S01", "S02", "S03", "S04", "FILM"]
    with Project(film) as project:
        report = cost_floor(project)
    for line in [*report.scenes, report.film]:
        accepted, shots, _secs, floor, video, ratio, _ = rows[line.scope]
        assert (int(accepted), int(shots)) == (line.accepted, line.shots)
        assert float(floor) == pytest.approx(line.floor, abs=1e-4)
        assert float(video) == pytest.approx(line.video_spend, abs=1e-4)
        assert float(ratio) == pytest.approx(line.video_spend / line.floor, abs=0.005)
    assert float(rows["S01"][5]) == 1.0 and float(rows["S02"][5]) > 1.0
    # one scene: its line only
    one = run_slate("cost", "--scene", "S02", "-C", str(film))
    assert one.returncode == 0, one.stdout + one.stderr
    assert re.search(r"^S02\s", one.stdout, re.MULTILINE)
    assert not re.search(r"^(S01|FILM)\s", one.stdout, re.MULTILINE)


def test_a_clip_is_priced_by_the_catalogue_else_per_second(tmp_path: Path) -> None:
    from filmslate.core._visual_models import clip_price

    kling = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"  # 0.28 per 5 s clip, 0.56 per 10
    with Project.init(tmp_path / "film", name="film") as project:
        config = project.config
    assert clip_price(config, kling, "proxy", 3.5) == pytest.approx(0.28)  # billed as 5 s
    assert clip_price(config, kling, "final", 7.0) == pytest.approx(0.56)  # billed as 10 s
    assert clip_price(config, "animatic", "proxy", 4.0) == 0.0  # offline: free, per second
