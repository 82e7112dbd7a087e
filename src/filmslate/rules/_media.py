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
- ``face_count``, ``shot_scale``, ``colour_temperature``: measured on the sampled frames (and
  the frames after scene changes) by ``_looks`` (a face detector bundled with OpenCV; the set
  lock's light in kelvin) when the spec names the shot's characters / camera type /
  temperature (docs/qc.md).
- ``first_frame``: the take's first frame against the storyboard frame it was generated from
  (image-to-video), when the spec carries that frame (``_looks.first_frame_similarity``).

Each finding is ``minor`` (rubric 1) or ``severe`` (rubric 0). :func:`rubric_from_technical`
turns findings into the seven QC categories for offline grading. Wardrobe, props and audio
cannot be measured from pixel statistics alone: offline they score 2 ("not measurable
offline", ``NOT_MEASURABLE_OFFLINE``) unless a decode failure lowers every category; faces are
judged offline only by their count (``face_count``), never by who they are.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..core._errors import ProviderError, UserError
from ._looks import Frame, LookFinding, LookSpec, first_frame_check, look_findings
from ._media_colour import (
    HEX_COLOUR,
    FloatArray,
    dominant_colours,
    hex_to_rgb,
    palette_distance,
    rgb_to_hex,
    rgb_to_lab,
)
from ._media_decode import ANALYSIS_WIDTH, ClipInfo, FrameStats, decode, probe

# The decoding (``_media_decode``) and the colour maths (``_media_colour``) live beside this
# module; their public names are re-exported so callers import from ``rules._media``.
__all__ = [
    "ANALYSIS_WIDTH",
    "CHECK_CATEGORIES",
    "NOT_MEASURABLE_OFFLINE",
    "QC_CATEGORIES",
    "ClipInfo",
    "ClipSpec",
    "FloatArray",
    "MediaThresholds",
    "Severity",
    "TechFinding",
    "decode",
    "dominant_colours",
    "hex_to_rgb",
    "palette_distance",
    "probe",
    "rgb_to_hex",
    "rgb_to_lab",
    "rubric_from_technical",
    "scene_changes",
    "technical_checks",
]

Severity = Literal["minor", "severe"]

QC_CATEGORIES = (
    "face_consistency",
    "wardrobe_consistency",
    "set_continuity",
    "prop_accuracy",
    "lighting_consistency",
    "motion_integrity",
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
    "face_count": ("face_consistency",),
    "shot_scale": ("motion_integrity",),
    "colour_temperature": ("lighting_consistency",),
    # a take not started from its storyboard frame: another framing, placement and set
    "first_frame": ("set_continuity", "motion_integrity"),
}
# the categories only the model (or a decode failure) can lower: derived, so it cannot go stale
NOT_MEASURABLE_OFFLINE = tuple(
    category
    for category in QC_CATEGORIES
    if not any(
        category in spoken for check, spoken in CHECK_CATEGORIES.items() if check != "decode"
    )
)


@dataclass(frozen=True)
class ClipSpec:
    """What a clip should be: the shot's duration, the resolution tier, the set's palette."""

    duration_s: float
    width: int
    height: int
    fps: float
    palette: list[str] = field(default_factory=list)
    allow_static: bool = False
    characters: int | None = None  # how many faces to expect; None: faces are not counted
    camera_type: str = ""
    temperature_k: int | None = None  # the set lock's light
    first_frame: bytes | None = None  # the storyboard image the take was generated from

    def __post_init__(self) -> None:
        for colour in self.palette:
            if not HEX_COLOUR.fullmatch(colour.strip()):
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


def technical_checks(
    data: bytes, expected: ClipSpec, thresholds: MediaThresholds | None = None
) -> list[TechFinding]:
    """Every technical problem found in ``data`` against ``expected`` (empty when clean)."""
    limits = thresholds or MediaThresholds()
    try:
        info, stats = (found := decode(data, limits.palette_samples)).info, found.stats
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
    return findings + _look_findings(stats, expected, limits)


def _look_findings(stats: FrameStats, spec: ClipSpec, limits: MediaThresholds) -> list[TechFinding]:
    looks = LookSpec(
        spec.characters if spec.characters is not None else -1,
        spec.camera_type if spec.characters is not None else "insert",
        tuple(hex_to_rgb(c) for c in spec.palette),
        spec.temperature_k,
    )
    # after a scene change another picture begins: its frames are looked at too
    cuts = [stats.jumps[i] for i in scene_changes(stats, limits) if i in stats.jumps]
    found = look_findings(stats.looks, looks, cuts=cuts)
    if spec.first_frame is not None and stats.looks and stats.at[:1] == [0]:
        found += first_frame_findings(stats.looks[0], spec.first_frame)
    return [
        TechFinding(f.check, "severe" if f.severity == "severe" else "minor", f.detail)
        for f in found
    ]


def _picture(data: bytes) -> Frame | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"), np.uint8)
    except (OSError, ValueError):
        return None


def first_frame_findings(first: Frame, storyboard: bytes) -> list[LookFinding]:
    """The take's first frame against the storyboard image it was generated from."""
    picture = _picture(storyboard)
    if picture is None:
        return [LookFinding("first_frame", "minor", "the storyboard frame cannot be read")]
    return first_frame_check(first, picture)


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


def _black_findings(stats: FrameStats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
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


def _frozen_findings(stats: FrameStats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
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


def _flicker_findings(stats: FrameStats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
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


def scene_changes(stats: FrameStats, limits: MediaThresholds | None = None) -> list[int]:
    """The frames where a new picture begins inside the take (hard cuts): a jump in
    brightness-standardised content above ``cut_ratio`` times the take's median jump and
    above ``cut_min_diff``."""
    limits = limits or MediaThresholds()
    if len(stats.content) < 2:
        return []
    content = np.array(stats.content)
    floor = max(limits.cut_min_diff, limits.cut_ratio * float(np.median(content)))
    return [int(i) + 1 for i in np.flatnonzero(content > floor)]


def _cut_findings(stats: FrameStats, fps: float, limits: MediaThresholds) -> list[TechFinding]:
    cuts = scene_changes(stats, limits)
    if not cuts:
        return []
    where = ", ".join(str(c) for c in cuts[:5])
    return [
        TechFinding(
            "hard_cut", "severe", f"{len(cuts)} hard cut(s) inside the shot at frame(s) {where}"
        )
    ]


def _palette_findings(
    stats: FrameStats, palette: list[str], limits: MediaThresholds
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
