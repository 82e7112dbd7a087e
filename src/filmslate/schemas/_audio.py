"""DIALOGUE: which dialogue lines of a scene fall in which shot (issue 15).

One row per spoken line, in the scene's line order. ``line_order`` is the line's place in the
scene (1, 2, ...), ``source_line`` its cue's line in the SCRIPT slice (0 for a line taken from
the SCENES summary). ``extension`` is the cue's extension as written (``V.O.``, ``O.S.``,
``O.C.``, or another); ``on_screen`` says whether the speaker is seen speaking in the shot
(``no`` for an extension that puts the voice off screen, or a speaker the shot does not show):
a lip-synced render only makes sense where it is ``yes``.

AUDIO (``AUDIO_<SHOT>_v###.wav``) is binary and has no schema here; its cue timings travel in
the WAV itself (see ``engine._speech``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ._csv import CsvArtifact, CsvRow
from ._types import Name, ShotId, Text

OnScreen = Literal["yes", "no"]


class DialogueRow(CsvRow):
    """One spoken line and the shot it falls in."""

    shot_id: ShotId
    line_order: Annotated[int, Field(ge=1)]
    character: Name
    text: Text
    parenthetical: Text = ""
    extension: Text = ""
    on_screen: OnScreen = "yes"
    source_line: Annotated[int, Field(ge=0)] = 0


class DialogueShots(CsvArtifact):
    """dialogue-shots' assignment of a scene's lines to its shots (``DIALOGUE_<SCENE>``; the
    gate refuses a row whose shot is not in the scene's shot list)."""

    KIND: ClassVar[str] = "DIALOGUE"

    rows: list[DialogueRow] = Field(default_factory=list)

    def lines_of(self, shot_id: str) -> list[DialogueRow]:
        """The shot's lines, in scene order."""
        return sorted((r for r in self.rows if r.shot_id == shot_id), key=lambda r: r.line_order)


__all__ = ["DialogueRow", "DialogueShots", "OnScreen"]
