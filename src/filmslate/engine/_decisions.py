"""Routing decisions: every ROUTING_DECISION the runner writes.

A batch plan routes a scene's shots by hero tier within the premium quota; a provider switch
records moving a tier to the model config now names (no silent switches); an escalation
records moving a failing skill up one tier. Each states its cost impact.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..core._config import Config
from ..core._errors import GateFailed, InputNotReady, ProviderError, RunError, UserError
from ..core._names import scene_of
from ..core._video_prices import video_cost
from ..rules._routing import routing_gate
from ..schemas import schema_for
from ..store import _runlog
from ..store._store import Record, Store
from ._gateway import Gateway, TextRequest
from ._guards import last_model
from ._router import NEXT_TIER, Route, Router
from ._skill import Skill
from ._visual_switch import VISUAL_TIERS, visual_switch_decision, visual_tier_name


def cost_impact(gateway: Gateway, old: Route, new: Route) -> float:
    """Worst-case cost difference of one call at the new tier versus the old."""
    sample = TextRequest(
        skill="estimate",
        target="PROJECT",
        attempt=1,
        model=old.model,
        system="",
        prompt="x" * 6000,
        output_type=BaseModel,
    )
    try:
        before = gateway.worst_case_cost(sample)
        after = gateway.worst_case_cost(TextRequest(**{**sample.__dict__, "model": new.model}))
    except ProviderError:
        return 0.0
    return round(after - before, 6)


def record_switch(store: Store, router: Router, gateway: Gateway, tier: str, reason: str) -> Record:
    """Write the ROUTING_DECISION for moving a tier to the model config now names (a visual
    tier's, with its cost comparison and QC sample: ``_visual_switch``)."""
    if visual_tier_name(tier) is not None:
        payload, used, entry = visual_switch_decision(store, router.config, tier, reason)
        return _write(store, payload, used, entry=entry)
    if tier not in NEXT_TIER:
        raise UserError(
            f"no tier {tier!r}: the text tiers are {', '.join(NEXT_TIER)} and the visual "
            f"tiers {', '.join(VISUAL_TIERS)}",
            tier=tier,
        )
    new = router.model_for(tier)
    previous = last_model(store, tier)
    old = previous[1] if previous else "(none)"
    if previous is not None and old == new:
        raise RunError(f"tier {tier} already runs on {new}: nothing to switch")
    impact = cost_impact(gateway, Route(tier, old, ""), Route(tier, new, "")) if previous else 0.0
    task = f"PROVIDER_SWITCH_{tier.upper()}"
    payload = schema_for("ROUTING_DECISION").model_validate(
        {
            "task": task,
            "task_type": "provider switch",
            "required_capability": f"the {tier} tier",
            "tier_selected": tier,
            "model": new,
            "justification": f"{reason}. Switching {tier} from {old} to {new}; worst-case "
            f"cost per call changes by {impact:+.4f}.",
            "cost_impact": impact,
            "escalation_conditions": [
                "visual tiers: a QC sample and a lock-consistency test on the new provider "
                "before batch generation",
                "revert if the new model fails gates it passed",
            ],
        }
    )
    return _write(
        store,
        payload,
        entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            skill_name="model-router",
            event="routing",
            outcome="SWITCH",
            tier=tier,
            model_used=new,
            estimated_cost=impact,
            target="PROJECT",
            notes=f"{old} -> {new}: {reason}",
        ),
    )


def plan_batch(store: Store, router: Router, config: Config, target: str) -> Record:
    """Route every planned shot of a scene (or PROJECT) by hero tier within the premium
    quota, and record the plan as a ROUTING_DECISION with its projected cost."""
    rows, used = _planned_shots(store, target)
    premium, lines, total = 0, [], 0.0
    for row in rows:
        route = router.route_visual(row.hero_tier, len(rows), premium)
        premium += route.tier == "visual_premium"
        tier = route.tier.removeprefix("visual_")
        cost = config.regen.multiplier(row.regen_risk_estimate) * sum(
            video_cost(config, route.model, res, row.duration_s) for res in ("proxy", "final")
        )
        total += cost
        lines.append(
            f"{row.shot_id}: hero {row.hero_tier} -> {tier} ({route.model}), "
            f"{row.duration_s:g}s, projected {cost:.2f}: {route.reason}"
        )
    task = f"BATCH_PLAN_{target}"
    payload = schema_for("ROUTING_DECISION").model_validate(
        {
            "task": task,
            "task_type": "batch generation plan",
            "required_capability": "video generation by hero tier (A premium, B mid, C low)",
            "tier_selected": "visual by hero tier",
            "model": "per shot, see justification",
            "justification": "\n".join(lines),
            "cost_impact": round(total, 4),
            "escalation_conditions": [
                "a shot escalates only after QC failure and regen-analyzer, within quota",
                f"premium visual quota {config.quotas.premium_visual_pct:g}% of shots",
            ],
        }
    )
    same = store.same_as_latest("ROUTING_DECISION", task, payload, used)
    if same is not None:
        return same  # the shot lists did not change: the plan stands
    return _write(
        store,
        payload,
        inputs=used,
        entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            skill_name="model-router",
            event="routing",
            outcome="BATCH_PLAN",
            target=target,
            scene_id=scene_of(target),
            estimated_cost=round(total, 4),
            notes=f"{len(rows)} shots, {premium} premium",
        ),
    )


def _write(
    store: Store, payload: Any, inputs: list[str] | None = None, *, entry: _runlog.LogEntry
) -> Record:
    """Store a ROUTING_DECISION that passes model-router's gate; a premium route without its
    justification is a bug of the writer and is never stored silently."""
    gate = routing_gate(payload)
    if not gate.passed:
        raise GateFailed(
            f"{payload.task}: the routing decision fails model-router's gate: "
            + "; ".join(gate.reasons),
            task=payload.task,
        )
    return store.write("ROUTING_DECISION", payload.task, payload, inputs=inputs or [], entry=entry)


def _planned_shots(store: Store, target: str) -> tuple[list[Any], list[str]]:
    """The shot-list rows a plan covers and the shot-list versions they came from."""
    rows: list[Any] = []
    used: list[str] = []
    for record in store.latest_of_each("SHOTLIST"):
        if target in ("PROJECT", record.name.subject):
            rows.extend(getattr(store.load(record.name), "rows", []))
            used.append(record.filename)
    if not rows:
        raise InputNotReady(f"no shot list for {target}: run shot-planner first")
    return rows, used


def write_escalation(
    store: Store,
    gateway: Gateway,
    config: Config,
    skill_cls: type[Skill],
    target: str,
    old: Route,
    new: Route,
    reasons: str,
) -> None:
    """Record a failing skill's move up one tier, with its cost impact."""
    impact = cost_impact(gateway, old, new)
    model = schema_for("ROUTING_DECISION")
    task = f"{skill_cls.name.upper().replace('-', '_')}_{target}_ESCALATION"
    revisions = config.loops.max_revisions
    payload = model.model_validate(
        {
            "task": task,
            "task_type": f"{skill_cls.layer} skill {skill_cls.name}",
            "required_capability": f"a {new.tier}-tier model to pass the {skill_cls.name} gate",
            "tier_selected": new.tier,
            "model": new.model,
            "justification": f"gate FAIL persisted after {revisions} "
            f"revision(s) at {old.tier} ({old.model}): {reasons}",
            "cost_impact": impact,
            "escalation_conditions": [
                f"escalated from {old.tier} after {revisions} revisions",
                f"next failure at {new.tier} escalates again or hard-stops at the top tier",
            ],
        }
    )
    _write(
        store,
        payload,
        entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            skill_name="model-router",
            event="routing",
            target=target,
            scene_id=scene_of(target),
            tier=new.tier,
            model_used=new.model,
            estimated_cost=impact,
            outcome="ESCALATE",
            notes=f"{skill_cls.name}: {old.tier} -> {new.tier}, cost impact {impact:+.4f}",
        ),
    )
