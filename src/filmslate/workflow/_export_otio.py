"""The edit as an OpenTimelineIO timeline, and its renderings (FCP 7 XML, CMX 3600 EDL, SRT,
VTT) for `slate export` (``_export`` reads the edit from the cut).

The timeline has a video track ``V1`` (one clip per take, source range the take's length in
the cut's rate, a marker naming shot, GenPack version and QC verdict) and an audio track ``A1``
(each shot's dialogue audio at the shot's start, gaps elsewhere; empty without audio). FCP XML
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

    def with_sounds(self, sounds: list[Sound]) -> Edit:
        """The same edit with its dialogue audio."""
        return replace(self, sounds=tuple(sounds))

    def inputs(self) -> list[ArtifactName]:
        """What the export is made from (its lineage)."""
        names = [self.cut, *(s.take for s in self.shots), *(s.audio for s in self.sounds)]
        names += [n for s in self.shots for n in (s.genpack, s.qc_batch) if n is not None]
        return sorted(set(names))


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
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    tl.tracks.extend([video, audio])
    for shot in edit.shots:
        video.append(_clip(otio, edit, shot))
    add_dialogue(otio, audio, edit)
    return tl


def _range(otio: ModuleType, frames: int, rate: float) -> Any:
    time = otio.opentime
    return time.TimeRange(time.RationalTime(0, rate), time.RationalTime(frames, rate))


def _clip(otio: ModuleType, edit: Edit, shot: Shot) -> Any:
    facts = {
        "shot_id": shot.shot_id,
        "take": shot.take.filename,
        "genpack": shot.genpack.filename if shot.genpack else "",
        "genpack_version": shot.genpack.version if shot.genpack else 0,
        "qc_verdict": shot.qc_verdict,
        "qc_batch": shot.qc_batch.filename if shot.qc_batch else "",
    }
    used = _range(otio, shot.frames, edit.rate)
    clip = otio.schema.Clip(
        name=shot.shot_id,
        media_reference=otio.schema.ExternalReference(
            target_url=shot.take.filename, available_range=used
        ),
        source_range=used,
        metadata={"filmslate": facts, "cmx_3600": {"reel": shot.shot_id.replace("_", "")}},
    )
    pack = f"GENPACK v{shot.genpack.version:03d}" if shot.genpack else "no GENPACK"
    clip.markers.append(
        otio.schema.Marker(
            name=f"{shot.shot_id} {pack} QC {shot.qc_verdict or 'none'}",
            marked_range=_range(otio, 0, edit.rate),
            color=getattr(otio.schema.MarkerColor, COLOURS.get(shot.qc_verdict, "WHITE")),
            metadata={"filmslate": facts},
        )
    )
    return clip


def add_dialogue(otio: ModuleType, track: Any, edit: Edit) -> None:
    """Fill the audio track: each shot's dialogue clip at the shot's start (cut to the shot's
    length), gaps where a shot has none. Empty when the edit has no audio."""
    if not edit.sounds:
        return
    sounds = {s.shot_id: s for s in edit.sounds}
    for shot in edit.shots:
        sound = sounds.get(shot.shot_id)
        frames = min(round(sound.seconds * edit.rate), shot.frames) if sound else 0
        if sound is not None and frames > 0:
            length = _range(otio, round(sound.seconds * edit.rate), edit.rate)
            track.append(
                otio.schema.Clip(
                    name=sound.audio.filename,
                    media_reference=otio.schema.ExternalReference(
                        target_url=sound.audio.filename, available_range=length
                    ),
                    source_range=_range(otio, frames, edit.rate),
                    metadata={"filmslate": {"shot_id": shot.shot_id}},
                )
            )
        if shot.frames > frames:
            track.append(
                otio.schema.Gap(source_range=_range(otio, shot.frames - frames, edit.rate))
            )


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
    "Shot",
    "Sound",
    "add_dialogue",
    "check_formats",
    "otio_module",
    "render_all",
    "srt",
    "timeline",
    "timeline_payload",
    "vtt",
]
