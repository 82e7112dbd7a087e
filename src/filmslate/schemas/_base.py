"""The common interface of every text artifact schema, and its registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self, TypeVar

import pydantic
from pydantic import ConfigDict, ValidationError

from ..core._errors import ArtifactNameError, SchemaError

Loc = tuple[str | int, ...]
A = TypeVar("A", bound="Artifact")

SCHEMAS: dict[str, type[Artifact]] = {}
"""Every text artifact kind (``"SCENES"``, ``"CHAR_LOCK"``, ...) -> its model."""


class Artifact(pydantic.BaseModel):
    """One text artifact: renders to its file format and parses back to an equal object."""

    model_config = ConfigDict(extra="forbid")

    KIND: ClassVar[str]
    EXTENSION: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    SUBJECT_FIELD: ClassVar[str | None] = None
    """The field naming the artifact's subject (scene, shot, target, name, task), if any."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "KIND" not in cls.__dict__:
            return  # a format base class, not a kind
        if cls.KIND in SCHEMAS:
            raise TypeError(f"artifact kind {cls.KIND} is defined twice")
        SCHEMAS[cls.KIND] = cls

    @property
    def subject(self) -> str | None:
        """The subject this artifact is about (``S03``, ``ALEX``), or None."""
        return getattr(self, self.SUBJECT_FIELD) if self.SUBJECT_FIELD else None

    def render(self) -> bytes:
        """The file's bytes: UTF-8, ``\\n`` line endings, ending with a newline."""
        raise NotImplementedError

    @classmethod
    def parse(cls, data: bytes) -> Self:
        """Parse a file's bytes; raises SchemaError naming the line or field at fault."""
        raise NotImplementedError


def schema_for(kind: str) -> type[Artifact]:
    """The model of a text artifact kind; ArtifactNameError for unknown or binary kinds."""
    try:
        return SCHEMAS[kind.upper()]
    except KeyError:
        raise ArtifactNameError(
            f"no text schema for artifact kind {kind!r}; kinds with a schema: "
            f"{', '.join(sorted(SCHEMAS))}",
            kind=kind,
        ) from None


def decode(cls: type[Artifact], data: bytes) -> str:
    """UTF-8 text of a file (a leading BOM is dropped: every format starts with fixed text)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SchemaError(
            f"{cls.KIND}: line {line}: not valid UTF-8 text ({exc.reason})",
            kind=cls.KIND,
            line=line,
        ) from None


def fail(cls: type[Artifact], message: str, line: int | None = None, **context: Any) -> SchemaError:
    """A SchemaError for ``cls`` whose message starts with the kind and line."""
    where = f"line {line}: " if line is not None else ""
    return SchemaError(f"{cls.KIND}: {where}{message}", kind=cls.KIND, line=line, **context)


def build(
    cls: type[A],
    payload: Mapping[str, Any],
    lines: Mapping[Loc, int] | None = None,
    columns: bool = False,
) -> A:
    """Validate a parsed payload, turning pydantic errors into one readable SchemaError.

    ``lines`` maps location prefixes (``("rows", 3)``) to source line numbers; with
    ``columns`` the matched prefix is hidden and the rest shown as a CSV column.
    """
    try:
        return cls.model_validate(payload)
    except ValidationError as exc:
        problems = [_problem(err, lines or {}, columns) for err in exc.errors()]
        first = problems[0]
        message = "; ".join(p["message"] for p in problems)
        raise SchemaError(
            f"{cls.KIND}: {message}",
            kind=cls.KIND,
            line=first["line"],
            field=first["field"],
            errors=problems,
        ) from None


def _problem(err: Any, lines: Mapping[Loc, int], columns: bool) -> dict[str, Any]:
    loc: Loc = tuple(err["loc"])
    prefix = next((loc[:n] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
    line = lines.get(prefix) if prefix is not None else None
    shown = loc
    if columns:  # CSV: the line says which row; show only the column
        shown = loc[len(prefix) :] if prefix else loc[2:] if loc[:1] == ("rows",) else loc
    field = format_loc(shown)
    text = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "literal_error" and isinstance(err["input"], str):
        text += f" (got {err['input']!r})"
    parts = [
        f"line {line}" if line is not None else "",
        f"{'column' if columns else 'field'} {field!r}" if field else "",
    ]
    where = ", ".join(p for p in parts if p)
    return {
        "line": line,
        "field": format_loc(loc),
        "message": f"{where}: {text}" if where else text,
    }


def format_loc(loc: Loc) -> str:
    """``("characters", 0, "score")`` -> ``characters[0].score``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
