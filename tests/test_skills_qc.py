"""qc-grader and regen-analyzer through the real runner and store, on real rendered proxies."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import test_skills_production as production
from filmslate.core._errors import InputNotReady, UserError
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._video import VideoJob
from filmslate.providers.animatic import AnimaticProvider
from filmslate.rules._media import QC_CATEGORIES
from filmslate.schemas import AdjustmentRule, GenPack, QcBatch, QcRow, RegenRules
from filmslate.skills.production import (
    PromptPackager,
    QcGrader,
    RegenAnalyzer,
    ShotPlanner,
    StoryboardGenerator,
    analyse,
    applicable_rules,
    capped,
    genpack_changed,
    qc_verdict,
    regen_failures,
)
from filmslate.testing import ScriptedTextModel, scripted_runner
from test_runtime import configure

MILL_BROWN = "#5A4632"  # the OLD_MILL set lock's palette
FAR_BLUE = "#2060E0"  # delta E ~90 from it: severe palette finding
NEAR_TEAL = "#3A5A6A"  # delta E ~31: minor palette finding
film = production.film  # the one-scene project with locks (a fixture)


def registry() -> Registry:
    reg = Registry()
    for skill in (ShotPlanner, PromptPackager, StoryboardGenerator, QcGrader, RegenAnalyzer):
        reg.register(skill)
    return reg


def runner(root: Path, script: Any = ()) -> tuple[Runner, ScriptedTextModel]:
    return scripted_runner(root, script, registry())


def picture(colour: str, spread: float = 18.0) -> bytes:
    """A textured 640x360 frame around one colour (texture so a camera move shows)."""
    rng = np.random.default_rng(7)
    base = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], float)
    yy, xx = np.mgrid[0:360, 0:640]
    pattern = (np.sin(xx / 23.0) + np.cos(yy / 17.0)) * spread / 2
    pixels = base + pattern[..., None] + rng.normal(0, spread / 3, (360, 640, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def clip(tmp: Path, colour: str, duration: float = 4.0, camera: str = "medium") -> bytes:
    """A real proxy render of the animatic provider."""
    provider = AnimaticProvider(tmp / "renders")
    job = VideoJob(
        "S01_SH02",
        f"[SETTINGS]\ncamera_type: {camera}",
        duration,
        640,
        360,
        12,
        image=picture(colour),
    )
    return provider.download(provider.submit(job))


def proxy(r: Runner, shot: str, data: bytes) -> None:
    r.store.write("PROXY", shot, data)


def packaged(root: Path) -> Runner:
    """Planned shots with a GenPack for S01_SH01-SH03."""
    production.plan(root)
    r, _ = runner(root)
    for n in (1, 2, 3):
        assert r.run("prompt-packager", f"S01_SH0{n}").gate.passed
    return r


def batch(r: Runner) -> QcBatch:
    record = r.store.latest("QC_BATCH", "S01")
    assert record is not None
    loaded = r.store.load(record.name)
    assert isinstance(loaded, QcBatch)
    return loaded


def pack(r: Runner, shot: str) -> GenPack:
    record = r.store.latest("GENPACK", shot)
    assert record is not None
    loaded = r.store.load(record.name)
    assert isinstance(loaded, GenPack)
    return loaded


# -- verdict rules ---------------------------------------------------------------------------


def _scores(total_ones: int, zeros: int = 0) -> dict[str, int | None]:
    values = [0] * zeros + [1] * total_ones
    return {c: (values[i] if i < len(values) else 2) for i, c in enumerate(QC_CATEGORIES)}


@pytest.mark.parametrize(
    ("ones", "zeros", "threshold", "verdict"),
    [
        (0, 0, 12, "PASS"),
        (2, 0, 12, "PASS"),
        (3, 0, 12, "FIX"),
        (4, 0, 12, "FIX"),
        (5, 0, 12, "FAIL"),
        (0, 1, 8, "FAIL"),
        (5, 0, 8, "PASS"),
        (7, 0, 8, "FIX"),
    ],
)
def test_the_verdict_is_computed_from_scores(
    ones: int, zeros: int, threshold: int, verdict: str
) -> None:
    assert qc_verdict(_scores(ones, zeros), threshold)[0] == verdict


def test_a_model_never_raises_a_category_a_check_failed() -> None:
    model: dict[str, int | None] = dict.fromkeys(QC_CATEGORIES, 2)
    model["audio_consistency"] = None
    technical = dict.fromkeys(QC_CATEGORIES, 2) | {"motion_integrity": 0, "set_continuity": 1}
    out = capped(model, technical)
    assert out["motion_integrity"] == 0 and out["set_continuity"] == 1
    assert out["audio_consistency"] is None and out["face_consistency"] == 2


# -- qc-grader -------------------------------------------------------------------------------


def test_a_clean_proxy_passes_and_records_its_genpack(film: Path, tmp_path: Path) -> None:
    r = packaged(film)
    proxy(r, "S01_SH02", clip(tmp_path, MILL_BROWN))
    result = r.run("qc-grader", "S01_SH02")
    assert result.gate.verdict == "PASS"
    assert result.records[0].filename == "QC_BATCH_S01_v001.csv"
    assert result.route is not None and result.route.tier == "vision"
    (row,) = batch(r).rows
    assert (row.shot_id, row.attempt_number, row.total_score, row.verdict) == (
        "S01_SH02",
        1,
        14,
        "PASS",
    )
    assert "genpack GENPACK_S01_SH02_v001.txt sha256:" in row.notes
    assert "rubric technical" in row.notes
    assert r.project.verify() == []


def test_a_black_proxy_fails_on_motion_and_rows_append(film: Path, tmp_path: Path) -> None:
    r = packaged(film)
    proxy(r, "S01_SH01", clip(tmp_path, MILL_BROWN, 3.0, "establishing"))
    assert r.run("qc-grader", "S01_SH01").gate.passed
    proxy(r, "S01_SH02", clip(tmp_path, "#000000"))
    result = r.run("qc-grader", "S01_SH02")
    assert result.gate.verdict == "FAIL"
    assert (
        "severe (0) in" in result.gate.reasons[0] and "motion_integrity" in result.gate.reasons[0]
    )
    proxy(r, "S01_SH02", clip(tmp_path, MILL_BROWN))
    assert r.run("qc-grader", "S01_SH02").gate.verdict == "PASS"
    rows = batch(r).rows
    assert [(x.shot_id, x.attempt_number, x.verdict) for x in rows] == [
        ("S01_SH01", 1, "PASS"),
        ("S01_SH02", 1, "FAIL"),
        ("S01_SH02", 2, "PASS"),
    ]
    assert rows[1].motion_integrity == 0 and "black_frames severe" in rows[1].notes
    assert r.store.latest("QC_BATCH", "S01").filename == "QC_BATCH_S01_v003.csv"  # type: ignore[union-attr]


def test_a_wrong_palette_lowers_set_and_lighting(film: Path, tmp_path: Path) -> None:
    r = packaged(film)
    proxy(r, "S01_SH02", clip(tmp_path, FAR_BLUE))
    assert r.run("qc-grader", "S01_SH02").gate.verdict == "FAIL"
    proxy(r, "S01_SH02", clip(tmp_path, NEAR_TEAL))
    assert r.run("qc-grader", "S01_SH02").gate.verdict == "PASS"  # 12 >= hero B's 10
    severe, minor = batch(r).rows
    assert (severe.set_continuity, severe.lighting_consistency) == (0, 0)
    assert (minor.set_continuity, minor.lighting_consistency, minor.total_score) == (1, 1, 12)


def test_a_minor_palette_drift_is_a_fix_under_a_stricter_threshold(
    film: Path, tmp_path: Path
) -> None:
    configure(film, **{"threshold_b = 10": "threshold_b = 13"})
    r = packaged(film)
    proxy(r, "S01_SH02", clip(tmp_path, NEAR_TEAL))
    result = r.run("qc-grader", "S01_SH02")
    assert result.gate.verdict == "FIX"
    assert "1 below the threshold 13 (minor, salvageable)" in result.gate.reasons[0]
    assert (
        len(
            r.store.conn.execute(
                "SELECT 1 FROM runlog WHERE skill_name = 'qc-grader' AND event = 'run'"
            ).fetchall()
        )
        == 1
    )  # no re-grading loop


def _answer(ones: int, notes: str = "left eye shape shifts") -> dict[str, Any]:
    scores = {c: (1 if i < ones else 2) for i, c in enumerate(QC_CATEGORIES)}
    return {**scores, "notes": notes}


@pytest.mark.parametrize(
    ("ones", "verdicts"),
    [
        (3, {"S01_SH01": "PASS", "S01_SH02": "PASS", "S01_SH03": "FIX"}),  # total 11
        (5, {"S01_SH01": "PASS", "S01_SH02": "FIX", "S01_SH03": "FAIL"}),  # total 9
        (7, {"S01_SH01": "FIX", "S01_SH02": "FAIL", "S01_SH03": "FAIL"}),
    ],
)  # total 7
def test_model_scores_are_judged_by_hero_tier(
    film: Path, tmp_path: Path, ones: int, verdicts: dict[str, str]
) -> None:
    r = packaged(film)
    r, model = runner(film, [_answer(ones)] * 3)
    # SH01 is hero C (8), SH02 hero B (10), SH03 hero A (12)
    for shot, (duration, camera) in {
        "S01_SH01": (3.0, "establishing"),
        "S01_SH02": (4.0, "medium"),
        "S01_SH03": (4.0, "close_up"),
    }.items():
        proxy(r, shot, clip(tmp_path, MILL_BROWN, duration, camera))
        result = r.run("qc-grader", shot, params={"rubric_source": "model"})
        assert result.gate.verdict == verdicts[shot], shot
    assert len(model.requests) == 3
    request = model.requests[0]
    assert "GENPACK: S01_SH01" in request.prompt and "Technical findings:\n- none" in request.prompt
    assert all(row.total_score == 14 - ones for row in batch(r).rows)
    assert "reviewer: left eye shape shifts" in batch(r).rows[0].notes


def test_technical_findings_cap_a_generous_model(film: Path, tmp_path: Path) -> None:
    r = packaged(film)
    r, model = runner(film, [_answer(0, "looks perfect")])
    proxy(r, "S01_SH02", clip(tmp_path, "#000000"))
    result = r.run("qc-grader", "S01_SH02", params={"rubric_source": "model"})
    assert result.gate.verdict == "FAIL"
    (row,) = batch(r).rows
    assert row.motion_integrity == 0 and row.face_consistency == 2
    assert "black_frames (severe)" in model.requests[0].prompt


def test_an_unknown_rubric_source_is_refused(film: Path, tmp_path: Path) -> None:
    r = packaged(film)
    proxy(r, "S01_SH02", clip(tmp_path, MILL_BROWN))
    with pytest.raises(UserError, match="rubric_source"):
        r.run("qc-grader", "S01_SH02", params={"rubric_source": "guess"})


# -- regen-analyzer --------------------------------------------------------------------------


def _fail_twice(film: Path, tmp_path: Path) -> Runner:
    r = packaged(film)
    for colour in (FAR_BLUE, "#1850D0"):
        proxy(r, "S01_SH02", clip(tmp_path, colour))
        assert r.run("qc-grader", "S01_SH02").gate.verdict == "FAIL"
    return r


def _rules(r: Runner) -> RegenRules:
    record = r.store.latest("REGEN_RULES")
    assert record is not None
    loaded = r.store.load(record.name)
    assert isinstance(loaded, RegenRules)
    return loaded


def test_the_analyzer_writes_rules_the_packager_applies(film: Path, tmp_path: Path) -> None:
    r = _fail_twice(film, tmp_path)
    before = pack(r, "S01_SH02")
    result = r.run("regen-analyzer", "S01_SH02")
    assert result.gate.verdict == "PASS", result.gate.reasons
    assert result.records[0].filename == "REGEN_RULES_v001.md"
    rules = _rules(r)
    assert "Dominant pattern: set drift (set_continuity)" in rules.failure_pattern_summary
    assert "GenPack unchanged across 2 attempts" in rules.failure_pattern_summary
    assert rules.root_cause_hypothesis.startswith("Set drift:")
    kinds = {(rule.type, rule.scope) for rule in rules.prompt_adjustment_rules}
    assert kinds == {("constraint_tightening", "S01_SH02"), ("complexity_reduction", "S01_SH02")}
    assert any(
        "3200K from window light from the left" in rule.rule
        for rule in rules.prompt_adjustment_rules
    )
    assert "No escalation" in rules.escalation_recommendation
    # the packager picks the rules up (a new REGEN_RULES is not lineage of the old GenPack,
    # so the orchestrator forces the repackaging)
    assert r.run("prompt-packager", "S01_SH02", force=True).gate.passed
    after = pack(r, "S01_SH02")
    assert genpack_changed(before, after)
    negatives = after.negatives.split("\n")
    for line in applicable_rules(rules, "S01_SH02"):
        assert line in negatives
    assert not applicable_rules(rules, "S01_SH01")
    assert r.project.verify() == []


def test_failures_after_applied_rules_recommend_escalation(film: Path, tmp_path: Path) -> None:
    r = _fail_twice(film, tmp_path)
    assert r.run("regen-analyzer", "S01_SH02").gate.passed
    assert r.run("prompt-packager", "S01_SH02", force=True).gate.passed
    proxy(r, "S01_SH02", clip(tmp_path, "#000000"))
    assert r.run("qc-grader", "S01_SH02").gate.verdict == "FAIL"
    result = r.run("regen-analyzer", "S01_SH02", force=True)
    assert result.gate.passed, result.gate.reasons
    rules = _rules(r)
    types = [rule.type for rule in rules.prompt_adjustment_rules]
    assert "tier_escalation" in types and types.count("constraint_tightening") >= 2
    assert rules.escalation_recommendation.startswith("Escalate S01_SH02 (hero B)")
    assert "2 different GenPacks over 3 attempts" in rules.failure_pattern_summary


def test_analysing_the_same_failures_again_adds_nothing_and_fails(
    film: Path, tmp_path: Path
) -> None:
    r = _fail_twice(film, tmp_path)
    assert r.run("regen-analyzer", "S01_SH02").gate.passed
    again = r.run("regen-analyzer", "S01_SH02", force=True)
    assert again.gate.verdict == "FAIL"
    assert "no new adjustment" in again.gate.reasons[0]


def test_the_analyzer_keeps_other_shots_rules(film: Path, tmp_path: Path) -> None:
    r = _fail_twice(film, tmp_path)
    assert r.run("regen-analyzer", "S01_SH02").gate.passed
    for _ in range(2):
        proxy(r, "S01_SH03", clip(tmp_path, "#000000", 4.0, "close_up"))
        assert r.run("qc-grader", "S01_SH03").gate.verdict == "FAIL"
    assert r.run("regen-analyzer", "S01_SH03").gate.passed
    scopes = [rule.scope for rule in _rules(r).prompt_adjustment_rules]
    assert "S01_SH02" in scopes and "S01_SH03" in scopes
    mira = [rule.rule for rule in _rules(r).prompt_adjustment_rules if rule.scope == "S01_SH03"]
    assert any("one continuous take" in text for text in mira)


def test_nothing_to_analyse_without_a_failed_attempt(film: Path, tmp_path: Path) -> None:
    r = packaged(film)
    proxy(r, "S01_SH02", clip(tmp_path, MILL_BROWN))
    assert r.run("qc-grader", "S01_SH02").gate.passed
    with pytest.raises(UserError, match="nothing to analyse"):
        r.run("regen-analyzer", "S01_SH02")
    assert r.store.latest("REGEN_RULES") is None


def _row(attempt: int, **scores: int) -> QcRow:
    values = dict.fromkeys(QC_CATEGORIES, 2) | scores
    return QcRow(
        shot_id="S01_SH02",
        attempt_number=attempt,
        total_score=sum(values.values()),
        verdict="FAIL",
        **values,
    )


def test_the_analyzer_gate_conditions() -> None:
    found = analyse([_row(1, face_consistency=0), _row(2, face_consistency=1)], "S01_SH02")
    assert found.dominant == "face_consistency" and found.repeated == ["face_consistency"]
    anchor = AdjustmentRule(type="anchor_reinforcement", scope="S01_SH02", rule="repeat scar")
    shorter = AdjustmentRule(type="duration_reduction", scope="S01_SH02", rule="3s at most")

    def rules(*items: AdjustmentRule, cause: str = "weak anchors") -> RegenRules:
        return RegenRules(
            failure_pattern_summary="face drift",
            root_cause_hypothesis=cause,
            prompt_adjustment_rules=list(items),
        )

    assert regen_failures(rules(anchor, shorter), found, None) == []
    assert any(
        "no root cause" in f for f in regen_failures(rules(anchor, shorter, cause=""), found, None)
    )
    assert any(
        "complexity and duration are unchanged" in f
        for f in regen_failures(rules(anchor), found, None)
    )
    assert any(
        "no new adjustment" in f
        for f in regen_failures(rules(anchor, shorter), found, rules(anchor, shorter))
    )
    other = AdjustmentRule(type="anchor_reinforcement", scope="S01_SH05", rule="x")
    assert any("no new adjustment" in f for f in regen_failures(rules(other), found, None))


def test_a_graded_take_is_not_graded_again(film: Path, tmp_path: Path) -> None:
    r = packaged(film)
    proxy(r, "S01_SH02", clip(tmp_path, "#000000"))
    assert r.run("qc-grader", "S01_SH02").gate.verdict == "FAIL"
    with pytest.raises(InputNotReady, match="already graded FAIL"):
        r.run("qc-grader", "S01_SH02")  # the same take: not another attempt
    assert [x.attempt_number for x in batch(r).rows] == [1]
    proxy(r, "S01_SH01", clip(tmp_path, MILL_BROWN, 3.0, "establishing"))
    assert r.run("qc-grader", "S01_SH01").gate.passed
    assert r.run("qc-grader", "S01_SH01").status == "up_to_date"
    proxy(r, "S01_SH01", clip(tmp_path, MILL_BROWN, 3.0, "establishing"))
    assert r.run("qc-grader", "S01_SH01").status == "done"  # a new take is graded


def test_the_analyzer_reruns_when_new_failures_arrive(film: Path, tmp_path: Path) -> None:
    r = _fail_twice(film, tmp_path)
    assert r.run("regen-analyzer", "S01_SH02").gate.passed
    assert r.run("regen-analyzer", "S01_SH02").status == "up_to_date"
    assert r.run("prompt-packager", "S01_SH02", force=True).gate.passed
    proxy(r, "S01_SH02", clip(tmp_path, "#1850D0"))
    assert r.run("qc-grader", "S01_SH02").gate.verdict == "FAIL"
    again = r.run("regen-analyzer", "S01_SH02")  # a new QC row: not up to date any more
    assert again.status == "done" and again.records[0].filename == "REGEN_RULES_v002.md"
