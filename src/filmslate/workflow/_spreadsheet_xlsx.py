"""The spreadsheet spine as one .xlsx workbook (openpyxl): a tab per table, validated columns.

Editable tabs write their numeric columns as numbers and carry data validation (a drop-down
for every enum, a range for every bounded number) built from the row model; read-only tabs
are protected sheets. Reading turns every cell back into the text a CSV artifact holds.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ..core._errors import UserError
from ._spreadsheet import README, Tab, Workbook
from ._spreadsheet_rules import ColumnRule, column_rules

SPARE_ROWS = 200  # rows below the data that keep the validation, for added shots
SHEET_EXTRA = "an .xlsx workbook needs the sheet extra: pip install 'filmslate[sheet]'"


def require_openpyxl() -> None:
    """A one-line error naming the extra when openpyxl is not installed (CSVs need none)."""
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise UserError(
            f"{SHEET_EXTRA}, or use the CSV folder (--format csv) ({exc.name} is missing)"
        ) from None


def write_xlsx(path: Path, book: Workbook) -> None:
    """Write every tab, README first, to ``path``."""
    require_openpyxl()
    from openpyxl import Workbook as XlsxBook

    xlsx = XlsxBook()
    xlsx.remove(xlsx.active)
    for tab in [book.readme(), *book.tabs]:
        sheet = xlsx.create_sheet(tab.name)
        sheet.append(list(tab.header))
        for row in tab.rows:
            sheet.append(_values(tab, row))
        if tab.editable:
            _validate(sheet, tab)
        elif tab.name != README:
            sheet.protection.sheet = True
        _text_cells(sheet, tab)
        sheet.freeze_panes = "A2"
    xlsx.save(path)


def _values(tab: Tab, row: list[str]) -> list[Any]:
    """Cells as written: numbers where the column holds numbers, text everywhere else."""
    return [
        _number(cell) if name in tab.numeric else cell
        for name, cell in zip(tab.header, row, strict=True)
    ]


def _number(cell: str) -> Any:
    try:
        value = float(cell)
    except ValueError:
        return cell  # left as typed; the schema refuses it on import
    return int(value) if value.is_integer() and "." not in cell else value


def _text_cells(sheet: Any, tab: Tab) -> None:
    """Text that starts with '=' stays text (openpyxl would store it as a formula)."""
    for row in sheet.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"


def _validate(sheet: Any, tab: Tab) -> None:
    from openpyxl.utils import get_column_letter

    from ..schemas import schema_for

    last = len(tab.rows) + 1 + SPARE_ROWS
    for name, rule in column_rules(schema_for(tab.kind)).items():
        column = get_column_letter(tab.header.index(name) + 1)
        check = _validation(rule, name)
        sheet.add_data_validation(check)
        check.add(f"{column}2:{column}{last}")


def _validation(rule: ColumnRule, name: str) -> Any:
    from openpyxl.worksheet.datavalidation import DataValidation

    common = {
        "allow_blank": rule.optional,
        "showErrorMessage": True,
        "error": f"{name}: {rule.describe()}",
        "errorTitle": "filmslate",
        "prompt": rule.describe(),
        "showInputMessage": True,
    }
    if rule.choices:
        return DataValidation(type="list", formula1=f'"{",".join(rule.choices)}"', **common)
    kind = "whole" if rule.integer else "decimal"
    if rule.low is not None and rule.high is not None:
        return DataValidation(
            type=kind,
            operator="between",
            formula1=f"{rule.low:g}",
            formula2=f"{rule.high:g}",
            **common,
        )
    operator = "greaterThan" if rule.above else "greaterThanOrEqual"
    return DataValidation(type=kind, operator=operator, formula1=f"{rule.low or 0:g}", **common)


def read_xlsx(path: Path) -> list[Tab]:
    """Every tab of a workbook, cells as text, trailing blank rows dropped."""
    require_openpyxl()
    from openpyxl import load_workbook

    try:
        xlsx = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UserError(f"{path}: not an .xlsx workbook ({exc}); pass the exported file") from None
    tabs = [_tab(name, list(xlsx[name].iter_rows(values_only=True))) for name in xlsx.sheetnames]
    xlsx.close()
    return tabs


def _tab(name: str, cells: list[tuple[Any, ...]]) -> Tab:
    rows = [[_text(v) for v in row] for row in cells]
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        return Tab(name, (), [])
    width = max(len(_trimmed(r)) for r in rows)
    fitted = [(r + [""] * width)[:width] for r in rows]
    kept = [(n, r) for n, r in enumerate(fitted[1:], start=2) if any(c.strip() for c in r)]
    return Tab(name, tuple(fitted[0]), [r for _, r in kept], row_numbers=tuple(n for n, _ in kept))


def _trimmed(row: list[str]) -> list[str]:
    while row and not row[-1]:
        row = row[:-1]
    return row


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
