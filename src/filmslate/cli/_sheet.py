"""`slate sheet export|import`: the data spine as a spreadsheet (xlsx, or CSVs for Sheets)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import ProjectOpt, open_project, out, plain

SHOWN = 40  # stale names printed; a 500-scene edit can make thousands stale

sheet_app = typer.Typer(help="The data tables as a spreadsheet: export, edit, import.")

FormatOpt = Annotated[
    str,
    typer.Option("--format", "-f", help="xlsx (one workbook) or csv (a folder, a file per tab)."),
]


@sheet_app.command("export")
def export_cmd(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Where to write: under exports/ or outside the project (default: "
            "exports/sheet.xlsx or exports/sheet/)."
        ),
    ] = None,
    format_: FormatOpt = "xlsx",
    project: ProjectOpt = None,
) -> None:
    """Write SCENES, BREAKDOWN, a SHOTLIST tab per scene, QC, COST and RUN_LOG, with a
    README tab: enums and ranges validated; QC, COST and RUN_LOG read-only."""
    from ..workflow._spreadsheet_files import export_sheet

    with open_project(project) as p:
        written, book = export_sheet(p, path, format_)
        editable = sum(t.editable for t in book.tabs)
        out.print(
            f"wrote {plain(written)}: {len(book.tabs)} tab(s) and README "
            f"({editable} editable); edit, then `slate sheet import {plain(written)}`"
        )


@sheet_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="The edited .xlsx, or the folder of CSVs.")],
    project: ProjectOpt = None,
) -> None:
    """Store every edited tab as the next version of its artifact (schema-checked like
    `slate add`, all or nothing); print what the new versions make stale."""
    from ..workflow._spreadsheet_files import import_sheet

    with open_project(project) as p:
        done = import_sheet(p, path)
        for record in done.stored:
            out.print(f"stored {record.name.relpath}")
        if not done.stored:
            out.print(f"nothing changed: {len(done.unchanged)} tab(s) as exported")
        if done.stale:
            out.print(f"stale now ({len(done.stale)}), `slate run` redoes them:")
            for name in done.stale[:SHOWN]:
                out.print(f"  {name}")
            if len(done.stale) > SHOWN:
                out.print(
                    f"  and {len(done.stale) - SHOWN} more (`slate artifacts` marks each stale)"
                )
