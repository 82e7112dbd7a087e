"""The edit as an OpenTimelineIO timeline, and its renderings (FCP 7 XML, CMX 3600 EDL, SRT,
VTT) for `slate export` (``_export`` reads the edit from the cut).

The timeline has a video track ``V1`` (one clip per take, source range the part the cut
plays in the cut's rate, a marker naming shot, GenPack version and QC verdict) and the dialogue
on ``A1``: each shot's audio trimmed with its picture and widened by its J / L cut, gaps
elsewhere; where an overlap would stack two shots' sound, the later goes to ``A2`` (and so on),
as an editor checkerboards dialogue. ``A1`` is empty without audio. FCP XML
and EDL go through the official adapters (``otio-fcp-adapter``, ``otio-cmx3600-adapter``);
both speak timecode, so they need a timecode frame rate. ``opentimelineio`` is the ``editor``
extra, imported on first use so the rest of filmslate runs without it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from ..core._errors import UserError
from ..core._names import ArtifactName
from ..schemas import EditorialExport

# format -> file extension in the export folder
FORMATS = {"otio": "otio", "fcpxml": "xml", "edl": "edl", "srt": "srt", "vtt": "vtt"}
ADAPTERS = {"fcpxml": ("fcp_xml", "otio-fcp-adapter"), "edl": ("cmx_3600", "otio-cmx3600-adapter")}
EXTRA = "pip install 'filmslate[editor]'"
COLOURS = {"PASS": "GREEN", "FIX": "YELLOW", "FAIL": "RED"}


@dataclass(frozen=True)
class Shot:
    """One clip of the cut: the take used, its length in frames of the cut's rate, the
    GenPack it was rendered from and the shot's QC verdict in the sheet the cut read."""

    shot_id: str
    take: ArtifactName
    frames: int
    genpack: ArtifactName | None
    qc_verdict: str
    qc_batch: ArtifactName | None
    first: int = 0  # the in point: the take's first frame the cut plays
    available: int = 0  # the take's own length (0: ``frames``)
    lead_s: float = 0.0  # a J cut: the shot's sound starts this much before its picture
    lag_s: float = 0.0  # an L cut: it runs on this much after

    @property
    def whole(self) -> int:
        """The take's length in frames."""
        return max(self.available, self.first + self.frames)


@dataclass(frozen=True)
class Sound:
    """One shot's dialogue audio (``AUDIO_<SHOT>``) and its length."""

    shot_id: str
    audio: ArtifactName
    seconds: float


@dataclass(frozen=True)
class Cue:
    """One subtitle: a dialogue line and when it is on screen (seconds into the cut)."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Edit:
    """The cut as an edit: its clips in order, at the cut's frame rate, and their sound."""

    target: str
    title: str
    cut: ArtifactName
    rate: float
    cut_frames: int
    shots: tuple[Shot, ...]
    sounds: tuple[Sound, ...] = ()
    plan: ArtifactName | None = None  # the EDIT plan the cut followed

    def with_sounds(self, sounds: list[Sound]) -> Edit:
        """The same edit with its dialogue audio."""
        return replace(self, sounds=tuple(sounds))

    def inputs(self) -> list[ArtifactName]:
        """What the export is made from (its lineage)."""
        names = [self.cut, *(s.take for s in self.shots), *(s.audio for s in self.sounds)]
        names += [n for s in self.shots for n in (s.genpack, s.qc_batch) if n is not None]
        return sorted(set(names + ([self.plan] if self.plan else [])))


def check_formats(formats: list[str]) -> list[str]:
    """The formats asked for, known ones only (a clear error lists them), each once."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UserError(
            f"unknown export format {unknown[0]!r}; formats: {', '.join(FORMATS)} (or --all)",
            format=unknown[0],
        )
    return list(dict.fromkeys(formats)) or ["otio"]


def otio_module() -> ModuleType:
    """opentimelineio, or a one-line error naming the extra that installs it."""
    try:
        import opentimelineio  # type: ignore[import-untyped]
    except ImportError:
        raise UserError(f"slate export needs OpenTimelineIO: {EXTRA}") from None
    module: ModuleType = opentimelineio
    return module


# -- the timeline -----------------------------------------------------------------------------


def timeline(edit: Edit) -> Any:
    """The OTIO timeline of an edit: V1 the takes, A1 the dialogue."""
    otio = otio_module()
    tl = otio.schema.Timeline(name=f"{edit.title} {edit.target}".strip())
    tl.metadata["filmslate"] = {
        "target": edit.target,
        "cut": edit.cut.filename,
        "rate": edit.rate,
        "cut_frames": edit.cut_frames,
    }
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for shot in edit.shots:
        video.append(_clip(otio, edit, shot))
    tl.tracks.extend([video, *audio_tracks(otio, edit)])
    return tl


def _range(otio: ModuleType, frames: int, rate: float, start: int = 0) -> Any:
    time = otio.opentime
    return time.TimeRange(time.RationalTime(start, rate), time.RationalTime(frames, rate))


def _clip(otio: ModuleType, edit: Edit, shot: Shot) -> Any:
    facts = {
        "shot_id": shot.shot_id,
        "take": shot.take.filename,
        "genpack": shot.genpack.filename if shot.genpack else "",
        "genpack_version": shot.genpack.version if shot.genpack else 0,
        "qc_verdict": shot.qc_verdict,
        "qc_batch": shot.qc_batch.filename if shot.qc_batch else "",
    }
    clip = otio.schema.Clip(
        name=shot.shot_id,
        media_reference=otio.schema.ExternalReference(
            target_url=shot.take.filename, available_range=_range(otio, shot.whole, edit.rate)
        ),
        source_range=_range(otio, shot.frames, edit.rate, shot.first),
        metadata={"filmslate": facts, "cmx_3600": {"reel": shot.shot_id.replace("_", "")}},
    )
    pack = f"GENPACK v{shot.genpack.version:03d}" if shot.genpack else "no GENPACK"
    clip.markers.append(
        otio.schema.Marker(
            name=f"{shot.shot_id} {pack} QC {shot.qc_verdict or 'none'}",
            marked_range=_range(otio, 0, edit.rate, shot.first),  # at the clip's first frame
            color=getattr(otio.schema.MarkerColor, COLOURS.get(shot.qc_verdict, "WHITE")),
            metadata={"filmslate": facts},
        )
    )
    return clip


@dataclass(frozen=True)
class Heard:
    """Where a shot's dialogue plays in the cut: from ``at`` (a frame of the cut), its audio
    from frame ``first`` for ``frames`` frames (all in the cut's rate)."""

    sound: Sound
    at: int
    first: int
    frames: int


def heard(edit: Edit) -> list[Heard]:
    """Each shot's audio where the cut plays it (as assemble-cut lays it): the audio starts
    with the take's first frame, so it is trimmed with the picture, widened by the shot's J
    cut before and L cut after, and kept inside its own length and the cut's."""
    sounds = {s.shot_id: s for s in edit.sounds}
    out, record = [], 0
    for shot in edit.shots:
        sound = sounds.get(shot.shot_id)
        if sound is not None:
            first = max(0, shot.first - round(shot.lead_s * edit.rate))
            end = shot.first + shot.frames + round(shot.lag_s * edit.rate)
            end = min(end, round(sound.seconds * edit.rate))
            at = record - (shot.first - first)
            if at < 0:
                first, at = first - at, 0
            end = min(end, first + edit.cut_frames - at)
            if end > first:
                out.append(Heard(sound, at, first, end - first))
        record += shot.frames
    return out


def audio_tracks(otio: ModuleType, edit: Edit) -> list[Any]:
    """The dialogue as audio tracks: A1, and A2... only where a J or L cut makes one shot's
    sound overlap the next (checkerboarded, as an editor lays dialogue). One empty A1 when
    the edit has no audio."""
    tracks: list[Any] = []
    ends: list[int] = []
    for item in heard(edit):
        index = next((i for i, end in enumerate(ends) if end <= item.at), len(tracks))
        if index == len(tracks):
            tracks.append(otio.schema.Track(name=f"A{index + 1}", kind="Audio"))
            ends.append(0)
        if item.at > ends[index]:
            tracks[index].append(
                otio.schema.Gap(source_range=_range(otio, item.at - ends[index], edit.rate))
            )
        length = _range(otio, round(item.sound.seconds * edit.rate), edit.rate)
        tracks[index].append(
            otio.schema.Clip(
                name=item.sound.audio.filename,
                media_reference=otio.schema.ExternalReference(
                    target_url=item.sound.audio.filename, available_range=length
                ),
                source_range=_range(otio, item.frames, edit.rate, item.first),
                metadata={"filmslate": {"shot_id": item.sound.shot_id}},
            )
        )
        ends[index] = item.at + item.frames
    return tracks or [otio.schema.Track(name="A1", kind="Audio")]


def timeline_payload(edit: Edit) -> EditorialExport:
    """The timeline as the EXPORT artifact (OTIO's JSON, parsed into its schema)."""
    text = otio_module().adapters.write_to_string(timeline(edit), "otio_json")
    return EditorialExport.parse(text.encode("utf-8"))


# -- renderings -------------------------------------------------------------------------------


def render_all(
    edit: Edit, payload: EditorialExport, cues: list[Cue], formats: list[str]
) -> dict[str, str]:
    """Each format's text, rendered from the timeline as stored; every refusal (a missing
    adapter, a rate without timecode) happens here, before anything is written."""
    stored = payload.render().decode("utf-8")
    out = {}
    for fmt in formats:
        if fmt in ("srt", "vtt"):
            out[fmt] = srt(cues) if fmt == "srt" else vtt(cues)
        elif fmt == "otio":
            out[fmt] = stored
        else:
            out[fmt] = _adapter_text(edit, stored, fmt)
    return out


def _adapter_text(edit: Edit, stored: str, fmt: str) -> str:
    otio = otio_module()
    adapter, package = ADAPTERS[fmt]
    if not otio.opentime.RationalTime.is_valid_timecode_rate(edit.rate):
        raise UserError(
            f"{fmt} needs a timecode frame rate (23.976, 24, 25, 29.97, 30, 48, 50, 59.94 or "
            f"60 fps): {edit.cut} runs at {edit.rate:g} fps; render the finals at such a rate "
            "([resolution.final] fps) and assemble the cut again, or export otio",
            format=fmt,
        )
    try:
        otio.adapters.from_name(adapter)
    except otio.exceptions.NotSupportedError:
        raise UserError(f"{fmt} export needs the {package} package: {EXTRA}") from None
    tl = otio.adapters.read_from_string(stored, "otio_json")
    return str(otio.adapters.write_to_string(tl, adapter))


def _clock(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{sep}{rest % 1000:03d}"


def srt(cues: list[Cue]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    blocks = [
        f"{n}\n{_clock(c.start_s, ',')} --> {_clock(c.end_s, ',')}\n{c.text}\n"
        for n, c in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def vtt(cues: list[Cue]) -> str:
    """WebVTT: the header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues."""
    blocks = [f"{_clock(c.start_s, '.')} --> {_clock(c.end_s, '.')}\n{c.text}\n" for c in cues]
    return "\n".join(["WEBVTT\n", *blocks])


__all__ = [
    "ADAPTERS",
    "EXTRA",
    "FORMATS",
    "Cue",
    "Edit",
    "Heard",
    "Shot",
    "Sound",
    "audio_tracks",
    "check_formats",
    "heard",
    "otio_module",
    "render_all",
    "srt",
    "timeline",
    "timeline_payload",
    "vtt",
]
