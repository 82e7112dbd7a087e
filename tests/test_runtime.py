"""The skill runtime: refusals, loops, escalation, hard stops, overrides, quotas, regen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from filmslate import GateFailed, HardStop, Project
from filmslate.core._errors import AnalyzerRequired, InputNotReady, ProviderError
from filmslate.engine._override import record_override
from filmslate.engine._runner import Runner
from filmslate.engine._stops import all_open_hard_stops
from filmslate.testing import ScriptedTextModel, scripted_runner
from runtime_skills import registry

GOOD_PREMISE = {
    "title": "The Last Keeper",
    "logline": "A keeper relights a dead lighthouse.",
    "genre": "drama",
    "tone": "tense",
    "length": "short",
    "characters": ["NELL"],
}
CLICHE = {**GOOD_PREMISE, "logline": "The chosen one must save the lighthouse."}
BEATS = {
    "title": "The Last Keeper",
    "logline": "x",
    "central_dramatic_question": "Will she?",
    "inciting_incident": "a",
    "escalation_sequence": ["b", "c"],
    "midpoint_shift": "d",
    "crisis": "e",
    "climax": "f resolves whether she will",
    "resolution": "g",
}
REPORT = {
    "shot_id": "S01_SH01",
    "composition": "ok",
    "character_placement": "ok",
    "set_anchor_presence": "ok",
    "lighting_compliance": "ok",
    "drift_risk": "low",
    "recommendation": "Proceed",
}


def configure(root: Path, **replacements: str) -> None:
    """Map every tier to the scripted model. Skill tests exercise one skill at a time, so the
    loop-order rule (production after the narrative and validation loops) is switched off
    here; test_loop_order_is_enforced covers it."""
    config = root / "filmslate.toml"
    text = (
        config.read_text()
        .replace('"replay:', '"scripted:')
        .replace("enforce_order = true", "enforce_order = false")
    )
    for old, new in replacements.items():
        text = text.replace(old, new)
    config.write_text(text)


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    return root


def runner(
    root: Path, script: Any, cost: float = 0.0, worst: float | None = None
) -> tuple[Runner, ScriptedTextModel]:
    return scripted_runner(root, script, registry(), cost=cost, worst_case=worst)


def rows(r: Runner, event: str) -> list[tuple[str, ...]]:
    return r.store.conn.execute(
        "SELECT skill_name, outcome, tier, model_used, target, notes FROM runlog WHERE event = ? "
        "ORDER BY seq",
        (event,),
    ).fetchall()


def test_a_passing_run_writes_logs_and_gates(film: Path) -> None:
    r, model = runner(film, [GOOD_PREMISE], cost=0.25, worst=1.0)
    result = r.run("pitch", "PROJECT")
    assert result.gate.verdict == "PASS" and result.records[0].filename == "PREMISE_v001.md"
    assert (result.route.tier, result.route.model) == ("judgment", "scripted:judgment")
    run = rows(r, "run")[-1]
    assert run[:4] == ("pitch", "PASS", "judgment", "scripted:judgment")
    spend = r.store.conn.execute(
        "SELECT estimated_cost, actual_cost FROM runlog WHERE event = 'spend'"
    ).fetchone()
    assert spend == ("1.000000", "0.250000")
    assert r.ledger.state("project", "PROJECT").settled == pytest.approx(0.25)
    assert r.ledger.open_reservations() == 0
    assert r.run("pitch", "PROJECT").status == "up_to_date"
    assert len(model.requests) == 1
    assert r.project.verify() == []


def test_missing_input_is_refused_and_names_what_to_run(film: Path) -> None:
    r, _ = runner(film, [BEATS])
    with pytest.raises(InputNotReady, match=r"missing input PREMISE: run `slate run pitch`"):
        r.run("outline", "PROJECT")


def test_failed_input_is_refused(film: Path) -> None:
    r, _ = runner(film, [CLICHE, CLICHE, CLICHE, CLICHE, CLICHE, CLICHE, CLICHE])
    with pytest.raises(HardStop):
        r.run("pitch", "PROJECT")
    with pytest.raises(InputNotReady, match="failed its gate"):
        r.run_once("outline", "PROJECT")


def test_stale_input_is_refused(film: Path) -> None:
    r, _ = runner(film, [GOOD_PREMISE, BEATS, BEATS])
    r.run("pitch", "PROJECT")
    r.run("outline", "PROJECT")
    r.project.add(_premise_file(film.parent))
    # BEATS_v001 was made from PREMISE_v001; a budget report made from it is now stale:
    assert r.store.is_stale("BEATS_v001.md")
    assert r.run("outline", "PROJECT").status == "done"  # the loop reruns a stale output


def _premise_file(folder: Path) -> Path:
    from filmslate.schemas import Premise

    path = folder / "PREMISE.md"
    path.write_bytes(Premise.model_validate({**GOOD_PREMISE, "title": "Keeper II"}).render())
    return path


def test_revise_then_escalate_then_hard_stop(film: Path) -> None:
    r, model = runner(film, [CLICHE] * 10)
    with pytest.raises(HardStop, match="top tier"):
        r.run("pitch", "PROJECT")
    tiers = [req.model for req in model.requests]
    # 1 try + 2 revisions at judgment, then premium: 1 try + 2 revisions, then the top.
    assert tiers == ["scripted:judgment"] * 3 + ["scripted:premium"] * 3
    assert "the logline is a cliché" in model.requests[1].prompt  # revision feedback
    decision = r.store.latest("ROUTING_DECISION", "PITCH_PROJECT_ESCALATION")
    assert decision is not None
    text = r.store.read(decision.name).decode()
    assert "premium" in text and "cliché" in text
    routing = rows(r, "routing")
    assert routing and routing[0][1] == "ESCALATE"
    stops = all_open_hard_stops(r.project)
    assert [s[1] for s in stops] == ["gate"]
    with pytest.raises(HardStop, match="hard stop"):
        r.run("pitch", "PROJECT")


def test_override_is_logged_and_lets_work_continue(film: Path) -> None:
    r, _ = runner(film, [CLICHE] * 6 + [GOOD_PREMISE])
    with pytest.raises(HardStop):
        r.run("pitch", "PROJECT")
    record = record_override(r.project, "PROJECT", "the director accepts this logline", 0.0, "ana")
    assert record.filename == "OVERRIDE_PROJECT_v001.md"
    assert "the director accepts" in r.store.read(record.name).decode()
    assert all_open_hard_stops(r.project) == []
    assert rows(r, "override")[0][:2] == ("override", "gate")
    assert r.run("pitch", "PROJECT").gate.verdict == "PASS"
    with pytest.raises(Exception, match="no open hard stop"):
        record_override(r.project, "PROJECT", "again", 0.0)


def test_deterministic_failure_stops_without_escalating(film: Path) -> None:
    configure(film, **{"project_cap = 15000.0": "project_cap = 1.0"})
    r, _ = runner(film, [])
    from filmslate.schemas import ShotList

    shots = ShotList.model_validate(
        {
            "rows": [
                {
                    "shot_id": "S01_SH01",
                    "scene_id": "S01",
                    "duration_s": 8,
                    "camera_type": "wide",
                    "blocking_summary": "x",
                    "set_id": "LIGHTHOUSE",
                    "char_ids": [],
                    "hero_tier": "C",
                    "complexity_level": "low",
                    "regen_risk_estimate": "low",
                }
            ]
        }
    )
    r.store.write("SHOTLIST", "S01", shots)
    configure(film, **{'low = "animatic"': 'low = "fal:pricey"'})
    text = (film / "filmslate.toml").read_text()
    (film / "filmslate.toml").write_text(
        text.replace(
            "[prices]", '[prices]\nvideo = { "fal:pricey" = { proxy = 1.0, final = 1.0 } }'
        )
    )
    r2, _ = runner(film, [])
    with pytest.raises(GateFailed, match="exceeds the project cap"):
        r2.run("cost-optimizer", "PROJECT")


def test_tier3_quota(film: Path) -> None:
    r, _ = runner(film, [GOOD_PREMISE] * 3 + [CLICHE] * 3)
    for _ in range(3):
        r.run("pitch", "PROJECT", force=True)
    # a second Tier 3 run would exceed 15% of narrative runs; the first is always allowed
    assert (
        r.router.escalate(
            r.router.route("judgment", True),
            "narrative",
            __import__("filmslate.engine._router").engine._router.EscalationCheck(),
        ).tier
        == "premium"
    )
    r.store.conn.execute(
        "INSERT INTO runlog (seq, run_id, parent_run_id, timestamp, "
        "skill_name, scene_id, shot_id, model_used, tier, estimated_cost, "
        "actual_cost, duration_s, outcome, regen_count, artifact_output, notes, "
        "budget_status, event, target, artifact_sha256, inputs, prev_hash, "
        "row_hash) SELECT max(seq) + 1, 'x', '', '', 'pitch', '', '', '', "
        "'premium', '0', '0', '0', 'PASS', '0', '', '', '', 'run', 'PROJECT', "
        "'', '', '', '' FROM runlog"
    )
    from filmslate.engine._router import EscalationCheck

    with pytest.raises(HardStop, match="Tier 3 quota reached"):
        r.router.escalate(r.router.route("judgment", True), "narrative", EscalationCheck())


def test_do_not_escalate_rules(film: Path) -> None:
    from filmslate.engine._router import EscalationCheck

    r, _ = runner(film, [])
    base = r.router.route("judgment", True)
    for check, message in [
        (EscalationCheck(gate_failed=False), "escalation only follows"),
        (EscalationCheck(analyzer_ran=False), "regen-analyzer has not run"),
        (EscalationCheck(cost_consulted=False), "cost-optimizer"),
        (EscalationCheck(inputs_complete=False), "incomplete"),
        (EscalationCheck(complexity_ok=False), "simplify"),
    ]:
        with pytest.raises(HardStop, match=message):
            r.router.escalate(base, "production", check)
    assert r.router.route("judgment", False).model == "builtin"


def test_visual_routing_by_hero_tier_and_quota(film: Path) -> None:
    r, _ = runner(film, [])
    assert r.router.route_visual("B", 20, 0).tier == "visual_mid"
    assert r.router.route_visual("C", 20, 0).tier == "visual_low"
    assert r.router.route_visual("A", 20, 4).tier == "visual_premium"
    downgraded = r.router.route_visual("A", 20, 5)
    assert downgraded.tier == "visual_mid" and "quota" in downgraded.reason


@pytest.mark.parametrize("hero,limit", [("A", 3), ("B", 2), ("C", 2)])
def test_regen_limits_by_hero_tier_and_forced_analyzer(film: Path, hero: str, limit: int) -> None:
    r, model = runner(film, lambda req: {**REPORT, "recommendation": "Simplify"})
    from filmslate.schemas import ShotList

    r.store.write(
        "SHOTLIST",
        "S01",
        ShotList.model_validate(
            {
                "rows": [
                    {
                        "shot_id": "S01_SH01",
                        "scene_id": "S01",
                        "duration_s": 4,
                        "camera_type": "close_up",
                        "blocking_summary": "x",
                        "set_id": "LIGHTHOUSE",
                        "char_ids": ["NELL"],
                        "hero_tier": hero,
                        "complexity_level": "low",
                        "regen_risk_estimate": "low",
                    }
                ]
            }
        ),
    )
    for _ in range(2):
        assert r.run_once("take", "S01_SH01").gate.verdict == "FAIL"
    with pytest.raises(
        AnalyzerRequired if limit > 2 else HardStop,
        match="regen-analyzer must run" if limit > 2 else "limit",
    ):
        r.run_once("take", "S01_SH01")
    if limit > 2:
        r.run_once("regen-analyzer", "S01_SH01")
        assert r.run_once("take", "S01_SH01").gate.verdict == "FAIL"
        with pytest.raises(HardStop, match=f"limit for hero tier {hero} is {limit}"):
            r.run_once("take", "S01_SH01")
    assert len(model.requests) == limit


def test_provider_failure_releases_the_reservation(film: Path) -> None:
    r, _ = runner(film, [ProviderError("HTTP 500 from vendor")], cost=0.5, worst=2.0)
    with pytest.raises(ProviderError):
        r.run("pitch", "PROJECT")
    assert r.ledger.open_reservations() == 0
    assert r.ledger.state("project", "PROJECT").committed == 0
    assert rows(r, "release")


def test_no_silent_provider_switch(film: Path) -> None:
    r, _ = runner(film, [GOOD_PREMISE])
    r.run("pitch", "PROJECT")
    configure(film, **{'judgment = "scripted:judgment"': 'judgment = "scripted:other-vendor"'})
    r, model = runner(film, [GOOD_PREMISE])
    with pytest.raises(HardStop, match="no silent provider switches"):
        r.run("pitch", "PROJECT", force=True)
    record = r.record_switch("judgment", "the old vendor retired the model")
    text = r.store.read(record.name).decode()
    assert "scripted:judgment" in text and "scripted:other-vendor" in text
    assert r.run("pitch", "PROJECT", force=True).gate.verdict == "PASS"
    assert model.requests[-1].model == "scripted:other-vendor"


def test_batch_plan_routes_by_hero_tier_within_quota(film: Path) -> None:
    from filmslate.schemas import ShotList

    r, _ = runner(film, [])
    base = {
        "scene_id": "S01",
        "camera_type": "close_up",
        "blocking_summary": "x",
        "set_id": "LIGHTHOUSE",
        "char_ids": ["NELL"],
        "complexity_level": "low",
        "regen_risk_estimate": "low",
        "duration_s": 4,
    }
    heroes = ["A", "A", "B", "C"]
    r.store.write(
        "SHOTLIST",
        "S01",
        ShotList.model_validate(
            {
                "rows": [
                    {**base, "shot_id": f"S01_SH0{i + 1}", "hero_tier": h}
                    for i, h in enumerate(heroes)
                ]
            }
        ),
    )
    record = r.plan_batch("S01")
    assert record.filename == "ROUTING_DECISION_BATCH_PLAN_S01_v001.md"
    text = r.store.read(record.name).decode()
    assert "S01_SH01: hero A -> premium" in text
    assert "S01_SH02: hero A -> mid" in text and "quota" in text  # 25% of 4 shots = 1
    assert "S01_SH03: hero B -> mid" in text and "S01_SH04: hero C -> low" in text
    assert rows(r, "routing")[-1][1] == "BATCH_PLAN"
    assert r.plan_batch("S01") == record  # the same shot list: the plan stands
    assert [n.filename for n in r.store.lineage(record.name)] == ["SHOTLIST_S01_v001.csv"]


def test_loop_order_is_enforced(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root, **{"enforce_order = false": "enforce_order = true"})
    r, _ = runner(root, [])
    from filmslate.schemas import Scenes, ShotList

    r.store.write(
        "SCENES",
        None,
        Scenes.model_validate(
            {"rows": [{"scene_id": "S01", "summary": "x", "location": "LIGHTHOUSE"}]}
        ),
    )
    r.store.write(
        "SHOTLIST",
        "S01",
        ShotList.model_validate(
            {
                "rows": [
                    {
                        "shot_id": "S01_SH01",
                        "scene_id": "S01",
                        "duration_s": 4,
                        "camera_type": "close_up",
                        "blocking_summary": "x",
                        "set_id": "LIGHTHOUSE",
                        "char_ids": [],
                        "hero_tier": "C",
                        "complexity_level": "low",
                        "regen_risk_estimate": "low",
                    }
                ]
            }
        ),
    )
    with pytest.raises(InputNotReady, match="take cannot run on S01_SH01 yet") as info:
        r.run_once("take", "S01_SH01")
    assert "narrative loop not passed" in str(info.value)
    assert "validation loop not passed" in str(info.value)


def test_qc_verdicts_count_as_failed_attempts(film: Path) -> None:
    from typing import ClassVar

    from filmslate.core._gate import Gate
    from filmslate.engine._skill import Context, Skill
    from filmslate.schemas import ShotList

    class StandInQc(Skill):
        """A QC grader stand-in whose verdict is FIX (the real one is in skills_qc)."""

        name: ClassVar[str] = "qc-grader"
        layer: ClassVar[Any] = "production"
        produces: ClassVar[tuple[str, ...]] = ()
        target_scope: ClassVar[Any] = "shot"
        uses_model: ClassVar[bool] = False

        def produce(self, ctx: Context) -> list[Any]:
            return []

        def gate(self, outputs: list[Any], ctx: Context) -> Gate:
            return Gate("FIX", ("face drift, minor",))

    r, _ = runner(film, lambda req: REPORT)
    r.registry.register(StandInQc)
    r.store.write(
        "SHOTLIST",
        "S01",
        ShotList.model_validate(
            {
                "rows": [
                    {
                        "shot_id": "S01_SH01",
                        "scene_id": "S01",
                        "duration_s": 4,
                        "camera_type": "close_up",
                        "blocking_summary": "x",
                        "set_id": "LIGHTHOUSE",
                        "char_ids": [],
                        "hero_tier": "B",
                        "complexity_level": "low",
                        "regen_risk_estimate": "low",
                    }
                ]
            }
        ),
    )
    for _ in range(2):
        r.run_once("take", "S01_SH01")
        r.run_once("qc-grader", "S01_SH01")
    with pytest.raises(HardStop, match="limit for hero tier B is 2"):
        r.run_once("take", "S01_SH01")


def test_a_revision_that_passes_reports_the_attempt_it_fixed(film: Path) -> None:
    r, model = runner(film, [CLICHE, GOOD_PREMISE])
    result = r.run("pitch", "PROJECT")
    assert result.gate.passed and result.attempt == 2
    assert [(n, gate.verdict) for n, gate in result.earlier] == [(1, "FAIL")]
    assert "cliché" in result.earlier[0][1].reasons[0]
    assert "cliché" in model.requests[1].prompt


def test_feedback_from_downstream_revises_a_passed_output(film: Path) -> None:
    r, model = runner(
        film,
        [GOOD_PREMISE, {**GOOD_PREMISE, "logline": "A keeper relights a lighthouse nobody needs."}],
    )
    assert r.run("pitch", "PROJECT").gate.passed
    again = r.run("pitch", "PROJECT", force=True, feedback=("the stakes are unclear",))
    assert again.gate.passed and again.attempt == 2  # continues after the passed attempt
    assert "the stakes are unclear" in model.requests[1].prompt
    assert again.records[0].filename == "PREMISE_v002.md"
