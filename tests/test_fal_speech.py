"""A fal-hosted voice (issue 15 §2): ``[audio] model = "fal:fal-ai/elevenlabs/tts/multilingual-v2"``
speaks each line through fal's queue, against constructed HTTP exchanges and the local fal
server (filmslate.testing.fal_server), and through the real `slate run`.

What is checked: the input is the catalogue entry's (the words, the lock's external_voice_id
as the voice); the worst case is reserved before the call, the request id recorded before
waiting, the job settled after (fal's billed units, else its characters) and never sent twice:
a second ask fetches it, a killed run polls the same request, a submit that may have arrived
stops for a person to check; the key is read only when a line is sent; the MP3 fal answers is
decoded to the 16-bit WAV the scratch voices lay on the shot's track.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import run_slate
from e2e_film import files_containing
from filmslate import Project
from filmslate.core._catalogue import load_catalogue
from filmslate.core._errors import ProviderError
from filmslate.engine._speech import SpeechJob, read_wav, wav_bytes
from filmslate.engine._speech_service import SpeechService, speech_price
from filmslate.providers.fal_speech import FalSpeech, to_wav
from filmslate.synthetic import set_key
from filmslate.testing.fal_server import FalJob, FalServer
from test_dialogue_shots import SLOW, latest, produce
from test_voices import SHOTS, spends, versions

MODEL = "fal:fal-ai/elevenlabs/tts/multilingual-v2"
MODEL_ID = MODEL.removeprefix("fal:")
LINE = "Hold the lamp steady."  # 21 characters
JOB = SpeechJob("S01_SH02", 1, "ADA", LINE, external_voice_id="Rachel")


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def on_fal(root: Path, url: str) -> Project:
    """The project at ``root`` with its voices on the fal speech model at ``url``."""
    config = root / "filmslate.toml"
    text = set_key(config.read_text(encoding="utf-8"), "audio", "model", f'"{MODEL}"')
    config.write_text(text + f'\n[providers.fal]\nbase_url = "{url}"\n', encoding="utf-8")
    return Project(root)


def spent(project: Project) -> list[tuple[float, float]]:
    rows = project.store.conn.execute(
        "SELECT estimated_cost, actual_cost FROM runlog WHERE event = 'spend' ORDER BY seq"
    ).fetchall()
    return [(float(a), float(b)) for a, b in rows]


def holds(project: Project) -> int:
    return int(project.store.conn.execute("SELECT count(*) FROM reservations").fetchone()[0])


@pytest.fixture
def film(tmp_path: Path) -> Path:
    Project.init(tmp_path / "film", name="voices").close()
    return tmp_path / "film"


# -- the provider on its own ---------------------------------------------------------------------


def test_the_input_is_the_catalogue_s_and_a_lock_without_a_voice_is_refused() -> None:
    entry = load_catalogue().get(MODEL)
    provider = FalSpeech(MODEL_ID, Path("unused"), http_client=httpx.Client(), entry=entry)
    assert provider.payload(JOB) == {"text": LINE, "voice": "Rachel"}
    assert provider.price_per_1k_chars == 0.10  # the catalogue's, with its source
    assert entry.billing.source.startswith("https://fal.ai/models/") and entry.billing.as_of
    assert provider.worst_case(JOB) == 0.1  # one whole thousand of characters at least
    assert provider.worst_case(SpeechJob("S", 1, "A", "x" * 1001)) == 0.2
    with pytest.raises(ProviderError, match="ADA's VOICE lock has no external_voice_id"):
        provider.payload(SpeechJob("S01_SH02", 1, "ADA", LINE))


def test_fal_s_mp3_and_a_wav_both_become_16_bit_mono_wav() -> None:
    with FalServer(queued_polls=0, running_polls=0) as server:
        server.speech_format = "mp3"
        mp3 = server._speech(_job_of(server, "One two three four."))
    assert mp3[:3] == b"ID3" or mp3[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
    samples, rate = read_wav(to_wav(mp3, "mp3"))
    assert rate == 22050 and len(samples) > rate and rms(samples) > 500
    tone = (8000 * np.sin(np.arange(24000) / 10)).astype(np.int16)
    assert read_wav(to_wav(wav_bytes(tone, 24000)))[1] == 24000  # a 16-bit WAV as it is
    with pytest.raises(ProviderError, match="cannot be decoded"):
        to_wav(b"not audio at all", "junk")


def _job_of(server: FalServer, text: str) -> FalJob:
    return FalJob("r1", MODEL_ID, "speech", {"text": text, "voice": "Rachel"})


# -- through the speech service -------------------------------------------------------------------


def test_a_fal_voice_is_reserved_recorded_sent_once_and_settled_by_its_characters(
    film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", "fal-test-key-never-written")
    with FalServer(queued_polls=1, running_polls=1) as server, on_fal(film, server.url) as project:
        service = SpeechService(project, poll_interval_s=0.01)
        data = service.speech(JOB, "scratch-voices")
        assert service.speech(JOB, "scratch-voices") == data  # fetched, never sent again
        service.close()
        assert server.submits() == [(MODEL_ID, {"text": LINE, "voice": "Rachel"})]
        posted = server.requests_to("/", "POST")[0]
        assert posted.headers.get("x-fal-tags", "").startswith("filmslate_ref=")
        samples, rate = read_wav(data)
        assert rate == 22050 and rms(samples) > 500
        # reserved: a whole thousand of characters; settled: 21 characters at $0.10 per 1,000
        assert spent(project) == [(0.1, 0.0021)]
        assert holds(project) == 0
        row = project.store.conn.execute(
            "SELECT state, provider, job_id, payload FROM speech_jobs"
        ).fetchone()
        assert row[:2] == ("done", MODEL) and row[2] in server.jobs  # fal's request id
        assert json.loads(row[3]) == {"text": LINE, "voice": "Rachel"}  # recorded before
    assert files_containing(film, "fal-test-key-never-written") == []


def test_a_job_settles_at_fal_s_billed_units_when_the_result_says(
    film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", "k")
    with (
        FalServer(queued_polls=0, running_polls=0, billable_units=1, speech_format="wav") as server,
        on_fal(film, server.url) as project,
    ):
        service = SpeechService(project, poll_interval_s=0.01)
        service.speech(JOB, "scratch-voices")
        service.close()
        assert spent(project) == [(0.1, 0.1)]  # one unit of 1,000 characters billed


def test_no_key_is_refused_at_the_first_line_with_nothing_sent_or_held(film: Path) -> None:
    with FalServer() as server, on_fal(film, server.url) as project:
        service = SpeechService(project, poll_interval_s=0.01)
        with pytest.raises(ProviderError, match="no fal API key: set the environment variable"):
            service.speech(JOB)
        service.close()
        assert server.received == [] and holds(project) == 0 and spent(project) == []


def test_a_killed_run_polls_the_recorded_request_and_never_submits_again(
    film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", "k")
    with FalServer(queued_polls=50, running_polls=0) as server, on_fal(film, server.url) as project:
        first = SpeechService(project, poll_interval_s=0.01, timeout_s=0.05)
        with pytest.raises(ProviderError, match="run again to resume polling it"):
            first.speech(JOB, "scratch-voices")  # the run stops while fal still queues it
        first.close()
        recorded = project.store.conn.execute("SELECT job_id, state FROM speech_jobs").fetchone()
        assert recorded[0] and recorded[1] in ("submitted", "queued")
        assert holds(project) == 1  # the hold stays with the recorded request
        server.queued_polls = 0
        again = SpeechService(project, poll_interval_s=0.01)  # a new process, a new provider
        assert read_wav(again.speech(JOB, "scratch-voices"))[0].size
        again.close()
        assert len(server.submits()) == 1  # the same request was polled, never sent twice
        assert spent(project) == [(0.1, 0.0021)] and holds(project) == 0


def test_a_submit_that_may_have_arrived_is_kept_and_never_sent_again(
    film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", "k")
    posts: list[httpx.Request] = []

    def timed_out(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        raise httpx.ReadTimeout("the answer never came", request=request)

    provider = FalSpeech(
        MODEL_ID,
        film / "cache",
        http_client=httpx.Client(transport=httpx.MockTransport(timed_out)),
        entry=load_catalogue().get(MODEL),
        sleep=lambda _s: None,
    )
    with on_fal(film, "http://127.0.0.1:9") as project:
        service = SpeechService(project, providers={MODEL: provider}, poll_interval_s=0.01)
        with pytest.raises(ProviderError, match=r"the intent .* is kept"):
            service.speech(JOB, "scratch-voices")
        assert len(posts) == 1 and holds(project) == 1
        with pytest.raises(ProviderError, match="fal's request history"):
            service.speech(JOB, "scratch-voices")  # nobody can tell: a person checks
        assert len(posts) == 1  # never submitted twice
        body = json.loads(posts[0].content)
        assert body == {"text": LINE, "voice": "Rachel"}
        assert posts[0].headers["authorization"] == "Key k"


def test_config_check_refuses_a_fal_speech_model_the_catalogue_cannot_price(film: Path) -> None:
    config = film / "filmslate.toml"
    text = set_key(config.read_text(encoding="utf-8"), "audio", "model", '"fal:fal-ai/tts/nope"')
    config.write_text(text, encoding="utf-8")
    result = run_slate("config", "check", "-C", str(film))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "audio.model: fal:fal-ai/tts/nope is not in the catalogue" in result.stderr
    assert "filmslate.toml:" in result.stderr and "Traceback" not in result.stderr
    text = set_key(text, "audio", "model", f'"{MODEL}"')
    config.write_text(text, encoding="utf-8")
    assert run_slate("config", "check", "-C", str(film)).returncode == 0


# -- through `slate run` -------------------------------------------------------------------------


@SLOW
def test_slate_run_voices_the_shots_with_the_fal_voice_each_lock_names(tmp_path: Path) -> None:
    root, env = produce(tmp_path)  # voiced offline first
    before = versions(root)
    for name, voice in (("ADA", "Rachel"), ("BRAM", "Adam")):
        lock, _ = latest(root, "VOICE_LOCK", name)
        revised = tmp_path / f"VOICE_{name}_LOCK.txt"
        revised.write_bytes(lock.model_copy(update={"external_voice_id": voice}).render())
        added = run_slate("add", str(revised), "-C", str(root), "--reason", "cast", env=env)
        assert added.returncode == 0, added.stdout + added.stderr
    with FalServer(queued_polls=1, running_polls=1) as server:
        on_fal(root, server.url).close()
        result = run_slate("run", "-C", str(root), env={**env, "FAL_KEY": "k"})
        assert "scratch-voices S01_SH03: PASS" in result.stdout, result.stdout + result.stderr
        assert sorted((b["voice"], b["text"]) for _, b in server.submits()) == [
            ("Adam", "Then we read it again."),
            ("Rachel", "The signal died at nine."),
            ("Rachel", "We had three nights left."),
        ]
    after = versions(root)
    assert {s for s in SHOTS if after[s] != before[s]} == {"S01_SH02", "S01_SH03"}
    assert spends(root, "S01_SH02", 2) == 2  # espeak first, then the fal voice
    cost = run_slate("cost", "-C", str(root), env=env)  # the projection prices the fal voice
    speech = next(line for line in cost.stdout.splitlines() if "speech (" in line)
    cells = [c.strip() for c in speech.strip().strip("|").split("|")]
    assert MODEL in cells[0] and float(cells[-1]) > 0, speech
    data, _ = latest(root, "AUDIO", "S01_SH02")
    samples, _rate = read_wav(data)
    assert rms(samples) > 100


def test_a_projection_prices_the_fal_voice_by_its_catalogue_entry(film: Path) -> None:
    with on_fal(film, "http://127.0.0.1:9") as project:
        assert speech_price(project.config) == 0.10  # the catalogue's, no price in the file
        audio = project.config.audio
        offline = audio.model_copy(update={"model": "espeak"})
        assert speech_price(project.config.model_copy(update={"audio": offline})) == 0.0
        own = audio.model_copy(update={"price_per_1k_chars": 0.25})
        assert speech_price(project.config.model_copy(update={"audio": own})) == 0.25
