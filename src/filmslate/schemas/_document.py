"""Markdown (.md) and text (.txt) artifacts: a model's fields rendered as fixed sections.

One engine, two dialects. A document is a title line, then one section per field (the subject
field lives in the title), in declared order, each under a fixed heading:

* markdown: ``# PSYCH S03``, then ``## Section Title`` per field, blank lines around bodies;
* text (locks): ``CHARACTER LOCK: ALEX``, then ``SECTION TITLE:`` per field, compact.

A field's shape decides its body: a scalar is the body itself (prose may span paragraphs); a
``list[str]`` is ``- item`` lines; a flat sub-model is ``- label: value`` lines; a list of
sub-models is a table (markdown) or ``- a | b | c`` rows (text). Inside sub-models a list is
joined with ``"; "``. An empty list, and a missing optional value, are written ``(none)``;
that marker is therefore refused as a real value.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self, Union, get_args, get_origin

from pydantic import BaseModel, model_validator
from pydantic.fields import FieldInfo

from ._base import Artifact, Loc, build, decode, fail
from ._types import NONE_MARKER, SubModel

EMPTY_LIST = f"- {NONE_MARKER}"
_HEADING_CHARS = r"[A-Z0-9 /&()'.,_-]"
MD_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t].*)?")
TXT_HEADING = re.compile(rf"[A-Z]{_HEADING_CHARS}*:")
BRACKET_HEADING = re.compile(rf"\[[A-Z]{_HEADING_CHARS}*\]")
_MD_RULE = re.compile(r"\|(?:\s*:?-+:?\s*\|)+")

Line = tuple[int, str]  # (1-based line number, text)


class Shape(enum.Enum):
    """How a field is laid out in its section."""

    SCALAR = "scalar"
    LIST = "list"
    RECORD = "record"
    TABLE = "table"


@dataclass(frozen=True)
class Section:
    """One field's section: its heading and layout."""

    name: str
    heading: str
    shape: Shape
    optional: bool
    model: type[SubModel] | None


@dataclass(frozen=True)
class Dialect:
    """Where the two document dialects differ."""

    heading_re: re.Pattern[str]
    heading: Callable[[str], str]
    spaced: bool  # blank lines around section bodies (markdown) or none (compact locks)
    reserved: tuple[re.Pattern[str], ...]  # body lines that could be read as a heading

    def is_heading(self, line: str) -> bool:
        """True for a line that opens a section."""
        return self.heading_re.fullmatch(line) is not None

    def clashes(self, line: str) -> bool:
        """True for a body line this dialect (or a GenPack holding it) would misread."""
        return any(p.fullmatch(line) for p in self.reserved)


def _title_case(label: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in label.split(" "))


MARKDOWN = Dialect(MD_HEADING, lambda label: f"## {_title_case(label)}", True, (MD_HEADING,))
# Locks are pasted verbatim into GenPacks, so their bodies may not hold GenPack headings either.
TEXT = Dialect(
    TXT_HEADING, lambda label: f"{label.upper()}:", False, (TXT_HEADING, BRACKET_HEADING)
)
DIALECTS = {"md": MARKDOWN, "txt": TEXT}


class DocumentArtifact(Artifact):
    """An analysis (.md) or lock (.txt) rendered from its fields as fixed sections."""

    TITLE: ClassVar[str] = ""
    """Text dialect only: the title label, e.g. ``CHARACTER LOCK``."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if hasattr(cls, "KIND"):  # a kind (or a subclass of one), not the format base
            _SECTIONS[cls] = _build_sections(cls)  # fails at import on a malformed schema

    @classmethod
    def dialect(cls) -> Dialect:
        """The dialect of this kind's extension."""
        return DIALECTS[cls.EXTENSION]

    @classmethod
    def sections(cls) -> tuple[Section, ...]:
        """The sections, in order."""
        return _SECTIONS[cls]

    @classmethod
    def title_form(cls, subject: str | None = None) -> str:
        """The title line (with ``<field>`` standing in for a missing subject)."""
        shown = subject if subject is not None else f"<{cls.SUBJECT_FIELD}>"
        if cls.EXTENSION == "md":
            return f"# {cls.KIND} {shown}" if cls.SUBJECT_FIELD else f"# {cls.KIND}"
        return f"{cls.TITLE}: {shown}" if cls.SUBJECT_FIELD else cls.TITLE

    @model_validator(mode="after")
    def _fits_the_document(self) -> Self:
        dialect = self.dialect()
        for section in self.sections():
            problem = _problem(section, getattr(self, section.name), dialect)
            if problem:
                raise ValueError(f"{section.name}: {problem}")
        return self

    def render(self) -> bytes:
        dialect = self.dialect()
        out = [self.title_form(self.subject)]
        for section in self.sections():
            body = _render_body(section, getattr(self, section.name), dialect)
            if dialect.spaced:
                out += ["", section.heading, *(["", *body] if body else [])]
            else:
                out += [section.heading, *body]
        return ("\n".join(out) + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> Self:
        lines = decode(cls, data).replace("\r\n", "\n").split("\n")
        if lines[-1] == "":
            lines.pop()
        payload: dict[str, Any] = {}
        where: dict[Loc, int] = {}
        subject = cls._parse_title(lines[0] if lines else "")
        if cls.SUBJECT_FIELD:
            payload[cls.SUBJECT_FIELD], where[(cls.SUBJECT_FIELD,)] = subject, 1
        found = split_sections(cls, lines, cls.dialect().is_heading)
        check_order(cls, [(h, n) for h, n, _ in found], [s.heading for s in cls.sections()])
        for section, (_, number, body) in zip(cls.sections(), found, strict=True):
            where[(section.name,)] = number
            payload[section.name] = _parse_body(cls, section, trim(body), where)
        return build(cls, payload, where)

    @classmethod
    def _parse_title(cls, line: str) -> str | None:
        bare = cls.title_form("").rstrip()
        if cls.SUBJECT_FIELD and line.startswith(bare + " ") and line[len(bare) :].strip():
            return line[len(bare) :].strip()
        if not cls.SUBJECT_FIELD and line.rstrip() == bare:
            return None
        raise fail(cls, f"expected the title line {cls.title_form()!r}, got {line!r}", 1)


_SECTIONS: dict[type[DocumentArtifact], tuple[Section, ...]] = {}


# -- shapes ---------------------------------------------------------------------------------


def unwrap(annotation: Any) -> tuple[Any, bool]:
    """``Annotated[X, ...] | None`` -> (X, True); ``X`` -> (X, False)."""
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional, annotation = len(args) < len(get_args(annotation)), args[0]
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation, optional


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _shape(annotation: Any) -> tuple[Shape, bool, type[SubModel] | None]:
    core, optional = unwrap(annotation)
    if get_origin(core) is list:
        item, _ = unwrap(get_args(core)[0])
        return (Shape.TABLE, optional, item) if _is_model(item) else (Shape.LIST, optional, None)
    return (Shape.RECORD, optional, core) if _is_model(core) else (Shape.SCALAR, optional, None)


def label(name: str, info: FieldInfo) -> str:
    """A field's human label: its ``title`` or its name with spaces."""
    return info.title or name.replace("_", " ")


def _build_sections(cls: type[DocumentArtifact]) -> tuple[Section, ...]:
    dialect, sections = cls.dialect(), []
    for name, info in cls.model_fields.items():
        if name == cls.SUBJECT_FIELD:
            continue
        shape, optional, model = _shape(info.annotation)
        heading = dialect.heading(label(name, info))
        if not dialect.is_heading(heading) or (optional and shape is not Shape.SCALAR):
            raise TypeError(f"{cls.__name__}.{name}: cannot be a document section")
        if model is not None:
            _check_flat(cls, model)
        sections.append(Section(name, heading, shape, optional, model))
    if len({s.heading for s in sections}) != len(sections):
        raise TypeError(f"{cls.__name__}: two fields share a section heading")
    return tuple(sections)


def _check_flat(cls: type, model: type[BaseModel]) -> None:
    for name, info in model.model_fields.items():
        core, _ = unwrap(info.annotation)
        inner = unwrap(get_args(core)[0])[0] if get_origin(core) is list else core
        if _is_model(inner) or "|" in label(name, info):
            raise TypeError(f"{cls.__name__}: {model.__name__}.{name} must be a flat value")


# -- validation: refuse what the file could not carry back ----------------------------------


def _problem(section: Section, value: Any, dialect: Dialect) -> str | None:
    if section.shape is Shape.SCALAR:
        return _scalar_problem(value, dialect)
    if section.shape is Shape.LIST:
        return next((p for i, v in enumerate(value) if (p := _item_problem(v, f"item {i}"))), None)
    rows = [value] if section.shape is Shape.RECORD else value
    for index, row in enumerate(rows):
        for name in type(row).model_fields:
            where = f"{name}" if section.shape is Shape.RECORD else f"row {index}, {name}"
            if problem := _inline_problem(getattr(row, name), where):
                return problem
    return None


def _scalar_problem(value: Any, dialect: Dialect) -> str | None:
    if not isinstance(value, str):
        return None
    if value == NONE_MARKER or value != value.strip():
        return (
            f"{value!r} cannot be written back unchanged (no surrounding blanks, not "
            f"{NONE_MARKER!r})"
        )
    clash = next((line for line in value.split("\n") if dialect.clashes(line)), None)
    return f"the line {clash!r} would read as a section heading" if clash else None


def _item_problem(value: str, where: str) -> str | None:
    if not value or value == NONE_MARKER or value != value.strip() or "\n" in value:
        return (
            f"{where}: {value!r} is not a valid list item (one non-empty line, not {NONE_MARKER!r})"
        )
    return None


def _inline_problem(value: Any, where: str) -> str | None:
    if isinstance(value, list):
        bad = next((v for v in value if ";" in v or _item_problem(v, where)), None)
        return (
            None
            if bad is None
            else f"{where}: list item {bad!r} must be one line "
            f"without ';' (items are joined with '; ')"
        )
    if isinstance(value, str) and (value == NONE_MARKER or "\n" in value or value != value.strip()):
        return f"{where}: {value!r} must be one line, not {NONE_MARKER!r}"
    return None


# -- rendering ------------------------------------------------------------------------------


def scalar_text(value: Any) -> str:
    """A scalar as text: floats in their shortest exact form, None as the marker."""
    if value is None:
        return NONE_MARKER
    return repr(value) if isinstance(value, float) else str(value)


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(value) if value else NONE_MARKER
    return scalar_text(value)


def _escape(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|")


def _render_body(section: Section, value: Any, dialect: Dialect) -> list[str]:
    if section.shape is Shape.SCALAR:
        text = scalar_text(value)
        return text.split("\n") if text else []
    if section.shape is Shape.LIST:
        return [f"- {item}" for item in value] or [EMPTY_LIST]
    assert section.model is not None
    fields = section.model.model_fields
    if section.shape is Shape.RECORD:
        return [
            f"- {label(n, i)}: {_inline(getattr(value, n))}".rstrip() for n, i in fields.items()
        ]
    if not value:
        return [EMPTY_LIST]
    rows = [[_escape(_inline(getattr(row, n))) for n in fields] for row in value]
    if dialect is TEXT:
        return [f"- {' | '.join(cells)}".rstrip() for cells in rows]
    header = [label(n, i) for n, i in fields.items()]
    return [_md_row(header), _md_row(["---"] * len(header)), *map(_md_row, rows)]


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# -- parsing --------------------------------------------------------------------------------


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


def _parse_body(
    cls: type[DocumentArtifact], section: Section, body: list[Line], where: dict[Loc, int]
) -> Any:
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
    if cls.dialect() is MARKDOWN:
        entries = _md_table_rows(cls, section, section.model, entries)
    return [
        _parse_row(cls, section, section.model, n, line, where, i)
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
            f"{_md_row(header)!r}, got {first[1]!r}",
            first[0] or None,
        )
    if len(entries) < 2 or not _MD_RULE.fullmatch(entries[1][1].replace(" ", "")):
        number = entries[1][0] if len(entries) > 1 else first[0]
        raise fail(
            cls,
            f"in section {section.heading!r}: expected the table rule "
            f"{_md_row(['---'] * len(header))!r} under the header",
            number,
        )
    return entries[2:]


def _parse_row(
    cls: type[DocumentArtifact],
    section: Section,
    model: type[SubModel],
    number: int,
    line: str,
    where: dict[Loc, int],
    index: int,
) -> dict[str, Any]:
    where[(section.name, index)] = number
    if cls.dialect() is MARKDOWN:
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
