"""Technical checks on a decoded clip: the half of QC that code can measure on its own.

A clip (MP4 bytes) is decoded once with the ffmpeg that imageio-ffmpeg bundles, downscaled to a
small analysis size (``ANALYSIS_WIDTH`` pixels wide), and reduced to per-frame numbers as it
streams: mean luma, the difference to the previous frame, and, on a sample of frames, a colour
histogram. Memory stays flat and time grows linearly with the number of frames.

Checks (thresholds in :class:`MediaThresholds`, all on the 0-255 scale of decoded RGB):

- ``duration``: off by more than ``max(duration_tol_s, one frame)``.
- ``resolution``: width or height differs from the expected ones.
- ``frame_rate``: differs by more than ``fps_tol`` frames per second.
- ``black_frames``: mean luma below ``black_luma``; runs of them are reported.
- ``frozen_frames``: consecutive frames whose mean absolute difference is below ``frozen_diff``
  for at least ``frozen_run_s`` seconds. Skipped when the shot may be static (``allow_static``,
  e.g. an "insert" shot rendered from a still).
- ``flicker``: the mean luma jumps by more than ``flicker_delta`` and back again, at least
  ``flicker_flips`` times in a row; a slow exposure drift is not flicker.
- ``hard_cut``: a jump in frame content (difference of frames standardised for brightness and
  contrast, so a brightness flicker is not a cut) above ``cut_ratio`` times the clip's median
  difference and above ``cut_min_diff``.
- ``palette``: the clip's dominant colours (coarse RGB bins covering ``palette_coverage`` of the
  sampled pixels) are compared with the set lock's palette in CIELAB; the pixel-weighted mean
  distance (CIE76 delta E) to the nearest palette colour above ``palette_delta_e`` is a minor
  finding, above twice that a severe one. A delta E of about 2 is a just-noticeable difference;
  30 means "clearly another colour family", which is what set drift looks like.

Each finding is ``minor`` (rubric 1) or ``severe`` (rubric 0). :func:`rubric_from_technical`
turns findings into the seven QC categories for offline grading. Face, wardrobe, prop and audio
cannot be measured from pixels statistics alone: offline they score 2 ("not measurable
offline") unless a finding applies to them (only a decode failure does).
"""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt

from ..core._errors import ProviderError, UserError

Severity = Literal["minor", "severe"]
FloatArray = npt.NDArray[np.float64]

ANALYSIS_WIDTH = 160
QC_CATEGORIES = (
    "face_consistency",
    "wardrobe_consistency",
    "set_continuity",
    "prop_accuracy",
    "lighting_consistency",
    "motion_integrity",
    "audio_consistency",
)
NOT_MEASURABLE_OFFLINE = (
    "face_consistency",
    "wardrobe_consistency",
    "prop_accuracy",
    "audio_consistency",
)
# which rubric categories each technical check speaks for
CHECK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "decode": QC_CATEGORIES,
    "duration": ("motion_integrity",),
    "resolution": ("motion_integrity",),
    "frame_rate": ("motion_integrity",),
    "black_frames": ("motion_integrity",),
    "frozen_frames": ("motion_integrity",),
    "flicker": ("motion_integrity", "lighting_consistency"),
    "hard_cut": ("motion_integrity", "set_continuity"),
    "palette": ("lighting_consistency", "set_continuity"),
}
_VIDEO_STREAM = re.compile(r"Stream #\d+:\d+.*?: Video: (.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"(\d+(?:\.\d+)?) (?:fps|tbr)\b")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


@dataclass(frozen=True)
class ClipInfo:
    """What a clip is: its length, frame size, frame rate and number of frames."""

    duration_s: float
    width: int
    height: int
    fps: float
    frames: int


@dataclass(frozen=True)
class ClipSpec:
    """What a clip should be: the shot's duration, the resolution tier, the set's palette."""

    duration_s: float
    width: int
    height: int
    fps: float
    palette: list[str] = field(default_factory=list)
    allow_static: bool = False

    def __post_init__(self) -> None:
        for colour in self.palette:
            if not _HEX.fullmatch(colour.strip()):
                raise UserError(f"palette colour {colour!r} is not a hex colour like #1a2b3c")


@dataclass(frozen=True)
class TechFinding:
    """One technical problem: which check, how bad, and where."""

    check: str
    severity: Severity
    detail: str


@dataclass(frozen=True)
class MediaThresholds:
    """The numbers behind the checks (see the module docstring for what each one means)."""

    duration_tol_s: float = 0.25
    fps_tol: float = 0.05
    black_luma: float = 12.0
    black_run: int = 3
    frozen_diff: float = 0.15
    frozen_run_s: float = 0.5
    flicker_delta: float = 6.0
    flicker_flips: int = 3
    cut_ratio: float = 8.0
    cut_min_diff: float = 0.35
    palette_delta_e: float = 30.0
    palette_coverage: float = 0.8
    palette_samples: int = 24


@dataclass
class _Stats:
    """Per-frame numbers gathered while the clip streams past."""

    luma: list[float] = field(default_factory=list)
    diff: list[float] = field(default_factory=list)  # plain mean abs difference to previous
    content: list[float] = field(default_factory=list)  # brightness-standardised difference
    pixels: list[npt.NDArray[np.uint8]] = field(default_factory=list)  # sampled frames


def probe(data: bytes) -> ClipInfo:
    """Duration, frame size, frame rate and frame count of an encoded clip."""
    with _as_file(data) as path:
        meta = _meta(path)
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    duration = frames / meta.fps if meta.fps > 0 else meta.duration_s
    return ClipInfo(round(duration, 3), meta.width, meta.height, meta.fps, int(frames))


def technical_checks(
    data: bytes, expected: ClipSpec, thresholds: MediaThresholds | None = None
) -> list[TechFinding]:
    """Every technical problem found in ``data`` against ``expected`` (empty when clean)."""
    limits = thresholds or MediaThresholds()
    try:
        info, stats = _analyse(data, limits)
    except ProviderError as exc:
        return [TechFinding("decode", "severe", exc.message)]
    if info.frames == 0:
        return [TechFinding("decode", "severe", "the clip has no video frames")]
    findings = _spec_findings(info, expected, limits)
    findings += _black_findings(stats, info.fps, limits)
    if not expected.allow_static:
        findings += _frozen_findings(stats, info.fps, limits)
    findings += _flicker_findings(stats, info.fps, limits)
    findings += _cut_findings(stats, info.fps, limits)
    if expected.palette and stats.pixels:
        findings += _palette_findings(stats, expected.palette, limits)
    return findings


def rubric_from_technical(findings: list[TechFinding]) -> dict[str, int]:
    """The seven QC category scores (0-2) implied by technical findings alone.

    Every category starts at 2; a minor finding lowers the categories its check speaks for to 1,
    a severe one to 0. Categories no check speaks for (``NOT_MEASURABLE_OFFLINE``) stay at 2.
    """
    scores = dict.fromkeys(QC_CATEGORIES, 2)
    for finding in findings:
        score = 0 if finding.severity == "severe" else 1
        for category in CHECK_CATEGORIES.get(finding.check, ("motion_integrity",)):
            scores[category] = min(scores[category], score)
    return scores


# --- decoding -------------------------------------------------------------------------------


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


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(exc).__name__


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


def _analyse(data: bytes, limits: MediaThresholds) -> tuple[ClipInfo, _Stats]:
    """Decode once, keeping per-frame numbers and a sample of small frames."""
    with _as_file(data) as path:
        meta = _meta(path)
        width, height, fps = meta.width, meta.height, meta.fps
        size = (ANALYSIS_WIDTH, max(2, round(ANALYSIS_WIDTH * height / width / 2) * 2))
        estimate = max(1, round(meta.duration_s * fps))
        stride = max(1, estimate // limits.palette_samples)
        stats = _Stats()
        previous: FloatArray | None = None
        previous_z: FloatArray | None = None
        for index, frame in enumerate(_frames(path, size)):
            luma = frame @ np.array([0.299, 0.587, 0.114])
            mean, spread = float(luma.mean()), float(luma.std())
            z = (luma - mean) / spread if spread > 1.0 else None
            stats.luma.append(mean)
            if previous is not None:
                stats.diff.append(float(np.abs(luma - previous).mean()))
                both = z is not None and previous_z is not None
                stats.content.append(float(np.abs(z - previous_z).mean()) if both else 0.0)  # type: ignore[operator]
            previous, previous_z = luma, z
            if index % stride == 0:
                stats.pixels.append(frame[::2, ::2].reshape(-1, 3).copy())
                if len(stats.pixels) > 2 * limits.palette_samples:
                    # the container's duration was wrong or missing: thin out, sample less often
                    stats.pixels, stride = stats.pixels[::2], stride * 2
    frames = len(stats.luma)
    info = ClipInfo(round(frames / fps, 3) if fps else 0.0, width, height, fps, frames)
    return info, stats


# --- checks ---------------------------------------------------------------------------------


def _spec_findings(info: ClipInfo, spec: ClipSpec, limits: MediaThresholds) -> list[TechFinding]:
    found = []
    tolerance = max(limits.duration_tol_s, 1.0 / spec.fps)
    off = info.duration_s - spec.duration_s
    if abs(off) > tolerance:
        severity: Severity = "severe" if abs(off) > 4 * tolerance else "minor"
        found.append(
            TechFinding(
                "duration",
                severity,
                f"{info.duration_s:.2f}s instead of "
                f"{spec.duration_s:.2f}s (tolerance {tolerance:.2f}s)",
            )
        )
    if (info.width, info.height) != (spec.width, spec.height):
        found.append(
            TechFinding(
                "resolution",
                "severe",
                f"{info.width}x{info.height} instead of {spec.width}x{spec.height}",
            )
        )
    if abs(info.fps - spec.fps) > limits.fps_tol:
        found.append(
            TechFinding("frame_rate", "severe", f"{info.fps:g} fps instead of {spec.fps:g}")
        )
    return found


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(start, length) of every run of True."""
    runs, start = [], None
    for index, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            runs.append((start, index - start))
            start = None
    return runs


def _black_findings(stats: _Stats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
    runs = _runs([luma < limits.black_luma for luma in stats.luma])
    if not runs:
        return []
    total = sum(length for _, length in runs)
    longest = max(length for _, length in runs)
    where = ", ".join(f"{s}-{s + n - 1}" for s, n in runs[:5])
    severity: Severity = "severe" if longest >= limits.black_run else "minor"
    return [
        TechFinding(
            "black_frames",
            severity,
            f"{total} black frame(s) (mean luma below "
            f"{limits.black_luma:g}) at frames {where}; longest run {longest}",
        )
    ]


def _frozen_findings(stats: _Stats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
    # a run of n near-identical differences means n + 1 frames show the same picture
    need = max(1, math.ceil(limits.frozen_run_s * fps) - 1)
    runs = [(s, n) for s, n in _runs([d < limits.frozen_diff for d in stats.diff]) if n >= need]
    if not runs:
        return []
    longest = max(n for _, n in runs) + 1
    severity: Severity = "severe" if longest >= max(2, len(stats.luma) // 2) else "minor"
    where = ", ".join(f"{s}-{s + n}" for s, n in runs[:5])
    return [
        TechFinding(
            "frozen_frames",
            severity,
            f"the picture stops moving at frames {where} "
            f"(longest {longest} frames, {longest / fps:.2f}s)",
        )
    ]


def _flicker_findings(stats: _Stats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
    steps = np.diff(np.array(stats.luma))
    best = count = 0
    last_sign = 0.0
    worst_at = 0
    for index, step in enumerate(steps):
        big = abs(step) > limits.flicker_delta
        sign = float(np.sign(step)) if big else 0.0
        count = count + 1 if big and sign == -last_sign else (1 if big else 0)
        last_sign = sign
        if count > best:
            best, worst_at = count, index
    if best < limits.flicker_flips:
        return []
    return [
        TechFinding(
            "flicker",
            "severe" if best >= 2 * limits.flicker_flips else "minor",
            f"brightness jumps back and forth {best} times in a row by more than "
            f"{limits.flicker_delta:g} around frame {worst_at + 1}",
        )
    ]


def _cut_findings(stats: _Stats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
    if len(stats.content) < 2:
        return []
    content = np.array(stats.content)
    floor = max(limits.cut_min_diff, limits.cut_ratio * float(np.median(content)))
    cuts = [int(i) + 1 for i in np.flatnonzero(content > floor)]
    if not cuts:
        return []
    where = ", ".join(str(c) for c in cuts[:5])
    return [
        TechFinding(
            "hard_cut", "severe", f"{len(cuts)} hard cut(s) inside the shot at frame(s) {where}"
        )
    ]


def _palette_findings(
    stats: _Stats, palette: list[str], limits: MediaThresholds
) -> list[TechFinding]:
    colours, weights = dominant_colours(np.concatenate(stats.pixels), limits.palette_coverage)
    target = rgb_to_lab(np.array([hex_to_rgb(c) for c in palette], np.float64))
    distance = palette_distance(rgb_to_lab(colours), weights, target)
    if distance <= limits.palette_delta_e:
        return []
    severity: Severity = "severe" if distance > 2 * limits.palette_delta_e else "minor"
    shown = ", ".join(rgb_to_hex(c) for c in colours[:4])
    return [
        TechFinding(
            "palette",
            severity,
            f"dominant colours ({shown}) are delta E "
            f"{distance:.1f} from the set palette on average (limit "
            f"{limits.palette_delta_e:g})",
        )
    ]


# --- colour ---------------------------------------------------------------------------------


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``#1a2b3c`` (or ``1a2b3c``, ``#abc``) as an (r, g, b) tuple of 0-255 integers."""
    match = _HEX.fullmatch(colour.strip())
    if not match:
        raise UserError(f"{colour!r} is not a hex colour like #1a2b3c")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def rgb_to_hex(rgb: npt.ArrayLike) -> str:
    """An (r, g, b) triple of 0-255 values as ``#rrggbb``."""
    r, g, b = (round(float(v)) for v in np.asarray(rgb).reshape(3))
    return f"#{r:02x}{g:02x}{b:02x}"


def rgb_to_lab(rgb: npt.ArrayLike) -> FloatArray:
    """sRGB (0-255, shape (..., 3)) to CIELAB under D65."""
    c = np.asarray(rgb, np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def dominant_colours(
    pixels: npt.NDArray[np.uint8], coverage: float = 0.8
) -> tuple[FloatArray, FloatArray]:
    """The mean colours of the most populated coarse RGB bins that together cover ``coverage``
    of the pixels, most common first, with their pixel shares (summing to 1)."""
    bins = (pixels.astype(np.int64) // 32) @ np.array([64, 8, 1])  # 8 levels per channel
    counts = np.bincount(bins, minlength=512)
    sums = np.stack(
        [np.bincount(bins, pixels[:, k].astype(np.float64), 512) for k in range(3)], axis=1
    )
    order = np.argsort(-counts, kind="stable")
    share = counts[order] / counts.sum()
    keep = int(np.searchsorted(np.cumsum(share), coverage) + 1)
    chosen = order[:keep][counts[order[:keep]] > 0]
    colours = sums[chosen] / counts[chosen, None]
    weights = counts[chosen] / counts[chosen].sum()
    return colours, weights.astype(np.float64)


def palette_distance(
    colours_lab: FloatArray, weights: FloatArray, palette_lab: FloatArray
) -> float:
    """Weighted mean CIE76 distance from each colour to its nearest palette colour."""
    distances = np.linalg.norm(colours_lab[:, None, :] - palette_lab[None, :, :], axis=2)
    return float((distances.min(axis=1) * weights).sum())
