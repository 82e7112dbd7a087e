"""EXPORT: the edit as an OpenTimelineIO timeline (``EXPORT_<TARGET>_v###.otio``, issue 15 §5).

The file is OpenTimelineIO's own JSON (a ``Timeline.1`` object), so any OTIO reader opens it;
its top-level keys are the timeline's, in OTIO's order. What lies below them (the stack, the
tracks, clips, gaps and markers) is OTIO's schema, not ours: it is kept as it was written, and
``filmslate.workflow._export`` builds it through the ``opentimelineio`` library. The FCP 7 XML,
the CMX 3600 EDL and the subtitles written beside it in the export folder are renderings of it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

from pydantic import field_validator

from ._base import Artifact, build, decode
from ._json import JsonArtifact
from ._types import Paragraphs, Text

OtioObject = dict[str, Any]
"""A serialised OpenTimelineIO object (``{"OTIO_SCHEMA": "Stack.1", ...}``)."""


class EditorialExport(JsonArtifact):
    """The editor hand-off of a cut: video track of its takes, audio track of its dialogue,
    markers with shot id, GenPack version and QC verdict (metadata under ``filmslate``)."""

    KIND: ClassVar[str] = "EXPORT"
    EXTENSION: ClassVar[str] = "otio"

    OTIO_SCHEMA: Literal["Timeline.1"]
    metadata: OtioObject
    name: Text
    global_start_time: OtioObject | None = None
    tracks: OtioObject


class Rendering(Artifact):
    """A rendering of an EXPORT timeline by an OTIO adapter: the document as the adapter wrote
    it (lines right-stripped), checked to be of its format by its opening."""

    OPENING: ClassVar[tuple[str, str]]  # (what the text starts with, a mark it contains)
    FORMAT: ClassVar[str]

    document: Paragraphs

    @field_validator("document")
    @classmethod
    def _of_its_format(cls, value: str) -> str:
        start, mark = cls.OPENING
        if not value.startswith(start) or mark not in value:
            raise ValueError(f"not {cls.FORMAT} (it starts with {start!r} and holds {mark!r})")
        return value

    def render(self) -> bytes:
        return (self.document + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> Self:
        return build(cls, {"document": decode(cls, data)})


class FcpXmlExport(Rendering):
    """The timeline as Final Cut Pro 7 XML (``EXPORT_<TARGET>_FCP_v###.xml``), for Premiere
    and Resolve; written by ``otio-fcp-adapter`` from the EXPORT it is made from."""

    KIND: ClassVar[str] = "EXPORT_FCP"
    EXTENSION: ClassVar[str] = "xml"
    OPENING: ClassVar[tuple[str, str]] = ("<?xml", "<xmeml")
    FORMAT: ClassVar[str] = "FCP 7 XML"


class EdlExport(Rendering):
    """The timeline's video track as a CMX 3600 EDL (``EXPORT_<TARGET>_EDL_v###.edl``), for
    Avid and Premiere; written by ``otio-cmx3600-adapter`` from the EXPORT it is made from."""

    KIND: ClassVar[str] = "EXPORT_EDL"
    EXTENSION: ClassVar[str] = "edl"
    OPENING: ClassVar[tuple[str, str]] = ("TITLE:", "TITLE:")
    FORMAT: ClassVar[str] = "a CMX 3600 EDL"


__all__ = ["EditorialExport", "EdlExport", "FcpXmlExport", "OtioObject", "Rendering"]
