"""What a spreadsheet may accept in each column, read from the row model's own fields.

The sheet's data validation is a convenience for the person editing (a drop-down of the
camera types, a number above 0); the schema is still the gate on import.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types


@dataclass(frozen=True)
class ColumnRule:
    """The choices or the numeric range one column allows."""

    choices: tuple[str, ...] = ()
    number: bool = False
    integer: bool = False
    low: float | None = None
    high: float | None = None
    above: bool = False  # the low bound itself is refused (gt, not ge)
    optional: bool = False

    def describe(self) -> str:
        """The rule in words, for the README and the sheet's input message."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        kind = "a whole number" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            return f"{kind} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{kind} {'above' if self.above else 'of at least'} {self.low:g}"
        return kind


def column_rules(cls: type) -> dict[str, ColumnRule]:
    """Column name -> rule, for the columns of a CSV artifact that have one."""
    model = cls.row_model()  # type: ignore[attr-defined]
    rules: dict[str, ColumnRule] = {}
    for name, info in model.model_fields.items():
        rule = _rule(info.annotation, info.metadata)
        if rule is not None:
            rules[name] = rule
    return rules


def _rule(annotation: Any, metadata: list[Any]) -> ColumnRule | None:
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        parts = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(parts) < len(get_args(annotation))
        if len(parts) != 1:
            return None
        annotation = parts[0]
    metadata = list(metadata) + list(getattr(annotation, "__metadata__", ()))
    annotation = getattr(annotation, "__origin__", annotation) if metadata else annotation
    if get_origin(annotation) is Literal:
        return ColumnRule(choices=tuple(str(a) for a in get_args(annotation)), optional=optional)
    if annotation in (int, float):
        low, high, above = _bounds(metadata)
        return ColumnRule(
            number=True,
            integer=annotation is int,
            low=low,
            high=high,
            above=above,
            optional=optional,
        )
    return None


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None, bool]:
    low = high = None
    above = False
    for item in metadata:
        for found in getattr(item, "metadata", [item]):
            if isinstance(found, annotated_types.Ge):
                low = float(found.ge)  # type: ignore[arg-type]
            if isinstance(found, annotated_types.Gt):
                low, above = float(found.gt), True  # type: ignore[arg-type]
            if isinstance(found, annotated_types.Le):
                high = float(found.le)  # type: ignore[arg-type]
    return low, high, above
