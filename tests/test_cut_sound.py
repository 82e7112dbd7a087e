"""The cut plays with sound (issue 15 §3): a synthetic film whose first scene has a Fountain
script is produced by the real `slate run`; the cut's audio, decoded back to PCM, has speech
energy exactly where the edit plays the dialogue lines and room tone elsewhere, at the
configured loudness; its subtitles have one cue per line, in order, inside the cut. The mix and
the subtitle timing rules are checked on their own below."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import pytest
from numpy.typing import NDArray

from conftest import run_slate
from e2e_film import make_film, plugin_env
from filmslate import Project
from filmslate.engine._render import RenderService
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._speech import SAMPLE_RATE, Cue, wav_bytes, wav_cues
from filmslate.engine._video import VideoJob
from filmslate.rules._media import probe
from filmslate.schemas import EditPlan, SceneRow, Scenes, ShotList
from filmslate.skills.production import AssembleCut, RenderProxy
from filmslate.skills.production._mix import ROOM_TONE_DBFS, Placed, cut_cues, loudness, mix
from filmslate.synthetic import set_key
from test_dialogue_shots import SCRIPT
from test_edit_planner import CLEAN, shot
from test_runtime import configure
from test_skills_production import put
from test_skills_render import PRICES, FileFake, _pack, qc

SLOW = pytest.mark.slow
SHAPE = (2, 3)
RATE = 16000  # the decoded cut's rate: plenty for speech energy
ROOM_RMS = 32767 * 10 ** (ROOM_TONE_DBFS / 20)  # ~33 in int16


def produce(tmp_path: Path, settings: dict[tuple[str, str], str] | None = None) -> Path:
    """The film with S01's script, produced by `slate run`; its root."""
    root = tmp_path / "film"
    visual = {("visual", t): '"animatic"' for t in ("premium", "mid", "low")}
    make_film(root, *SHAPE, {**visual, **(settings or {})})
    env = plugin_env(tmp_path / "site", *SHAPE, {})
    script = tmp_path / "SCRIPT_S01.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    added = run_slate("add", str(script), "-C", str(root), "--reason", "the script", env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    result = run_slate("run", "-C", str(root), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def decoded(cut: bytes) -> NDArray[np.float64]:
    """The cut's audio stream as mono samples at ``RATE`` (ffmpeg to raw PCM)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", "pipe:0", "-vn"]
    command += ["-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"]
    done = subprocess.run(command, input=cut, capture_output=True, check=True)
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float64)


def rms(samples: NDArray[np.float64], start: float, end: float) -> float:
    window = samples[int(start * RATE) : int(end * RATE)]
    return float(np.sqrt(np.mean(window**2))) if len(window) else 0.0


def loudnorm(cut: bytes) -> float:
    """The integrated loudness of the cut's audio, measured by ffmpeg's loudnorm (print mode;
    the cut's own mix measures with ebur128, so the check is a second measurement)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", "pipe:0"]
    command += ["-vn", "-af", "loudnorm=print_format=json", "-f", "null", "-"]
    done = subprocess.run(command, input=cut, capture_output=True, check=True)
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", done.stderr.decode())
    assert found is not None
    return float(json.loads(found.group(0))["input_i"])


def srt_times(text: str, sep: str) -> list[tuple[float, float]]:
    """The (start, end) seconds of every cue of SubRip (``,``) or WebVTT (``.``) text."""
    clock = rf"(\d+):(\d\d):(\d\d){re.escape(sep)}(\d\d\d)"
    out = []
    for found in re.finditer(rf"{clock} --> {clock}", text):
        h, m, sec, ms, h2, m2, sec2, ms2 = (int(g) for g in found.groups())
        out.append((h * 3600 + m * 60 + sec + ms / 1000, h2 * 3600 + m2 * 60 + sec2 + ms2 / 1000))
    return out


def line_intervals(project: Project) -> list[tuple[float, float, bool]]:
    """Where the film's plan plays each line (the AUDIO cue moved to the shot's place, kept to
    what the plan lets be heard of the shot's sound), and whether it is heard whole."""
    plan = project.store.load(project.store.latest("EDIT", "PROJECT").name)  # type: ignore[union-attr]
    assert isinstance(plan, EditPlan)
    out = []
    for row in plan.rows:
        record = project.store.latest("AUDIO", row.shot_id)
        assert record is not None
        shift = row.record_in_s - row.in_s
        lo, hi = max(0.0, row.in_s - row.audio_lead_s), row.out_s + row.audio_lag_s
        for cue in wav_cues(project.store.read(record.name)):
            a, b = min(max(cue.start_s, lo), hi), min(max(cue.end_s, lo), hi)
            out.append((a + shift, b + shift, (a, b) == (cue.start_s, cue.end_s)))
    return out


def outside(
    intervals: list[tuple[float, float]], length: float, pad: float
) -> list[tuple[float, float]]:
    """The stretches of the cut at least ``pad`` away from every line."""
    out, at = [], 0.0
    for a, b in sorted(intervals):
        if a - pad > at:
            out.append((at, a - pad))
        at = max(at, b + pad)
    if at < length:
        out.append((at, length))
    return out


def check_cut_sound(project: Project) -> tuple[int, int, float]:
    """The film's cut plays every dialogue line where its plan plays it, with speech energy,
    room tone elsewhere, at -23 LUFS; its SRT and VTT have one cue per line, at the line, in
    order, inside the cut. Returns the number of lines, of lines the plan does not play whole
    (cut off at their shot's end), and the seconds of near silence checked."""
    store = project.store
    cut_record = store.latest("CUT", "PROJECT")
    assert cut_record is not None
    cut = store.read(cut_record.name)
    used = {n.filename for n in store.lineage(cut_record.name)}
    assert {r.filename for r in store.latest_of_each("AUDIO")} <= used  # the voices it played
    lines = sum(len(store.load(r.name).rows) for r in store.latest_of_each("DIALOGUE"))  # type: ignore[attr-defined]
    heard = line_intervals(project)
    assert len(heard) == lines > 0
    length = probe(cut).duration_s
    samples = decoded(cut)
    assert abs(len(samples) / RATE - length) < 0.1  # one audio track the cut's length
    for a, b, _ in heard:  # speech: far above the room tone
        if b - a >= 0.2:
            assert rms(samples, a + 0.05, b - 0.05) > 20 * ROOM_RMS, (a, b)
    quiet = outside([(a, b) for a, b, _ in heard], length, 0.15)
    silence = sum(b - a for a, b in quiet)
    assert silence > 3.0  # the test sees real silence, not slivers
    for a, b in quiet:  # room tone only: near silence
        assert rms(samples, a, b) < 3 * ROOM_RMS, (a, b, rms(samples, a, b))
    assert abs(loudnorm(cut) + 23.0) <= 1.0  # [audio] loudness_lufs, default -23
    srt, vtt = (store.latest(k, "PROJECT") for k in ("SUBTITLES", "SUBTITLES_VTT"))
    assert srt is not None and vtt is not None
    assert set(store.lineage(srt.name)) == set(store.lineage(cut_record.name))  # made with it
    srt_text, vtt_text = store.read(srt.name).decode(), store.read(vtt.name).decode()
    assert vtt_text.startswith("WEBVTT\n")
    for text, sep in ((srt_text, ","), (vtt_text, ".")):
        cues = srt_times(text, sep)
        assert len(cues) == lines  # one cue per dialogue line
        assert cues == sorted(cues) and all(0 <= a <= b <= length + 1e-3 for a, b in cues)
        for (a, b), (x, y, _) in zip(cues, sorted(heard), strict=True):
            assert abs(a - x) < 2e-3 and abs(b - y) < 2e-3  # timed from the audio
    return lines, sum(not whole for _, _, whole in heard), silence


@SLOW
def test_the_cut_plays_the_dialogue_where_its_lines_are(tmp_path: Path) -> None:
    root = produce(tmp_path)
    with Project(root) as project:
        assert check_cut_sound(project)[:2] == (3, 0)  # the script's three lines, all whole
        names = [
            r.filename
            for k in ("SUBTITLES", "SUBTITLES_VTT")
            if (r := project.store.latest(k, "PROJECT")) is not None
        ]
        srt_text = project.store.read(names[0]).decode()
    assert names == ["SUBTITLES_PROJECT_v001.srt", "SUBTITLES_PROJECT_VTT_v001.vtt"]
    assert "The signal died at nine." in srt_text


# -- the mix on its own -----------------------------------------------------------------------


def tone(seconds: float, cues: list[Cue], level: float = 8000.0) -> bytes:
    """A shot's AUDIO: a 220 Hz tone inside each cue, silence elsewhere."""
    track = np.zeros(round(seconds * SAMPLE_RATE))
    for cue in cues:
        a, b = round(cue.start_s * SAMPLE_RATE), round(cue.end_s * SAMPLE_RATE)
        track[a:b] = level * np.sin(2 * np.pi * 220 * np.arange(b - a) / SAMPLE_RATE)
    return wav_bytes(track.astype(np.int16), SAMPLE_RATE, cues)


def samples_of(wav: bytes) -> NDArray[np.float64]:
    from filmslate.engine._speech import read_wav

    data, rate = read_wav(wav)
    assert rate == SAMPLE_RATE
    return data.astype(np.float64)


def test_a_trimmed_shot_s_line_and_an_l_cut_land_where_the_plan_plays_them() -> None:
    one = tone(3.0, [Cue(1, "ADA", 1.0, 2.0)])
    two = tone(3.0, [Cue(2, "BRAM", 0.3, 1.0)])
    # shot one shown 0.5-2.5 s of its take at 0 (its line heard at 0.5-1.5 s of the cut);
    # shot two shown from 0.2 s at 2.0, its line at 2.1-2.8 s
    placed = [Placed("S01_SH01", one, 0.0, 0.5, 2.5), Placed("S01_SH02", two, 2.0, 0.2, 3.0)]
    wav = mix(placed, 4.8, -23.0)
    track = samples_of(wav)

    def level(a: float, b: float) -> float:
        window = track[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)]
        return float(np.sqrt(np.mean(window**2)))

    assert level(0.6, 1.4) > 20 * ROOM_RMS and level(2.2, 2.7) > 20 * ROOM_RMS
    for a, b in ((0.0, 0.45), (1.55, 2.05), (2.85, 4.8)):
        assert level(a, b) < 2 * ROOM_RMS, (a, b)
    measured = loudness(wav)
    assert measured is not None and abs(measured + 23.0) < 0.5
    cues = cut_cues(placed, {"S01_SH01": {1: "The signal died."}, "S01_SH02": {2: "Again."}})
    assert [(round(c.start_s, 3), round(c.end_s, 3), c.text) for c in cues] == [
        (0.5, 1.5, "The signal died."),
        (2.1, 2.8, "Again."),
    ]


def test_a_cut_without_dialogue_is_room_tone_only() -> None:
    wav = mix([Placed("S01_SH01", None, 0.0, 0.0, 2.0)], 2.0, -23.0)
    track = samples_of(wav)
    assert abs(float(np.sqrt(np.mean(track**2))) - ROOM_RMS) < 0.2 * ROOM_RMS
    measured = loudness(wav)  # the room tone is never lifted to the dialogue's loudness
    assert measured is not None and measured < -50
    assert mix([Placed("S01_SH01", None, 0.0, 0.0, 2.0)], 2.0, -23.0) == wav  # reproducible


# -- a take's own sound ([audio] take_audio) ---------------------------------------------------


class SoundFake(FileFake):
    """The file-backed video stand-in whose clips carry their own sound: a loud 440 Hz tone."""

    def submit(self, job: VideoJob) -> str:
        job_id = super().submit(job)
        clip = self.folder / f"{job_id}.mp4"
        voiced = clip.with_name(f"{job_id}.voiced.mp4")
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip)]
        command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050", "-shortest"]
        command += ["-c:v", "copy", "-c:a", "aac", str(voiced)]
        subprocess.run(command, check=True, capture_output=True)
        voiced.replace(clip)
        return job_id


def sounding_film(root: Path, take_audio: str) -> Runner:
    """One scene of two shots whose model's clips have sound, rendered, passed and cut."""
    with Project.init(root, name="film"):
        pass
    small = {"width = 640": "width = 96", "height = 360": "height = 64"}
    configure(root, **{'mid = "animatic"': 'mid = "fake:clip"', PRICES[0]: PRICES[1], **small})
    config = root / "filmslate.toml"
    config.write_text(set_key(config.read_text(), "audio", "take_audio", f'"{take_audio}"'))
    project = Project(root)
    put(
        project,
        "SCENES",
        None,
        Scenes(rows=[SceneRow(scene_id="S01", summary="Alex waits.", location="Old Mill")]),
    )
    rows = [shot(n, *spec) for n, spec in enumerate(CLEAN, start=1)]
    put(project, "SHOTLIST", "S01", ShotList(rows=rows))
    for row in rows:
        put(project, "GENPACK", row.shot_id, _pack(row.shot_id))
    registry = Registry()
    for skill in (RenderProxy, AssembleCut):
        registry.register(skill)
    service = RenderService(project, providers={"fake": SoundFake(root.parent / "fake", 0)})
    runner = Runner(project, registry)
    for row in rows:
        assert runner.run("render-proxy", row.shot_id, params={"render": service}).gate.passed
    qc(root, *((row.shot_id, 1, "PASS") for row in rows))
    assert runner.run("assemble-cut", "S01").gate.passed
    return runner


@pytest.mark.parametrize("take_audio", ["dialogue", "take"])
def test_take_audio_chooses_the_model_s_own_sound_or_the_dialogue(
    tmp_path: Path, take_audio: str
) -> None:
    runner = sounding_film(tmp_path / "film", take_audio)
    record = runner.store.latest("CUT", "S01")
    assert record is not None
    samples = decoded(runner.store.read(record.name))
    level = rms(samples, 0.2, 6.8)  # both shots, 7 s
    if take_audio == "take":  # the model's tone, normalised to -23 LUFS
        assert level > 20 * ROOM_RMS
        assert {"RAW_PROXY_S01_SH01_v001.mp4"} <= {
            n.filename for n in runner.store.lineage(record.name)
        }
    else:  # no dialogue in this film: room tone only, the model's tone left out
        assert level < 3 * ROOM_RMS
    runner.project.close()
