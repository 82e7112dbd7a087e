"""The `slate` command. Thin: parse, call the library, print.

Only FilmslateError becomes a clean one-line error (exit 2); anything else is a bug and shows
its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from .core._config import CONFIG_FILE, load_config
from .core._errors import ConfigError, FilmslateError, HardStop, UserError
from .core._names import KINDS
from .engine._override import record_override
from .engine._skill import load_skills
from .engine._stops import all_open_hard_stops
from .store._ledger import Ledger
from .store._metrics import compute_metrics
from .store._project import Project
from .store._runlog import COLUMNS
from .store._verify import reindex

if TYPE_CHECKING:
    from .engine._runner import Runner, RunResult

app = typer.Typer(help="filmslate: a gated, versioned, budgeted AI film production.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
config_app = typer.Typer(help="Project configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
lock_app = typer.Typer(help="Character, set, voice and style locks.", no_args_is_help=True)
app.add_typer(lock_app, name="lock")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

ProjectOpt = Annotated[Path | None, typer.Option(
    "--project", "-C", help="Project folder (default: the current folder or a parent).")]


def _open(project: Path | None) -> Project:
    return Project.find(project)


@app.command()
def init(directory: Path, name: Annotated[str | None, typer.Option(help="Project name.")] = None,
         title: Annotated[str, typer.Option(help="Working title.")] = "") -> None:
    """Create a project: layer folders and a commented filmslate.toml."""
    with Project.init(directory, name=name, title=title) as project:
        out.print(f"created project [bold]{project.config.project.name}[/] in {project.root}")
        out.print(f"edit {project.root / CONFIG_FILE} for budget caps, tiers and thresholds")


@app.command()
def status(project: ProjectOpt = None) -> None:
    """Summary of the project: artifacts by kind, log rows, spend."""
    with _open(project) as p:
        s = p.status()
        out.print(f"[bold]{s.name}[/]  {s.root}")
        table = Table("kind", "layer", "artifacts", "versions")
        for kind_name, (stems, versions) in sorted(s.counts.items()):
            table.add_row(kind_name, KINDS[kind_name].layer, str(stems), str(versions))
        out.print(table if s.counts else "no artifacts yet")
        out.print(f"run log: {s.log_rows} rows, last {s.last_run or '-'}")
        _print_budget(p)
        stops = all_open_hard_stops(p)
        for stop in stops:
            out.print(f"[red]HARD STOP[/] {stop.kind} {stop.target}: {stop.reason} "
                      f"({stop.run_id}): resolve, or "
                      "`slate override TARGET --reason ... --cost-impact AMOUNT`")
        if not stops:
            out.print("hard stops: none")


def _print_budget(p: Project) -> None:
    """Project and scene caps; shot caps only when one needs attention (a production has
    thousands of shots), with a one-line summary of the rest."""
    table = Table("cap", "scope", "cap", "committed", "%", "state")
    quiet_shots = []
    for state in Ledger(p.store, p.config).states():
        if state.level == "shot" and state.state == "ok":
            quiet_shots.append(state)
            continue
        colour = {"ok": "green", "warning": "yellow", "stopped": "red"}[state.state]
        table.add_row(state.level, state.scope, f"{state.cap:.2f}", f"{state.committed:.2f}",
                      f"{state.percent:.1f}", f"[{colour}]{state.state}[/]")
    out.print(table)
    if quiet_shots:
        top = max(quiet_shots, key=lambda s: s.percent)
        out.print(f"shot caps: {len(quiet_shots)} ok (highest {top.scope} at "
                  f"{top.percent:.1f}% of {top.cap:.2f})")


@app.command()
def artifacts(kind: Annotated[str | None, typer.Argument(help="Only this kind.")] = None,
              project: ProjectOpt = None) -> None:
    """List artifact versions, with staleness."""
    with _open(project) as p:
        table = Table("artifact", "size", "sha256", "run", "written", "stale")
        for rec in p.store.artifacts(kind):
            stale = p.store.stale_inputs(rec.name)
            note = ", ".join(f"{old} -> {new}" for old, new in stale)
            table.add_row(rec.filename, str(rec.size), rec.sha256[:12], rec.run_id,
                          rec.created_at, note or "")
        out.print(table)


@app.command()
def show(name: str, info: Annotated[bool, typer.Option(help="Metadata only.")] = False,
         project: ProjectOpt = None) -> None:
    """Print an artifact (NAME with or without _v###; without = latest)."""
    with _open(project) as p:
        record, data = p.show(name)
        if info or record.name.spec.binary:
            inputs = ", ".join(str(n) for n in p.store.lineage(record.name)) or "-"
            out.print(f"{record.name.relpath}\n  sha256 {record.sha256}\n  size {record.size}"
                      f"\n  run {record.run_id}\n  written {record.created_at}\n"
                      f"  inputs {inputs}")
            return
        sys.stdout.write(data.decode("utf-8"))


@app.command()
def add(file: Path, reason: Annotated[str, typer.Option(help="Why, for the log.")] = "",
        project: ProjectOpt = None) -> None:
    """Store a hand-written artifact (named without a version) as its next version."""
    with _open(project) as p:
        record = p.add(file, reason)
        out.print(f"stored {record.name.relpath} (sha256 {record.sha256[:12]})")


@app.command("verify")
def verify_cmd(project: ProjectOpt = None) -> None:
    """Check the whole project; exit 1 on any violation (a hard stop)."""
    with _open(project) as p:
        problems = p.verify()
        for problem in problems:
            out.print(f"[red]VIOLATION[/] {problem}")
        if problems:
            out.print(f"{len(problems)} violation(s): this is a hard stop until resolved")
            raise typer.Exit(1)
        out.print(f"clean: {sum(v for _, v in p.store.counts().values())} artifact versions "
                  "verified")


@app.command("reindex")
def reindex_cmd(project: ProjectOpt = None) -> None:
    """Rebuild the index from the files and the run log."""
    with _open(project) as p:
        count, rows, skipped = reindex(p.store, p.config)
        out.print(f"indexed {count} artifact versions and {rows} log rows")
        for line in skipped:
            out.print(f"[yellow]not indexed[/] {line}")


@app.command()
def log(skill: Annotated[str | None, typer.Option(help="Only this skill.")] = None,
        scene: Annotated[str | None, typer.Option(help="Only this scene.")] = None,
        shot: Annotated[str | None, typer.Option(help="Only this shot.")] = None,
        outcome: Annotated[str | None, typer.Option(help="PASS, FAIL, FIX, ...")] = None,
        limit: Annotated[int, typer.Option(help="Newest N rows.")] = 50,
        project: ProjectOpt = None) -> None:
    """Show run-log rows, newest last."""
    filters = {"skill_name": skill, "scene_id": scene, "shot_id": shot, "outcome": outcome}
    where = [f"{col} = ?" for col, val in filters.items() if val]
    args = [val.upper() if col == "outcome" else val for col, val in filters.items() if val]
    sql = f"SELECT {', '.join(COLUMNS)} FROM runlog"
    sql += (" WHERE " + " AND ".join(where)) if where else ""
    with _open(project) as p:
        rows = p.store.conn.execute(sql + " ORDER BY seq DESC LIMIT ?", [*args, limit]).fetchall()
        shown = ("seq", "timestamp", "skill_name", "scene_id", "shot_id", "model_used", "tier",
                 "actual_cost", "outcome", "artifact_output")
        table = Table(*shown)
        for row in reversed(rows):
            cells = dict(zip(COLUMNS, row, strict=True))
            table.add_row(*(str(cells[c]) for c in shown))
        out.print(table)


@app.command()
def metrics(project: ProjectOpt = None) -> None:
    """Run-logger derived metrics."""
    with _open(project) as p:
        m = compute_metrics(p.store)
        out.print(f"runs: {m.runs}")
        out.print(f"average regens per shot: {m.average_regens_per_shot:.2f}")
        for title, values in (("cost per scene", m.cost_per_scene),
                              ("tier usage", m.tier_usage),
                              ("failure rate per model", m.failure_rate_per_model),
                              ("drift frequency by QC category", m.drift_frequency)):
            table = Table(title=title)
            table.add_column("key")
            table.add_column("value")
            for key, value in values.items():
                table.add_row(key, str(value))
            out.print(table if values else f"{title}: none yet")
        out.print("most common QC violations: "
                  + (", ".join(f"{c} x{n}" for c, n in m.common_qc_violations) or "none yet"))
        out.print("high-risk shot types: "
                  + (", ".join(f"{t} ({r:.0%} not passing)" for t, r in m.high_risk_shot_types)
                     or "none yet"))


def _runner(p: Project) -> Runner:  # imported lazily: model SDK glue is slow to import
    """A runner, after checking the project: SPEC §6 makes an integrity violation (an
    overwritten artifact, a missing log entry) a hard stop for any further work."""
    problems = p.verify()
    if problems:
        listing = "\n  ".join(str(v) for v in problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise HardStop(f"the project fails `slate verify` ({len(problems)} violation(s)); no "
                       f"work runs until it is clean:\n  {listing}{more}")
    from .engine._runner import Runner

    return Runner(p)


def _target(scene: str | None, shot: str | None, target: str | None) -> str:
    given = [t for t in (scene, shot, target) if t]
    if len(given) > 1:
        raise UserError("give one of --scene, --shot or --target")
    return given[0] if given else "PROJECT"


@app.command("import")
def import_cmd(script: Annotated[Path, typer.Argument(help="A Fountain screenplay.")],
               alias: Annotated[list[str] | None, typer.Option(
                   help="NAME=CANONICAL, e.g. KEEPER=GUS (repeatable).")] = None,
               project: ProjectOpt = None) -> None:
    """Import a Fountain screenplay into SCENES, BREAKDOWN and per-scene SCRIPT artifacts."""
    from .workflow._importer import import_screenplay

    aliases = {}
    for item in alias or []:
        name, sep, canonical = item.partition("=")
        if not sep or not name.strip() or not canonical.strip():
            raise UserError(f"--alias {item!r}: expected NAME=CANONICAL, e.g. KEEPER=GUS")
        aliases[name.strip().upper()] = canonical.strip().upper()
    with _open(project) as p:
        result = import_screenplay(p, script, aliases)
        play = result.screenplay
        out.print(f"imported {len(play.scenes)} scenes, {len(play.characters)} characters "
                  f"({', '.join(play.characters)}), {len(play.locations)} locations, "
                  f"{len(play.props)} props")
        for record in result.records:
            out.print(f"  {record.name.relpath}")
        for flag in result.flagged:
            out.print(f"[yellow]left for the model[/]: {flag} (`slate run script-breakdown`)")


@app.command()
def skills() -> None:
    """Every registered skill: layer, tier, loop, inputs and outputs."""
    table = Table("skill", "layer", "tier", "loop", "runs on", "inputs", "produces")
    table.columns[0].no_wrap = True
    for skill in load_skills():
        table.add_row(skill.name, skill.layer, "builtin" if not skill.uses_model else skill.tier,
                      skill.loop or "-", skill.target_scope,
                      ", ".join(n.describe() for n in skill.needs) or "-",
                      ", ".join(skill.produces))
    out.print(table)


SceneOpt = Annotated[str | None, typer.Option("--scene", help="A scene id, e.g. S03.")]
ShotOpt = Annotated[str | None, typer.Option("--shot", help="A shot id, e.g. S03_SH02.")]
TargetOpt = Annotated[str | None, typer.Option(
    "--target", help="PROJECT, a scene, ACT_1 or E01.")]


def _print_result(result: RunResult) -> None:
    if result.status == "up_to_date":
        out.print(f"{result.skill} {result.target}: up to date (nothing to do)")
        return
    if result.status == "waiting":
        out.print(f"{result.skill} {result.target}: [yellow]waiting[/] for an answer to "
                  f"{result.task_path}\nanswer it, then `slate submit ANSWER.json`")
        return
    colours = {"PASS": "green", "FIX": "yellow", "FAIL": "red"}
    for attempt, gate in result.earlier:
        out.print(f"{result.skill} {result.target}: attempt {attempt} "
                  f"[{colours[gate.verdict]}]{gate.verdict}[/] (revised): "
                  + "; ".join(gate.reasons))
    colour = colours[result.gate.verdict]
    names = ", ".join(r.filename for r in result.records)
    route = result.route
    out.print(f"{result.skill} {result.target}: [{colour}]{result.gate.verdict}[/] -> {names}"
              f" (attempt {result.attempt}, {route.tier if route else '-'} "
              f"{route.model if route else ''}, cost {result.actual_cost:.4f})")
    for reason in result.gate.reasons:
        out.print(f"  - {reason}")


@app.command()
def run(skill: Annotated[str | None, typer.Argument(
            help="The skill (see `slate skills`) or loop (narrative, validation) to run; "
                 "none: run everything missing or stale in loop order.")] = None,
        scene: SceneOpt = None, shot: ShotOpt = None, target: TargetOpt = None,
        force: Annotated[bool, typer.Option(help="Run even when up to date.")] = False,
        project: ProjectOpt = None) -> None:
    """Run a skill (or a loop) on a target to PASS: revise on FAIL, escalate, or hard-stop.
    With no skill, run the whole production: everything missing or stale, in loop order."""
    from .workflow._loops import LOOPS, run_loop

    with _open(project) as p:
        if skill is None:
            if scene or shot or target or force:
                raise UserError("`slate run` with no skill runs the whole production: name a "
                                "skill to use --scene, --shot, --target or --force")
            _orchestrate(p)
            return
        if skill in LOOPS:
            outcome = run_loop(_runner(p), skill, _target(scene, shot, target))
            out.print(outcome.describe())
            if not outcome.passed:
                raise typer.Exit(1)
            return
        result = _runner(p).run(skill, _target(scene, shot, target), force=force)
        _print_result(result)
        if result.status == "done" and not result.gate.passed:
            raise typer.Exit(1)


def _orchestrate(p: Project) -> None:
    """The semi-automated mode: progress bars while it runs, then the outcome."""
    from .workflow._orchestrator import Orchestrator
    from .workflow._progress import RichProgress

    runner = _runner(p)
    with RichProgress(out) as progress:
        try:
            outcome = Orchestrator(runner, progress).run()
        except KeyboardInterrupt:
            progress.stop()
            err.print("[yellow]interrupted[/]: everything finished so far is stored; "
                      "`slate run` resumes where this stopped")
            raise typer.Exit(130) from None
    colour = {"complete": "green", "waiting": "yellow", "stopped": "red"}[outcome.status]
    out.print(f"[{colour}]{outcome.describe()}[/]")
    if outcome.status != "complete":
        raise typer.Exit(1 if outcome.status == "stopped" else 3)


@app.command()
def submit(answer: Annotated[Path, typer.Argument(help="The answer JSON for a handoff task.")],
           project: ProjectOpt = None) -> None:
    """Validate a handoff answer, then continue the run that was waiting for it."""
    with _open(project) as p:
        from .engine._runner import provider_settings
        from .providers.handoff import submit_answer

        runner = _runner(p)
        stored = submit_answer(p.root, provider_settings(p), answer)
        skill, target, _attempt = stored.name.split(".", 1)[0].split("__")
        out.print(f"answer accepted: {stored}")
        _print_result(runner.run(skill, target))


@app.command("plan-batch")
def plan_batch(target: TargetOpt = None, scene: SceneOpt = None,
               project: ProjectOpt = None) -> None:
    """Route every planned shot by hero tier and record the batch plan (ROUTING_DECISION)."""
    with _open(project) as p:
        record = _runner(p).plan_batch(_target(scene, None, target))
        sys.stdout.write(p.store.read(record.name).decode("utf-8"))


@app.command()
def switch(tier: Annotated[str, typer.Argument(help="The tier whose model changed.")],
           reason: Annotated[str, typer.Option(help="Why the provider changes.")],
           project: ProjectOpt = None) -> None:
    """Record a provider switch for a tier (a ROUTING_DECISION with a cost comparison)."""
    with _open(project) as p:
        record = _runner(p).record_switch(tier, reason)
        out.print(f"switch recorded: {record.name.relpath}")


@app.command()
def override(target: Annotated[str, typer.Argument(help="The stopped target (PROJECT, S03, ...)")],
             reason: Annotated[str, typer.Option(help="Why the stop may be passed.")],
             cost_impact: Annotated[float, typer.Option(help="Money this lets through.")],
             by: Annotated[str, typer.Option(help="Who approves.")] = "",
             project: ProjectOpt = None) -> None:
    """Record a human override of one hard stop (logged, versioned, never silent)."""
    with _open(project) as p:
        record = record_override(p, target, reason, cost_impact, by)
        out.print(f"override recorded: {record.name.relpath}")


@app.command()
def budget(project: ProjectOpt = None) -> None:
    """Write and show BUDGET_STATUS (budget-gates)."""
    with _open(project) as p:
        result = _runner(p).run("budget-gates", "PROJECT", force=True)
        sys.stdout.write(p.store.read(result.records[0].name).decode("utf-8"))


@app.command()
def cost(target: TargetOpt = None, scene: SceneOpt = None,
         apply: Annotated[bool, typer.Option(
             "--apply", help="Over the cap: simplify the shot lists until the projection fits "
                             "(new SHOTLIST versions), or hard-stop.")] = False,
         project: ProjectOpt = None) -> None:
    """Write and show a COST_REPORT (cost-optimizer) for PROJECT or a scene."""
    with _open(project) as p:
        if apply:
            _apply_cost_plan(_runner(p), _target(scene, None, target))
            return
        result = _runner(p).run("cost-optimizer", _target(scene, None, target), force=True)
        sys.stdout.write(p.store.read(result.records[0].name).decode("utf-8"))
        _print_result(result)


def _apply_cost_plan(runner: Runner, target: str) -> None:
    from .workflow._costloop import apply_cost_plan

    plan = apply_cost_plan(runner, target)
    money = plan.currency
    out.print(f"cost plan {target}: projected {plan.projected_before:.2f} {money}; "
              f"{plan.room:.2f} left under the {plan.cap_level} cap {plan.cap_scope} "
              f"(cap {plan.cap:.2f}, {plan.committed:.2f} committed)")
    if plan.status == "within_cap":
        out.print("fits: nothing changed")
        return
    for change in plan.changes:
        out.print(f"  {change.describe()}")
    for kept in plan.kept:
        out.print(f"  kept: {kept}")
    for old, new in plan.renumbered.items():
        out.print(f"  renumbered {old} -> {new}")
    out.print(f"wrote {', '.join(r.filename for r in plan.records)}; projected now "
              f"{plan.projected_after:.2f}")
    if plan.stale_renders:
        out.print("[yellow]made stale by the new shot list[/] (re-rendering costs money): "
                  + ", ".join(plan.stale_renders))
    colour = "green" if plan.verdict == "PASS" else "red"
    report = plan.report.filename if plan.report else "-"
    out.print(f"cost-optimizer {target}: [{colour}]{plan.verdict}[/] -> {report}")
    for reason in plan.reasons:
        out.print(f"  - {reason}")
    if plan.verdict != "PASS":
        raise typer.Exit(1)


@lock_app.command("add")
def lock_add(file: Path, reason: Annotated[str, typer.Option(help="Why, for the log.")] = "",
             project: ProjectOpt = None) -> None:
    """Gate a hand-written lock (CHAR_NELL_LOCK.txt) and store it as its next version."""
    from .store._project import add_lock

    with _open(project) as p:
        record, _ = add_lock(p, file, reason)
        out.print(f"stored {record.name.relpath}: lock gate PASS")


@lock_app.command("check")
def lock_check(file: Path, project: ProjectOpt = None) -> None:
    """Gate a lock file without storing it; exit 1 on FAIL."""
    from .store._project import check_lock_file

    with _open(project) as p:
        _, gate = check_lock_file(file, p.config)
        out.print(f"{file.name}: lock gate {gate.verdict}")
        for reason in gate.reasons:
            out.print(f"  - {reason}")
        if not gate.passed:
            raise typer.Exit(1)


@lock_app.command("diff")
def lock_diff_cmd(name: str, old: str, new: str, project: ProjectOpt = None) -> None:
    """What changed between two versions of a lock: `slate lock diff CHAR_NELL_LOCK v001 v002`."""
    from .workflow._locks import diff_versions

    with _open(project) as p:
        changes = diff_versions(p, name, old, new)
        if not changes:
            out.print(f"{name}: {old} and {new} are identical")
            return
        table = Table("field", old, new)
        for field, before, after in changes:
            table.add_row(field, before, after)
        out.print(table)


@app.command()
def impact(name: Annotated[str, typer.Argument(help="A lock, e.g. CHAR_NELL_LOCK.")],
           project: ProjectOpt = None) -> None:
    """Everything made from an older version of a lock (now stale) and the cost to redo it."""
    from .workflow._locks import impact as lock_impact

    with _open(project) as p:
        report = lock_impact(p, name)
        if not report.rows:
            out.print(f"{report.current}: nothing is stale")
            return
        table = Table("artifact", "made from", "est. cost", "basis")
        for row in report.rows:
            table.add_row(row.artifact, row.made_from, f"{row.est_cost:.2f}", row.basis)
        out.print(table)
        out.print(f"{len(report.rows)} stale artifact(s) against {report.current}; projected "
                  f"cost to redo: {report.total:.2f} {report.currency}")


@config_app.command("check")
def config_check(project: ProjectOpt = None) -> None:
    """Validate filmslate.toml and name every bad key with its line."""
    root = Path(project or Path.cwd())
    try:
        config = load_config(root / CONFIG_FILE)
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    out.print(f"{root / CONFIG_FILE}: ok (project {config.project.name}, cap "
              f"{config.budget.project_cap:.2f} {config.budget.currency})")


def main() -> None:
    """Entry point: run the app, turning our own errors into clean messages."""
    try:
        app()
    except FilmslateError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2)
