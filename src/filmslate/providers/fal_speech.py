"""Text to speech hosted on fal.ai, a second hosted speech provider (issue 15 §2).

``[audio] model = "fal:<model id>"`` (``"fal:fal-ai/elevenlabs/tts/multilingual-v2"``) speaks
each line through fal's queue (``providers._fal_queue``, the exchange the video and image
models use: submit, status, result, CDN file) in the voice its VOICE lock names in
``external_voice_id``. The input comes from the model's catalogue entry: the words under
``input.prompt`` (``text``), the voice under ``input.voice`` (``voice``), the entry's ``fixed``
values; ``payload(job)`` is exactly what is sent, recorded before it is.

The price is the entry's (``per_1k_chars``), or ``[audio] price_per_1k_chars`` when set. A
line's worst case is reserved as whole thousands of characters (at least one), so the hold
never falls short however fal rounds; the job settles at fal's billed units (the result's
``x-fal-billable-units``, thousands of characters: fal's own Kokoro app sets
``max(1, len(text) // 1000)``) times the price when the result says, else at its characters
(fal's pages price "per 1000 characters", prorated). The character count is kept beside the
job in the cache, so a resumed run settles it too.

The key is read from the environment (``[providers.fal] api_key_env``, ``FAL_KEY`` by default)
when the first line is sent; ``base_url`` points at fal's queue or anything that speaks it
(``filmslate.testing.fal_server``). fal's queue takes no idempotency key: the request id is
recorded before waiting, so a killed run polls the same request; a submit that may have
arrived is kept as an intent for a person to check (``history_hint``), never sent again.

The result is ``{"audio": {"url", "content_type"}}`` (MP3 for ElevenLabs; a WAV for Kokoro);
the file is fetched from the CDN without the key, decoded to 16-bit mono WAV (a 16-bit WAV as
it is, anything else through ffmpeg at 22,050 Hz) and kept in the cache, so every later fetch
returns the same bytes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..core._catalogue import InputShape, ModelEntry
from ..core._config import Config
from ..core._errors import ProviderError
from ..engine._speech import SAMPLE_RATE, SpeechJob, SpeechProvider, read_wav, wav_bytes
from ..engine._video import JobStatus
from ._fal_queue import QUEUE_URL, FalQueue

__all__ = ["FalSpeech", "fal_speech_provider", "to_wav"]

HISTORY_HINT = (
    "fal's request history (https://fal.ai/dashboard/requests; the request carries the "
    "usage tag filmslate_ref=<reference>)"
)
PLAIN_SHAPE = InputShape(prompt="text", voice="voice")  # a model outside the catalogue
_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,80}")


class FalSpeech(SpeechProvider):
    """A text-to-speech model hosted on fal.ai (see the module docs)."""

    name: ClassVar[str] = "fal"
    offline: ClassVar[bool] = False
    history_hint: ClassVar[str] = HISTORY_HINT

    def __init__(
        self,
        model_id: str,
        cache_dir: Path,
        *,
        http_client: httpx.Client,
        entry: ModelEntry | None = None,
        price_per_1k_chars: float | None = None,
        api_key_env: str = "FAL_KEY",
        base_url: str = QUEUE_URL,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.queue = FalQueue(
            model_id,
            http_client=http_client,
            base_url=base_url,
            api_key_env=api_key_env,
            max_retries=max_retries,
            backoff_s=backoff_s,
            sleep=sleep,
        )
        self.model_id = self.queue.model_id
        self.entry = entry
        priced = entry is not None and entry.billing.unit == "per_1k_chars"
        catalogue_price = entry.billing.price if priced and entry is not None else None
        self.price_per_1k_chars = (
            price_per_1k_chars if price_per_1k_chars is not None else catalogue_price
        )
        self.cache_dir = Path(cache_dir)
        self.factory_client = http_client  # closed by close_providers after the run
        self._results: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"FalSpeech({self.model_id!r}, api_key_env={self.queue.api_key_env!r})"

    # -- what is sent and what it costs ---------------------------------------------------

    def payload(self, job: SpeechJob) -> dict[str, object]:
        """The model input: the words, the lock's hosted voice, the entry's fixed values
        (refused before anything is reserved when the lock names no voice)."""
        if not job.external_voice_id:
            raise ProviderError(
                f"{job.shot_id}: {job.character}'s VOICE lock has no external_voice_id: name "
                f'the voice {self.model_id} speaks in there (or use [audio] model = "espeak")',
                failure="invalid_input",
                maybe_sent=False,
            )
        if self.entry is not None and not self.entry.fits_prompt(job.text):
            raise ProviderError(
                f"{job.shot_id}: line {job.line} has {len(job.text)} characters, over "
                f"{self.entry.key}'s limit of {self.entry.max_prompt_chars}; split the line",
                failure="invalid_input",
                maybe_sent=False,
            )
        shape = self.entry.input if self.entry is not None else PLAIN_SHAPE
        out: dict[str, object] = {
            shape.prompt: job.text,
            shape.voice or "voice": job.external_voice_id,
        }
        out.update(shape.fixed)
        return out

    def worst_case(self, job: SpeechJob) -> float:
        """The most the line can cost: its characters in whole thousands (one at least)."""
        units = max(1, math.ceil(len(job.text) / 1000))
        return round(units * float(self.price_per_1k_chars or 0.0), 6)

    def reported_cost(self, job_id: str) -> float | None:
        """fal's billed units (thousands of characters) at the price, else the characters
        kept beside the job at the price (see the module docs)."""
        price = self.price_per_1k_chars
        if price is None:
            return None
        if job_id not in self.queue.billed_units:
            with contextlib.suppress(ProviderError):  # unread now: its characters settle it
                self._result(job_id)
        units = self.queue.billed_units.get(job_id)
        if units is not None:
            return round(units * price, 6)
        characters = self._characters(job_id)
        return None if characters is None else round(characters * price / 1000, 6)

    # -- the queue ------------------------------------------------------------------------

    def submit(self, job: SpeechJob) -> str:
        """Queue the line; fal's request id (the key is checked before anything is sent)."""
        request_id = self.queue.submit(
            self.payload(job), job.reference, f"{job.shot_id} line {job.line}"
        )
        self._keep(
            self._path(request_id).with_suffix(".json"),
            json.dumps({"shot": job.shot_id, "line": job.line, "characters": len(job.text)}),
        )
        return request_id

    def poll(self, job_id: str) -> JobStatus:
        """IN_QUEUE -> queued, IN_PROGRESS -> running, COMPLETED -> done (or failed)."""
        return self.queue.status(job_id)

    def download(self, job_id: str) -> bytes:
        """The line as 16-bit mono WAV: kept after the first fetch from fal's CDN."""
        kept = self._path(job_id)
        if kept.exists():
            return kept.read_bytes()
        body = self._result(job_id)
        audio = body.get("audio")
        url = audio.get("url") if isinstance(audio, dict) else body.get("audio_url")
        if not isinstance(url, str):
            raise ProviderError(
                f"fal's result for request {job_id} has no audio url", failure="other"
            )
        data = to_wav(self.queue.fetch(url, job_id), job_id)
        self._keep(kept, data)
        return data

    def discard(self, job_id: str) -> None:
        """Forget the kept WAV (it did not decode): the next download fetches it again."""
        self._path(job_id).unlink(missing_ok=True)
        self._results.pop(job_id, None)

    # -- helpers --------------------------------------------------------------------------

    def _result(self, job_id: str) -> dict[str, Any]:
        if job_id not in self._results:
            self._results[job_id] = self.queue.result(job_id)
        return self._results[job_id]

    def _characters(self, job_id: str) -> int | None:
        try:
            meta = json.loads(self._path(job_id).with_suffix(".json").read_text("utf-8"))
            return int(meta["characters"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _keep(self, path: Path, data: bytes | str) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data.encode() if isinstance(data, str) else data)
        partial.replace(path)

    def _path(self, job_id: str) -> Path:
        if not _REQUEST_ID.fullmatch(job_id):
            raise ProviderError(f"{job_id!r} is not a fal request id", job_id=job_id)
        return self.cache_dir / f"fal-{job_id}.wav"


def to_wav(data: bytes, job_id: str = "") -> bytes:
    """Audio bytes as 16-bit mono WAV: a 16-bit WAV as it is (mono), anything else (MP3,
    a float WAV) decoded by ffmpeg at ``SAMPLE_RATE``; a ProviderError when it does not."""
    if data[:4] == b"RIFF":
        try:
            samples, rate = read_wav(data)
        except ValueError:
            pass  # not 16-bit PCM: ffmpeg decodes it below
        else:
            return wav_bytes(samples, rate)
    import imageio_ffmpeg  # type: ignore[import-untyped]
    import numpy as np

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-i", "pipe:0"]
    command += ["-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProviderError(
            f"the audio of {job_id} cannot be decoded: {exc}", failure="download"
        ) from None
    if done.returncode or len(done.stdout) < 2:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProviderError(
            f"the audio of {job_id} cannot be decoded ({why[-1] if why else 'no samples'})",
            failure="download",
        )
    pcm = done.stdout[: len(done.stdout) // 2 * 2]
    return wav_bytes(np.frombuffer(pcm, dtype="<i2"), SAMPLE_RATE)


def fal_speech_provider(config: Config, model_id: str, cache: Path) -> SpeechProvider:
    """The fal speech model of ``[audio] model`` with its ``[providers.fal]`` settings and its
    catalogue entry (the key stays in the environment)."""
    from ._factory import DEFAULT_KEY_ENV, vendor_settings

    settings = vendor_settings(config, "fal")
    entry = config.model_catalogue().entries.get(f"fal:{model_id}")
    client = httpx.Client(timeout=httpx.Timeout(settings.timeout_s, connect=30.0))
    options: dict[str, Any] = {"base_url": settings.base_url} if settings.base_url else {}
    return FalSpeech(
        model_id,
        cache,
        http_client=client,
        entry=entry if entry is not None and entry.kind == "speech" else None,
        price_per_1k_chars=config.audio.price_per_1k_chars,
        api_key_env=settings.api_key_env or DEFAULT_KEY_ENV["fal"],
        max_retries=settings.max_retries,
        **options,
    )
