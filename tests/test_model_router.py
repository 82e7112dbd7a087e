"""model-router's gate: premium is never silent. Judged on constructed decisions and on every
ROUTING_DECISION a whole production writes (batch plans, escalations), through the real code."""

from __future__ import annotations

from pathlib import Path

import pytest

from filmslate import Project
from filmslate.rules._routing import routing_gate
from filmslate.schemas import RoutingDecision
from filmslate.synthetic import synthetic_project
from filmslate.workflow._orchestrator import Orchestrator


def decision(tier: str, justification: str, conditions: list[str]) -> RoutingDecision:
    return RoutingDecision(
        task="S03_SH02_RENDER",
        task_type="render",
        required_capability="video",
        tier_selected=tier,
        model="fal:x",
        justification=justification,
        cost_impact=2.0,
        escalation_conditions=conditions,
    )


@pytest.mark.parametrize(
    ("tier", "why", "conditions", "verdict"),
    [
        ("visual_premium", "hero shot", [], "FAIL"),
        ("premium", "hero A shot of the climax, within the 25% quota", [], "FAIL"),
        ("premium", "ok", ["QC FAIL twice at mid"], "FAIL"),
        ("premium", "hero A shot of the climax, within the 25% quota", ["QC FAIL twice"], "PASS"),
        ("mid", "b", [], "PASS"),
    ],
)
def test_premium_needs_a_justification_and_its_conditions(
    tier: str, why: str, conditions: list[str], verdict: str
) -> None:
    assert routing_gate(decision(tier, why, conditions)).verdict == verdict


def test_every_decision_a_production_writes_passes_the_gate(tmp_path: Path) -> None:
    runner, _ = synthetic_project(tmp_path / "film", 2, 3)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    runner.project.close()
    with Project(tmp_path / "film") as project:
        records = project.store.latest_of_each("ROUTING_DECISION")
        assert records
        for record in records:
            gate = routing_gate(project.store.load(record.name))
            assert gate.passed, (record.filename, gate.reasons)
