"""Offline checks that look at a take's frames: who is in the picture, how large, in what light.

Each check is a measurement on decoded frames (the sample ``_media_decode`` keeps), with no
model and no download: faces come from OpenCV's bundled Haar cascade
(``cv2.data.haarcascades``: ``haarcascade_frontalface_alt2``, which rejects a faceless frame
in about half the time of the default cascade and finds the same drawn faces),
colour temperature from the frames' average chromaticity.

- ``face_count``: the number of faces the detector finds, per sampled frame, against the shot's
  characters. Applies only when faces are detectable at all in the take (at least one face in
  at least ``min_face_frames`` sampled frames): a schematic figure (the offline animatic) or a
  back-of-head shot shows no detectable face, and no detection is not evidence of an empty
  frame. So a take with too many or too few *detectable* faces fails; a take where the detector
  sees none is not judged (docs/qc.md).
- ``shot_scale``: the largest face's height as a share of the frame height against the
  camera_type (a close-up's face fills a large share, a wide shot's a small one).
- ``colour_temperature``: the correlated colour temperature (McCamy) of the frames' average
  colour against the same estimate on the set lock's palette, compared in mired (1e6 / K, where
  equal steps look equally far apart). A grey-world estimate is pulled by the set's own colours
  (the demo's sets, locked at 2000-3000 K, measure 3500-4300 K from their palettes), so it is
  not compared with the lock's ``lighting.temperature_k`` figure, which it cannot measure; a
  take lit colder or warmer than its locked palette is. Only a large gap is a (minor) finding.
- ``first_frame``: an image-to-video take starts from its storyboard frame. The normalised
  cross-correlation of the two pictures' grey levels, both reduced to ``SIMILARITY_WIDTH``
  pixels wide (the storyboard cropped to cover the take's shape first, as a provider does):
  1 for the same picture; brightness and contrast do not count, layout does. Below
  ``first_frame_min`` it is a severe finding (docs/qc.md has the separation measured).
"""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import cv2  # imported when a face is first looked for: it takes a while to load

__all__ = [
    "SCALE_RANGES",
    "SIMILARITY_WIDTH",
    "FaceDetector",
    "Frame",
    "HaarFaces",
    "LookFinding",
    "LookSpec",
    "LookThresholds",
    "colour_temperature",
    "first_frame_check",
    "first_frame_similarity",
    "look_findings",
]

Frame = npt.NDArray[np.uint8]  # (height, width, 3) RGB
Box = tuple[int, int, int, int]  # x, y, width, height

# the share of the frame height a face may take, per camera_type; types absent are not judged
SCALE_RANGES: dict[str, tuple[float, float]] = {
    "extreme_close_up": (0.45, 10.0),
    "close_up": (0.25, 10.0),
    "medium": (0.08, 0.45),
    "two_shot": (0.06, 0.45),
    "wide": (0.0, 0.2),
    "establishing": (0.0, 0.15),
}
SIMILARITY_WIDTH = 64  # pixels: layout, not grain or codec noise
# the bundled frontal-face cascade: alt2 measured 2.7 ms a faceless 320x180 frame against the
# default's 6.1, the same counts on the drawn faces (benchmarks/bench_media.py, docs/qc.md)
CASCADE = "haarcascade_frontalface_alt2.xml"
# types whose framing may hide the listed characters' faces: no face count
NO_FACE_COUNT = frozenset({"insert", "over_shoulder", "pov", "establishing"})


class FaceDetector(Protocol):
    """Finds faces in one RGB frame."""

    def faces(self, frame: Frame) -> list[Box]:
        """The boxes of the faces in ``frame``."""
        ...


class HaarFaces:
    """OpenCV's bundled frontal-face Haar cascade (ships in opencv-python-headless)."""

    def __init__(self, min_share: float = 0.08, neighbours: int = 5) -> None:
        self.min_share = min_share  # the smallest face looked for, as a share of frame height
        self.neighbours = neighbours  # detections that must agree: fewer false faces

    def faces(self, frame: Frame) -> list[Box]:
        """Frontal faces at least ``min_share`` of the frame height tall."""
        cv2 = opencv()

        grey = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
        side = max(20, int(frame.shape[0] * self.min_share))
        found = _cascade().detectMultiScale(grey, 1.1, self.neighbours, minSize=(side, side))
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


_OPENCV = threading.Lock()


def opencv() -> Any:
    """The cv2 module, imported once behind a lock: its loader swaps the package in
    ``sys.modules`` while it runs, so a second thread importing cv2 (or cv2.data) at that
    moment gets a half-made module ('cv2' is not a package) under `slate run --jobs N`.

    OpenCV runs on the calling thread only (``setNumThreads(1)``): its pool split a face
    search of a small frame across cores for ~25% more CPU and no gain in wall time on a busy
    machine (measured: 4 searches of a 320x180 frame 21 -> 16 ms CPU, 18 ms wall either way);
    takes checked at once (`--jobs N`) are the parallelism."""
    with _OPENCV:
        import cv2

        importlib.import_module("cv2.data")
        if cv2.getNumThreads() != 1:
            cv2.setNumThreads(1)
    return cv2


_PER_THREAD = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    """This thread's face cascade, loaded once per thread: a CascadeClassifier keeps scratch
    state while it detects, so one shared by threads checking takes at once (`slate run
    --jobs N`) is not safe."""
    cascade: cv2.CascadeClassifier | None = getattr(_PER_THREAD, "cascade", None)
    if cascade is None:
        module = opencv()
        cascade = module.CascadeClassifier(str(module.data.haarcascades) + CASCADE)
        if cascade.empty():  # pragma: no cover - a broken OpenCV install
            raise RuntimeError("OpenCV's bundled face cascade could not be loaded")
        _PER_THREAD.cascade = cascade
    return cascade


@dataclass(frozen=True)
class LookSpec:
    """What the shot should show: how many characters, the framing, the set's light."""

    characters: int
    camera_type: str
    palette: tuple[tuple[int, int, int], ...] = ()  # the set lock's colours (RGB)
    temperature_k: int | None = None  # the lock's figure, named in the finding


@dataclass(frozen=True)
class LookThresholds:
    """The numbers behind the looking checks."""

    min_face_frames: int = 2
    # sampled frames looked at for faces (evenly spaced, plus each scene change's first):
    # faces change slowly, and each frame costs a detector pass (~3-10 ms at 320x180); 4
    # frames halved the looks' CPU per shot on the synthetic film (47 -> 24 ms, two takes)
    face_frames: int = 4
    mired_gap: float = 120.0
    # measured on the demo (docs/qc.md): a take of its own storyboard >= 0.9999, of another
    # picture as much as that picture matches the storyboard (most below 0.9)
    first_frame_min: float = 0.9


@dataclass(frozen=True)
class LookFinding:
    """One measured problem (``check``, ``minor``/``severe``, what was measured)."""

    check: str
    severity: str
    detail: str


def look_findings(
    frames: Sequence[Frame],
    spec: LookSpec,
    detector: FaceDetector | None = None,
    limits: LookThresholds | None = None,
    cuts: Sequence[Frame] = (),
) -> list[LookFinding]:
    """Every looking problem in ``frames`` against ``spec`` (empty when clean or unjudged);
    ``cuts``: the first frames after the take's scene changes, looked at too."""
    if not frames:
        return []
    limits = limits or LookThresholds()
    step = max(1, len(frames) // limits.face_frames)
    # faces change slowly: a few evenly spaced frames are enough, and each new picture's first
    frames = [*frames[::step], *cuts]
    boxes = _faces(frames, spec, detector or HaarFaces(), limits)
    found = _face_count(boxes, spec, limits) + _shot_scale(boxes, frames, spec, limits)
    if spec.palette:
        found += _temperature(frames, spec, limits)
    return found


def _faces(
    frames: Sequence[Frame], spec: LookSpec, detector: FaceDetector, limits: LookThresholds
) -> list[list[Box]]:
    """The faces in each frame, as far as they can change a finding: none are looked for when
    the shot's framing is neither face-counted nor scale-judged, and the search stops when too
    few frames are left for faces to be judged at all (both need ``min_face_frames``)."""
    if spec.camera_type in NO_FACE_COUNT and spec.camera_type not in SCALE_RANGES:
        return [[] for _ in frames]
    boxes: list[list[Box]] = []
    for index, frame in enumerate(frames):
        with_faces = sum(1 for b in boxes if b)
        if with_faces + len(frames) - index < limits.min_face_frames:
            return boxes + [[] for _ in frames[index:]]
        boxes.append(detector.faces(frame))
    return boxes


def _face_count(
    boxes: list[list[Box]], spec: LookSpec, limits: LookThresholds
) -> list[LookFinding]:
    seen = [len(b) for b in boxes if b]
    if len(seen) < limits.min_face_frames or spec.camera_type in NO_FACE_COUNT:
        return []  # faces are not detectable in this take: nothing to count (docs/qc.md)
    # a detector misses or doubles a face in a frame now and then: the count most sampled
    # frames agree on is the take's
    usual, agree = Counter(seen).most_common(1)[0]
    if usual == spec.characters:
        return []
    severity = "severe" if agree * 2 >= len(boxes) else "minor"
    return [
        LookFinding(
            "face_count",
            severity,
            f"{usual} face(s) seen in {agree} of {len(boxes)} sampled frames "
            f"where the shot has {spec.characters} character(s)",
        )
    ]


def _shot_scale(
    boxes: list[list[Box]], frames: Sequence[Frame], spec: LookSpec, limits: LookThresholds
) -> list[LookFinding]:
    bounds = SCALE_RANGES.get(spec.camera_type)
    shares = [max(h for *_, h in b) / f.shape[0] for b, f in zip(boxes, frames, strict=True) if b]
    if bounds is None or len(shares) < limits.min_face_frames:
        return []
    share = float(np.median(shares))
    low, high = bounds
    if low <= share <= high:
        return []
    return [
        LookFinding(
            "shot_scale",
            "minor",
            f"the largest face is {share:.0%} of the frame height; a {spec.camera_type} "
            f"frames it between {low:.0%} and {min(high, 1.0):.0%}",
        )
    ]


def colour_temperature(frames: Sequence[Frame]) -> float:
    """The correlated colour temperature (kelvin, McCamy) of the frames' average colour."""
    cv2 = opencv()  # its mean of a uint8 frame: the same figure ~10x faster than numpy's

    rgb = np.mean([cv2.mean(f)[:3] for f in frames], axis=0) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    x, y, z = (
        np.array(
            [
                [0.4124564, 0.3575761, 0.1804375],
                [0.2126729, 0.7151522, 0.0721750],
                [0.0193339, 0.1191920, 0.9503041],
            ]
        )
        @ linear
    )
    total = x + y + z
    if total <= 1e-9:
        return 0.0
    n = (x / total - 0.3320) / (0.1858 - y / total)
    return float(449 * n**3 + 3525 * n**2 + 6823.3 * n + 5520.33)


def _temperature(
    frames: Sequence[Frame], spec: LookSpec, limits: LookThresholds
) -> list[LookFinding]:
    measured = colour_temperature(frames)
    locked = colour_temperature([np.array([spec.palette], np.uint8)])
    if measured <= 1000 or locked <= 1000:
        return []  # black or saturated colours: no meaningful white point
    gap = abs(1e6 / measured - 1e6 / locked)
    if gap <= limits.mired_gap:
        return []
    lock = f" (lit at {spec.temperature_k}K)" if spec.temperature_k else ""
    return [
        LookFinding(
            "colour_temperature",
            "minor",
            f"the take's colours measure about {measured:.0f}K, the set lock's palette{lock} "
            f"{locked:.0f}K ({gap:.0f} mired apart, limit {limits.mired_gap:g})",
        )
    ]


def first_frame_similarity(first: Frame, storyboard: Frame) -> float:
    """How alike two pictures' layouts are: the normalised cross-correlation (-1..1) of their
    grey levels at ``SIMILARITY_WIDTH`` pixels wide, ``storyboard`` cropped to ``first``'s
    shape first; 0 when either is a flat picture."""
    from PIL import Image

    height, width = first.shape[:2]
    tall, wide = storyboard.shape[:2]
    scale = max(width / wide, height / tall)  # cover, centre crop: what a provider does
    box_w, box_h = width / scale, height / scale
    left, top = (wide - box_w) / 2, (tall - box_h) / 2
    size = (SIMILARITY_WIDTH, max(2, round(SIMILARITY_WIDTH * height / width)))
    area = Image.Resampling.BOX
    a = Image.fromarray(first).convert("L").resize(size, area)
    b = (
        Image.fromarray(storyboard)
        .convert("L")
        .resize(size, area, box=(left, top, left + box_w, top + box_h))
    )
    x = np.asarray(a, np.float64) - np.asarray(a, np.float64).mean()
    y = np.asarray(b, np.float64) - np.asarray(b, np.float64).mean()
    spread = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / spread) if spread > 1e-6 else 0.0


def first_frame_check(
    first: Frame, storyboard: Frame, limits: LookThresholds | None = None
) -> list[LookFinding]:
    """A severe finding when the take does not start from its storyboard frame."""
    limits = limits or LookThresholds()
    similarity = first_frame_similarity(first, storyboard)
    if similarity >= limits.first_frame_min:
        return []
    return [
        LookFinding(
            "first_frame",
            "severe",
            f"the first frame does not show the storyboard frame it was generated from: "
            f"similarity {similarity:.2f} (grey-level correlation at {SIMILARITY_WIDTH} px "
            f"wide; at least {limits.first_frame_min:g} expected, its own frame measures "
            "about 1.00)",
        )
    ]
