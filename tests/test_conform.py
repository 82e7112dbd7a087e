"""rules._conform: a provider's clip scaled/cropped/padded, re-timed and trimmed to the spec."""

from __future__ import annotations

import subprocess
import tempfile
from functools import cache
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from filmslate.rules._conform import ClipTarget, ClipTooShort, conform
from filmslate.rules._media import ClipSpec, probe, technical_checks
from filmslate.synthetic._video import clip_bytes


@cache
def bars(width: int, height: int, fps: int, frames: int) -> bytes:
    """A clip whose left third is red, middle green, right blue (to see what a crop keeps)."""
    picture = np.zeros((height, width, 3), np.uint8)
    third = width // 3
    picture[:, :third] = (200, 40, 40)
    picture[:, third : 2 * third] = (40, 200, 40)
    picture[:, 2 * third :] = (40, 40, 200)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bars.mp4"
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"),
            *("-s", f"{width}x{height}", "-r", str(fps), "-i", "-"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-an", str(out)),
        ]
        subprocess.run(command, input=picture.tobytes() * frames, check=True)
        return out.read_bytes()


def first_frame(data: bytes) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        path.write_bytes(data)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        frame = next(reader)
        reader.close()
    width, height = meta["size"]
    return np.frombuffer(frame, np.uint8).reshape(height, width, 3)


def test_a_wide_longer_clip_is_cropped_retimed_and_trimmed_to_the_spec() -> None:
    raw = clip_bytes(320, 180, 24, 120)  # 5 s at 24 fps, as a model returns it
    done = conform(raw, ClipTarget(160, 120, 12, 3.5))
    info = probe(done.data)
    assert (info.width, info.height, info.fps, info.frames) == (160, 120, 12.0, 42)
    assert info.duration_s == 3.5
    assert done.changed and done.source.duration_s == 5.0
    assert [s.split()[0] for s in done.steps] == ["scale", "fps", "trim"]
    assert "cover, centre crop" in done.summary()
    # the conformed take passes the same technical checks qc-grader runs
    assert technical_checks(done.data, ClipSpec(3.5, 160, 120, 12)) == []


def test_crop_keeps_the_centre_and_pad_keeps_the_whole_picture() -> None:
    raw = bars(300, 100, 12, 12)  # 3:1, into a 1:1 frame
    target = ClipTarget(96, 96, 12, 1.0)
    cropped = first_frame(conform(raw, target, "crop").data)
    padded = first_frame(conform(raw, target, "pad").data)
    # crop: only the green middle third survives, edge to edge
    assert cropped[48, 2, 1] > 150 and cropped[48, 93, 1] > 150
    assert cropped[48, 2, 0] < 100 and cropped[48, 93, 2] < 100
    # pad: all three bars, with black above and below
    assert padded[48, 4, 0] > 150 and padded[48, 48, 1] > 150 and padded[48, 91, 2] > 150
    assert padded[3, 48].max() < 30 and padded[92, 48].max() < 30


def test_a_clip_that_already_matches_is_returned_unchanged() -> None:
    raw = clip_bytes(160, 96, 12, 36)
    done = conform(raw, ClipTarget(160, 96, 12, 3.0))
    assert done.data is raw and not done.changed
    assert done.summary() == "conform: none needed (160x96 12fps 3s)"


def test_a_clip_shorter_than_the_plan_is_refused_never_stretched() -> None:
    raw = clip_bytes(160, 96, 12, 24)  # 2 s
    with pytest.raises(ClipTooShort, match=r"lasts 2s, shorter than the planned 3s.*never"):
        conform(raw, ClipTarget(160, 96, 12, 3.0))
    # within one frame of the plan is the gate's tolerance: accepted as it is
    assert conform(raw, ClipTarget(160, 96, 12, 2.08)).data is raw


def test_a_clip_that_does_not_decode_is_a_provider_error() -> None:
    from filmslate.core._errors import ProviderError

    with pytest.raises(ProviderError, match="could not be decoded"):
        conform(b"not a video", ClipTarget(160, 96, 12, 1.0))
    with pytest.raises(ValueError, match="crop or pad"):
        conform(clip_bytes(160, 96, 12, 12), ClipTarget(160, 96, 12, 1.0), "stretch")  # type: ignore[arg-type]
