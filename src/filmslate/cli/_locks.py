"""Locks: the `slate lock` group (add, check, diff) and `slate impact`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import ProjectOpt, open_project, out, plain

commands = typer.Typer()
lock_app = typer.Typer(help="Character, set, voice and style locks.", no_args_is_help=True)


@lock_app.command("add")
def lock_add(
    file: Path,
    reason: Annotated[str, typer.Option(help="Why, for the log.")] = "",
    project: ProjectOpt = None,
) -> None:
    """Gate a hand-written lock (CHAR_NELL_LOCK.txt) and store it as its next version."""
    from ..store._project import add_lock

    with open_project(project) as p:
        record, _ = add_lock(p, file, reason)
        out.print(f"stored {record.name.relpath}: lock gate PASS")


@lock_app.command("check")
def lock_check(file: Path, project: ProjectOpt = None) -> None:
    """Gate a lock file without storing it; exit 1 on FAIL."""
    from ..store._project import check_lock_file

    with open_project(project) as p:
        _, gate = check_lock_file(file, p.config)
        out.print(f"{file.name}: lock gate {gate.verdict}")
        for reason in gate.reasons:
            out.print(f"  - {plain(reason)}")
        if not gate.passed:
            raise typer.Exit(1)


@lock_app.command("diff")
def lock_diff_cmd(name: str, old: str, new: str, project: ProjectOpt = None) -> None:
    """What changed between two versions of a lock: `slate lock diff CHAR_NELL_LOCK v001 v002`."""
    from rich.table import Table

    from ..workflow._locks import diff_versions

    with open_project(project) as p:
        changes = diff_versions(p, name, old, new)
        if not changes:
            out.print(f"{name}: {old} and {new} are identical")
            return
        table = Table("field", old, new)
        for field, before, after in changes:
            table.add_row(field, before, after)
        out.print(table)


@commands.command()
def impact(
    name: Annotated[str, typer.Argument(help="A lock, e.g. CHAR_NELL_LOCK.")],
    project: ProjectOpt = None,
) -> None:
    """Everything made from an older version of a lock (now stale) and the cost to redo it."""
    from rich.table import Table

    from ..workflow._locks import impact as lock_impact

    with open_project(project) as p:
        report = lock_impact(p, name)
        if not report.rows:
            out.print(f"{report.current}: nothing is stale")
            return
        table = Table("artifact", "made from", "est. cost", "basis")
        for row in report.rows:
            table.add_row(row.artifact, row.made_from, f"{row.est_cost:.2f}", row.basis)
        out.print(table)
        out.print(
            f"{len(report.rows)} stale artifact(s) against {report.current}; projected "
            f"cost to redo: {report.total:.2f} {report.currency}"
        )
