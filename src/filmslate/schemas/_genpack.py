"""GENPACK: the prompt pack of one shot, six bracketed sections in a fixed order."""

from __future__ import annotations

from typing import Annotated, ClassVar, Self

from pydantic import AfterValidator, Field

from ._base import Artifact, Loc, build, decode, fail
from ._document import BRACKET_HEADING, check_order, split_sections, trim
from ._types import Paragraphs, ShotId


def _no_bracket_headings(value: str) -> str:
    for line in value.split("\n"):
        if BRACKET_HEADING.fullmatch(line):
            raise ValueError(f"the line {line!r} would read as a GenPack section heading")
    return value


PackBody = Annotated[Paragraphs, AfterValidator(_no_bracket_headings)]
"""A section's raw text (other artifacts' text, inserted verbatim)."""

GENPACK_SECTIONS = {
    "style": "[STYLE]",
    "set": "[SET]",
    "characters": "[CHARACTERS]",
    "action": "[ACTION]",
    "negatives": "[NEGATIVES / NO-DRIFT]",
    "settings": "[SETTINGS]",
}


class GenPack(Artifact):
    """The generation prompt of one shot: locks verbatim, then action, negatives, settings."""

    KIND: ClassVar[str] = "GENPACK"
    EXTENSION: ClassVar[str] = "txt"
    SUBJECT_FIELD: ClassVar[str | None] = "shot_id"

    shot_id: ShotId
    style: PackBody = Field("", description="the STYLE lock, verbatim (empty without one)")
    set: PackBody = Field(description="the SET lock, verbatim")
    characters: PackBody = Field(description="the relevant CHAR locks, verbatim")
    action: PackBody = Field(description="what happens, from the shot's blocking")
    negatives: PackBody = Field(description="forbidden-drift lists plus regen rules")
    settings: PackBody = Field(description="generation settings for the resolution tier")

    def render(self) -> bytes:
        out = [f"GENPACK: {self.shot_id}"]
        for name, heading in GENPACK_SECTIONS.items():
            body = getattr(self, name)
            out += ["", heading, *([body] if body else [])]
        return ("\n".join(out) + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> Self:
        lines = decode(cls, data).replace("\r\n", "\n").split("\n")
        if lines[-1] == "":
            lines.pop()
        title = lines[0] if lines else ""
        if not title.startswith("GENPACK: "):
            raise fail(cls, f"expected the title line 'GENPACK: <shot_id>', got {title!r}", 1)
        found = split_sections(cls, lines, lambda line: bool(BRACKET_HEADING.fullmatch(line)))
        check_order(cls, [(h, n) for h, n, _ in found], list(GENPACK_SECTIONS.values()))
        payload = {"shot_id": title.removeprefix("GENPACK: ")}
        where: dict[Loc, int] = {("shot_id",): 1}
        for name, (_, number, body) in zip(GENPACK_SECTIONS, found, strict=True):
            payload[name] = "\n".join(line for _, line in trim(body))
            where[(name,)] = number
        return build(cls, payload, where)
