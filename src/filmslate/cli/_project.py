"""Project commands: init, status, artifacts, show, add, verify, reindex, log, metrics, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core._errors import UserError
from ._common import ProjectOpt, open_project, out

if TYPE_CHECKING:
    from ..rules._consistency import Consistency
    from ..store._project import Project

commands = typer.Typer()


@commands.command()
def init(
    directory: Path,
    name: Annotated[str | None, typer.Option(help="Project name.")] = None,
    title: Annotated[str, typer.Option(help="Working title.")] = "",
) -> None:
    """Create a project: layer folders and a commented filmslate.toml."""
    from ..core._config import CONFIG_FILE
    from ..store._project import Project

    with Project.init(directory, name=name, title=title) as project:
        out.print(f"created project [bold]{project.config.project.name}[/] in {project.root}")
        out.print(f"edit {project.root / CONFIG_FILE} for budget caps, tiers and thresholds")


@commands.command()
def status(project: ProjectOpt = None) -> None:
    """Summary of the project: artifacts by kind, log rows, spend."""
    from rich.markup import escape
    from rich.table import Table

    from ..core._names import KINDS
    from ..engine._stops import all_open_hard_stops

    with open_project(project) as p:
        s = p.status()
        out.print(f"[bold]{s.name}[/]  {s.root}")
        table = Table("kind", "layer", "artifacts", "versions")
        for kind_name, (stems, versions) in sorted(s.counts.items()):
            table.add_row(kind_name, KINDS[kind_name].layer, str(stems), str(versions))
        out.print(table if s.counts else "no artifacts yet")
        out.print(f"run log: {s.log_rows} rows, last {s.last_run or '-'}")
        for problem in s.problems:
            out.print(f"[red]INDEX DISAGREES[/] {escape(problem)}")
        _print_budget(p)
        stops = all_open_hard_stops(p)
        for stop in stops:
            out.print(
                f"[red]HARD STOP[/] {stop.kind} {stop.target}: {stop.reason} "
                f"({stop.run_id}): resolve, or "
                "`slate override TARGET --reason ... --cost-impact AMOUNT`"
            )
        if not stops:
            out.print("hard stops: none")


def _print_budget(p: Project) -> None:
    """Project and scene caps; shot caps only when one needs attention (a production has
    thousands of shots), with a one-line summary of the rest."""
    from rich.table import Table

    from ..store._ledger import Ledger

    table = Table("cap", "scope", "cap", "committed", "%", "state")
    quiet_shots = []
    for state in Ledger(p.store, p.config).states():
        if state.level == "shot" and state.state == "ok":
            quiet_shots.append(state)
            continue
        colour = {"ok": "green", "warning": "yellow", "stopped": "red"}[state.state]
        table.add_row(
            state.level,
            state.scope,
            f"{state.cap:.2f}",
            f"{state.committed:.2f}",
            f"{state.percent:.1f}",
            f"[{colour}]{state.state}[/]",
        )
    out.print(table)
    if quiet_shots:
        top = max(quiet_shots, key=lambda s: s.percent)
        out.print(
            f"shot caps: {len(quiet_shots)} ok (highest {top.scope} at "
            f"{top.percent:.1f}% of {top.cap:.2f})"
        )


@commands.command()
def artifacts(
    kind: Annotated[str | None, typer.Argument(help="Only this kind.")] = None,
    project: ProjectOpt = None,
) -> None:
    """List artifact versions, with staleness."""
    from rich.table import Table

    with open_project(project) as p:
        table = Table("artifact", "size", "sha256", "run", "written", "stale")
        for rec in p.store.artifacts(kind):
            stale = p.store.stale_inputs(rec.name)
            note = ", ".join(f"{old} -> {new}" for old, new in stale)
            table.add_row(
                rec.filename, str(rec.size), rec.sha256[:12], rec.run_id, rec.created_at, note or ""
            )
        out.print(table)


@commands.command()
def show(
    name: str,
    info: Annotated[bool, typer.Option(help="Metadata only.")] = False,
    project: ProjectOpt = None,
) -> None:
    """Print an artifact (NAME with or without _v###; without = latest)."""
    with open_project(project) as p:
        record, data = p.show(name)
        if info or record.name.spec.binary:
            inputs = ", ".join(str(n) for n in p.store.lineage(record.name)) or "-"
            out.print(
                f"{record.name.relpath}\n  sha256 {record.sha256}\n  size {record.size}"
                f"\n  run {record.run_id}\n  written {record.created_at}\n"
                f"  inputs {inputs}"
            )
            return
        sys.stdout.write(data.decode("utf-8"))


@commands.command()
def add(
    file: Path,
    reason: Annotated[str, typer.Option(help="Why, for the log.")] = "",
    project: ProjectOpt = None,
) -> None:
    """Store a hand-written artifact (named without a version) as its next version."""
    with open_project(project) as p:
        record = p.add(file, reason)
        out.print(f"stored {record.name.relpath} (sha256 {record.sha256[:12]})")


@commands.command("verify")
def verify_cmd(project: ProjectOpt = None) -> None:
    """Check the whole project; exit 1 on any violation (a hard stop)."""
    from rich.markup import escape

    with open_project(project) as p:
        problems = p.verify()
        for problem in problems:
            out.console.print(f"[red]VIOLATION[/] {escape(str(problem))}", soft_wrap=True)
        if problems:
            out.print(f"{len(problems)} violation(s): this is a hard stop until resolved")
            raise typer.Exit(1)
        out.print(
            f"clean: {sum(v for _, v in p.store.counts().values())} artifact versions verified"
        )


@commands.command("reindex")
def reindex_cmd(
    project: ProjectOpt = None,
    adopt_legacy: Annotated[
        bool,
        typer.Option(help="First bring a log made before rows were signed to today's layout."),
    ] = False,
) -> None:
    """Rebuild the index from the files and the run log."""
    from rich.markup import escape

    from ..store._legacy import adopt_legacy as adopt
    from ..store._verify import reindex

    if adopt_legacy:
        for line in adopt(project) or ["nothing to adopt: the log has today's layout"]:
            out.print(f"adopted: {escape(line)}")
    with open_project(project) as p:
        done = reindex(p.store, p.config)
        out.print(f"indexed {done.artifacts} artifact versions and {done.rows} log rows")
        for line in done.not_indexed:
            out.console.print(f"[yellow]not indexed[/] {escape(line)}", soft_wrap=True)
        for line in done.not_vouched:
            out.console.print(f"[red]log not vouched for[/] {escape(line)}", soft_wrap=True)
        if done.stop_row:
            out.print(
                f"recorded as a hard stop (log row {done.stop_row}): `slate verify` reports it "
                "until it is explained and lifted with `slate override PROJECT --reason ... "
                "--cost-impact 0`"
            )


@commands.command()
def log(
    skill: Annotated[str | None, typer.Option(help="Only this skill.")] = None,
    scene: Annotated[str | None, typer.Option(help="Only this scene.")] = None,
    shot: Annotated[str | None, typer.Option(help="Only this shot.")] = None,
    outcome: Annotated[str | None, typer.Option(help="PASS, FAIL, FIX, ...")] = None,
    limit: Annotated[int, typer.Option(help="Newest N rows.")] = 50,
    notes: Annotated[
        bool,
        typer.Option("--notes", help="Also each row's event and notes (why it ran, failed, cost)."),
    ] = False,
    project: ProjectOpt = None,
) -> None:
    """Show run-log rows, newest last."""
    from rich.markup import escape
    from rich.table import Table

    from ..store._runlog import COLUMNS

    filters = {"skill_name": skill, "scene_id": scene, "shot_id": shot, "outcome": outcome}
    # an outcome in any case: PASS and FAIL are upper-case, budget and error are not
    where = [
        f"{col} = ? COLLATE NOCASE" if col == "outcome" else f"{col} = ?"
        for col, val in filters.items()
        if val
    ]
    args = [val for val in filters.values() if val]
    sql = f"SELECT {', '.join(COLUMNS)} FROM runlog"
    sql += (" WHERE " + " AND ".join(where)) if where else ""
    with open_project(project) as p:
        rows = p.store.conn.execute(sql + " ORDER BY seq DESC LIMIT ?", [*args, limit]).fetchall()
        shown = (
            "seq",
            "timestamp",
            "skill_name",
            "scene_id",
            "shot_id",
            "model_used",
            "tier",
            "actual_cost",
            "outcome",
            "artifact_output",
        ) + (("event", "notes") if notes else ())
        table = Table(*shown)
        for row in reversed(rows):
            cells = dict(zip(COLUMNS, row, strict=True))
            table.add_row(*(escape(str(cells[c])) for c in shown))  # notes hold [providers.x]
        out.print(table)


@commands.command()
def metrics(
    as_json: Annotated[bool, typer.Option("--json", help="Every figure as JSON.")] = False,
    project: ProjectOpt = None,
) -> None:
    """Run-logger derived metrics, and consistency per character and per set."""
    from rich.table import Table

    from ..store._metrics import compute_metrics

    with open_project(project) as p:
        m = compute_metrics(p.store)
        if as_json:
            import json

            sys.stdout.write(json.dumps(m.to_dict(), indent=2) + "\n")
            return
        out.print(f"runs: {m.runs}")
        out.print(f"average regens per shot: {m.average_regens_per_shot:.2f}")
        for title, values in (
            ("cost per scene", m.cost_per_scene),
            ("tier usage", m.tier_usage),
            ("failure rate per model", m.failure_rate_per_model),
            ("drift frequency by QC category", m.drift_frequency),
        ):
            table = Table(title=title)
            table.add_column("key")
            table.add_column("value")
            for key, value in values.items():
                table.add_row(key, str(value))
            out.print(table if values else f"{title}: none yet")
        out.print(
            "most common QC violations: "
            + (", ".join(f"{c} x{n}" for c, n in m.common_qc_violations) or "none yet")
        )
        out.print(
            "high-risk shot types: "
            + (
                ", ".join(f"{t} ({r:.0%} not passing)" for t, r in m.high_risk_shot_types)
                or "none yet"
            )
        )
        for title, figures in (
            ("character consistency (face, wardrobe)", m.character_consistency),
            ("set consistency (set, lighting)", m.set_consistency),
        ):
            table = Table("subject", "compliant", "share", "takes not compliant", title=title)
            for f in figures:
                share = f"{f.share:.0%}"
                table.add_row(f.subject, f"{f.compliant}/{f.accepted}", share, _takes(f))
            out.print(table if figures else f"{title}: no accepted takes yet")


def _takes(figure: Consistency) -> str:
    return ", ".join(figure.not_compliant) or "-"


@commands.command("import")
def import_cmd(
    script: Annotated[Path, typer.Argument(help="A Fountain screenplay.")],
    alias: Annotated[
        list[str] | None, typer.Option(help="NAME=CANONICAL, e.g. KEEPER=GUS (repeatable).")
    ] = None,
    episode: Annotated[
        str | None,
        typer.Option(
            help="A declared episode (E02) whose scenes the screenplay is: ids E02_S01, ...; "
            "other episodes' scenes are kept, this episode's replaced."
        ),
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Import a Fountain screenplay into SCENES, BREAKDOWN and per-scene SCRIPT artifacts
    (in a series, one episode's: --episode E02)."""
    from ..workflow._importer import import_screenplay

    aliases = {}
    for item in alias or []:
        name, sep, canonical = item.partition("=")
        if not sep or not name.strip() or not canonical.strip():
            raise UserError(f"--alias {item!r}: expected NAME=CANONICAL, e.g. KEEPER=GUS")
        aliases[name.strip().upper()] = canonical.strip().upper()
    with open_project(project) as p:
        result = import_screenplay(p, script, aliases, episode or "")
        play = result.screenplay
        if result.replaced:
            out.print(
                f"{episode}'s earlier scenes ({', '.join(result.replaced)}) are replaced by "
                "the screenplay's; the other episodes' are kept"
            )
        out.print(
            f"imported {len(play.scenes)} scenes{f' as {episode}' if episode else ''}, "
            f"{len(play.characters)} characters "
            f"({', '.join(play.characters)}), {len(play.locations)} locations, "
            f"{len(play.props)} props"
        )
        for record in result.records:
            out.print(f"  {record.name.relpath}")
        for flag in result.flagged:
            out.print(f"[yellow]left for the model[/]: {flag} (`slate run` does both)")
