"""Cell and field types shared by every artifact schema.

Each type normalises at construction (strip, uppercase ids, ...) and rejects what a file could
not carry back unchanged, so ``parse(render(x)) == x`` holds for every valid ``x``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..core._names import EPISODE_RE, SCENE_RE, SHOT_RE, TARGET_RE, TOKEN_RE, lock_subject

# Control characters and Unicode line/paragraph separators would break a line-based file.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
HEX_RE = re.compile(r"#[0-9A-F]{6}")
CURRENCY_RE = re.compile(r"[A-Z]{3}")
NONE_MARKER = "(none)"


def check_chars(value: str, allowed: str = "") -> None:
    """Refuse control characters and line breaks (except those in ``allowed``)."""
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            kind = (
                "line breaks"
                if ch in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
                else "control characters"
            )
            raise ValueError(f"must not contain {kind} (found {ch!r})")


def _text(value: str) -> str:
    value = value.replace("\t", " ").strip()  # a pasted tab is a space, not an error
    check_chars(value)
    return value


def _item(value: str) -> str:
    value = _text(value)
    if not value:
        raise ValueError("must not be empty")
    return value


def _without(chars: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = _item(value)
        if found := [c for c in chars if c in value]:
            raise ValueError(f"must not contain {found[0]!r} (it separates list items)")
        return value

    return check


def _paragraphs(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\t", "    ")
    check_chars(value, allowed="\n")
    return "\n".join(line.rstrip() for line in value.split("\n")).strip()


def _matching(
    pattern: re.Pattern[str], what: str, normalise: Callable[[str], str] = str.strip
) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = normalise(value)
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {what} (got {value!r})")
        return value

    return check


Text = Annotated[str, AfterValidator(_text)]
"""One line of text, stripped; may be empty."""
Item = Annotated[str, AfterValidator(_item)]
"""One non-empty line of text (a list item)."""
Entry = Annotated[str, AfterValidator(_without(";"))]
"""A list item that is joined with '; ' (no semicolons)."""
Id = Annotated[str, AfterValidator(_without(",;"))]
"""An identifier or short name joined with ', ' (no commas or semicolons)."""
Paragraphs = Annotated[str, AfterValidator(_paragraphs)]
"""Multi-line prose; lines right-stripped, no leading or trailing blank lines."""
HexColour = Annotated[
    str, AfterValidator(_matching(HEX_RE, "a hex colour like #1A2B3C", lambda v: v.strip().upper()))
]
"""A colour as ``#RRGGBB`` (normalised to uppercase)."""
SceneId = Annotated[str, AfterValidator(_matching(SCENE_RE, "a scene id like S01"))]
ShotId = Annotated[str, AfterValidator(_matching(SHOT_RE, "a shot id like S01_SH02"))]
EpisodeId = Annotated[str, AfterValidator(_matching(EPISODE_RE, "an episode id like E01"))]
Target = Annotated[
    str,
    AfterValidator(
        _matching(TARGET_RE, "a target: a scene (S03), act (ACT_1), episode (E01) or PROJECT")
    ),
]
Name = Annotated[
    str,
    AfterValidator(
        _matching(TOKEN_RE, "an uppercase name like ALEX or ABANDONED_WAREHOUSE", lock_subject)
    ),
]
"""A lock, character, set or task name: uppercase, spaces to underscores (``Old Mill`` ->
``OLD_MILL``)."""
Currency = Annotated[
    str,
    AfterValidator(
        _matching(CURRENCY_RE, "a three-letter currency code like USD", lambda v: v.strip().upper())
    ),
]

Money = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Level = Literal["low", "medium", "high"]
YesNo = Literal["YES", "NO"]
Score0to2 = Annotated[int, Field(ge=0, le=2)]
Score1to5 = Annotated[int, Field(ge=1, le=5)]


@dataclass(frozen=True)
class Joined:
    """Annotated marker: how a CSV cell joins a list (default ', ')."""

    separator: str


IdList = list[Id]
NoteList = Annotated[list[Entry], Joined("; ")]


class SubModel(BaseModel):
    """A flat sub-model: a CSV row, a table row or a block of ``label: value`` lines."""

    model_config = ConfigDict(extra="forbid")
