"""Decode once, without a process (issue 13 §5): a take is decoded inside this process by the
FFmpeg libraries OpenCV bundles, not by starting the ffmpeg command (~20 ms of CPU a run,
most of a small take's decode). Checked on real frames (drawn faces, the synthetic model's
clips): the decoded pixels are the ffmpeg command's, byte for byte, at the clip's own size;
the figures every check reads (frame count, facts, per-frame numbers, sampled frames) match
the ffmpeg path's within a stated tolerance, and so do the findings; a clip OpenCV cannot
read still goes to ffmpeg, which says what is wrong with it.
"""

from __future__ import annotations

import subprocess

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import pytest

from filmslate.rules import _media_decode
from filmslate.rules._media import ClipSpec, technical_checks
from filmslate.synthetic._video import clip_bytes
from test_looks import encode, frames_with

# the look-size frames differ from ffmpeg's one-step scale by at most this much per pixel
# (0-255; measured 15, at a drawn face's sharp edge, where ffmpeg scaled the half-size chroma
# itself) and ~1.5 on average: ffmpeg's scale to RGB moved a frame's mean by ~1 level
PIXEL_TOLERANCE = 24.0
MEAN_TOLERANCE = 2.0


def clips() -> list[bytes]:
    return [
        encode(frames_with(2, count=14)),  # drawn faces, 640x360 at 12 fps
        clip_bytes(128, 72, 8, 40, phase=0.137),  # the synthetic model's proxy
        clip_bytes(256, 144, 8, 33, phase=0.611),  # and final
    ]


def by_ffmpeg(data: bytes) -> tuple[_media_decode.ClipInfo, _media_decode.FrameStats]:
    """The same analysis with the frames from an ffmpeg run (the fallback path)."""
    with _media_decode._as_file(data) as path, _media_decode._Decoding(path) as run:
        meta, size = run.header()
        return _media_decode._analysed((meta, size), run.frames(size), 24)


def native_by_ffmpeg(data: bytes, width: int, height: int) -> np.ndarray:
    with _media_decode._as_file(data) as path:
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path)]
        out = subprocess.run(
            [*command, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True
        ).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, height, width, 3)


@pytest.mark.parametrize("index", range(3))
def test_the_pixels_decoded_in_process_are_ffmpegs(index: int) -> None:
    data = clips()[index]
    with _media_decode._as_file(data) as path, _media_decode._InProcess(path) as inside:
        assert inside.readable()
        first = inside.first
        assert first is not None
        frames = [first[:, :, ::-1]]  # BGR -> RGB
        ok, frame = inside.capture.read()
        while ok:
            frames.append(frame[:, :, ::-1])
            ok, frame = inside.capture.read()
    height, width = frames[0].shape[:2]
    assert np.array_equal(np.array(frames), native_by_ffmpeg(data, width, height))


@pytest.mark.parametrize("index", range(3))
def test_the_analysis_matches_the_ffmpeg_path(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = clips()[index]
    launched: list[object] = []
    real_popen = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> object:
        launched.append(args[0])
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", popen)
    info, stats = _media_decode.analyse(data, 24)
    assert launched == []  # no ffmpeg run for a take OpenCV reads
    monkeypatch.undo()
    old_info, old = by_ffmpeg(data)
    assert info == old_info  # frames, size, rate, duration: exactly
    assert stats.at == old.at and len(stats.looks) == len(old.looks)
    assert np.allclose(stats.luma, old.luma, atol=MEAN_TOLERANCE)
    assert np.allclose(stats.diff, old.diff, atol=MEAN_TOLERANCE)
    assert np.allclose(stats.content, old.content, atol=0.1)
    for new, was in zip(stats.looks, old.looks, strict=True):
        assert new.shape == was.shape
        gap = np.abs(new.astype(float) - was.astype(float))
        assert gap.max() <= PIXEL_TOLERANCE and gap.mean() <= MEAN_TOLERANCE


def test_the_look_size_keeps_the_frames_mean_colour() -> None:
    data = clip_bytes(256, 144, 8, 16, phase=0.25)
    native = native_by_ffmpeg(data, 256, 144).astype(float)
    stats = _media_decode.analyse(data, 24)[1]
    looks = np.array(stats.looks, float)
    assert np.abs(looks.mean((1, 2)) - native[stats.at].mean((1, 2))).max() < 0.1


def test_the_findings_are_the_ffmpeg_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same findings on a clean take, the wrong number of people and a far palette."""
    two = encode(frames_with(2, count=14))
    specs = [
        ClipSpec(14 / 12, 640, 360, 12, characters=2, camera_type="medium"),
        ClipSpec(14 / 12, 640, 360, 12, characters=1, camera_type="medium"),
        ClipSpec(14 / 12, 640, 360, 12, palette=["#00ff00"], characters=2),
    ]
    _media_decode._CACHE.clear()
    inside = [technical_checks(two, spec) for spec in specs]
    _media_decode._CACHE.clear()
    monkeypatch.setattr(_media_decode, "analyse", lambda data, samples: by_ffmpeg(data))
    by_command = [technical_checks(two, spec) for spec in specs]
    # the same checks at the same severity; a measured figure may move by its last digit
    # (the palette's dominant colour was #595959 by ffmpeg, #585858 in process)
    assert [[(f.check, f.severity) for f in found] for found in by_command] == [
        [(f.check, f.severity) for f in found] for found in inside
    ]
    assert by_command[1] == inside[1]  # the face count: the same words
    assert [sorted({f.check for f in found}) for found in inside] == [
        [],
        ["face_count"],
        ["palette"],
    ]
    _media_decode._CACHE.clear()


def test_opencv_runs_on_the_calling_thread_only() -> None:
    """No pool splitting a small frame's face search across cores (CPU spent on hand-offs);
    the faces found are the same (tests/test_looks.py)."""
    from filmslate.rules._looks import HaarFaces, opencv

    assert opencv().getNumThreads() == 1
    frame = frames_with(2, count=1)[0]
    assert len(HaarFaces().faces(frame)) == 2
