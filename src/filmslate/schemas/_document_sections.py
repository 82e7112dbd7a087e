"""The sections of a document artifact (``_document``): the two dialects, the shape of each
field, and the section table built once per kind from its model's fields.

``_document`` re-exports every public name, so callers import from there.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ._base import Artifact
from ._types import NONE_MARKER, SubModel

__all__ = [
    "BRACKET_HEADING",
    "DIALECTS",
    "EMPTY_LIST",
    "MARKDOWN",
    "MD_HEADING",
    "TEXT",
    "TXT_HEADING",
    "Dialect",
    "Line",
    "Section",
    "Shape",
    "build_sections",
    "label",
    "md_row",
    "unwrap",
]

EMPTY_LIST = f"- {NONE_MARKER}"
_HEADING_CHARS = r"[A-Z0-9 /&()'.,_-]"
MD_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t].*)?")
TXT_HEADING = re.compile(rf"[A-Z]{_HEADING_CHARS}*:")
BRACKET_HEADING = re.compile(rf"\[[A-Z]{_HEADING_CHARS}*\]")

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
    omittable: bool = False  # a list or table added later: absent when empty


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


OMIT_WHEN_EMPTY = "omit_when_empty"
"""A list (or table) field's ``json_schema_extra`` key: its section is written only when it
has items and a document without it reads as empty (how a section is added without breaking
the files already written)."""


def build_sections(cls: type[Artifact], dialect: Dialect) -> tuple[Section, ...]:
    """The sections of a document kind, in field order; TypeError on a malformed schema."""
    sections = []
    for name, info in cls.model_fields.items():
        if name == cls.SUBJECT_FIELD:
            continue
        shape, optional, model = _shape(info.annotation)
        heading = dialect.heading(label(name, info))
        if not dialect.is_heading(heading) or (optional and shape is not Shape.SCALAR):
            raise TypeError(f"{cls.__name__}.{name}: cannot be a document section")
        if model is not None:
            _check_flat(cls, model)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        omittable = bool(extra.get(OMIT_WHEN_EMPTY)) and shape in (Shape.LIST, Shape.TABLE)
        sections.append(Section(name, heading, shape, optional, model, omittable))
    if len({s.heading for s in sections}) != len(sections):
        raise TypeError(f"{cls.__name__}: two fields share a section heading")
    return tuple(sections)


def _check_flat(cls: type, model: type[BaseModel]) -> None:
    for name, info in model.model_fields.items():
        core, _ = unwrap(info.annotation)
        inner = unwrap(get_args(core)[0])[0] if get_origin(core) is list else core
        if _is_model(inner) or "|" in label(name, info):
            raise TypeError(f"{cls.__name__}: {model.__name__}.{name} must be a flat value")


def md_row(cells: Sequence[str]) -> str:
    """One markdown table row."""
    return "| " + " | ".join(cells) + " |"
