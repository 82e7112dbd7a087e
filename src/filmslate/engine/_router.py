"""The model router: tiers to models, cheapest viable first, escalation only after a FAIL.

Skills name tiers; the project's config names the model serving each tier. The router picks,
checks the escalation rules and quotas of SPEC §7, and says why, so that every escalation can
be written down as a ROUTING_DECISION with its cost impact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core._config import Config
from ..core._errors import HardStop
from ..core._names import HERO_VISUAL
from ..store._store import Store

BUILTIN = "builtin"
# The escalation ladder of the text tiers; vision and research are specialised tiers whose
# next step up is the premium tier (the strongest generalist) and then nothing.
NEXT_TIER = {
    "throughput": "judgment",
    "judgment": "premium",
    "vision": "premium",
    "research": "premium",
    "premium": None,
}


@dataclass(frozen=True)
class Route:
    """Which model serves a run, at which tier, and why."""

    tier: str
    model: str
    reason: str
    escalated_from: str = ""


@dataclass(frozen=True)
class EscalationCheck:
    """What SPEC §7 asks before escalating: every flag must be true to go up a tier."""

    gate_failed: bool = True
    inputs_complete: bool = True  # no incomplete lock / ambiguous prompt upstream
    analyzer_ran: bool = True  # for generation: regen-analyzer ran after failures
    cost_consulted: bool = True  # cost-optimizer was consulted (paid tiers)
    complexity_ok: bool = True  # the shot is not simply too complex
    blockers: list[str] = field(default_factory=list)

    def refusals(self) -> list[str]:
        """Why escalation is not allowed now (empty when it is)."""
        rules = [
            (self.gate_failed, "no gate has failed: escalation only follows a FAIL"),
            (self.inputs_complete, "an input lock is incomplete: fix it, do not escalate"),
            (self.analyzer_ran, "regen-analyzer has not run: analyse before escalating"),
            (self.cost_consulted, "cost-optimizer was not consulted: run `slate cost`"),
            (self.complexity_ok, "the shot is too complex: simplify instead"),
        ]
        return [why for ok, why in rules if not ok] + list(self.blockers)


class Router:
    """Routing decisions for one project."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config

    def model_for(self, tier: str) -> str:
        """The configured model of a text tier."""
        return str(getattr(self.config.tiers, tier))

    def route(self, tier: str, uses_model: bool) -> Route:
        """The cheapest viable route: the skill's own tier, or builtin for deterministic work."""
        if not uses_model:
            return Route("throughput", BUILTIN, "deterministic skill: code does it exactly")
        return Route(tier, self.model_for(tier), f"skill default tier {tier}")

    def escalate(self, current: Route, layer: str, check: EscalationCheck) -> Route:
        """One tier up, or a HardStop saying why not (top reached, rule or quota)."""
        refusals = check.refusals()
        if refusals:
            raise HardStop(
                "cannot escalate from tier " + current.tier + ": " + "; ".join(refusals),
                tier=current.tier,
                reasons=refusals,
            )
        nxt = NEXT_TIER.get(current.tier)
        if nxt is None:
            raise HardStop(
                f"the gate still fails at the top tier ({current.tier}, "
                f"{current.model}): a person must decide. Revise the inputs, or "
                "record `slate override TARGET --reason ... --cost-impact 0`.",
                tier=current.tier,
            )
        if nxt == "premium" and layer == "narrative":
            self._check_premium_quota()
        return Route(
            nxt,
            self.model_for(nxt),
            f"gate FAIL persisted at {current.tier}",
            escalated_from=current.tier,
        )

    def _check_premium_quota(self) -> None:
        """Tier 3 runs may be at most the configured share of narrative runs (min one)."""
        total, premium = self.store.conn.execute(
            "SELECT count(*), coalesce(sum(tier = 'premium'), 0) FROM runlog "
            "WHERE event = 'run' AND skill_name IN (SELECT name FROM skill_layers "
            "WHERE layer = 'narrative')"
        ).fetchone()
        pct = self.config.quotas.tier3_narrative_pct
        allowed = max(1, math.floor(pct / 100 * (total + 1)))
        if premium + 1 > allowed:
            raise HardStop(
                f"Tier 3 quota reached: {premium} of {total} narrative runs already "
                f"used the premium tier (quota {pct:.0f}%). Revise at the current "
                "tier or raise quotas.tier3_narrative_pct.",
                quota=pct,
            )

    def route_visual(self, hero_tier: str, shots_total: int, premium_shots: int) -> Route:
        """Visual routing by hero tier: A premium (within quota), B mid, C low."""
        visual = HERO_VISUAL[hero_tier]
        reason = f"hero tier {hero_tier} -> {visual} visual tier"
        pct = self.config.quotas.premium_visual_pct
        if visual == "premium" and premium_shots + 1 > max(1, math.floor(pct / 100 * shots_total)):
            visual = "mid"
            reason = (
                f"hero tier A, but the premium visual quota ({pct:.0f}% of "
                f"{shots_total} shots) is used: routed to mid"
            )
        return Route(f"visual_{visual}", str(getattr(self.config.visual, visual)), reason)
