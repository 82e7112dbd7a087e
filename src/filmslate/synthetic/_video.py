"""The synthetic video provider: one small, valid MP4 per job (size, frame rate, frame count
and a phase drawn from the job's shot and prompt), whose moving picture passes qc-grader's
technical checks (no black, frozen, flickering or cut frames; colours from
:data:`CLIP_PALETTE`).

Every shot's clip differs (the wave starts at another phase), as a model's would: a shot's
take is decoded for real, never found in the decode cache under another shot's bytes, so
benchmarks/bench_media.py measures one decode per take.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import zlib
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np

from ..core._errors import ProviderError
from ..engine._video import JobStatus, VideoJob, VideoProvider

VIDEO_MODEL = "synthetic"
"""The model name every visual tier of a synthetic project maps to."""

_CLIP_ID = re.compile(r"synthetic-(\d+)x(\d+)-(\d+)fps-(\d+)f-([0-9a-f]{8})")
_WAVE_FRAMES = 16  # frames per cycle of the moving wave: smooth motion, never frozen
_BASE = np.array([90.0, 110.0, 130.0])  # CLIP_PALETTE's middle colour
_SWING = 30.0  # the wave's amplitude: CLIP_PALETTE's outer colours


@lru_cache(maxsize=32)  # a job's clip is downloaded again by a later step of the same shot
def clip_bytes(width: int, height: int, fps: int, frames: int, phase: float = 0.0) -> bytes:
    """A valid H.264 MP4: a blue-grey wave drifting across the frame, starting ``phase`` (a
    share of one period) along it.

    The wave spans exactly one period across the frame, so the mean brightness never changes
    (no flicker) while every frame differs from the last (no frozen frames).
    """
    x = np.arange(width) / width
    pictures = []
    for t in range(frames):
        wave = np.sin(2 * np.pi * (x - t / _WAVE_FRAMES - phase))
        row = _BASE[None, :] + _SWING * wave[:, None]
        pictures.append(np.broadcast_to(row, (height, width, 3)).astype(np.uint8).tobytes())
    with tempfile.TemporaryDirectory(prefix="filmslate-synthetic-") as folder:
        out = Path(folder) / "clip.mp4"
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-r",
            str(fps),
            "-i",
            "-",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
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
            str(out),
        ]
        result = subprocess.run(command, input=b"".join(pictures), capture_output=True, check=False)
        if result.returncode:
            raise ProviderError(
                "ffmpeg could not encode the synthetic clip: "
                + result.stderr.decode("utf-8", "replace").strip()[-200:]
            )
        return out.read_bytes()


class SyntheticVideo(VideoProvider):
    """An offline video model serving :func:`clip_bytes` clips at a flat price.

    The job id names the clip (size, rate, frame count), so any process can download a job
    another one submitted: after a crash the resumed run pays nothing twice.
    """

    name: ClassVar[str] = VIDEO_MODEL
    offline: ClassVar[bool] = True

    def __init__(
        self, price_proxy: float = 0.01, price_final: float = 0.02, final_width: int | None = None
    ) -> None:
        self.price_proxy = price_proxy
        self.price_final = price_final
        self.final_width = final_width  # final renders are priced as final (wider) frames
        self.submitted = 0

    def submit(self, job: VideoJob) -> str:
        """Accept a job; its id encodes the clip to serve."""
        if job.duration_s > self.max_clip_s:
            raise ProviderError(
                f"{job.shot_id}: {job.duration_s:g}s exceeds the {self.max_clip_s:g}s clip limit"
            )
        self.submitted += 1
        frames = max(1, round(job.duration_s * job.fps))
        digest = zlib.crc32(f"{job.shot_id}\n{job.prompt}".encode()) & 0xFFFFFFFF
        return f"synthetic-{job.width}x{job.height}-{job.fps}fps-{frames}f-{digest:08x}"

    def poll(self, job_id: str) -> JobStatus:
        """Done at once."""
        _parse_job(job_id)
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        """The clip the job id names (its phase from the id's digest: each shot's own)."""
        return clip_bytes(*_parse_job(job_id))

    def price_per_second(self, width: int, height: int) -> float:
        """The flat price of the resolution tier this width belongs to."""
        final = self.final_width is not None and width >= self.final_width
        return self.price_final if final else self.price_proxy


def _parse_job(job_id: str) -> tuple[int, int, int, int, float]:
    found = _CLIP_ID.fullmatch(job_id)
    if found is None:
        raise ProviderError(f"unknown synthetic job {job_id!r}", job_id=job_id)
    width, height, fps, frames = (int(g) for g in found.groups()[:4])
    return width, height, fps, frames, int(found.group(5), 16) / 2**32
