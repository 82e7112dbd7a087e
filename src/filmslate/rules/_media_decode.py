"""Decoding a clip for ``_media``: ffmpeg (the one imageio-ffmpeg bundles) reads the
container's header and streams small RGB frames, reduced to per-frame numbers as they pass.

:func:`analyse` decodes once; memory stays flat (only a bounded sample of frames is kept, plus
at most ``JUMP_FRAMES`` frames where the content jumps: the candidates for a scene change) and
time grows linearly with the number of frames. :func:`decode` keeps a few decoded takes in
memory and, inside a project, on disk (``_media_cache``). ``_media`` re-exports the public
names.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt

from ..core._errors import ProviderError
from . import _media_cache
from ._media_colour import FloatArray

__all__ = [
    "ANALYSIS_WIDTH",
    "LOOK_WIDTH",
    "ClipInfo",
    "Decoded",
    "FrameStats",
    "analyse",
    "decode",
    "probe",
]

ANALYSIS_WIDTH = 160
LOOK_WIDTH = 2 * ANALYSIS_WIDTH  # the sampled frames a face detector or a model looks at
CACHE_SIZE = 4  # decoded takes kept in memory: a take is probed, then graded, in turn
JUMP_FRAMES = 8  # scene-change candidates kept per take (the largest content jumps)
JUMP_DIFF = 0.35  # the smallest jump kept: MediaThresholds.cut_min_diff's default
_VIDEO_STREAM = re.compile(r"Stream #\d+:\d+.*?: Video: (.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"(\d+(?:\.\d+)?) (?:fps|tbr)\b")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class ClipInfo:
    """What a clip is: its length, frame size, frame rate and number of frames."""

    duration_s: float
    width: int
    height: int
    fps: float
    frames: int


@dataclass
class FrameStats:
    """Per-frame numbers gathered while the clip streams past."""

    luma: list[float] = field(default_factory=list)
    diff: list[float] = field(default_factory=list)  # plain mean abs difference to previous
    content: list[float] = field(default_factory=list)  # brightness-standardised difference
    pixels: list[npt.NDArray[np.uint8]] = field(default_factory=list)  # sampled frames
    looks: list[npt.NDArray[np.uint8]] = field(default_factory=list)  # the same, LOOK_WIDTH
    at: list[int] = field(default_factory=list)  # the frame index of each sampled frame
    # frame index -> the frame (LOOK_WIDTH) right after one of the largest content jumps
    jumps: dict[int, npt.NDArray[np.uint8]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decoded:
    """A take decoded once: what it is, its per-frame numbers and its sampled frames."""

    info: ClipInfo
    stats: FrameStats


_CACHE: dict[tuple[str, int], Decoded | ProviderError] = {}


def decode(data: bytes, samples: int = 24) -> Decoded:
    """``data`` decoded once: the render gate, QC and the final's checks ask in turn, and each
    asks this cache (keyed by the clip's sha256; in memory, then on disk inside a project)
    instead of running ffmpeg again."""
    key = (hashlib.sha256(data).hexdigest(), samples)
    found = _CACHE.get(key)
    if found is None:
        found = _from_disk_or_decoded(data, *key)
        if len(_CACHE) >= CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = found
    if isinstance(found, ProviderError):
        raise ProviderError(found.message)
    return found


def _from_disk_or_decoded(data: bytes, digest: str, samples: int) -> Decoded | ProviderError:
    """The take from the project's disk cache, else decoded now (and written there)."""
    stored = _media_cache.load(digest, samples)
    if stored is not None:
        return Decoded(ClipInfo(*stored[0]), FrameStats(*stored[1]))
    try:
        found = Decoded(*analyse(data, samples))
    except ProviderError as exc:
        return exc  # not kept on disk: an unreadable take is rare and quick to refuse
    info, stats = found.info, found.stats
    facts = (info.duration_s, info.width, info.height, info.fps, info.frames)
    fields = (stats.luma, stats.diff, stats.content, stats.pixels, stats.looks, stats.at)
    _media_cache.save(digest, samples, facts, (*fields, stats.jumps))
    return found


def probe(data: bytes) -> ClipInfo:
    """Duration, frame size, frame rate and frame count of an encoded clip: from the decode
    cache (in memory or on disk) when the clip was decoded, else counted without keeping frames
    (a whole cut is probed, not graded: call :func:`decode` for a take QC will look at)."""
    digest = hashlib.sha256(data).hexdigest()
    found = _CACHE.get((digest, 24))
    if isinstance(found, Decoded):
        return found.info
    stored = _media_cache.load(digest, 24)  # decoded by an earlier command
    if stored is not None:
        return ClipInfo(*stored[0])
    with _as_file(data) as path:
        meta = _meta(path)
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    duration = frames / meta.fps if meta.fps > 0 else meta.duration_s
    return ClipInfo(round(duration, 3), meta.width, meta.height, meta.fps, int(frames))


class _as_file:
    """A temporary file holding the clip (ffmpeg needs to seek in an MP4)."""

    def __init__(self, data: bytes) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="filmslate-clip-")
        self.path = Path(self._dir.name) / "clip.mp4"
        self.path.write_bytes(data)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *_: object) -> None:
        self._dir.cleanup()


@dataclass(frozen=True)
class _Meta:
    """What the container says about the video stream."""

    width: int
    height: int
    fps: float
    duration_s: float


def _meta(path: Path) -> _Meta:
    """The video stream's header as ffmpeg reports it; ProviderError when there is none."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    result = subprocess.run(command, capture_output=True, check=False)
    text = result.stderr.decode("utf-8", "replace")
    stream = _VIDEO_STREAM.search(text)
    if stream is None:
        lines = [line for line in text.splitlines() if line.strip()]
        raise ProviderError(
            f"the clip could not be decoded: {lines[-1][:200] if lines else 'no video stream'}"
        )
    size = _SIZE.search(stream.group(1))
    rate = _FPS.search(stream.group(1))
    if size is None or rate is None:
        raise ProviderError(
            f"the clip could not be decoded: no size or frame rate in {stream.group(0)[:200]!r}"
        )
    clock = _DURATION.search(text)
    duration = (
        int(clock.group(1)) * 3600 + int(clock.group(2)) * 60 + float(clock.group(3))
        if clock
        else 0.0
    )
    return _Meta(int(size.group(1)), int(size.group(2)), float(rate.group(1)), duration)


def _frames(path: Path, size: tuple[int, int]) -> Iterator[npt.NDArray[np.uint8]]:
    """Decoded frames at the analysis size, one (height, width, 3) array at a time."""
    width, height = size
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-nostdin",
        "-i",
        str(path),
        "-vf",
        f"scale={width}:{height}:flags=area",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ]
    frame_bytes = width * height * 3
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(frame_bytes):
            if len(chunk) < frame_bytes:
                break
            yield np.frombuffer(chunk, np.uint8).reshape(height, width, 3)
        _, err = proc.communicate()
    if proc.returncode:
        message = err.decode("utf-8", "replace").strip().splitlines()
        raise ProviderError(f"the clip could not be decoded: {message[-1] if message else ''}")


def analyse(data: bytes, samples: int) -> tuple[ClipInfo, FrameStats]:
    """Decode once, keeping per-frame numbers and about ``samples`` small frames to judge."""
    with _as_file(data) as path:
        meta = _meta(path)
        width, height, fps = meta.width, meta.height, meta.fps
        small = max(2, round(ANALYSIS_WIDTH * height / width / 2) * 2)
        size = (LOOK_WIDTH, 2 * small)
        estimate = max(1, round(meta.duration_s * fps))
        stride = max(1, estimate // samples)
        stats = FrameStats()
        previous: FloatArray | None = None
        previous_z: FloatArray | None = None
        jumps: list[tuple[float, int, npt.NDArray[np.uint8]]] = []  # a min-heap by jump
        for index, large in enumerate(_frames(path, size)):
            frame = _half(large)
            luma = frame @ np.array([0.299, 0.587, 0.114])
            mean, spread = float(luma.mean()), float(luma.std())
            z = (luma - mean) / spread if spread > 1.0 else None
            stats.luma.append(mean)
            if previous is not None:
                stats.diff.append(float(np.abs(luma - previous).mean()))
                both = z is not None and previous_z is not None
                stats.content.append(float(np.abs(z - previous_z).mean()) if both else 0.0)  # type: ignore[operator]
                _keep_jump(jumps, stats.content[-1], index, large)
            previous, previous_z = luma, z
            if index % stride == 0:
                stats.pixels.append(frame[::2, ::2].reshape(-1, 3).copy())
                stats.looks.append(large.copy())
                stats.at.append(index)
                if len(stats.pixels) > 2 * samples:
                    # the container's duration was wrong or missing: thin out, sample less often
                    stats.pixels, stride = stats.pixels[::2], stride * 2
                    stats.looks, stats.at = stats.looks[::2], stats.at[::2]
    stats.jumps = {index: picture for _, index, picture in sorted(jumps, key=lambda j: j[1])}
    frames = len(stats.luma)
    info = ClipInfo(round(frames / fps, 3) if fps else 0.0, width, height, fps, frames)
    return info, stats


def _half(large: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The analysis size is the rounded mean of 2x2 blocks of the look size (one decode for
    both); four strided adds, ~9x faster than summing a reshaped view over two axes."""
    wide = large.astype(np.uint16)
    total = wide[0::2, 0::2] + wide[0::2, 1::2] + wide[1::2, 0::2] + wide[1::2, 1::2]
    return ((total + 2) >> 2).astype(np.uint8)


def _keep_jump(
    kept: list[tuple[float, int, npt.NDArray[np.uint8]]],
    jump: float,
    index: int,
    frame: npt.NDArray[np.uint8],
) -> None:
    """Keep ``frame`` if its content jump is among the ``JUMP_FRAMES`` largest so far: the
    cut check decides at the end (its floor needs the whole take's median) which are cuts."""
    if jump <= JUMP_DIFF:
        return
    if len(kept) < JUMP_FRAMES:
        heapq.heappush(kept, (jump, index, frame.copy()))
    elif jump > kept[0][0]:
        heapq.heapreplace(kept, (jump, index, frame.copy()))
