"""Run-logger derived metrics from real runs, QC sheets and shot lists."""

from __future__ import annotations

from pathlib import Path

from conftest import run_slate
from filmslate import Project, compute_metrics
from filmslate.schemas import QcBatch, ShotList
from test_runtime import GOOD_PREMISE, REPORT, configure, runner

CATS = (
    "face_consistency",
    "wardrobe_consistency",
    "set_continuity",
    "prop_accuracy",
    "lighting_consistency",
    "motion_integrity",
)


def _qc(shot: str, attempt: int, low: dict[str, int], verdict: str) -> dict[str, object]:
    scores = {c: low.get(c, 2) for c in CATS}
    return {
        "shot_id": shot,
        "attempt_number": attempt,
        **scores,
        "total_score": sum(scores.values()),
        "verdict": verdict,
    }


def test_metrics_from_runs_qc_and_shots(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    answers = [GOOD_PREMISE, {**REPORT, "recommendation": "Simplify"}, REPORT]
    r, _ = runner(root, answers, cost=0.5, worst=1.0)
    r.run("pitch", "PROJECT")
    r.run_once("take", "S01_SH01")
    r.run_once("take", "S01_SH01", attempt=2)
    base = {
        "scene_id": "S01",
        "blocking_summary": "x",
        "set_id": "LIGHTHOUSE",
        "char_ids": ["NELL"],
        "hero_tier": "B",
        "complexity_level": "low",
        "regen_risk_estimate": "low",
        "duration_s": 4,
    }
    r.store.write(
        "SHOTLIST",
        "S01",
        ShotList.model_validate(
            {
                "rows": [
                    {**base, "shot_id": "S01_SH01", "camera_type": "close_up"},
                    {**base, "shot_id": "S01_SH02", "camera_type": "wide"},
                ]
            }
        ),
    )
    r.store.write(
        "QC_BATCH",
        "S01",
        QcBatch.model_validate(
            {
                "rows": [
                    _qc("S01_SH01", 1, {"face_consistency": 0}, "FAIL"),
                    _qc("S01_SH01", 2, {"face_consistency": 1}, "FIX"),
                    _qc("S01_SH02", 1, {}, "PASS"),
                ]
            }
        ),
    )
    m = compute_metrics(r.store)
    assert m.runs == 3
    assert m.average_regens_per_shot == 1.0  # S01_SH01 reached regen count 1
    assert m.cost_per_scene == {"S01": 1.0}
    assert m.tier_usage == {"judgment": 1, "vision": 2}
    assert m.failure_rate_per_model == {"scripted:judgment": 0.0, "scripted:vision": 0.5}
    assert m.drift_frequency["face_consistency"] == round(2 / 3, 4)
    assert m.common_qc_violations == [("face_consistency", 2)]
    assert m.high_risk_shot_types == [("close_up", 1.0), ("wide", 0.0)]
    shown = run_slate("metrics", cwd=root, check=True).stdout
    assert "face_consistency x2" in shown and "close_up (100% not passing)" in shown
