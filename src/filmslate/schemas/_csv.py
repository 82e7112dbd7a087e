"""CSV artifacts: a header row naming the row model's fields in order, then one line per row."""

from __future__ import annotations

import csv
import io
import types
from collections.abc import Iterable
from typing import Any, ClassVar, Self, Union, get_args, get_origin

from pydantic import model_validator
from pydantic.fields import FieldInfo

from ._base import Artifact, Loc, build, decode, fail
from ._types import Joined, SubModel

DEFAULT_SEPARATOR = ", "


class CsvRow(SubModel):
    """One CSV row. List fields are joined with ', ' unless annotated ``Joined("; ")``."""

    OPTIONAL_COLUMNS: ClassVar[tuple[str, ...]] = ()
    """Trailing columns added by a later schema version (each with a default): a file
    without them is read as the earlier version (its rows get the defaults), and a table
    whose rows all hold the default is written without them, byte for byte as before."""

    @classmethod
    def header(cls) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(cls.model_fields)

    @classmethod
    def short_header(cls) -> tuple[str, ...]:
        """The header of the earlier version: without the optional trailing columns."""
        return tuple(c for c in cls.model_fields if c not in cls.OPTIONAL_COLUMNS)

    def cells(self) -> list[str]:
        """The row's cells as text."""
        return [
            _cell(getattr(self, name), separator(info))
            for name, info in type(self).model_fields.items()
        ]

    @classmethod
    def payload(cls, cells: list[str]) -> dict[str, Any]:
        """Cells (already counted) -> a dict for validation; empty optional cells -> None."""
        return {
            name: _value(cell, info)
            for (name, info), cell in zip(cls.model_fields.items(), cells, strict=True)
        }

    @model_validator(mode="after")
    def _lists_survive_joining(self) -> Self:
        for name, info in type(self).model_fields.items():
            value, mark = getattr(self, name), separator(info).strip()
            if isinstance(value, list) and (bad := [v for v in value if mark in v or not v]):
                raise ValueError(
                    f"{name}: item {bad[0]!r} cannot be stored in a {mark!r}-separated cell"
                )
        return self


class CsvArtifact(Artifact):
    """A table artifact: ``rows`` of one CsvRow model."""

    EXTENSION: ClassVar[str] = "csv"

    @classmethod
    def row_model(cls) -> type[CsvRow]:
        """The row model, read from the ``rows: list[RowModel]`` annotation."""
        row: type[CsvRow] = get_args(cls.model_fields["rows"].annotation)[0]
        return row

    @classmethod
    def header(cls) -> tuple[str, ...]:
        """The exact header row of this kind."""
        return cls.row_model().header()

    def render(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        header = self._written_header()
        writer.writerow(header)
        writer.writerows(row.cells()[: len(header)] for row in self.rows)  # type: ignore[attr-defined]
        return buf.getvalue().encode("utf-8")

    def _written_header(self) -> tuple[str, ...]:
        model = self.row_model()
        rows = self.rows  # type: ignore[attr-defined]
        used = any(
            getattr(r, c) != model.model_fields[c].get_default(call_default_factory=True)
            for r in rows
            for c in model.OPTIONAL_COLUMNS
        )
        return model.header() if used else model.short_header()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        reader = csv.reader(io.StringIO(decode(cls, data), newline=""), strict=True)
        try:
            header = next(reader, None)
            cls._check_header(header)
            rows, lines = cls._read_rows(reader, len(header or ()))
        except csv.Error as exc:
            raise fail(cls, f"malformed CSV: {exc}", reader.line_num) from None
        return build(cls, {"rows": rows}, lines, columns=True)

    @classmethod
    def _check_header(cls, header: list[str] | None) -> None:
        expected = list(cls.header())
        if header is None:
            raise fail(cls, f"empty file; expected the header row {','.join(expected)}", 1)
        if header != expected and header != list(cls.row_model().short_header()):
            raise fail(
                cls,
                f"wrong header row; expected {','.join(expected)} but got {','.join(header)}",
                1,
                expected=expected,
                got=header,
            )

    @classmethod
    def _read_rows(
        cls, reader: Iterable[list[str]], width: int
    ) -> tuple[list[dict[str, Any]], dict[Loc, int]]:
        model, missing = cls.row_model(), len(cls.header()) - width
        rows: list[dict[str, Any]] = []
        lines: dict[Loc, int] = {}
        for record in reader:
            line = reader.line_num  # type: ignore[attr-defined]
            if not any(cell.strip() for cell in record):
                raise fail(cls, "blank row (CSV artifacts have no blank rows)", line)
            if len(record) != width:
                raise fail(cls, f"expected {width} columns, got {len(record)}", line)
            lines[("rows", len(rows))] = line
            rows.append(model.payload([*record, *[""] * missing]))
        return rows, lines


def separator(info: FieldInfo) -> str:
    """How a list field is joined in its cell."""
    return next((m.separator for m in info.metadata if isinstance(m, Joined)), DEFAULT_SEPARATOR)


def allows_none(annotation: Any) -> bool:
    """True for ``X | None``."""
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _cell(value: Any, sep: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return sep.join(value)
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    return str(value)


def _value(cell: str, info: FieldInfo) -> Any:
    if get_origin(info.annotation) is list:
        mark = separator(info).strip()
        return [part.strip() for part in cell.split(mark)] if cell.strip() else []
    if cell == "" and allows_none(info.annotation):
        return None
    return cell


def unique(values: Iterable[str], what: str) -> None:
    """Raise ValueError naming the first duplicate (with its CSV lines, header = line 1)."""
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            raise ValueError(
                f"duplicate {what} {value!r} on lines {seen[value] + 2} and {index + 2}"
            )
        seen[value] = index
