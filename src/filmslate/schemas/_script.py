"""SCRIPT: one scene of the screenplay, as Fountain text (the input of script-level checks).

SPEC §5 lists "script text" and "scene dialogue" as inputs of script-breakdown and
dialogue-consistency-check without naming an artifact; a per-scene slice keeps those skills'
inputs bounded (scene 300 reads one scene, not the whole script) and versioned like the rest.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from ._base import Artifact, Loc, build, decode, fail
from ._types import Paragraphs, SceneId

TITLE = "SCRIPT: "


class ScriptScene(Artifact):
    """The Fountain text of one scene, heading first, exactly as imported."""

    KIND: ClassVar[str] = "SCRIPT"
    EXTENSION: ClassVar[str] = "txt"
    SUBJECT_FIELD: ClassVar[str | None] = "scene_id"

    scene_id: SceneId
    text: Paragraphs = Field(description="the scene's Fountain text, from its heading on")

    def render(self) -> bytes:
        return f"{TITLE}{self.scene_id}\n\n{self.text}\n".encode()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        lines = decode(cls, data).replace("\r\n", "\n").split("\n")
        if not lines or not lines[0].startswith(TITLE):
            raise fail(cls, f"expected the title line '{TITLE}<scene_id>'", 1)
        if len(lines) < 2 or lines[1] != "":
            raise fail(cls, "expected a blank line after the title", 2)
        payload = {"scene_id": lines[0].removeprefix(TITLE), "text": "\n".join(lines[2:])}
        where: dict[Loc, int] = {("scene_id",): 1, ("text",): 3}
        return build(cls, payload, where)
