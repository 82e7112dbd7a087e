"""Technical QC checks on clips synthesised here: each defect is flagged, a clean clip is not."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import pytest

from filmslate import ProviderError
from filmslate.rules._media import (
    NOT_MEASURABLE_OFFLINE,
    QC_CATEGORIES,
    ClipSpec,
    TechFinding,
    dominant_colours,
    hex_to_rgb,
    probe,
    rgb_to_lab,
    rubric_from_technical,
    technical_checks,
)

PALETTE = ["#6b4f3a", "#c8a27a", "#2e3b4e", "#e8dcc8"]  # browns, navy, cream
OTHER = ["#19e619", "#e619c8", "#19c8e6", "#f0f019"]  # saturated greens, magentas, ...
W, H, FPS, SECONDS = 320, 180, 12, 2.0
Frame = npt.NDArray[np.uint8]


def texture(colours: list[str], seed: int, block: int = 16) -> Frame:
    """A mosaic of the given colours, twice the frame width so it can slide."""
    rng = np.random.default_rng(seed)
    rgb = np.array([hex_to_rgb(c) for c in colours], np.uint8)
    cells = rng.integers(0, len(colours), (H // block + 1, 2 * W // block + 1))
    return np.kron(rgb[cells], np.ones((block, block, 1), np.uint8))[:H, : 2 * W]


def moving(
    colours: list[str] = PALETTE, seed: int = 1, frames: int = int(SECONDS * FPS), step: int = 1
) -> list[Frame]:
    """A slow slide across a mosaic: a clean, gently moving shot."""
    base = texture(colours, seed)
    return [np.ascontiguousarray(base[:, i * step : i * step + W]) for i in range(frames)]


def encode(frames: list[Frame], fps: int = FPS) -> bytes:
    """H.264 MP4 bytes of the frames."""
    height, width = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(path),
            (width, height),
            fps=fps,
            codec="libx264",
            macro_block_size=2,
            ffmpeg_log_level="error",
            quality=None,
            output_params=["-preset", "ultrafast", "-crf", "18"],
        )
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame, np.uint8).tobytes())
        writer.close()
        return path.read_bytes()


SPEC = ClipSpec(SECONDS, W, H, FPS, PALETTE)


def checks_of(findings: list[TechFinding]) -> set[str]:
    """The names of the checks that fired."""
    return {f.check for f in findings}


def test_probe_reads_back_the_clip() -> None:
    info = probe(encode(moving()))
    assert (info.width, info.height, info.fps, info.frames) == (W, H, FPS, 24)
    assert info.duration_s == pytest.approx(SECONDS)


def test_clean_clip_has_no_findings() -> None:
    assert technical_checks(encode(moving()), SPEC) == []


def with_black(frames: list[Frame]) -> list[Frame]:
    return [np.zeros_like(f) if 8 <= i < 13 else f for i, f in enumerate(frames)]


def with_frozen(frames: list[Frame]) -> list[Frame]:
    # the picture holds for 11 frames, then moves on from where it stopped
    return (frames[:7] + [frames[6]] * 10 + frames[7:])[: len(frames)]


def with_flicker(frames: list[Frame]) -> list[Frame]:
    return [
        (f * 0.55).astype(np.uint8) if i % 2 and 4 <= i < 18 else f for i, f in enumerate(frames)
    ]


def with_cut(frames: list[Frame]) -> list[Frame]:
    return frames[:12] + moving(seed=99)[12:]


@pytest.mark.parametrize(
    ("defect", "check", "severity"),
    [
        (with_black, "black_frames", "severe"),
        (with_frozen, "frozen_frames", "minor"),
        (with_flicker, "flicker", "severe"),
        (with_cut, "hard_cut", "severe"),
    ],
)
def test_each_defect_is_flagged_alone(
    defect: Callable[[list[Frame]], list[Frame]], check: str, severity: str
) -> None:
    findings = technical_checks(encode(defect(moving())), SPEC)
    assert checks_of(findings) == {check}, findings
    assert findings[0].severity == severity
    assert findings[0].detail


def test_single_black_frame_is_minor() -> None:
    frames = [np.zeros_like(f) if i == 10 else f for i, f in enumerate(moving())]
    findings = technical_checks(encode(frames), SPEC)
    assert [(f.check, f.severity) for f in findings] == [("black_frames", "minor")]


def test_a_still_is_frozen_unless_the_shot_may_be_static() -> None:
    still = encode([moving()[0]] * 24)
    findings = technical_checks(still, SPEC)
    assert [(f.check, f.severity) for f in findings] == [("frozen_frames", "severe")]
    static = ClipSpec(SECONDS, W, H, FPS, PALETTE, allow_static=True)
    assert technical_checks(still, static) == []


def test_palette_far_from_the_set_lock_is_flagged() -> None:
    findings = technical_checks(encode(moving(OTHER)), SPEC)
    assert checks_of(findings) == {"palette"}
    assert "delta E" in findings[0].detail
    assert technical_checks(encode(moving(OTHER)), ClipSpec(SECONDS, W, H, FPS, OTHER)) == []
    assert technical_checks(encode(moving(OTHER)), ClipSpec(SECONDS, W, H, FPS)) == []


def test_wrong_size_rate_and_duration_are_flagged() -> None:
    data = encode(moving())
    findings = technical_checks(data, ClipSpec(4.0, 640, 360, 24, PALETTE))
    assert checks_of(findings) == {"duration", "resolution", "frame_rate"}
    slightly_long = technical_checks(data, ClipSpec(1.6, W, H, FPS, PALETTE))
    assert [(f.check, f.severity) for f in slightly_long] == [("duration", "minor")]
    # within a frame or the tolerance is fine
    assert technical_checks(data, ClipSpec(2.1, W, H, FPS, PALETTE)) == []


def test_undecodable_data_is_a_severe_decode_finding() -> None:
    findings = technical_checks(b"not a video at all" * 10, SPEC)
    assert [(f.check, f.severity) for f in findings] == [("decode", "severe")]
    with pytest.raises(ProviderError, match="could not be decoded"):
        probe(b"garbage")
    assert rubric_from_technical(findings) == dict.fromkeys(QC_CATEGORIES, 0)


def test_a_clip_without_video_says_so(tmp_path: Path) -> None:
    """Audio alone: the header and the frames come from one ffmpeg run, which names why."""
    sound = tmp_path / "sound.m4a"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=1"]
    subprocess.run([*command, "-c:a", "aac", str(sound)], check=True)
    (finding,) = technical_checks(sound.read_bytes(), SPEC)
    assert finding.detail == "the clip could not be decoded: it has no video stream"
    with pytest.raises(ProviderError, match="it has no video stream"):
        probe(sound.read_bytes())


def test_rubric_from_technical_maps_findings_to_categories() -> None:
    assert rubric_from_technical([]) == dict.fromkeys(QC_CATEGORIES, 2)
    scores = rubric_from_technical(
        [TechFinding("flicker", "minor", "x"), TechFinding("palette", "severe", "y")]
    )
    assert scores["motion_integrity"] == 1
    assert scores["lighting_consistency"] == 0
    assert scores["set_continuity"] == 0
    for category in NOT_MEASURABLE_OFFLINE:
        assert scores[category] == 2
    cut = rubric_from_technical([TechFinding("hard_cut", "severe", "z")])
    assert cut["motion_integrity"] == cut["set_continuity"] == 0
    assert cut["lighting_consistency"] == 2


def test_colour_helpers() -> None:
    white, black = rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0]]))
    assert white == pytest.approx([100, 0, 0], abs=0.05)
    assert black == pytest.approx([0, 0, 0], abs=0.05)
    assert hex_to_rgb("#abc") == (170, 187, 204)
    pixels = np.array([[250, 0, 0]] * 70 + [[0, 0, 250]] * 30, np.uint8)
    colours, weights = dominant_colours(pixels, coverage=0.99)
    assert colours[0] == pytest.approx([250, 0, 0])
    assert weights == pytest.approx([0.7, 0.3])
    with pytest.raises(Exception, match="hex colour"):
        ClipSpec(1.0, 2, 2, 1, ["blue"])
