"""Scratch voices from the voice locks (issue 15 §2).

Through the real `slate run` (a synthetic film whose first scene has a script, see
test_dialogue_shots): every shot's AUDIO decodes, holds speech energy inside each line's cue
and silence outside, and every line went through the speech service's reservation and
settlement (0 for the offline espeak-ng voice). Revising one character's voice lock re-voices
exactly the shots where that character speaks; the other character's line in the same shot is
fetched from its recorded job, not made again. The service, the voice mapping and the WAV cues
are checked on their own below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import run_slate
from e2e_film import query
from filmslate import Project
from filmslate.core._errors import ProviderError
from filmslate.engine._speech import SpeechJob, VoiceSettings, read_wav, wav_bytes, wav_cues
from filmslate.engine._speech_service import SpeechService
from filmslate.providers.scratch_voice import EspeakVoice, espeak_samples
from filmslate.schemas import VoiceLock
from filmslate.skills.production import voice_settings
from filmslate.synthetic import set_key
from filmslate.testing.elevenlabs_server import ElevenLabsServer
from test_dialogue_shots import SLOW, latest, produce

SHOTS = [f"S0{s}_SH0{n}" for s in (1, 2) for n in (1, 2, 3)]


def versions(root: Path) -> dict[str, int]:
    return {shot: latest(root, "AUDIO", shot)[1] for shot in SHOTS}


def spends(root: Path, shot: str, line: int) -> int:
    rows = query(
        root,
        "SELECT count(*) FROM runlog WHERE event = 'spend' AND skill_name = 'scratch-voices' "
        "AND notes LIKE ?",
        f"speech line {line} of {shot},%",
    )
    return int(rows[0][0])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


@SLOW
def test_shots_are_voiced_and_a_lock_revision_revoices_exactly_its_speakers_shots(
    tmp_path: Path,
) -> None:
    root, env = produce(tmp_path)
    for shot in SHOTS:
        data, _ = latest(root, "AUDIO", shot)
        samples, rate = read_wav(data)
        assert len(samples) >= 3 * rate  # at least the shot's planned length
        spoken = np.zeros(len(samples), dtype=bool)
        for cue in wav_cues(data):
            window = slice(int(cue.start_s * rate), int(cue.end_s * rate))
            assert rms(samples[window]) > 500, (shot, cue)
            spoken[window] = True
        assert rms(samples[~spoken]) < 50, shot  # silence where nobody speaks
    assert [spends(root, "S01_SH02", n) for n in (1, 2)] == [1, 1]
    assert spends(root, "S01_SH03", 3) == 1
    assert query(root, "SELECT count(*) FROM reservations") == [(0,)]  # every hold settled
    before = versions(root)
    bram_before = wav_cues(latest(root, "AUDIO", "S01_SH02")[0])[1]

    lock, _ = latest(root, "VOICE_LOCK", "BRAM")
    assert isinstance(lock, VoiceLock)
    cadence = lock.cadence.model_copy(update={"speed": "quick and clipped"})
    revised = tmp_path / "VOICE_BRAM_LOCK.txt"
    revised.write_bytes(lock.model_copy(update={"cadence": cadence}).render())
    added = run_slate("add", str(revised), "-C", str(root), "--reason", "faster", env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    result = run_slate("run", "-C", str(root), env=env)
    assert "scratch-voices S01_SH02: PASS" in result.stdout, result.stdout + result.stderr

    assert versions(root) == {**before, "S01_SH02": before["S01_SH02"] + 1}
    bram_after = wav_cues(latest(root, "AUDIO", "S01_SH02")[0])[1]
    assert bram_after.character == "BRAM"
    assert bram_after.end_s - bram_after.start_s < bram_before.end_s - bram_before.start_s
    # Ada's line in the same shot was fetched from its job; only Bram's was asked again
    assert [spends(root, "S01_SH02", n) for n in (1, 2)] == [1, 2]
    with Project(root) as project:
        record = project.store.latest("AUDIO", "S01_SH02")
        assert record is not None
        made_from = {n.filename for n in project.store.lineage(record.name)}
    assert any(n.startswith("VOICE_BRAM_LOCK_v002") for n in made_from), made_from
    assert any(n.startswith("VOICE_ADA_LOCK_v001") for n in made_from), made_from


# -- the pieces on their own -------------------------------------------------------------------


def test_espeak_speaks_with_speech_energy_and_a_job_is_fetched_the_same(tmp_path: Path) -> None:
    one, rate = espeak_samples("The signal died at nine.", VoiceSettings())
    assert rate == 22050 and 0.8 < len(one) / rate < 4 and rms(one) > 500
    slow, _ = espeak_samples("The signal died at nine.", VoiceSettings(rate=120))
    assert len(slow) > len(one) * 1.15
    voice = EspeakVoice(tmp_path / "speech")
    job = SpeechJob(shot_id="S01_SH02", line=1, character="ADA", text="Hold the lamp.")
    job_id = voice.submit(job)
    assert voice.submit(job) == job_id and voice.poll(job_id).state == "done"
    assert voice.download(job_id) == voice.download(job_id)
    assert EspeakVoice(tmp_path / "speech").download(job_id) == voice.download(job_id)


def test_the_cues_travel_in_the_wav() -> None:
    from filmslate.engine._speech import Cue

    cues = [Cue(1, "ADA", 0.3, 1.2), Cue(2, "BRAM", 1.45, 2.0)]
    data = wav_bytes(np.zeros(22050, dtype=np.int16), cues=cues)
    samples, rate = read_wav(data)
    assert (len(samples), rate) == (22050, 22050)
    assert wav_cues(data) == cues
    assert wav_cues(wav_bytes(np.zeros(10, dtype=np.int16))) == []


def test_a_voice_lock_maps_to_its_voice() -> None:
    lock = VoiceLock.model_validate(
        {
            "name": "NELL",
            "tone": {"pitch": "high", "timbre": "bright and light", "energy": "quiet, hushed"},
            "cadence": {
                "sentence_length": "short",
                "pauses": "long silences before she answers",
                "speed": "quick",
                "hesitations": "none",
            },
            "accent": {
                "region": "Scottish Highlands",
                "strength": "light",
                "vocabulary": "plain words",
                "slang_level": "low",
            },
            "emotional_range": {
                "default": "warm",
                "upper_limit": "a sharp word",
                "baseline": "steady",
                "stress_reaction": "goes quiet",
            },
            "constraints": {
                "vocabulary_level": "everyday",
                "swearing": "never",
                "figurative_language": "none",
                "directness": "plain",
            },
            "forbidden_drift": ["never shouts"],
        }
    )
    voice = voice_settings(lock)
    assert voice.language == "en-gb-scotland" and voice.variant.startswith("f")
    assert (voice.pitch, voice.rate, voice.volume, voice.word_gap_ms) == (74, 195, 75, 40)
    low = lock.model_copy(
        update={"tone": lock.tone.model_copy(update={"pitch": "low", "timbre": "deep"})}
    )
    assert voice_settings(low).pitch == 27 and voice_settings(low).variant.startswith("m")


def test_the_speech_service_reserves_settles_and_never_asks_twice(project: Project) -> None:
    job = SpeechJob(shot_id="S01_SH02", line=1, character="ADA", text="Hold the lamp.")
    service = SpeechService(project)
    first = service.speech(job, "scratch-voices")
    assert service.speech(job, "scratch-voices") == first  # fetched from its recorded job
    rows = project.store.conn.execute(
        "SELECT state, provider FROM speech_jobs WHERE shot_id = 'S01_SH02'"
    ).fetchall()
    assert rows == [("done", "espeak")]
    spent = project.store.conn.execute(
        "SELECT count(*), sum(actual_cost) FROM runlog WHERE event = 'spend'"
    ).fetchone()
    assert spent == (1, 0.0)
    holds = project.store.conn.execute("SELECT count(*) FROM reservations").fetchone()
    assert holds == (0,)  # reserved before the call, settled after


def test_a_speech_model_nobody_serves_is_refused_before_anything_is_reserved(
    project: Project,
) -> None:
    config = project.config.model_copy(
        update={"audio": project.config.audio.model_copy(update={"model": "vendor:voice-1"})}
    )
    project.config = config
    service = SpeechService(project)
    job = SpeechJob(shot_id="S01_SH02", line=1, character="ADA", text="Hold the lamp.")
    with pytest.raises(ProviderError, match="no speech provider for model 'vendor:voice-1'"):
        service.speech(job)
    holds = project.store.conn.execute("SELECT count(*) FROM reservations").fetchone()
    assert holds == (0,)


# -- a hosted voice: ElevenLabs with timestamps, against a local server ------------------------


def hosted(project_root: Path, server: ElevenLabsServer) -> Project:
    """The project at ``project_root`` with [audio] on the local ElevenLabs server."""
    config = project_root / "filmslate.toml"
    text = set_key(config.read_text(encoding="utf-8"), "audio", "model", '"elevenlabs:eleven_v2"')
    text = set_key(text, "audio", "price_per_1k_chars", "0.3")
    config.write_text(text + server.providers_toml(), encoding="utf-8")
    return Project(project_root)


def test_a_hosted_voice_is_reserved_sent_once_and_settled_by_its_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", "test-key")
    Project.init(tmp_path / "film", name="hosted").close()
    job = SpeechJob("S01_SH02", 1, "ADA", "Hold the lamp.", external_voice_id="voice-ada")
    with ElevenLabsServer() as server, hosted(tmp_path / "film", server) as project:
        service = SpeechService(project)
        data = service.speech(job, "scratch-voices")
        assert service.speech(job, "scratch-voices") == data  # fetched, never sent again
        service.close()
        assert server.spoken() == [("voice-ada", "Hold the lamp.")]
        assert [r.headers["xi-api-key"] for r in server.received] == ["<set>"]
        samples, rate = read_wav(data)
        assert rate == 22050 and rms(samples) > 500
        spent = project.store.conn.execute(
            "SELECT estimated_cost, actual_cost FROM runlog WHERE event = 'spend'"
        ).fetchall()
        assert [tuple(float(c) for c in row) for row in spent] == [(0.0042, 0.0042)]  # 14 x 0.3/1k
        assert project.store.conn.execute("SELECT count(*) FROM reservations").fetchone() == (0,)


def test_a_hosted_voice_refuses_a_lock_without_a_voice_and_releases_a_failed_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Project.init(tmp_path / "film", name="hosted").close()
    with ElevenLabsServer() as server, hosted(tmp_path / "film", server) as project:
        service = SpeechService(project)
        bare = SpeechJob("S01_SH02", 1, "ADA", "Hold the lamp.")
        with pytest.raises(ProviderError, match="ADA's VOICE lock has no external_voice_id"):
            service.speech(bare)
        assert server.received == []  # refused before anything is reserved or sent
        job = SpeechJob("S01_SH02", 1, "ADA", "Hold the lamp.", external_voice_id="voice-ada")
        with pytest.raises(ProviderError, match="set ELEVENLABS_API_KEY"):
            service.speech(job)
        monkeypatch.setenv("ELEVENLABS_API_KEY", "test-key")
        server.fail_next(1, "server")
        with pytest.raises(ProviderError, match="ElevenLabs answered 500"):
            service.speech(job)
        assert service.speech(job)  # asked again after a refused call: nothing was billed
        service.close()
        spent = project.store.conn.execute(
            "SELECT count(*) FROM runlog WHERE event = 'spend'"
        ).fetchone()
        assert spent == (1,)
        assert project.store.conn.execute("SELECT count(*) FROM reservations").fetchone() == (0,)


@SLOW
def test_a_voice_locks_external_voice_id_selects_the_hosted_voice_in_slate_run(
    tmp_path: Path,
) -> None:
    root, env = produce(tmp_path)
    before = versions(root)
    for name, voice in (("ADA", "voice-ada"), ("BRAM", "voice-bram")):
        lock, _ = latest(root, "VOICE_LOCK", name)
        revised = tmp_path / f"VOICE_{name}_LOCK.txt"
        revised.write_bytes(lock.model_copy(update={"external_voice_id": voice}).render())
        added = run_slate("add", str(revised), "-C", str(root), "--reason", "cast", env=env)
        assert added.returncode == 0, added.stdout + added.stderr
    with ElevenLabsServer() as server:
        config = root / "filmslate.toml"
        text = set_key(config.read_text(encoding="utf-8"), "audio", "model", '"elevenlabs:v2"')
        text = set_key(text, "audio", "price_per_1k_chars", "0.3")
        config.write_text(text + server.providers_toml(), encoding="utf-8")
        result = run_slate("run", "-C", str(root), env={**env, "ELEVENLABS_API_KEY": "k"})
        assert "scratch-voices S01_SH03: PASS" in result.stdout, result.stdout + result.stderr
        assert sorted(server.spoken()) == [
            ("voice-ada", "The signal died at nine."),
            ("voice-ada", "We had three nights left."),
            ("voice-bram", "Then we read it again."),
        ]
    after = versions(root)
    assert {s for s in SHOTS if after[s] != before[s]} == {"S01_SH02", "S01_SH03"}
    assert spends(root, "S01_SH02", 2) == 2  # espeak first, then the hosted voice


@pytest.mark.parametrize(
    ("model", "named"),
    [
        ('"elevnlabs:v2"', "audio.model: 'elevnlabs:v2' is not a speech model"),
        ('"elevenlabs:v2"', "audio.price_per_1k_chars: elevenlabs:v2 is paid by the"),
    ],
)
def test_config_check_refuses_an_unknown_or_unpriced_speech_model(
    tmp_path: Path, model: str, named: str
) -> None:
    Project.init(tmp_path / "film", name="film").close()
    config = tmp_path / "film" / "filmslate.toml"
    text = set_key(config.read_text(encoding="utf-8"), "audio", "model", model)
    config.write_text(text, encoding="utf-8")
    result = run_slate("config", "check", "-C", str(tmp_path / "film"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr and "filmslate.toml:" in result.stderr
    assert "Traceback" not in result.stderr
