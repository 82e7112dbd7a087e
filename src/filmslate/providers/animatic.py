"""The offline animatic: a storyboard frame turned into a short H.264 clip with a camera move.

Nothing is generated: the job's image (a storyboard PNG) is framed, and a virtual camera moves
over it for the shot's duration. As an image-to-video model does, the clip starts from the
image itself: every move begins on the whole frame (no offset, no zoom) and moves from there,
so qc-grader's first-frame check can hold the take to its storyboard. Without an image a
plain slate frame with the shot id is used.
:meth:`AnimaticProvider.submit` only writes the job down (``<job id>.job.json`` in the cache)
and returns its id at once, so the caller records the id before any rendering starts: a run
killed mid-render is resumed by polling the same job, never charged or submitted twice.
``poll`` (or ``download``) renders a job that is not in the cache yet, into a partial file
unique to this process and call, then renames it into place: two processes rendering the
same job never write the same file, and a killed render never leaves a half clip behind.

The camera move follows the shot's camera type, read from a line ``camera_type: <type>`` in
the prompt's ``[SETTINGS]`` section (prompt-packager writes it there); a line anywhere in the
prompt is accepted when there is no SETTINGS section, and an unknown or missing type gets the
gentle drift of a medium shot:

=====================================  ===============================================
close_up, extreme_close_up             slow push-in
wide, establishing                     slow pan while easing in (direction alternates with
                                       the seed)
medium, two_shot (and the default)     gentle diagonal drift with a slight zoom
tracking                               lateral move across the frame while easing in
over_shoulder                          slight dolly in with a small sideways shift
pov                                    slow push-in with a small sway
insert                                 static
=====================================  ===============================================

Renders are deterministic: the same job gives the same frames, and with the bundled ffmpeg
and bit-exact flags the same bytes. Job ids are a hash of everything that shapes the picture.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from ..core._errors import ProviderError
from ..engine._video import JobStatus, VideoJob, VideoProvider
from ..store._index import crash_point, pid_alive

RENDER_VERSION = "animatic-v2"  # bump when the picture a job renders to changes
CRASH_MID_RENDER = "animatic_mid_render"  # FILMSLATE_CRASH_AT checkpoint (crash tests)
DEFAULT_CAMERA = "medium"
# (centre x offset, centre y offset, zoom) at progress t in [0, 1], as fractions of the frame;
# the sign argument flips the direction (from the seed) so retakes are not identical. Every
# move is (0, 0, 1) at t = 0: the first frame is the storyboard frame (image-to-video).
Move = Callable[[float, int], tuple[float, float, float]]
MOVES: dict[str, Move] = {
    "push_in": lambda t, s: (0.0, 0.0, 1.0 + 0.18 * t),
    "pan": lambda t, s: (s * 0.09 * t, 0.0, 1.0 + 0.22 * t),
    "drift": lambda t, s: (s * 0.04 * t, 0.025 * t, 1.0 + 0.16 * t),
    "lateral": lambda t, s: (s * 0.12 * t, 0.0, 1.0 + 0.3 * t),
    "dolly": lambda t, s: (s * 0.03 * t, 0.0, 1.0 + 0.14 * t),
    "sway": lambda t, s: (
        0.02 * math.sin(2 * math.pi * t),
        0.012 * math.sin(4 * math.pi * t),
        1.0 + 0.18 * t,
    ),
    "static": lambda t, s: (0.0, 0.0, 1.0),
}
CAMERA_MOVES = {
    "close_up": "push_in",
    "extreme_close_up": "push_in",
    "wide": "pan",
    "establishing": "pan",
    "medium": "drift",
    "two_shot": "drift",
    "tracking": "lateral",
    "over_shoulder": "dolly",
    "pov": "sway",
    "insert": "static",
}
_CAMERA_LINE = re.compile(r"^\s*camera_type\s*:\s*([A-Za-z_\-]+)\s*$", re.MULTILINE)
_SETTINGS = re.compile(r"^\[SETTINGS\]\s*$(.*?)(?=^\[[^\]\n]+\]\s*$|\Z)", re.MULTILINE | re.DOTALL)


def camera_type_of(prompt: str) -> str:
    """The camera type named in the prompt's [SETTINGS] (``camera_type: close_up``)."""
    section = _SETTINGS.search(prompt)
    match = _CAMERA_LINE.search(section.group(1) if section else prompt)
    if match is None:
        return DEFAULT_CAMERA
    name = match.group(1).lower().replace("-", "_")
    return name if name in CAMERA_MOVES else DEFAULT_CAMERA


def job_id_of(job: VideoJob) -> str:
    """A stable id for a job: the hash of everything that shapes its render."""
    digest = hashlib.sha256()
    for part in (
        RENDER_VERSION,
        job.shot_id,
        job.prompt,
        repr(float(job.duration_s)),
        str(job.width),
        str(job.height),
        str(job.fps),
        str(job.seed),
    ):
        digest.update(part.encode("utf-8") + b"\x00")
    digest.update(hashlib.sha256(job.image or b"").digest())
    return f"animatic-{digest.hexdigest()[:24]}"


class AnimaticProvider(VideoProvider):
    """Offline, free renders of storyboard frames with a camera move (see the module docs)."""

    name: ClassVar[str] = "animatic"
    max_clip_s: ClassVar[float] = 60.0
    capabilities: ClassVar[frozenset[str]] = frozenset({"image_to_video", "text_to_video"})
    offline: ClassVar[bool] = True

    def __init__(self, cache_dir: str | Path) -> None:
        self.cache_dir = Path(cache_dir)

    def submit(self, job: VideoJob) -> str:
        """Write the job down and return its id (the render happens in poll or download)."""
        _check(job, self.max_clip_s)
        _readable(job)
        job_id = job_id_of(job)
        if not self._spec(job_id).exists():  # kept beside the clip: a bad clip is re-rendered
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            partial = self._partial(job_id, ".job.json")
            partial.write_text(json.dumps(_spec_of(job)), encoding="utf-8")
            partial.replace(self._spec(job_id))
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        """Done once rendered (rendering it now if needed); failed for an unknown job."""
        try:
            self._rendered(job_id)
        except ProviderError as exc:
            return JobStatus("failed", exc.message)
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        """The rendered MP4 (rendered now if it is not in the cache)."""
        return self._rendered(job_id).read_bytes()

    def discard(self, job_id: str) -> None:
        """Drop the cached clip (it did not decode); the next download renders it again."""
        self._path(job_id).unlink(missing_ok=True)

    def price_per_second(self, width: int, height: int) -> float:
        """Free: it runs on this machine."""
        return 0.0

    def _path(self, job_id: str) -> Path:
        if not re.fullmatch(r"animatic-[0-9a-f]{24}", job_id):
            raise ProviderError(f"{job_id!r} is not an animatic job id", job_id=job_id)
        return self.cache_dir / f"{job_id}.mp4"

    def _spec(self, job_id: str) -> Path:
        return self._path(job_id).with_suffix(".job.json")

    def _partial(self, job_id: str, suffix: str) -> Path:
        """A file name no other process or call uses (its pid first, for the cleanup)."""
        return self.cache_dir / f"{job_id}.{os.getpid()}-{secrets.token_hex(4)}.part{suffix}"

    def _rendered(self, job_id: str) -> Path:
        """The cached clip, rendered from the job's spec first when it is not there."""
        path = self._path(job_id)
        if path.exists():
            return path
        try:
            job = _job_of(json.loads(self._spec(job_id).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ProviderError(
                f"no animatic job {job_id} in {self.cache_dir}: submit it again", job_id=job_id
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"animatic job {job_id} is unreadable: {exc}") from None
        partial = self._partial(job_id, ".mp4")
        try:
            render(job, partial)
            partial.replace(path)  # atomic: readers see the whole clip or none
        finally:
            partial.unlink(missing_ok=True)
        self._sweep(job_id)
        return path

    def _sweep(self, job_id: str) -> None:
        """Remove partial files of this job left by processes that died mid-render."""
        for stray in self.cache_dir.glob(f"{job_id}.*.part.*"):
            pid = stray.name.split(".", 2)[1].split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                stray.unlink(missing_ok=True)


def _spec_of(job: VideoJob) -> dict[str, object]:
    """What the render needs of a job, as JSON (the client reference does not shape it)."""
    return {
        "shot_id": job.shot_id,
        "prompt": job.prompt,
        "duration_s": job.duration_s,
        "width": job.width,
        "height": job.height,
        "fps": job.fps,
        "seed": job.seed,
        "image": base64.b64encode(job.image).decode("ascii") if job.image is not None else None,
    }


def _job_of(spec: dict[str, object]) -> VideoJob:
    image = spec["image"]
    return VideoJob(
        shot_id=str(spec["shot_id"]),
        prompt=str(spec["prompt"]),
        duration_s=float(spec["duration_s"]),  # type: ignore[arg-type]
        width=int(spec["width"]),  # type: ignore[call-overload]
        height=int(spec["height"]),  # type: ignore[call-overload]
        fps=int(spec["fps"]),  # type: ignore[call-overload]
        seed=int(spec["seed"]),  # type: ignore[call-overload]
        image=base64.b64decode(str(image)) if image is not None else None,
    )


def _readable(job: VideoJob) -> None:
    """Refuse at submit a storyboard image the render could not read."""
    if job.image is None:
        return
    try:
        Image.open(io.BytesIO(job.image)).load()
    except (OSError, ValueError) as exc:
        raise ProviderError(f"{job.shot_id}: the storyboard image cannot be read: {exc}") from None


def _check(job: VideoJob, limit: float) -> None:
    if job.width % 2 or job.height % 2 or job.width < 16 or job.height < 16:
        raise ProviderError(
            f"{job.shot_id}: {job.width}x{job.height} is not renderable "
            "(H.264 needs even sizes of at least 16)"
        )
    if job.fps <= 0 or not 0 < job.duration_s <= limit:
        raise ProviderError(
            f"{job.shot_id}: duration {job.duration_s}s at {job.fps} fps is out "
            f"of range (0 < duration <= {limit}s)"
        )


def render(job: VideoJob, path: Path) -> None:
    """Write the job's animatic to ``path`` as H.264 MP4."""
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (job.width, job.height),
        fps=job.fps,
        codec="libx264",
        macro_block_size=2,
        ffmpeg_log_level="error",
        quality=None,
        output_params=[
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-threads",
            "1",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-map_metadata",
            "-1",
            "-movflags",
            "+faststart",
        ],
    )
    writer.send(None)
    try:
        for index, frame in enumerate(iter_frames(job)):
            writer.send(frame)
            if index == 1:
                crash_point(CRASH_MID_RENDER)
    finally:
        writer.close()


def _frame(
    source: Image.Image, width: int, height: int, camera: tuple[float, float, float]
) -> bytes:
    """One frame: the window of the source the camera sees, scaled to the output size."""
    dx, dy, zoom = camera
    box_w, box_h = width / zoom, height / zoom
    cx = min(max(width / 2 + dx * width, box_w / 2), width - box_w / 2)
    cy = min(max(height / 2 + dy * height, box_h / 2), height - box_h / 2)
    box = (cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2)
    return source.resize((width, height), Image.Resampling.BILINEAR, box=box).tobytes()


def _source(job: VideoJob) -> Image.Image:
    """The storyboard frame cropped to cover the output frame, or a slate when there is none."""
    if job.image is None:
        return _slate(job)
    try:
        image = Image.open(io.BytesIO(job.image)).convert("RGB")
    except (OSError, ValueError) as exc:
        raise ProviderError(f"{job.shot_id}: the storyboard image cannot be read: {exc}") from None
    scale = max(job.width / image.width, job.height / image.height)
    size = (
        max(job.width, round(image.width * scale)),
        max(job.height, round(image.height * scale)),
    )
    image = image.resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - job.width) // 2, (size[1] - job.height) // 2
    return image.crop((left, top, left + job.width, top + job.height))


def _slate(job: VideoJob) -> Image.Image:
    """A plain frame with a faint grid (so camera moves are visible) and the shot id."""
    width, height = job.width, job.height
    image = Image.new("RGB", (width, height), (58, 62, 70))
    draw = ImageDraw.Draw(image)
    step = max(8, width // 16)
    for x in range(0, width, step):
        draw.line([(x, 0), (x, height)], fill=(78, 83, 92))
    for y in range(0, height, step):
        draw.line([(0, y), (width, y)], fill=(78, 83, 92))
    font = ImageFont.load_default(size=max(10, height // 10))
    text = f"{job.shot_id}  {camera_type_of(job.prompt)}"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    origin = ((width - (right - left)) / 2, (height - (bottom - top)) / 2)
    draw.text(origin, text, fill=(236, 232, 220), font=font)
    return image


def iter_frames(job: VideoJob) -> Iterator[bytes]:
    """The job's frames as raw RGB24 bytes, in order (what gets encoded)."""
    source = _source(job)
    count = max(1, round(job.duration_s * job.fps))
    move = MOVES[CAMERA_MOVES[camera_type_of(job.prompt)]]
    sign = -1 if job.seed % 2 else 1
    for index in range(count):
        t = index / (count - 1) if count > 1 else 0.0
        yield _frame(source, job.width, job.height, move(t, sign))


def frames_of(job: VideoJob) -> list[npt.NDArray[np.uint8]]:
    """The job's frames as (height, width, 3) arrays, without encoding (tests, previews)."""
    return [
        np.frombuffer(frame, np.uint8).reshape(job.height, job.width, 3)
        for frame in iter_frames(job)
    ]
