"""Governance skills: cost-optimizer and budget-gates (deterministic, zero cost).

Both read the project's budget facts through the runner's read-only ``BudgetView`` and shot
lists through their declared inputs; neither touches the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._budget import CapState
from ._router import HERO_VISUAL
from ._skill import REGISTRY, Context, Gate, Media, Need, Skill
from ._video_prices import price_per_second
from .schemas import Artifact, BudgetStatus, CostReport, ShotList

ZERO = 1e-9


@dataclass(frozen=True)
class BudgetView:
    """A read-only snapshot of budget facts, prepared by the runner for governance skills."""

    caps: list[CapState]
    spend_by_tier: dict[str, float] = field(default_factory=dict)
    runs_by_tier: dict[str, int] = field(default_factory=dict)
    regens_by_shot: dict[str, int] = field(default_factory=dict)
    open_stops: list[str] = field(default_factory=list)
    projected_remaining: float = 0.0


@dataclass
class _Line:
    shot_id: str
    seconds: float
    visual_tier: str
    model: str
    cost: float
    multiplier: float
    row: Any


def _shot_lines(ctx: Context) -> list[_Line]:
    lists: dict[str, ShotList] = ctx.inputs.all("SHOTLIST")
    scenes = None if ctx.target == "PROJECT" else {ctx.target}
    lines = []
    for scene, shotlist in sorted(lists.items()):
        if scenes is not None and scene not in scenes:
            continue
        for row in shotlist.rows:
            visual = HERO_VISUAL[row.hero_tier]
            model = str(getattr(ctx.config.visual, visual))
            per_second = (price_per_second(ctx.config, model, "proxy")
                          + price_per_second(ctx.config, model, "final"))
            multiplier = ctx.config.regen.multiplier(row.regen_risk_estimate)
            lines.append(_Line(row.shot_id, row.duration_s, visual, model,
                               row.duration_s * per_second * multiplier, multiplier, row))
    return lines


def _recommendations(lines: list[_Line], ctx: Context) -> list[str]:
    max_clip = ctx.config.visual.max_clip_s
    recs = ["proxy first: every shot renders and passes QC at proxy resolution before final"]
    for line in lines:
        row = line.row
        if row.hero_tier == "C" and line.visual_tier != "low":
            recs.append(f"{line.shot_id}: downgrade this C shot to the low-cost visual tier")
        if row.duration_s > max_clip:
            recs.append(f"{line.shot_id}: split: {row.duration_s:g}s exceeds the "
                        f"{max_clip:g}s clip limit")
        if row.regen_risk_estimate == "high":
            recs.append(f"{line.shot_id}: high regen risk: shorten, simplify blocking, "
                        "storyboard before generating")
        elif row.complexity_level == "high" and row.duration_s > 5:
            recs.append(f"{line.shot_id}: complex shot over 5s: shorten or split")
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for line in lines:
        groups[(line.row.set_id, line.row.scene_id)].append(line.shot_id)
    sets = sorted({key[0] for key in groups})
    if len(lines) > 1:
        recs.append(f"group generation by set and lighting: {len(sets)} set batch(es) "
                    f"({', '.join(sets)})")
    return recs


class CostOptimizer(Skill):
    """Projects production cost before batch generation and recommends reductions."""

    name: ClassVar[str] = "cost-optimizer"
    layer: ClassVar[Any] = "governance"
    tier: ClassVar[Any] = "throughput"
    loop: ClassVar[str] = "cost"
    needs: ClassVar[tuple[Need, ...]] = (Need("SHOTLIST", "all", optional=True),)
    produces: ClassVar[tuple[str, ...]] = ("COST_REPORT",)
    target_scope: ClassVar[Any] = "target"
    uses_model: ClassVar[bool] = False
    summary: ClassVar[str] = "duration x cost/s x regen multiplier; reduction advice"

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The cost report for the target (a scene or PROJECT)."""
        lines = _shot_lines(ctx)
        by_tier: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for line in lines:
            by_tier[line.visual_tier][0] += line.seconds
            by_tier[line.visual_tier][1] += line.cost
        base = sum(line.cost / line.multiplier for line in lines)
        total = sum(line.cost for line in lines)
        premium = [line for line in lines if line.visual_tier == "premium"]
        quota = ctx.config.quotas.premium_visual_pct
        realloc = []
        if lines and 100 * len(premium) / len(lines) > quota:
            realloc.append(f"{len(premium)} of {len(lines)} shots are on the premium visual "
                           f"tier (quota {quota:g}%): move the least face-critical A shots to "
                           "mid")
        return [CostReport(
            target=ctx.target, currency=ctx.config.budget.currency,
            total_duration_s=round(sum(line.seconds for line in lines), 3),
            cost_per_tier=[{"tier": t, "seconds": round(s, 3), "cost": round(c, 4)}
                           for t, (s, c) in sorted(by_tier.items())],
            regen_multiplier=round(total / base, 4) if base > ZERO else 1.0,
            projected_total=round(total, 4),
            high_risk_shots=[line.shot_id for line in lines
                             if line.row.regen_risk_estimate == "high"],
            reduction_recommendations=_recommendations(lines, ctx),
            tier_reallocation_suggestions=realloc or ["tier allocation within quota"])]

    def gate(self, outputs: list[Artifact], ctx: Context) -> Gate:
        """FAIL when the projection breaks the cap or premium use breaks its quota."""
        report = outputs[0]
        assert isinstance(report, CostReport)
        failures = []
        cap = ctx.config.budget.project_cap if ctx.target == "PROJECT" else \
            ctx.config.budget.scene_cap
        if cap is not None and report.projected_total > cap + ZERO:
            failures.append(f"projected {report.projected_total:.2f} exceeds the "
                            f"{'project' if ctx.target == 'PROJECT' else 'scene'} cap "
                            f"{cap:.2f}: simplify, downgrade or split before generating")
        failures.extend(f"premium overuse: {s}" for s in report.tier_reallocation_suggestions
                        if "quota" in s and "within" not in s)
        return Gate.from_failures(failures)


class BudgetGates(Skill):
    """Snapshots spend against every cap and lists what is being enforced."""

    name: ClassVar[str] = "budget-gates"
    layer: ClassVar[Any] = "governance"
    tier: ClassVar[Any] = "throughput"
    loop: ClassVar[str] = "cost"
    needs: ClassVar[tuple[Need, ...]] = (Need("COST_REPORT", "target", optional=True),)
    produces: ClassVar[tuple[str, ...]] = ("BUDGET_STATUS",)
    target_scope: ClassVar[Any] = "project"
    uses_model: ClassVar[bool] = False
    wants_budget_view: ClassVar[bool] = True
    summary: ClassVar[str] = "spend vs caps, regen counts, tier usage, violations"

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The budget status of the whole project."""
        view: BudgetView = ctx.params["budget_view"]
        project = next(c for c in view.caps if c.level == "project")
        actions = [f"{c.level} {c.scope}: {c.state} at {c.percent:.1f}% of {c.cap:.2f}"
                   for c in view.caps if c.state != "ok"]
        actions += [f"hard stop open: {s}" for s in view.open_stops]
        for c in view.caps:
            if c.state == "warning":
                actions.append(f"{c.scope}: cost review required (`slate cost --target "
                               f"{c.scope if c.level != 'shot' else c.scope.split('_SH')[0]}`)")
        violations = any(c.state == "stopped" for c in view.caps) or bool(view.open_stops)
        return [BudgetStatus(
            current_spend=round(project.settled, 6),
            projected_spend=round(project.settled + view.projected_remaining, 6),
            percent_used=round(project.percent, 3),
            caps=[{"level": c.level, "target": c.scope, "cap": round(c.cap, 4),
                   "spent": round(c.committed, 6),
                   "state": "hard_stop" if c.state == "stopped" else c.state}
                  for c in view.caps],
            regen_count_by_shot=[{"shot_id": s, "regens": n}
                                 for s, n in sorted(view.regens_by_shot.items())],
            tier_usage=[{"tier": t, "runs": view.runs_by_tier.get(t, 0),
                         "spend": round(view.spend_by_tier.get(t, 0.0), 6)}
                        for t in sorted(set(view.runs_by_tier) | set(view.spend_by_tier))],
            violations="YES" if violations else "NO",
            enforcement_actions=actions or ["none: every cap is below its warning point"])]

    def gate(self, outputs: list[Artifact], ctx: Context) -> Gate:
        """PASS: the status is a report; the ledger itself enforces the caps."""
        return Gate("PASS")


REGISTRY.register(CostOptimizer)
REGISTRY.register(BudgetGates)
