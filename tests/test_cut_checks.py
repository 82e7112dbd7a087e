"""The cut's gate measures what it made (issue 15 §3): the audio stream of the finished MP4,
decoded back, exists, lasts the picture's length within a frame and sits at the configured
loudness; subtitles never show a line for no time, nor two at once, and a line the cut does
not play gets no cue (the gate names it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import pytest

from filmslate.core._errors import SchemaError
from filmslate.engine._speech import Cue
from filmslate.rules._media import probe
from filmslate.schemas import SubtitlesSrt, SubtitlesVtt
from filmslate.skills.production._mix import (
    Placed,
    cut_cues,
    cut_sound_failures,
    mix,
    subtitle_failures,
    unheard_lines,
)
from test_cut_sound import tone
from test_edit_planner import CLEAN, film_of


def remuxed(cut: bytes, folder: Path, audio: list[str]) -> bytes:
    """The cut's picture with ``audio`` (ffmpeg arguments after the picture input)."""
    source, out = folder / "cut.mp4", folder / "out.mp4"
    source.write_bytes(cut)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source)]
    subprocess.run([*command, *audio, str(out)], check=True, capture_output=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def voiced_cut(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    """A 7 s cut (two animatic takes) whose sound is a tone at -23 LUFS in a 'line'."""
    folder = tmp_path_factory.mktemp("cut")
    runner = film_of(folder / "film", CLEAN)
    result = runner.run("assemble-cut", "S01")
    assert result.gate.passed, result.gate.reasons
    cut = runner.store.read(result.records[0].filename)
    runner.project.close()
    sound = mix([Placed("S01_SH01", tone(7.0, [Cue(1, "ADA", 1.0, 5.0)]), 0, 0, 7.0)], 7.0, -23)
    (folder / "sound.wav").write_bytes(sound)
    audio = ["-i", str(folder / "sound.wav"), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"]
    return remuxed(cut, folder, [*audio, "-c:a", "aac"]), folder


def test_the_cut_s_own_audio_is_measured_not_trusted(voiced_cut: tuple[bytes, Path]) -> None:
    cut, folder = voiced_cut
    info = probe(cut)
    assert cut_sound_failures(cut, info.duration_s, info.fps, -23.0, speech=True) == []
    # at -18 LUFS the same track is 5 LU off the target; the default target is -23
    (why,) = cut_sound_failures(cut, info.duration_s, info.fps, -18.0, speech=True)
    assert why.startswith("the cut's audio measures -23.")
    assert why.endswith("LUFS, the target is -18 LUFS ([audio] loudness_lufs, within 1 LU)")
    silent = remuxed(cut, folder, ["-an", "-c:v", "copy"])
    assert cut_sound_failures(silent, info.duration_s, info.fps, -23.0, speech=False) == [
        "the cut has no audio stream: its dialogue track was not muxed"
    ]
    short = remuxed(cut, folder, ["-c:v", "copy", "-c:a", "aac", "-af", "atrim=0:5"])
    (why,) = cut_sound_failures(short, info.duration_s, info.fps, -23.0, speech=False)
    assert why.startswith("the cut's audio lasts 5.0") and "more than a frame" in why


def test_a_line_the_cut_does_not_play_gets_no_cue_and_cues_never_overlap() -> None:
    one = tone(3.0, [Cue(1, "ADA", 0.3, 1.4), Cue(2, "ADA", 2.5, 2.9)])
    two = tone(3.0, [Cue(3, "BRAM", 0.3, 1.0)])
    # shot one plays 0-2 s of its take: line 2 (2.5-2.9 s) is not heard at all; shot two's
    # J cut brings its sound in 0.8 s early, over the end of line 1
    placed = [
        Placed("S01_SH01", one, 0.0, 0.0, 2.0),
        Placed("S01_SH02", two, 1.2, 1.0, 3.0, lead_s=0.8),
    ]
    lines = {"S01_SH01": {1: "Hold it.", 2: "Now."}, "S01_SH02": {3: "Again."}}
    cues = cut_cues(placed, lines)
    assert [(c.start_ms, c.end_ms, c.text) for c in cues] == [
        (300, 500, "Hold it."),  # ends where the next starts: one on screen at a time
        (500, 1200, "Again."),
    ]
    assert unheard_lines(placed, lines) == ["S01_SH01 line 2"]
    assert subtitle_failures(cues, 2, 4.0) == []
    SubtitlesSrt(cues=cues)  # the schema takes them


@pytest.mark.parametrize("cls", [SubtitlesSrt, SubtitlesVtt])
def test_a_zero_length_or_overlapping_cue_is_refused_naming_the_cue(
    cls: type[SubtitlesSrt],
) -> None:
    label = "" if cls is SubtitlesVtt else "1\n"
    sep = "." if cls is SubtitlesVtt else ","
    head = "WEBVTT\n\n" if cls is SubtitlesVtt else ""
    empty = f"{head}{label}00:00:01{sep}000 --> 00:00:01{sep}000\nHold it.\n"
    with pytest.raises(SchemaError, match="ends at 1000 ms, not after its start"):
        cls.parse(empty.encode())
    two = "" if cls is SubtitlesVtt else "2\n"
    overlap = (
        f"{head}{label}00:00:01{sep}000 --> 00:00:02{sep}000\nHold it.\n\n"
        f"{two}00:00:01{sep}500 --> 00:00:03{sep}000\nAgain.\n"
    )
    with pytest.raises(SchemaError, match=r"cue 2 .* starts at 1500 ms, before cue 1 ends"):
        cls.parse(overlap.encode())
