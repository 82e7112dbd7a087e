"""Conform a provider's clip to the project's spec: frame size, frame rate and planned length.

Real video models return their own sizes (1280x720, 1080x1920, ...) and lengths (5, 6, 8 or
10 s), while a take must be exactly the proxy or final resolution and last the planned
duration within one frame. :func:`conform` re-encodes with the ffmpeg that imageio-ffmpeg
bundles (as the cut does):

- **size**: scaled to *cover* the frame and centre-cropped (``mode="crop"``, the default: no
  bars, the edges are lost), or scaled to *fit* and padded with black bars (``mode="pad"``:
  the whole picture kept);
- **rate**: frames dropped or repeated to the spec's fps (ffmpeg's ``fps`` filter);
- **length**: cut to the planned number of frames. A clip shorter than the plan (by more than
  one frame) is refused with :class:`ClipTooShort`: a take is trimmed, never stretched.

A clip that already matches is returned as it is (no re-encode). The result records what was
done, so the take's gate and the run log can say it. Pure: bytes in, bytes and a record out
(temporary files only, as ffmpeg needs to seek in an MP4).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import imageio_ffmpeg  # type: ignore[import-untyped]

from ..core._errors import ProviderError
from ._media_decode import ClipInfo, probe

__all__ = [
    "CONFORM_MODES",
    "H264",
    "ClipTarget",
    "ClipTooShort",
    "ConformMode",
    "Conformed",
    "conform",
]

ConformMode = Literal["crop", "pad"]
CONFORM_MODES: tuple[ConformMode, ...] = ("crop", "pad")
_EPS = 1e-6
# The one H.264 encoding every re-encoded take and cut uses (deterministic: bit-exact, one
# thread, no metadata, no audio), so a conformed take and the cut's parts are made alike.
H264 = [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "20",
    "-pix_fmt",
    "yuv420p",
    "-threads",
    "1",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-map_metadata",
    "-1",
    "-an",
]
_ENCODE = [*H264, "-movflags", "+faststart"]


class ClipTooShort(ProviderError):
    """The provider's clip is shorter than the planned duration: it is never stretched."""


@dataclass(frozen=True)
class ClipTarget:
    """What a take must be: frame size, frame rate and length."""

    width: int
    height: int
    fps: int
    duration_s: float

    @property
    def frames(self) -> int:
        """The planned number of frames."""
        return max(1, round(self.duration_s * self.fps))


@dataclass(frozen=True)
class Conformed:
    """A conformed clip and what was done to it."""

    data: bytes
    source: ClipInfo  # the provider's clip as it arrived
    target: ClipTarget
    mode: ConformMode
    steps: tuple[str, ...]  # empty: the clip already matched and is returned unchanged

    @property
    def changed(self) -> bool:
        """True when the clip was re-encoded."""
        return bool(self.steps)

    def summary(self) -> str:
        """One line for a log or a gate note."""
        src = self.source
        got = f"{src.width}x{src.height} {src.fps:g}fps {src.duration_s:g}s"
        if not self.steps:
            return f"conform: none needed ({got})"
        return f"conform from {got}: " + "; ".join(self.steps)


def conform(data: bytes, target: ClipTarget, mode: ConformMode = "crop") -> Conformed:
    """``data`` conformed to ``target`` (see the module docs).

    Raises ProviderError when the clip does not decode or ffmpeg fails, ClipTooShort when it
    is shorter than the plan, ValueError for a mode other than crop or pad.
    """
    if mode not in CONFORM_MODES:
        raise ValueError(f"conform mode must be crop or pad, not {mode!r}")
    source = probe(data)
    frame = 1.0 / target.fps
    if source.duration_s + frame < target.duration_s - _EPS:
        raise ClipTooShort(
            f"the clip lasts {source.duration_s:g}s, shorter than the planned "
            f"{target.duration_s:g}s: a take is trimmed, never stretched; ask the model for a "
            "clip length that covers the plan, or shorten the shot",
            clip_s=source.duration_s,
            planned_s=target.duration_s,
        )
    steps = _steps(source, target, mode)
    if not steps:
        return Conformed(data, source, target, mode, ())
    return Conformed(
        _encode(data, _filters(source, target, mode), target), source, target, mode, steps
    )


def _steps(source: ClipInfo, target: ClipTarget, mode: ConformMode) -> tuple[str, ...]:
    """What must change, in words (empty when the clip already matches)."""
    steps = []
    if (source.width, source.height) != (target.width, target.height):
        how = "cover, centre crop" if mode == "crop" else "fit, pad"
        steps.append(
            f"scale {source.width}x{source.height} -> {target.width}x{target.height} ({how})"
        )
    if abs(source.fps - target.fps) > 0.01:
        steps.append(f"fps {source.fps:g} -> {target.fps}")
    if abs(source.duration_s - target.duration_s) > 1.0 / target.fps + _EPS:
        steps.append(
            f"trim {source.duration_s:g}s -> {target.duration_s:g}s ({target.frames} frames)"
        )
    return tuple(steps)


def _filters(source: ClipInfo, target: ClipTarget, mode: ConformMode) -> str:
    width, height = target.width, target.height
    parts = []
    if (source.width, source.height) != (width, height):
        if mode == "crop":
            parts += [
                f"scale={width}:{height}:force_original_aspect_ratio=increase",
                f"crop={width}:{height}",
            ]
        else:
            parts += [
                f"scale={width}:{height}:force_original_aspect_ratio=decrease",
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2",
            ]
    parts += ["setsar=1", f"fps={target.fps}"]
    return ",".join(parts)


def _encode(data: bytes, filters: str, target: ClipTarget) -> bytes:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="filmslate-conform-") as tmp:
        source, out = Path(tmp) / "in.mp4", Path(tmp) / "out.mp4"
        source.write_bytes(data)
        command = [
            ffmpeg,
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-i",
            str(source),
            "-vf",
            filters,
            "-frames:v",
            str(target.frames),
            *_ENCODE,
            str(out),
        ]
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode or not out.exists():
            lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ProviderError(f"ffmpeg could not conform the clip: {lines[-1] if lines else '?'}")
        return out.read_bytes()
