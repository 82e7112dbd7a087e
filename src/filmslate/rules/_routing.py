"""The gate of a routing decision (SPEC §5 model-router): premium is never silent."""

from __future__ import annotations

from ..core._gate import Gate
from ..schemas import RoutingDecision

PREMIUM_WORDS = ("premium", "visual_premium")


def routing_gate(decision: RoutingDecision) -> Gate:
    """FAIL when premium is used without a justification or without escalation conditions
    (the schema already requires the task type, capability and cost impact)."""
    failures = []
    premium = any(w in decision.tier_selected.lower() for w in PREMIUM_WORDS)
    if premium and len(decision.justification.split()) < 4:
        failures.append(f"{decision.task}: the premium tier needs a written justification")
    if premium and not decision.escalation_conditions:
        failures.append(f"{decision.task}: a premium route names its escalation conditions")
    return Gate.from_failures(failures)
