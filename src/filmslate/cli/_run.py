"""Running skills: skills, run (one skill, a loop, or the whole production) and submit."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core._errors import UserError
from ._common import (
    ProjectOpt,
    SceneOpt,
    ShotOpt,
    TargetOpt,
    err,
    open_project,
    out,
    plain,
    runner_for,
    target_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine._runner import Runner, RunResult
    from ..store._project import Project

commands = typer.Typer()


@commands.command()
def skills() -> None:
    """Every registered skill: layer, tier, loop, inputs and outputs."""
    from rich.table import Table

    from ..engine._skill import load_skills

    table = Table("skill", "layer", "tier", "loop", "runs on", "inputs", "produces")
    table.columns[0].no_wrap = True
    for skill in load_skills():
        table.add_row(
            skill.name,
            skill.layer,
            "builtin" if not skill.uses_model else skill.tier,
            skill.loop or "-",
            skill.target_scope,
            ", ".join(n.describe() for n in skill.needs) or "-",
            ", ".join(skill.produces),
        )
    out.print(table)


def print_result(result: RunResult) -> None:
    """One run's outcome: up to date, waiting for a handoff answer, or each gate's verdict."""
    if result.status == "up_to_date":
        out.print(f"{result.skill} {result.target}: up to date (nothing to do)")
        return
    if result.status == "waiting":
        out.print(
            f"{result.skill} {result.target}: [yellow]waiting[/] for an answer to "
            f"{result.task_path}\nanswer it, then `slate submit ANSWER.json`"
        )
        return
    colours = {"PASS": "green", "FIX": "yellow", "FAIL": "red"}
    for attempt, gate in result.earlier:
        out.print(
            f"{result.skill} {result.target}: attempt {attempt} "
            f"[{colours[gate.verdict]}]{gate.verdict}[/] (revised): "
            + plain("; ".join(gate.reasons))
        )
    colour = colours[result.gate.verdict]
    names = ", ".join(r.filename for r in result.records)
    route = result.route
    out.print(
        f"{result.skill} {result.target}: [{colour}]{result.gate.verdict}[/] -> {names}"
        f" (attempt {result.attempt}, {route.tier if route else '-'} "
        f"{route.model if route else ''}, cost {result.actual_cost:.4f})"
    )
    for reason in result.gate.reasons:
        out.print(f"  - {plain(reason)}")


@commands.command()
def run(
    skill: Annotated[
        str | None,
        typer.Argument(
            help="The skill (see `slate skills`) or loop (narrative, validation) to run; "
            "none: run everything missing or stale in loop order."
        ),
    ] = None,
    scene: SceneOpt = None,
    shot: ShotOpt = None,
    target: TargetOpt = None,
    force: Annotated[bool, typer.Option(help="Run even when up to date.")] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            help="local (in this process) or dbos (each paid job a durable DBOS workflow, "
            "on this process or `slate worker`s; docs/scale.md). Default: run.engine in "
            "filmslate.toml, else local."
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=256,
            help="With no skill: how many provider calls and jobs may be in flight at once "
            "(scenes' shots side by side; [providers.<name>] max_concurrent and "
            "requests_per_minute still apply). 1: one step after another.",
        ),
    ] = 1,
    project: ProjectOpt = None,
) -> None:
    """Run a skill (or a loop) on a target to PASS: revise on FAIL, escalate, or hard-stop.
    With no skill, run the whole production: everything missing or stale, in loop order."""
    from ..store._runlock import run_lock
    from ..workflow._dbos_jobs import run_engine
    from ..workflow._loops import LOOPS, run_loop

    with (
        open_project(project) as p,
        run_lock(p.root, f"slate run {skill or ''}".strip()),
        run_engine(p, engine) as attach,
    ):
        if skill is None:
            if scene or shot or target or force:
                raise UserError(
                    "`slate run` with no skill runs the whole production: name a "
                    "skill to use --scene, --shot, --target or --force"
                )
            _orchestrate(p, attach, jobs)
            return
        if jobs != 1:
            raise UserError("--jobs runs the whole production side by side: use it with no skill")
        if skill in LOOPS:
            with closing(attach(runner_for(p))) as runner:
                outcome = run_loop(runner, skill, target_of(scene, shot, target))
            out.print(plain(outcome.describe()), soft_wrap=True)
            if not outcome.passed:
                raise typer.Exit(1)
            return
        with closing(attach(runner_for(p))) as runner:
            result = runner.run(skill, target_of(scene, shot, target), force=force)
        print_result(result)
        if result.status == "done" and not result.gate.passed:
            raise typer.Exit(1)


def _orchestrate(p: Project, attach: Callable[[Runner], Runner], jobs: int = 1) -> None:
    """The semi-automated mode: progress bars while it runs, then the outcome."""
    from ..workflow._orchestrator import Orchestrator
    from ..workflow._progress import RichProgress
    from ..workflow._vision_preflight import refuse_blind_vision

    with closing(attach(runner_for(p))) as runner:
        refuse_blind_vision(runner)  # before any sheet, storyboard or proxy is paid for
        with RichProgress(out.console) as progress:
            try:
                orchestrator = Orchestrator(runner, progress)
                orchestrator.jobs = jobs  # --jobs N: many provider waits at once (_shots)
                outcome = orchestrator.run()
            except KeyboardInterrupt:
                progress.stop()
                err.print(
                    "[yellow]interrupted[/]: everything finished so far is stored; "
                    "`slate run` resumes where this stopped"
                )
                raise typer.Exit(130) from None
    colour = {"complete": "green", "waiting": "yellow", "stopped": "red"}[outcome.status]
    # soft-wrapped: a stop reason is one line however long, so it can be copied whole
    out.print(f"[{colour}]{plain(outcome.describe())}[/]", soft_wrap=True)
    if outcome.status != "complete":
        raise typer.Exit(1 if outcome.status == "stopped" else 3)


@commands.command()
def submit(
    answer: Annotated[Path, typer.Argument(help="The answer JSON for a handoff task.")],
    project: ProjectOpt = None,
) -> None:
    """Validate a handoff answer, then continue the run that was waiting for it."""
    from ..store._runlock import run_lock

    with open_project(project) as p, run_lock(p.root, "slate submit"):
        from ..engine._runner import provider_settings
        from ..providers.handoff import submit_answer

        with closing(runner_for(p)) as runner:
            stored = submit_answer(p.root, provider_settings(p), answer)
            skill, target, _attempt = stored.name.split(".", 1)[0].split("__")
            out.print(f"answer accepted: {stored}")
            print_result(runner.run(skill, target))
