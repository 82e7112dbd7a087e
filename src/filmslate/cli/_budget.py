"""Money and routing: plan-batch, switch, override, budget and cost."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ._common import (
    ProjectOpt,
    SceneOpt,
    TargetOpt,
    open_project,
    out,
    plain,
    runner_for,
    target_of,
)
from ._run import print_result

if TYPE_CHECKING:
    from ..engine._runner import Runner
    from ..store._project import Project

commands = typer.Typer()


@commands.command("plan-batch")
def plan_batch(
    target: TargetOpt = None, scene: SceneOpt = None, project: ProjectOpt = None
) -> None:
    """Route every planned shot by hero tier and record the batch plan (ROUTING_DECISION)."""
    with open_project(project) as p:
        record = runner_for(p).plan_batch(target_of(scene, None, target))
        sys.stdout.write(p.store.read(record.name).decode("utf-8"))


@commands.command()
def switch(
    tier: Annotated[
        str,
        typer.Argument(
            help="The tier whose model changed: a text tier (throughput, judgment, premium, "
            "vision, research) or a visual one (visual_premium, visual_mid, visual_low)."
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why the provider changes.")],
    project: ProjectOpt = None,
) -> None:
    """Record a provider switch for a tier (a ROUTING_DECISION with a cost comparison; a
    visual tier's also names its QC sample, rendered and graded first on the new model)."""
    with open_project(project) as p:
        record = runner_for(p).record_switch(tier, reason)
        out.print(f"switch recorded: {record.name.relpath}")


@commands.command()
def override(
    target: Annotated[str, typer.Argument(help="The stopped target (PROJECT, S03, ...)")],
    reason: Annotated[str, typer.Option(help="Why the stop may be passed.")],
    cost_impact: Annotated[float, typer.Option(help="Money this lets through.")],
    by: Annotated[str, typer.Option(help="Who approves.")] = "",
    project: ProjectOpt = None,
) -> None:
    """Record a human override of one hard stop (logged, versioned, never silent)."""
    from ..engine._override import record_override

    with open_project(project) as p:
        record = record_override(p, target, reason, cost_impact, by)
        out.print(f"override recorded: {record.name.relpath}")


@commands.command()
def budget(project: ProjectOpt = None) -> None:
    """Write and show BUDGET_STATUS (budget-gates)."""
    with open_project(project) as p:
        result = runner_for(p).run("budget-gates", "PROJECT", force=True)
        sys.stdout.write(p.store.read(result.records[0].name).decode("utf-8"))


@commands.command()
def cost(
    target: TargetOpt = None,
    scene: SceneOpt = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Over the cap: simplify the shot lists until the projection fits "
            "(new SHOTLIST versions), or hard-stop.",
        ),
    ] = False,
    project: ProjectOpt = None,
) -> None:
    """Write and show a COST_REPORT (cost-optimizer) for PROJECT or a scene, then the cost
    floor (accepted seconds x the models' prices) beside the spend, per scene and film."""
    with open_project(project) as p:
        if apply:
            _apply_cost_plan(runner_for(p), target_of(scene, None, target))
            return
        result = runner_for(p).run("cost-optimizer", target_of(scene, None, target), force=True)
        sys.stdout.write(p.store.read(result.records[0].name).decode("utf-8"))
        _print_floor(p, target_of(scene, None, target))
        print_result(result)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _print_floor(p: Project, target: str) -> None:
    """The zero-regen floor beside the spend, per scene and for the film (issue 12 §9)."""
    from ..engine._cost_floor import cost_floor

    report = cost_floor(p)
    lines = [s for s in report.scenes if target in ("PROJECT", s.scope)]
    out.print(f"\ncost floor ({report.currency}, zero-regen: every accepted take rendered once)")
    out.print(
        f"{'scope':<8} {'accepted':>9} {'seconds':>8} {'floor':>10} {'video spent':>12} "
        f"{'ratio':>6} {'all spent':>10}"
    )
    for line in [*lines, report.film] if target == "PROJECT" else lines:
        ratio = "-" if line.ratio is None else f"{line.ratio:.2f}"
        out.print(
            f"{line.scope:<8} {f'{line.accepted}/{line.shots}':>9} {line.accepted_s:>8.1f} "
            f"{_money(line.floor):>10} {_money(line.video_spend):>12} {ratio:>6} "
            f"{_money(line.total_spend):>10}"
        )
    for model in report.film.unpriced:
        out.print(f"[yellow]no price for {model}[/]: add it to \\[prices.video] in filmslate.toml")


def _apply_cost_plan(runner: Runner, target: str) -> None:
    from ..workflow._costloop import apply_cost_plan

    plan = apply_cost_plan(runner, target)
    money = plan.currency
    out.print(
        f"cost plan {target}: projected {plan.projected_before:.2f} {money}; "
        f"{plan.room:.2f} left under the {plan.cap_level} cap {plan.cap_scope} "
        f"(cap {plan.cap:.2f}, {plan.committed:.2f} committed)"
    )
    if plan.status == "within_cap":
        out.print("fits: nothing changed")
        return
    for change in plan.changes:
        out.print(f"  {plain(change.describe())}")
    for kept in plan.kept:
        out.print(f"  kept: {kept}")
    for old, new in plan.renumbered.items():
        out.print(f"  renumbered {old} -> {new}")
    out.print(
        f"wrote {', '.join(r.filename for r in plan.records)}; projected now "
        f"{plan.projected_after:.2f}"
    )
    if plan.stale_renders:
        out.print(
            "[yellow]made stale by the new shot list[/] (re-rendering costs money): "
            + ", ".join(plan.stale_renders)
        )
    colour = "green" if plan.verdict == "PASS" else "red"
    report = plan.report.filename if plan.report else "-"
    out.print(f"cost-optimizer {target}: [{colour}]{plan.verdict}[/] -> {report}")
    for reason in plan.reasons:
        out.print(f"  - {plain(reason)}")
    if plan.verdict != "PASS":
        raise typer.Exit(1)
