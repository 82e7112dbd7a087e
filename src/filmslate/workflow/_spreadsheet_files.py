"""Where a spreadsheet export goes and how an import is read: one .xlsx or a CSV folder."""

from __future__ import annotations

from pathlib import Path

from ..core._errors import UserError
from ..store._project import Project
from ._spreadsheet import README, Imported, Tab, Workbook, import_tabs, read_csv_tab, workbook
from ._spreadsheet import write_csv as write_csv_tab

FORMATS = ("xlsx", "csv")
EXPORTS = "exports"  # the project folder `slate verify` leaves alone (store._scan)
DEFAULT = {"xlsx": Path(EXPORTS, "sheet.xlsx"), "csv": Path(EXPORTS, "sheet")}


def export_sheet(project: Project, path: Path | None, fmt: str) -> tuple[Path, Workbook]:
    """Write the workbook (or its CSV folder) and return where and what."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: use xlsx or csv")
    target = path if path is not None else project.root / DEFAULT[fmt]
    _outside_the_record(project, target)
    if fmt == "xlsx":
        from ._spreadsheet_xlsx import require_openpyxl

        if target.suffix != ".xlsx":
            raise UserError(f"{target}: an xlsx export is a file ending in .xlsx")
        require_openpyxl()  # before anything is made
    book = workbook(project)
    try:
        _write(target, book, fmt)
    except OSError as exc:
        what = "a file" if fmt == "xlsx" else "a folder"
        raise UserError(
            f"{target}: cannot write the export there ({exc.strerror or exc}); "
            f"pass another path (the {fmt} export is {what})"
        ) from None
    return target, book


def _outside_the_record(project: Project, target: Path) -> None:
    """An export inside the project goes under exports/: anywhere else in it, `slate verify`
    reports it as a file that is not part of the project, and no run starts until it is moved."""
    root, where = project.root.resolve(), target.resolve()
    if where.is_relative_to(root) and not where.is_relative_to(root / EXPORTS):
        raise UserError(
            f"{target}: inside the project but not under {EXPORTS}/, where `slate verify` "
            f"would refuse it (and no run would start): write it under {EXPORTS}/ (the "
            "default) or outside the project"
        )


def _write(target: Path, book: Workbook, fmt: str) -> None:
    if fmt == "xlsx":
        from ._spreadsheet_xlsx import write_xlsx

        target.parent.mkdir(parents=True, exist_ok=True)
        write_xlsx(target, book)
        return
    target.mkdir(parents=True, exist_ok=True)
    for tab in [book.readme(), *book.tabs]:
        write_csv_tab(target / f"{tab.name}.csv", tab)


def import_sheet(project: Project, path: Path) -> Imported:
    """Read an exported workbook or CSV folder back and import its edited tabs."""
    return import_tabs(project, read_tabs(path), path.name)


def read_tabs(path: Path) -> list[Tab]:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not any(f.stem == README for f in files):
            raise UserError(f"{path}: no {README}.csv: import a folder `slate sheet export` wrote")
        return [read_csv_tab(f) for f in files]
    if path.suffix == ".xlsx" and path.is_file():
        from ._spreadsheet_xlsx import read_xlsx

        return read_xlsx(path)
    raise UserError(f"{path}: pass the exported .xlsx file or the folder of CSV tabs")
