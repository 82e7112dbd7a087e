"""Run-logger derived metrics from real runs, QC sheets and shot lists."""

from __future__ import annotations

import json
from pathlib import Path

import test_skills_qc as qc
from conftest import run_slate
from filmslate import Project, compute_metrics
from filmslate.rules._consistency import consistency
from filmslate.schemas import QcBatch, ShotList
from test_runtime import GOOD_PREMISE, REPORT, configure, runner

film = qc.film  # the one-scene project with locks (a fixture)

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


# -- consistency as a figure (issue 13 §6) ----------------------------------------------------


def _vision(low: dict[str, int], *said: dict[str, str]) -> dict[str, object]:
    return {**{c: low.get(c, 2) for c in CATS}, "notes": "", "contradictions": list(said)}


ALEX_FACE = {
    "category": "face_consistency",
    "frame": "take frame 2 of 6 (about 0.8 s)",
    "lock_item": "CHAR_ALEX_REF_v001: scar over left eyebrow",
    "detail": "no scar",
}


def test_consistency_per_character_and_set_through_qc_and_slate_metrics(
    film: Path, tmp_path: Path
) -> None:
    r = qc.packaged(film)
    assert r.run("prompt-packager", "S01_SH04").gate.passed
    answers = [
        _vision({"lighting_consistency": 1}),  # SH01 (no one, hero C): PASS, the set's light 1
        _vision({"face_consistency": 1}, ALEX_FACE),  # SH02 ALEX+MIRA (B): PASS, ALEX's face
        _vision({}),  # SH03 MIRA (A): PASS, compliant
        _vision({"face_consistency": 0}),  # SH04 ALEX+MIRA+BEN (B): FAIL, not an accepted take
    ]
    r, _ = qc.runner(film, answers)
    verdicts = {}
    for shot, (duration, camera) in {
        "S01_SH01": (3.0, "establishing"),
        "S01_SH02": (4.0, "medium"),
        "S01_SH03": (4.0, "close_up"),
        "S01_SH04": (5.0, "medium"),
    }.items():
        qc.proxy(r, shot, qc.clip(tmp_path, qc.MILL_BROWN, duration, camera))
        verdicts[shot] = r.run("qc-grader", shot, params={"rubric_source": "model"}).gate.verdict
    assert verdicts == {
        "S01_SH01": "PASS",
        "S01_SH02": "PASS",
        "S01_SH03": "PASS",
        "S01_SH04": "FAIL",
    }
    m = compute_metrics(r.store)
    figures = {
        c.subject: (c.compliant, c.accepted, c.not_compliant) for c in m.character_consistency
    }
    # the contradiction names ALEX's sheet: MIRA, in the same take, stays compliant; BEN has no
    # accepted take (SH04 failed)
    assert figures == {"ALEX": (0, 1, ["S01_SH02 attempt 1 (face 1)"]), "MIRA": (2, 2, [])}
    (mill,) = m.set_consistency
    assert (mill.subject, mill.compliant, mill.accepted) == ("OLD_MILL", 2, 3)
    assert mill.not_compliant == ["S01_SH01 attempt 1 (lighting 1)"] and mill.share == 0.6667
    # the QC sheet's newest row ends in the scene's figures
    last = qc.batch(r).rows[-1]
    assert last.notes.endswith(
        "consistency of accepted takes: characters (face, wardrobe): ALEX 0/1 (0%) not "
        "compliant: S01_SH02 attempt 1 (face 1); MIRA 2/2 (100%); sets (set, lighting): "
        "OLD_MILL 2/3 (67%) not compliant: S01_SH01 attempt 1 (lighting 1)"
    )
    shown = run_slate("metrics", cwd=film, check=True).stdout
    assert "character consistency (face, wardrobe)" in shown
    alex = next(line for line in shown.splitlines() if " ALEX " in line)
    assert "0/1" in alex and "0%" in alex and "S01_SH02 attempt 1 (face 1)" in alex
    assert "S01_SH01 attempt 1 (lighting 1)" in next(
        line for line in shown.splitlines() if " OLD_MILL " in line
    )
    data = json.loads(run_slate("metrics", "--json", cwd=film, check=True).stdout)
    assert data["character_consistency"][0] == {
        "subject": "ALEX",
        "accepted": 1,
        "compliant": 0,
        "not_compliant": ["S01_SH02 attempt 1 (face 1)"],
        "share": 0.0,
    }
    assert data["set_consistency"][0]["share"] == 0.6667


def test_a_low_score_no_contradiction_explains_counts_against_the_whole_cast() -> None:
    shots = {
        "S01_SH02": ShotList.model_validate(
            {
                "rows": [
                    {
                        "shot_id": "S01_SH02",
                        "scene_id": "S01",
                        "blocking_summary": "x",
                        "set_id": "LIGHTHOUSE",
                        "char_ids": ["NELL", "GUS"],
                        "hero_tier": "B",
                        "complexity_level": "low",
                        "regen_risk_estimate": "low",
                        "duration_s": 4,
                        "camera_type": "two_shot",
                    }
                ]
            }
        ).rows[0]
    }
    row = QcBatch.model_validate(
        {"rows": [_qc("S01_SH02", 1, {"wardrobe_consistency": 1}, "PASS")]}
    ).rows[0]
    both = consistency([row], shots)
    assert [(c.subject, c.compliant) for c in both.characters] == [("GUS", 0), ("NELL", 0)]
    named = row.model_copy(
        update={
            "notes": "rubric model | reviewer: wardrobe_consistency take frame 1 of 6 vs "
            "CHAR_GUS_REF_v001: oilskin jacket: a blazer"
        }
    )
    one = consistency([named], shots)
    assert [(c.subject, c.compliant) for c in one.characters] == [("GUS", 0), ("NELL", 1)]
    assert one.characters[0].not_compliant == ["S01_SH02 attempt 1 (wardrobe 1)"]
