"""Parsing a document artifact's text (``_document``): the sections cut from the lines, their
order checked, and each body read back to the values its field's shape was rendered from.

Every refusal names the line and what was expected there. ``_document`` re-exports every
public name, so callers import from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_origin

from pydantic.fields import FieldInfo

from ._base import Artifact, Loc, fail
from ._document_sections import (
    EMPTY_LIST,
    MARKDOWN,
    Dialect,
    Line,
    Section,
    Shape,
    label,
    md_row,
    unwrap,
)
from ._types import NONE_MARKER, SubModel

__all__ = ["check_order", "inline_value", "parse_body", "split_cells", "split_sections", "trim"]

_MD_RULE = re.compile(r"\|(?:\s*:?-+:?\s*\|)+")


def split_sections(
    cls: type[Artifact], lines: list[str], is_heading: Callable[[str], bool]
) -> list[tuple[str, int, list[Line]]]:
    """Cut lines 2.. into (heading, line number, body) sections; only blanks may precede."""
    found: list[tuple[str, int, list[Line]]] = []
    for number, line in enumerate(lines[1:], start=2):
        if is_heading(line):
            found.append((line.rstrip(), number, []))
        elif found:
            found[-1][2].append((number, line))
        elif line.strip():
            raise fail(cls, f"unexpected text before the first section: {line!r}", number)
    return found


def check_order(cls: type[Artifact], found: list[tuple[str, int]], expected: list[str]) -> None:
    """Every expected heading exactly once, in order; the message names the first fault."""
    seen: dict[str, int] = {}
    order = "; ".join(expected)
    for heading, number in found:
        if heading not in expected:
            raise fail(cls, f"unknown section {heading!r}; sections are, in order: {order}", number)
        if heading in seen:
            raise fail(
                cls, f"duplicate section {heading!r} (first on line {seen[heading]})", number
            )
        seen[heading] = number
    for index, heading in enumerate(expected):
        if index >= len(found):
            after = f" (expected after {found[-1][0]!r})" if found else ""
            raise fail(
                cls,
                f"missing section {heading!r}{after}; sections are, in order: {order}",
                found[-1][1] if found else None,
            )
        got, number = found[index]
        if got != heading:
            if heading not in seen:
                raise fail(
                    cls,
                    f"missing section {heading!r} (expected before {got!r}); "
                    f"sections are, in order: {order}",
                    number,
                )
            raise fail(
                cls,
                f"section {got!r} is out of order; expected {heading!r} here; "
                f"sections are, in order: {order}",
                number,
            )


def trim(body: list[Line]) -> list[Line]:
    """Drop leading and trailing blank lines."""
    start, end = 0, len(body)
    while start < end and not body[start][1].strip():
        start += 1
    while end > start and not body[end - 1][1].strip():
        end -= 1
    return body[start:end]


def parse_body(
    cls: type[Artifact], section: Section, body: list[Line], where: dict[Loc, int], dialect: Dialect
) -> Any:
    """One section's value, read back from its body lines (``where`` gets their line numbers)."""
    if section.shape is Shape.SCALAR:
        text = "\n".join(line for _, line in body)
        return None if section.optional and text.strip() == NONE_MARKER else text
    entries = [(n, line.rstrip()) for n, line in body if line.strip()]
    if section.shape is not Shape.RECORD and [e for _, e in entries] == [EMPTY_LIST]:
        return []
    if section.shape is Shape.LIST:
        return [
            _after_dash(cls, section, n, line, where, (section.name, i))
            for i, (n, line) in enumerate(entries)
        ]
    assert section.model is not None
    if section.shape is Shape.RECORD:
        return _parse_record(cls, section, section.model, entries, where)
    if dialect is MARKDOWN:
        entries = _md_table_rows(cls, section, section.model, entries)
    return [
        _parse_row(cls, section, section.model, n, line, where, i, dialect)
        for i, (n, line) in enumerate(entries)
    ]


def _after_dash(
    cls: type[Artifact], section: Section, number: int, line: str, where: dict[Loc, int], loc: Loc
) -> str:
    if line != "-" and not line.startswith("- "):
        raise fail(
            cls, f"in section {section.heading!r}: expected a '- ' line, got {line!r}", number
        )
    where[loc] = number
    return line[2:]


def _parse_record(
    cls: type[Artifact],
    section: Section,
    model: type[SubModel],
    entries: list[Line],
    where: dict[Loc, int],
) -> dict[str, Any]:
    fields = list(model.model_fields.items())
    last = entries[-1][0] if entries else where[(section.name,)]
    if len(entries) > len(fields):
        raise fail(
            cls,
            f"in section {section.heading!r}: unexpected line {entries[len(fields)][1]!r}",
            entries[len(fields)][0],
        )
    record: dict[str, Any] = {}
    for index, (name, info) in enumerate(fields):
        prefix = f"- {label(name, info)}:"
        if index >= len(entries):
            raise fail(cls, f"in section {section.heading!r}: missing line '{prefix} ...'", last)
        number, line = entries[index]
        if not line.startswith(prefix):
            raise fail(
                cls,
                f"in section {section.heading!r}: expected '{prefix} ...', got {line!r}",
                number,
            )
        where[(section.name, name)] = number
        record[name] = inline_value(line[len(prefix) :].strip(), info)
    return record


def _md_table_rows(
    cls: type[Artifact], section: Section, model: type[SubModel], entries: list[Line]
) -> list[Line]:
    header = [label(n, i) for n, i in model.model_fields.items()]
    first = entries[0] if entries else (0, "")
    if _md_cells(first[1]) != header:
        raise fail(
            cls,
            f"in section {section.heading!r}: expected the table header "
            f"{md_row(header)!r}, got {first[1]!r}",
            first[0] or None,
        )
    if len(entries) < 2 or not _MD_RULE.fullmatch(entries[1][1].replace(" ", "")):
        number = entries[1][0] if len(entries) > 1 else first[0]
        raise fail(
            cls,
            f"in section {section.heading!r}: expected the table rule "
            f"{md_row(['---'] * len(header))!r} under the header",
            number,
        )
    return entries[2:]


def _parse_row(
    cls: type[Artifact],
    section: Section,
    model: type[SubModel],
    number: int,
    line: str,
    where: dict[Loc, int],
    index: int,
    dialect: Dialect,
) -> dict[str, Any]:
    where[(section.name, index)] = number
    if dialect is MARKDOWN:
        cells = _md_cells(line)
    else:
        cells = split_cells(_after_dash(cls, section, number, line, where, (section.name, index)))
    fields = model.model_fields
    if cells is None or len(cells) != len(fields):
        count = "a row like '| a | b |'" if cells is None else f"{len(cells)} cells"
        raise fail(
            cls,
            f"in section {section.heading!r}: expected {len(fields)} cells, got {count}",
            number,
        )
    return {
        name: inline_value(cell, info)
        for (name, info), cell in zip(fields.items(), cells, strict=True)
    }


def _md_cells(line: str) -> list[str] | None:
    cells = split_cells(line)
    if not line.startswith("|") or len(cells) < 3 or cells[-1] != "":
        return None
    return cells[1:-1]


def split_cells(text: str) -> list[str]:
    """Split on unescaped ``|``; ``\\|`` and ``\\\\`` stand for ``|`` and ``\\``."""
    cells, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and text[index + 1 : index + 2] in ("\\", "|"):
            current.append(text[index + 1])
            index += 2
            continue
        if char == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    cells.append("".join(current))
    return [cell.strip() for cell in cells]


def inline_value(raw: str, info: FieldInfo) -> Any:
    """A ``label: value`` value or table cell back to what validation expects."""
    core, optional = unwrap(info.annotation)
    if get_origin(core) is list:
        return [] if raw == NONE_MARKER else [part.strip() for part in raw.split(";")]
    return None if optional and raw == NONE_MARKER else raw
