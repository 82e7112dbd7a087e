"""SUBTITLES: the cut's subtitles, ``SUBTITLES_<TARGET>_v###.srt`` (SubRip) and
``SUBTITLES_<TARGET>_VTT_v###.vtt`` (WebVTT; the store keeps one version series per stem, so
the two formats have two stems), issue 15 §3.

One cue per dialogue line, in the order heard, with when it is heard in the cut in whole
milliseconds (what both formats can hold, so a file parses back to the same cues). SubRip
numbers its cues and writes ``HH:MM:SS,mmm --> HH:MM:SS,mmm``; WebVTT starts with ``WEBVTT``
and writes ``HH:MM:SS.mmm``. A cue's text is one line. A cue ends after it starts, and
starts at or after the one before it ends: no cue lasts no time and no two are on screen at
once (a file breaking either is refused, naming the cue). assemble-cut writes both from the
same cues; how they fit the cut (inside it, one per heard line) is its gate's.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._base import Artifact, Loc, build, decode, fail
from ._types import Item

Millis = Annotated[int, Field(ge=0)]


class SubtitleCue(BaseModel):
    """One subtitle: a line's text and when it is heard (milliseconds into the cut)."""

    model_config = ConfigDict(extra="forbid")

    start_ms: Millis
    end_ms: Millis
    text: Item

    @model_validator(mode="after")
    def _lasts(self) -> Self:
        if self.end_ms <= self.start_ms:
            raise ValueError(
                f"the cue {self.text!r} ends at {self.end_ms} ms, not after its start "
                f"({self.start_ms} ms): a subtitle lasts some time"
            )
        return self

    @property
    def start_s(self) -> float:
        """The cue's start in seconds."""
        return self.start_ms / 1000

    @property
    def end_s(self) -> float:
        """The cue's end in seconds."""
        return self.end_ms / 1000


class _Subtitles(Artifact):
    """The cues of a cut; the format's separator and header are the subclass's."""

    SEPARATOR: ClassVar[str] = ","
    HEADER: ClassVar[str] = ""

    cues: list[SubtitleCue] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_at_a_time(self) -> Self:
        for number, (before, cue) in enumerate(zip(self.cues, self.cues[1:], strict=False), 2):
            if cue.start_ms < before.end_ms:
                raise ValueError(
                    f"cue {number} ({cue.text!r}) starts at {cue.start_ms} ms, before cue "
                    f"{number - 1} ends ({before.end_ms} ms): cues follow one another"
                )
        return self

    def render(self) -> bytes:
        """The file: the header (WebVTT), then one block per cue, a blank line between."""
        blocks = [self.HEADER] if self.HEADER else []
        for number, cue in enumerate(self.cues, 1):
            label = "" if self.HEADER else f"{number}\n"  # SubRip numbers its cues
            times = f"{self._clock(cue.start_ms)} --> {self._clock(cue.end_ms)}"
            blocks.append(f"{label}{times}\n{cue.text}\n")
        return "\n".join(blocks).encode("utf-8") if blocks else b"\n"

    @classmethod
    def _clock(cls, ms: int) -> str:
        hours, rest = divmod(ms, 3_600_000)
        minutes, rest = divmod(rest, 60_000)
        return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{cls.SEPARATOR}{rest % 1000:03d}"

    @classmethod
    def parse(cls, data: bytes) -> Self:
        """Read the cues back; a SchemaError names the line of a malformed cue."""
        lines = decode(cls, data).replace("\r\n", "\n").split("\n")
        at = 0
        if cls.HEADER:
            if not lines or lines[0].strip() != cls.HEADER.strip():
                raise fail(cls, f"a WebVTT file starts with {cls.HEADER.strip()!r}", 1)
            at = 1
        cues: list[dict[str, object]] = []
        where: dict[Loc, int] = {}
        while at < len(lines):
            if not lines[at].strip():
                at += 1
                continue
            if not cls.HEADER:
                if not lines[at].strip().isdigit():
                    raise fail(cls, f"expected a cue number, got {lines[at]!r}", at + 1)
                at += 1
            where[("cues", len(cues))] = at + 1
            cue, at = cls._cue(lines, at)
            cues.append(cue)
        return build(cls, {"cues": cues}, where)

    @classmethod
    def _cue(cls, lines: list[str], at: int) -> tuple[dict[str, object], int]:
        clock = r"(\d{2,}):(\d{2}):(\d{2})" + re.escape(cls.SEPARATOR) + r"(\d{3})"
        found = (
            re.fullmatch(rf"{clock} --> {clock}", lines[at].strip()) if at < len(lines) else None
        )
        if found is None:
            shown = lines[at] if at < len(lines) else "the end of the file"
            raise fail(
                cls,
                f"expected 'HH:MM:SS{cls.SEPARATOR}mmm --> HH:MM:SS{cls.SEPARATOR}mmm', "
                f"got {shown!r}",
                at + 1,
            )
        h1, m1, s1, f1, h2, m2, s2, f2 = (int(g) for g in found.groups())
        text = lines[at + 1] if at + 1 < len(lines) else ""
        if at + 2 < len(lines) and lines[at + 2].strip():
            raise fail(cls, "a cue's text is one line; leave a blank line after it", at + 3)
        start = ((h1 * 60 + m1) * 60 + s1) * 1000 + f1
        end = ((h2 * 60 + m2) * 60 + s2) * 1000 + f2
        return {"start_ms": start, "end_ms": end, "text": text}, at + 2


class SubtitlesSrt(_Subtitles):
    """The cut's subtitles as SubRip (``SUBTITLES_<TARGET>_v###.srt``)."""

    KIND: ClassVar[str] = "SUBTITLES"
    EXTENSION: ClassVar[str] = "srt"


class SubtitlesVtt(_Subtitles):
    """The cut's subtitles as WebVTT (``SUBTITLES_<TARGET>_VTT_v###.vtt``)."""

    KIND: ClassVar[str] = "SUBTITLES_VTT"
    EXTENSION: ClassVar[str] = "vtt"
    SEPARATOR: ClassVar[str] = "."
    HEADER: ClassVar[str] = "WEBVTT\n"


__all__ = ["SubtitleCue", "SubtitlesSrt", "SubtitlesVtt"]
