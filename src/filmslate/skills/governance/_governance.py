"""Governance skills: cost-optimizer and budget-gates (deterministic, zero cost).

Both read the project's budget facts through the runner's read-only ``BudgetView`` and shot
lists through their declared inputs; neither touches the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ...core._budget import BudgetView, CapState, Level
from ...core._config import Config
from ...core._episodes import EPISODE_RE
from ...core._gate import Gate
from ...core._names import HERO_VISUAL, scene_of
from ...core._video_prices import video_cost
from ...engine._skill import REGISTRY, Context, Media, Need, Skill
from ...schemas import Artifact, BudgetStatus, CostReport, ScriptScene, ShotList, ShotRow, VoiceLock
from ._cost_target import check_cost_target
from ._speech_cost import SpeechCost, speech_cost
from ._vision_cost import shot_looks

ZERO = 1e-9
VISION = "vision"  # the cost report's line for the vision tier's looks


@dataclass(frozen=True)
class ShotLine:
    """One shot's projected cost: seconds x (proxy + final price per second) x regen
    multiplier, plus the vision tier's looks at it (``_vision_cost``; in ``cost``)."""

    shot_id: str
    seconds: float
    visual_tier: str
    model: str
    cost: float
    multiplier: float
    row: ShotRow
    vision: float = 0.0  # of ``cost``: the looks (QC's per take, times the multiplier)
    vision_once: float = 0.0  # of ``vision``: the looks made once (not multiplied)


def shot_line(row: ShotRow, config: Config) -> ShotLine:
    """The projected cost of one shot on the visual tier its hero tier routes to."""
    visual = HERO_VISUAL[row.hero_tier]
    model = str(getattr(config.visual, visual))
    # priced as the render reserves it: a per-clip model bills its snapped clip length
    clips = sum(video_cost(config, model, res, row.duration_s) for res in ("proxy", "final"))
    multiplier = config.regen.multiplier(row.regen_risk_estimate)
    looks = shot_looks(row, config)
    vision = looks.per_take * multiplier + looks.once
    return ShotLine(
        row.shot_id,
        row.duration_s,
        visual,
        model,
        clips * multiplier + vision,
        multiplier,
        row,
        vision,
        looks.once,
    )


def target_lines(lists: Mapping[str, ShotList], target: str, config: Config) -> list[ShotLine]:
    """The cost lines of the target's shots: one scene's, or every scene's for PROJECT."""
    return [
        shot_line(row, config)
        for scene, shotlist in sorted(lists.items())
        if target == "PROJECT" or scene == target
        for row in shotlist.rows
    ]


def projected_total(lines: list[ShotLine]) -> float:
    """The projection as the cost report states it (and as its gate compares it)."""
    return round(sum(line.cost for line in lines), 4)


def cap_scope(target: str, config: Config) -> tuple[Level, str]:
    """The cap a target's cost review answers to: its scene or episode cap, else the
    project cap."""
    if scene_of(target) == target and config.budget.scene_cap is not None:
        return "scene", target
    if EPISODE_RE.fullmatch(target) and config.budget.episode_cap is not None:
        return "episode", target
    return "project", "PROJECT"


def review_cap(target: str, config: Config, caps: Sequence[CapState]) -> CapState:
    """The target's cap as the ledger sees it (a scope with no spend yet: nothing committed)."""
    level, scope = cap_scope(target, config)
    found = next((c for c in caps if (c.level, c.scope) == (level, scope)), None)
    if found is not None:
        return found
    budget = config.budget
    cap = {"scene": budget.scene_cap, "episode": budget.episode_cap}.get(level, budget.project_cap)
    return CapState(level, scope, float(cap or 0.0), 0.0, 0.0, "ok")


def room_left(cap: CapState, config: Config) -> float:
    """What may still be committed under a cap before the ledger stops (cap incl. overrides)."""
    return cap.cap * config.budget.stop_pct / 100 - cap.committed


def budget_line(cap: CapState, config: Config) -> str:
    """Spend to date against the target's cap, so a review after new spend says something new
    (the ledger accepts only a COST_REPORT written after its warning mark as a review)."""
    return (
        f"budget: spent {cap.settled:.2f}, committed {cap.committed:.2f} of the {cap.scope} "
        f"{cap.level} cap {cap.cap:.2f} {config.budget.currency} ({cap.percent:.1f}%, "
        f"{cap.state}); {room_left(cap, config):.2f} left for the projected work"
    )


def _view_caps(ctx: Context) -> list[CapState]:
    view = ctx.params.get("budget_view")
    return list(view.caps) if isinstance(view, BudgetView) else []


def _recommendations(lines: list[ShotLine], ctx: Context) -> list[str]:
    max_clip = ctx.config.visual.max_clip_s
    recs = ["proxy first: every shot renders and passes QC at proxy resolution before final"]
    for line in lines:
        row = line.row
        if row.hero_tier == "C" and line.visual_tier != "low":
            recs.append(f"{line.shot_id}: downgrade this C shot to the low-cost visual tier")
        if row.duration_s > max_clip:
            recs.append(
                f"{line.shot_id}: split: {row.duration_s:g}s exceeds the {max_clip:g}s clip limit"
            )
        if row.regen_risk_estimate == "high":
            recs.append(
                f"{line.shot_id}: high regen risk: shorten, simplify blocking, "
                "storyboard before generating"
            )
        elif row.complexity_level == "high" and row.duration_s > 5:
            recs.append(f"{line.shot_id}: complex shot over 5s: shorten or split")
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for line in lines:
        groups[(line.row.set_id, line.row.scene_id)].append(line.shot_id)
    sets = sorted({key[0] for key in groups})
    if len(lines) > 1:
        recs.append(
            f"group generation by set and lighting: {len(sets)} set batch(es) ({', '.join(sets)})"
        )
    return recs


class CostOptimizer(Skill):
    """Projects production cost before batch generation and recommends reductions.

    Each shot's clips (proxy and final) times its regen multiplier and, with a vision model
    on the vision tier, the looks it will get (storyboard-generator's gate; qc-grader's per
    take with rubric_source "model"; visual-continuity's with ``[qc] visual_continuity``),
    priced as the gateway reserves them and reported on a ``vision`` line; the scratch
    voices of every dialogue line of the target's scripts, spoken once by the ``[audio]``
    model (nothing offline, else ``price_per_1k_chars``), on a ``speech (<model>)`` line with
    their seconds. The projection is judged against what is left under the target's cap
    (the cap, raised by any budget override, less what the ledger has committed).
    ``_costloop.apply_cost_plan`` applies the reductions; this skill only reports.
    """

    name: ClassVar[str] = "cost-optimizer"
    layer: ClassVar[Any] = "governance"
    tier: ClassVar[Any] = "throughput"
    loop: ClassVar[str] = "cost"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SHOTLIST", "within", optional=True),
        # the dialogue the scratch voices will speak (issue 15): the lines and their voices
        Need("SCENES", optional=True, lineage=False),
        Need("SCRIPT", "within", optional=True),
        Need("VOICE_LOCK", "all", optional=True, lineage=False),
    )
    produces: ClassVar[tuple[str, ...]] = ("COST_REPORT",)
    target_scope: ClassVar[Any] = "target"
    uses_model: ClassVar[bool] = False
    wants_budget_view: ClassVar[bool] = True
    summary: ClassVar[str] = "duration x cost/s x regen multiplier; reduction advice"

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The cost report for the target (a scene or PROJECT)."""
        check_cost_target(ctx)  # an episode or scene the project has (issue 16)
        lines = target_lines(ctx.inputs.all("SHOTLIST"), ctx.target, ctx.config)
        by_tier: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for line in lines:
            by_tier[line.visual_tier][0] += line.seconds
            by_tier[line.visual_tier][1] += line.cost - line.vision
            if line.vision > ZERO:  # the vision tier's looks: a line of their own
                by_tier[VISION][1] += line.vision
        base = sum(
            (line.cost - line.vision_once) / line.multiplier + line.vision_once for line in lines
        )
        total = sum(line.cost for line in lines)
        premium = [line for line in lines if line.visual_tier == "premium"]
        quota = ctx.config.quotas.premium_visual_pct
        realloc = []
        if lines and 100 * len(premium) / len(lines) > quota:
            realloc.append(
                f"{len(premium)} of {len(lines)} shots are on the premium visual "
                f"tier (quota {quota:g}%): move the least face-critical A shots to "
                "mid"
            )
        cap = review_cap(ctx.target, ctx.config, _view_caps(ctx))
        speech = _speech(ctx)
        tiers = [
            {"tier": t, "seconds": round(s, 3), "cost": round(c, 4)}
            for t, (s, c) in sorted(by_tier.items())
        ]
        if speech.lines:
            tiers.append({"tier": speech.tier, "seconds": speech.seconds, "cost": speech.cost})
        return [
            CostReport(
                target=ctx.target,
                currency=ctx.config.budget.currency,
                total_duration_s=round(sum(line.seconds for line in lines), 3),
                cost_per_tier=tiers,
                regen_multiplier=round(total / base, 4) if base > ZERO else 1.0,
                projected_total=round(projected_total(lines) + speech.cost, 4),
                high_risk_shots=[
                    line.shot_id for line in lines if line.row.regen_risk_estimate == "high"
                ],
                reduction_recommendations=_recommendations(lines, ctx),
                tier_reallocation_suggestions=[
                    *(realloc or ["tier allocation within quota"]),
                    budget_line(cap, ctx.config),
                ],
            )
        ]

    def gate(self, outputs: list[Artifact], ctx: Context) -> Gate:
        """FAIL when the projection does not fit under the cap or premium use breaks its
        quota."""
        report = outputs[0]
        assert isinstance(report, CostReport)
        failures = []
        cap = review_cap(ctx.target, ctx.config, _view_caps(ctx))
        room = room_left(cap, ctx.config)
        if report.projected_total > room + ZERO:
            spent = (
                f" ({cap.committed:.2f} committed, {room:.2f} left)"
                if room < cap.cap - ZERO
                else ""
            )
            failures.append(
                f"projected {report.projected_total:.2f} exceeds the {cap.level} "
                f"cap {cap.cap:.2f}{spent}: simplify, downgrade or split before "
                "generating (`slate cost --apply` applies the reductions)"
            )
        failures.extend(
            f"premium overuse: {s}"
            for s in report.tier_reallocation_suggestions
            if "quota" in s and "within" not in s
        )
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
        actions = [
            f"{c.level} {c.scope}: {c.state} at {c.percent:.1f}% of {c.cap:.2f}"
            for c in view.caps
            if c.state != "ok"
        ]
        actions += [f"hard stop open: {s}" for s in view.open_stops]
        for c in view.caps:
            if c.state != "warning":
                continue
            where = c.scope if c.level != "shot" else c.scope.split("_SH")[0]
            actions.append(
                f"{c.scope}: cost review required (`slate cost --target {where}`)"
                if f"{c.level}:{c.scope}" in view.reviews_pending
                else f"{c.scope}: cost review done (COST_REPORT after the warning); "
                "tier allocation reviewed"
            )
        violations = any(c.state == "stopped" for c in view.caps) or bool(view.open_stops)
        return [
            BudgetStatus(
                current_spend=round(project.settled, 6),
                projected_spend=round(project.settled + view.projected_remaining, 6),
                percent_used=round(project.percent, 3),
                caps=[
                    {
                        "level": c.level,
                        "target": c.scope,
                        "cap": round(c.cap, 4),
                        "spent": round(c.committed, 6),
                        "state": "hard_stop" if c.state == "stopped" else c.state,
                    }
                    for c in view.caps
                ],
                regen_count_by_shot=[
                    {"shot_id": s, "regens": n} for s, n in sorted(view.regens_by_shot.items())
                ],
                tier_usage=[
                    {
                        "tier": t,
                        "runs": view.runs_by_tier.get(t, 0),
                        "spend": round(view.spend_by_tier.get(t, 0.0), 6),
                    }
                    for t in sorted(set(view.runs_by_tier) | set(view.spend_by_tier))
                ],
                violations="YES" if violations else "NO",
                enforcement_actions=actions or ["none: every cap is below its warning point"],
            )
        ]

    def gate(self, outputs: list[Artifact], ctx: Context) -> Gate:
        """PASS: the status is a report; the ledger itself enforces the caps."""
        return Gate("PASS")


def _speech(ctx: Context) -> SpeechCost:
    scripts: dict[str, ScriptScene] = ctx.inputs.all("SCRIPT")
    locks: dict[str, VoiceLock] = ctx.inputs.all("VOICE_LOCK")
    return speech_cost(ctx.target, ctx.inputs.get("SCENES"), scripts, locks, ctx.config)


REGISTRY.register(CostOptimizer)
REGISTRY.register(BudgetGates)
