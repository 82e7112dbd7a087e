"""model-router (SPEC §5, §7): the seed's routing skill, built into the engine.

The engine routes before every skill run and every generation (``filmslate.engine._router``):
the tier a skill declares maps to the model ``[tiers]`` names; visuals go by hero tier (A
premium within the quota, B mid, C low); a tier goes up only after a gate FAIL, one step at a
time, and past the top a hard stop is recorded. Each decision that changes the plan (an
escalation, a tier switch, a scene's batch plan) is written as a ROUTING_DECISION, which
``routing_gate`` judges: premium must be justified, the cost impact stated, and the
conditions for going further up named.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...core._gate import Gate
from ...engine._skill import REGISTRY, AutomaticSkill, Context, Layer, Tier
from ...rules._routing import routing_gate
from ...schemas import RoutingDecision


@REGISTRY.register
class ModelRouter(AutomaticSkill):
    """Cheapest viable tier for every run; escalation only after a gate FAIL."""

    name: ClassVar[str] = "model-router"
    layer: ClassVar[Layer] = "governance"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "cost"
    produces: ClassVar[tuple[str, ...]] = ("ROUTING_DECISION",)
    summary: ClassVar[str] = "routes every run by tier and hero tier; writes ROUTING_DECISION"

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """Every ROUTING_DECISION written passes ``routing_gate``."""
        failures = [
            r for o in outputs if isinstance(o, RoutingDecision) for r in routing_gate(o).reasons
        ]
        return Gate.from_failures(failures)

    how: ClassVar[str] = (
        "the engine routes before every run and generation. See a scene's "
        "plan with `slate plan-batch --scene S03`, record a model change "
        "with `slate switch TIER --reason ...`, and read decisions with "
        "`slate log --skill model-router`"
    )


__all__ = ["ModelRouter", "routing_gate"]
