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

from typing import Any, ClassVar, Self

from pydantic import model_validator

from ._base import Artifact, Loc, build, decode, fail
from ._document_parse import (
    check_order,
    inline_value,
    parse_body,
    split_cells,
    split_sections,
    trim,
)
from ._document_sections import (
    BRACKET_HEADING,
    DIALECTS,
    EMPTY_LIST,
    MARKDOWN,
    MD_HEADING,
    TEXT,
    TXT_HEADING,
    Dialect,
    Line,
    Section,
    Shape,
    build_sections,
    label,
    md_row,
    unwrap,
)
from ._types import NONE_MARKER

# The sections and dialects (``_document_sections``) and the parser (``_document_parse``)
# live beside this module; their public names are re-exported so callers import from here.
__all__ = [
    "BRACKET_HEADING",
    "DIALECTS",
    "EMPTY_LIST",
    "MARKDOWN",
    "MD_HEADING",
    "TEXT",
    "TXT_HEADING",
    "Dialect",
    "DocumentArtifact",
    "Line",
    "Section",
    "Shape",
    "check_order",
    "inline_value",
    "label",
    "scalar_text",
    "split_cells",
    "split_sections",
    "trim",
    "unwrap",
]


class DocumentArtifact(Artifact):
    """An analysis (.md) or lock (.txt) rendered from its fields as fixed sections."""

    TITLE: ClassVar[str] = ""
    """Text dialect only: the title label, e.g. ``CHARACTER LOCK``."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if hasattr(cls, "KIND"):  # a kind (or a subclass of one), not the format base
            # fails at import on a malformed schema
            _SECTIONS[cls] = build_sections(cls, cls.dialect())

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
            if section.omittable and not getattr(self, section.name):
                continue
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
        dialect = cls.dialect()
        found = split_sections(cls, lines, dialect.is_heading)
        headings = {h for h, _, _ in found}
        sections = [s for s in cls.sections() if not s.omittable or s.heading in headings]
        check_order(cls, [(h, n) for h, n, _ in found], [s.heading for s in sections])
        for section, (_, number, body) in zip(sections, found, strict=True):
            where[(section.name,)] = number
            payload[section.name] = parse_body(cls, section, trim(body), where, dialect)
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
    return [md_row(header), md_row(["---"] * len(header)), *map(md_row, rows)]
