"""Lip sync (issue 15 §3): where the catalogue says a video model takes audio (Wan 2.7's
``audio_url``), the shot's dialogue audio is sent with the job so mouths match the lines.

A synthetic film whose first scene has a Fountain script renders every shot on Wan 2.7 against
the local fal server, through the real `slate run`: each shot with lines is voiced before its
takes are rendered and its proxy and final jobs carry that shot's AUDIO (the very bytes, as a
WAV data URI), a shot without lines none; the take records the AUDIO in its lineage, and the
job's key holds the audio's digest, so revising one voice lock re-renders exactly the shots
where that character speaks. The pieces (the catalogue's capability, the payload, the job's
identity, the refusal of a missing or stale voice) are checked on their own below.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import run_slate
from e2e_film import make_film, plugin_env, query
from filmslate import Project
from filmslate.core._catalogue import load_catalogue
from filmslate.core._errors import InputNotReady
from filmslate.engine._lip_sync import checked_audio, fitted, job_sha
from filmslate.engine._refusals import refusals_of
from filmslate.engine._render_jobs import JobRow, JobTable
from filmslate.engine._skill import Context, Inputs
from filmslate.engine._speech import Cue, read_wav, wav_bytes, wav_cues
from filmslate.engine._video import VideoJob
from filmslate.providers._fal_input import data_uri, digest, video_input
from filmslate.rules._takes import genpack_sha
from filmslate.schemas import DialogueRow, DialogueShots, GenPack, ShotRow, VoiceLock
from filmslate.skills.production._lip_sync import dialogue_audio
from filmslate.testing.fal_server import FalServer
from test_dialogue_shots import SCRIPT, SHAPE, SLOW, latest

WAN = "fal:fal-ai/wan/v2.7/image-to-video"
KEY = "fal-lip-sync-key-never-written"
SPOKEN = {"S01_SH02", "S01_SH03"}  # ADA and BRAM in SH02, ADA's voice-over in SH03


def produce(tmp_path: Path, server: FalServer) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "film"
    settings = {("visual", t): f'"{WAN}"' for t in ("premium", "mid", "low")}
    settings[("providers.fal", "base_url")] = f'"{server.url}"'
    make_film(root, *SHAPE, settings)
    env = plugin_env(tmp_path / "site", *SHAPE, {"FAL_KEY": KEY})
    script = tmp_path / "SCRIPT_S01.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    added = run_slate("add", str(script), "-C", str(root), "--reason", "the script", env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    result = run_slate("run", "-C", str(root), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "production complete" in result.stdout, result.stdout
    return root, env


def sent(root: Path, server: FalServer) -> list[tuple[str, str, dict[str, Any]]]:
    """(shot, resolution, input) of every video job the server received, oldest first."""
    by_reference = {
        ref: (shot, res)
        for shot, res, ref in query(root, "SELECT shot_id, resolution, reference FROM render_jobs")
    }
    found = []
    for request in server.requests_to("/", "POST"):
        reference = request.headers.get("x-fal-tags", "").removeprefix("filmslate_ref=")
        if reference in by_reference:
            found.append((*by_reference[reference], request.body))
    return found


def heard(body: dict[str, Any]) -> bytes | None:
    """The audio a job carried (None: it carried none)."""
    uri = body.get("audio_url")
    if uri is None:
        return None
    assert str(uri).startswith("data:audio/wav;base64,")
    return base64.b64decode(str(uri).split(",", 1)[1])


def carries(body: dict[str, Any], audio: bytes) -> bool:
    """True when the job carried this AUDIO: its samples and cues, padded with silence to the
    clip length sent at most."""
    sent = heard(body)
    if sent is None:
        return False
    (ours, rate), (theirs, sent_rate) = read_wav(audio), read_wav(sent)
    padding = theirs[len(ours) :]
    return (
        sent_rate == rate
        and np.array_equal(theirs[: len(ours)], ours)
        and not padding.any()
        and len(theirs) <= max(len(ours), round(float(body["duration"]) * rate))
        and wav_cues(sent) == wav_cues(audio)
    )


@SLOW
def test_the_dialogue_goes_with_the_job_and_a_voice_revision_rerenders_its_shots(
    tmp_path: Path,
) -> None:
    with FalServer(queued_polls=0, running_polls=0, timeout_s=600) as server:
        root, env = produce(tmp_path, server)
        first = sent(root, server)
        shots = {shot for shot, _, _ in first}
        assert len(shots) == SHAPE[0] * SHAPE[1]
        for shot, resolution, body in first:
            if shot in SPOKEN:
                audio, _ = latest(root, "AUDIO", shot)
                assert carries(body, audio), (shot, resolution)
            else:
                assert heard(body) is None, shot  # no lines: nothing to lip-sync
        with Project(root) as project:
            for shot in sorted(shots):
                record = project.store.latest("FINAL", shot)
                assert record is not None
                made_from = {n.filename for n in project.store.lineage(record.name)}
                has_audio = any(n.startswith(f"AUDIO_{shot}_v") for n in made_from)
                assert has_audio == (shot in SPOKEN), (shot, made_from)

        lock, _ = latest(root, "VOICE_LOCK", "BRAM")
        assert isinstance(lock, VoiceLock)
        cadence = lock.cadence.model_copy(update={"speed": "quick and clipped"})
        revised = tmp_path / "VOICE_BRAM_LOCK.txt"
        revised.write_bytes(lock.model_copy(update={"cadence": cadence}).render())
        added = run_slate("add", str(revised), "-C", str(root), "--reason", "faster", env=env)
        assert added.returncode == 0, added.stdout + added.stderr
        again = run_slate("run", "-C", str(root), env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        later = sent(root, server)[len(first) :]
        assert Counter((shot, res) for shot, res, _ in later) == {
            ("S01_SH02", "proxy"): 1,
            ("S01_SH02", "final"): 1,
        }
        audio, version = latest(root, "AUDIO", "S01_SH02")
        assert version == 2
        assert all(carries(body, audio) for _, _, body in later)


# -- the pieces on their own ---------------------------------------------------------------------


def test_the_catalogue_says_which_models_take_the_dialogue_audio() -> None:
    catalogue = load_catalogue()
    takes = sorted(k for k in catalogue if catalogue.get(k).takes_audio)
    assert takes == [WAN]
    entry = catalogue.get(WAN)
    assert entry.input.audio == "audio_url" and entry.billing.source.startswith("https://fal.ai")


def test_the_audio_is_sent_as_a_wav_data_uri_and_recorded_as_its_digest() -> None:
    entry = load_catalogue().get(WAN)
    audio = b"RIFF....WAVEfmt fake"
    job = VideoJob(
        "S01_SH02", "a harbour office", 3.0, 1280, 720, 24, image=b"\x89PNG", audio=audio
    )
    sent_input = video_input(entry, job, data_uri)
    assert base64.b64decode(sent_input["audio_url"].split(",", 1)[1]) == audio
    assert sent_input["audio_url"].startswith("data:audio/wav;base64,")
    recorded = video_input(entry, job, digest)
    assert recorded["audio_url"] == "sha256:" + hashlib.sha256(audio).hexdigest()
    kling = load_catalogue().get("fal:fal-ai/kling-video/v3/pro/image-to-video")
    assert "audio_url" not in video_input(kling, job, data_uri)  # a model without audio input


def test_the_job_s_identity_holds_the_audio() -> None:
    pack = genpack("S01_SH02")
    assert job_sha(pack, None) == genpack_sha(pack)  # no audio: the GenPack's key, as before
    one, other = job_sha(pack, b"one voice"), job_sha(pack, b"another voice")
    assert len({one, other, genpack_sha(pack)}) == 3  # another voice is another job


class Routed:
    """The render service's answer to whether the shot's model takes audio."""

    def __init__(self, takes: bool) -> None:
        self.takes = takes

    def takes_audio(self, row: ShotRow) -> bool:
        return self.takes


def context(project: Project, one: dict[str, Any], names: list[str]) -> Context:
    return Context(target="S01_SH02", inputs=Inputs(one=one, names=names), config=project.config)


LINES = DialogueShots(
    rows=[DialogueRow(shot_id="S01_SH02", line_order=1, character="ADA", text="Go.")]
)
NAMES = ["GENPACK_S01_SH02_v001.md", "DIALOGUE_S01_v001.csv", "AUDIO_S01_SH02_v001.wav"]


def test_a_take_records_the_audio_only_where_it_was_sent(project: Project) -> None:
    row = SHOT
    ctx = context(project, {"DIALOGUE": LINES, "AUDIO": b"RIFFwav"}, NAMES)
    assert dialogue_audio(ctx, row, Routed(True)) == (
        b"RIFFwav",
        ("GENPACK_S01_SH02_v001.md", "AUDIO_S01_SH02_v001.wav"),
    )
    assert dialogue_audio(ctx, row, Routed(False)) == (None, ("GENPACK_S01_SH02_v001.md",))
    silent = context(project, {"DIALOGUE": DialogueShots(rows=[])}, NAMES[:2])
    assert dialogue_audio(silent, row, Routed(True)) == (None, ("GENPACK_S01_SH02_v001.md",))


def test_a_shot_with_lines_and_no_voice_yet_is_refused_naming_the_step(project: Project) -> None:
    no_audio = context(project, {"DIALOGUE": LINES}, NAMES[:2])
    with pytest.raises(InputNotReady, match=r"run scratch-voices \(`slate run scratch-voices"):
        dialogue_audio(no_audio, SHOT, Routed(True))
    no_dialogue = context(project, {}, NAMES[:1])
    with pytest.raises(InputNotReady, match="S01 has no DIALOGUE yet: run dialogue-shots"):
        dialogue_audio(no_dialogue, SHOT, Routed(True))


def test_the_render_service_sends_only_the_latest_passing_audio(project: Project) -> None:
    with pytest.raises(InputNotReady, match="AUDIO_S01_SH02 does not exist yet"):
        checked_audio(project, "S01_SH02", b"RIFFwav")
    audio = wav_bytes(np.zeros(2205, dtype=np.int16))
    project.store.write("AUDIO", "S01_SH02", audio)  # written, never judged by a gate
    with pytest.raises(InputNotReady, match="did not pass its gate"):
        checked_audio(project, "S01_SH02", audio)


SHOT = ShotRow(
    shot_id="S01_SH02",
    scene_id="S01",
    duration_s=4,
    camera_type="medium",
    blocking_summary="Ada and Bram at the desk",
    set_id="HARBOUR_OFFICE",
    char_ids=["ADA", "BRAM"],
    hero_tier="A",
    complexity_level="low",
    regen_risk_estimate="low",
)


def genpack(shot: str) -> GenPack:
    return GenPack(
        shot_id=shot,
        set="SET LOCK",
        characters="CHARACTER LOCK",
        action="rows",
        negatives="none",
        settings="proxy",
    )


def test_a_refused_lip_sync_job_is_still_the_refusal_of_its_genpack(project: Project) -> None:
    pack = genpack("S01_SH02")
    key = job_sha(pack, b"one voice")
    assert key.startswith(genpack_sha(pack) + "+audio:")
    jobs = JobTable(project.store)
    row = JobRow("S01_SH02", "proxy", key, WAN, "", "intent", None, "visual_premium")
    jobs.record_intent(row)
    jobs.fail(row, "refusal", "flagged by the content checker")
    [refusal] = refusals_of(project.store, "S01_SH02")
    assert refusal.genpack_sha == genpack_sha(pack)  # regen-analyzer finds it to reword
    assert refusal.failure == "refusal" and refusal.model == WAN


def test_the_audio_is_padded_with_silence_to_the_clip_sent_never_cut() -> None:
    voice = (6000 * np.sin(np.arange(33075) / 8)).astype(np.int16)  # 1.5 s at 22,050 Hz
    audio = wav_bytes(voice, 22050, [Cue(1, "ADA", 0.3, 1.2)])
    padded = fitted(audio, 2.0)  # Wan 2.7 takes no clip (and no audio) under 2 s
    assert padded is not None
    samples, rate = read_wav(padded)
    assert rate == 22050 and len(samples) == 44100 and not samples[33075:].any()
    assert np.array_equal(samples[:33075], voice) and wav_cues(padded) == wav_cues(audio)
    assert fitted(audio, 1.0) == audio and fitted(None, 2.0) is None
