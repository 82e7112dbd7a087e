"""EXPORT: the edit as an OpenTimelineIO timeline (``EXPORT_<TARGET>_v###.otio``, issue 15 §5).

The file is OpenTimelineIO's own JSON (a ``Timeline.1`` object), so any OTIO reader opens it;
its top-level keys are the timeline's, in OTIO's order. What lies below them (the stack, the
tracks, clips, gaps and markers) is OTIO's schema, not ours: it is kept as it was written, and
``filmslate.workflow._export`` builds it through the ``opentimelineio`` library. The FCP 7 XML,
the CMX 3600 EDL and the subtitles written beside it in the export folder are renderings of it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ._json import JsonArtifact
from ._types import Text

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


__all__ = ["EditorialExport", "OtioObject"]
