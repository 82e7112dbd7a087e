"""Offline checks that look (issue 13 §3): faces counted by OpenCV's bundled Haar cascade on
drawn faces, shot scale from face size, colour temperature and palette against the set lock.

The frames are drawn here (no download, no sample image): a face drawn with a skin oval, brows,
dark eyes, a nose and a mouth is what the frontal-face cascade detects (checked below, so the
test says so if an OpenCV upgrade stops seeing them)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from filmslate.rules._looks import HaarFaces, LookSpec, colour_temperature, look_findings
from filmslate.rules._media import (
    ClipSpec,
    decode,
    probe,
    rubric_from_technical,
    technical_checks,
)
from filmslate.skills.production._qc import qc_verdict

BACKGROUND = (90, 90, 90)


def draw_face(img: np.ndarray, cx: int, cy: int, s: int) -> None:
    """A frontal face about ``s`` pixels tall, in RGB."""
    cv2.ellipse(img, (cx, cy), (int(s * 0.42), int(s * 0.55)), 0, 0, 360, (220, 190, 170), -1)
    for dx in (-1, 1):
        ex, ey = cx + dx * int(s * 0.18), cy - int(s * 0.08)
        brow = (ex, ey - int(s * 0.1))
        cv2.ellipse(img, brow, (int(s * 0.12), int(s * 0.03)), 0, 0, 360, (50, 40, 40), -1)
        cv2.ellipse(img, (ex, ey), (int(s * 0.09), int(s * 0.05)), 0, 0, 360, (70, 60, 60), -1)
        cv2.circle(img, (ex, ey), int(s * 0.03), (10, 10, 10), -1)
    nose = (cx, cy + int(s * 0.1))
    cv2.ellipse(img, nose, (int(s * 0.05), int(s * 0.1)), 0, 0, 360, (190, 160, 140), -1)
    mouth = (cx, cy + int(s * 0.3))
    cv2.ellipse(img, mouth, (int(s * 0.15), int(s * 0.04)), 0, 0, 360, (120, 60, 60), -1)
    hair = (cx, cy - int(s * 0.5))
    cv2.ellipse(img, hair, (int(s * 0.44), int(s * 0.2)), 0, 180, 360, (40, 30, 30), -1)


def frames_with(people: int, size: int = 120, count: int = 6) -> list[np.ndarray]:
    """``count`` 640x360 frames showing ``people`` faces, drifting a little frame to frame."""
    out = []
    for k in range(count):
        img = np.full((360, 640, 3), BACKGROUND, np.uint8)
        for p in range(people):
            draw_face(img, 640 * (p + 1) // (people + 1) + 2 * k, 180, size)
        out.append(img)
    return out


def test_the_bundled_cascade_detects_a_drawn_face() -> None:
    assert [len(HaarFaces().faces(f)) for f in frames_with(2)] == [2] * 6
    assert HaarFaces().faces(np.full((360, 640, 3), BACKGROUND, np.uint8)) == []


def test_a_take_with_the_wrong_number_of_people_is_measured() -> None:
    found = look_findings(frames_with(3), LookSpec(characters=2, camera_type="medium"))
    assert [(f.check, f.severity) for f in found] == [("face_count", "severe")]
    assert "3 face(s) seen in 6 of 6 sampled frames" in found[0].detail
    assert look_findings(frames_with(2), LookSpec(characters=2, camera_type="medium")) == []


def test_no_detectable_face_is_not_judged() -> None:
    """A schematic figure (the offline animatic) shows no detectable face: no finding."""
    blank = [np.full((360, 640, 3), BACKGROUND, np.uint8)] * 6
    assert look_findings(blank, LookSpec(characters=2, camera_type="medium")) == []


def test_shot_scale_from_face_size() -> None:
    close = look_findings(frames_with(1, size=200), LookSpec(1, "close_up"))
    assert close == []
    wide = look_findings(frames_with(1, size=200), LookSpec(1, "wide"))
    assert [(f.check, f.severity) for f in wide] == [("shot_scale", "minor")]
    assert "a wide frames it between 0% and 20%" in wide[0].detail


def test_colour_temperature_against_the_set_lock() -> None:
    warm = [np.full((90, 160, 3), (255, 190, 120), np.uint8)] * 3
    cool = [np.full((90, 160, 3), (190, 210, 255), np.uint8)] * 3
    assert colour_temperature(warm) < 3500 < 7000 < colour_temperature(cool)
    palette = ((255, 180, 100), (250, 200, 140))  # a tungsten-lit set's colours
    assert look_findings(warm, LookSpec(0, "insert", palette, 3200)) == []
    found = look_findings(cool, LookSpec(0, "insert", palette, 3200))
    assert [f.check for f in found] == ["colour_temperature"]
    assert "the set lock's palette (lit at 3200K)" in found[0].detail


@pytest.mark.parametrize("people", [2, 3])
def test_qc_fails_a_clip_with_the_wrong_people_and_passes_a_matching_one(
    people: int, tmp_path: object
) -> None:
    """Through the technical checks on an encoded clip: decode, look, rubric, verdict."""
    clip = encode(frames_with(people, count=24))
    spec = ClipSpec(2.0, 640, 360, 12, characters=2, camera_type="medium")
    findings = technical_checks(clip, spec)
    scores: dict[str, int | None] = dict(rubric_from_technical(findings))
    verdict, _ = qc_verdict(scores, 12)
    if people == 2:
        assert findings == [] and verdict == "PASS"
    else:
        assert [f.check for f in findings] == ["face_count"]
        assert scores["face_consistency"] == 0 and verdict == "FAIL"


def test_qc_fails_a_palette_far_from_the_set_lock() -> None:
    clip = encode(frames_with(2, count=24))
    near = ClipSpec(2.0, 640, 360, 12, palette=["#5a5a5a", "#dcbeaa"], characters=2)
    far = ClipSpec(2.0, 640, 360, 12, palette=["#00ff00", "#0000ff"], characters=2)
    assert technical_checks(clip, near) == []
    findings = technical_checks(clip, far)
    assert [(f.check, f.severity) for f in findings] == [("palette", "severe")]
    detail = findings[0].detail  # the measured reason: the delta E and its limit
    assert " are delta E " in detail and "(limit 30)" in detail
    verdict, _ = qc_verdict(dict(rubric_from_technical(findings)), 12)
    assert verdict == "FAIL"


def encode(frames: list[np.ndarray], fps: int = 12) -> bytes:
    """Frames as an H.264 MP4 through the bundled ffmpeg (as the providers' clips are)."""
    import subprocess
    import tempfile
    from pathlib import Path

    import imageio_ffmpeg  # type: ignore[import-untyped]

    height, width = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "clip.mp4"
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt",
            "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", "-pix_fmt",
            "yuv420p", "-c:v", "libx264", str(out),
        ]  # fmt: skip
        subprocess.run(command, input=b"".join(f.tobytes() for f in frames), check=True)
        return out.read_bytes()


def test_a_take_is_decoded_once_for_the_gate_and_qc(monkeypatch: pytest.MonkeyPatch) -> None:
    """The render gate's probe and QC's checks on the same take decode it once between them
    (one decode gives the frames and the header), not once per consumer; inside this process
    (OpenCV's FFmpeg libraries): no ffmpeg run at all."""
    import subprocess

    from filmslate.rules import _media_decode

    clip = encode(frames_with(1, count=13))  # bytes no other test decodes
    launched: list[object] = []
    decoded: list[int] = []
    real_popen = subprocess.Popen  # subprocess.run starts its process through Popen too
    real_analyse = _media_decode.analyse

    def popen(*args: object, **kwargs: object) -> object:
        launched.append(args[0])
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    def analyse(data: bytes, samples: int) -> object:
        decoded.append(len(data))
        return real_analyse(data, samples)

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(_media_decode, "analyse", analyse)
    info = decode(clip).info  # the render gate
    assert (info.frames, info.width) == (13, 640)
    assert probe(clip) == info  # read from the cache
    assert technical_checks(clip, ClipSpec(13 / 12, 640, 360, 12, characters=1)) == []
    assert (launched, decoded) == ([], [len(clip)])
