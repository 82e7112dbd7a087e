"""ElevenLabs text-to-speech with timestamps, a hosted speech provider (issue 15 §2).

``[audio] model = "elevenlabs:<model_id>"`` (e.g. ``eleven_multilingual_v2``) speaks each line
in the voice its VOICE lock names in ``external_voice_id``; ``[audio] price_per_1k_chars``
says what 1,000 characters cost (the vendor bills by character), so each line's worst case is
reserved before it is sent. The key is read from the environment variable
``[providers.elevenlabs] api_key_env`` names (``ELEVENLABS_API_KEY`` by default), only when a
line is sent; ``base_url`` points it elsewhere (a local server in tests:
``filmslate.testing.elevenlabs_server``).

The vendor's protocol: ``POST {base}/v1/text-to-speech/{voice_id}/with-timestamps
?output_format=pcm_22050`` with ``xi-api-key`` and ``{"text", "model_id"}``; the answer is
JSON with ``audio_base64`` (16-bit little-endian mono PCM at 22,050 Hz) and ``alignment``
(per character start and end seconds). The call answers with the audio, so ``submit`` keeps it
on disk at once (a run killed before the download still has it: paid once, fetched later).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path
from typing import ClassVar

import httpx
import numpy as np

from ..core._errors import ProviderError
from ..engine._speech import SAMPLE_RATE, SpeechJob, SpeechProvider, wav_bytes
from ..engine._video import JobStatus

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_KEY_ENV", "ElevenLabsVoice"]

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
DEFAULT_KEY_ENV = "ELEVENLABS_API_KEY"


class ElevenLabsVoice(SpeechProvider):
    """ElevenLabs' text-to-speech with timestamps (see the module docs)."""

    name: ClassVar[str] = "elevenlabs"
    offline: ClassVar[bool] = False

    def __init__(
        self,
        model_id: str,
        cache_dir: Path,
        *,
        price_per_1k_chars: float | None,
        api_key_env: str = DEFAULT_KEY_ENV,
        base_url: str = DEFAULT_BASE_URL,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.model_id = model_id
        self.cache_dir = Path(cache_dir)
        self.price_per_1k_chars = price_per_1k_chars
        self.api_key_env = api_key_env
        self.base_url = base_url.rstrip("/")
        self.client = http_client or httpx.Client(timeout=120.0)
        self.factory_client = self.client  # closed by close_providers after the run

    def payload(self, job: SpeechJob) -> dict[str, object]:
        """What is sent: the words, the model and the voice (refused before anything is
        reserved when the voice lock names no voice)."""
        if not job.external_voice_id:
            raise ProviderError(
                f"{job.shot_id}: {job.character}'s VOICE lock has no external_voice_id: name "
                'the ElevenLabs voice there (or use [audio] model = "espeak")',
                failure="invalid_input",
                maybe_sent=False,
            )
        return {"text": job.text, "model_id": self.model_id, "voice_id": job.external_voice_id}

    def worst_case(self, job: SpeechJob) -> float:
        """What the line can cost at most: its characters at the configured price."""
        return len(job.text) * float(self.price_per_1k_chars or 0.0) / 1000

    def submit(self, job: SpeechJob) -> str:
        """Speak the line (one call answers with the audio) and keep it; the job's id."""
        self.payload(job)
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise ProviderError(
                f"set {self.api_key_env} to your ElevenLabs API key (nothing was sent)",
                failure="auth",
                maybe_sent=False,
            )
        answer = self._post(job, key)
        job_id = f"elevenlabs-{uuid.uuid4().hex[:24]}"
        self._keep(job_id, job, answer)
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        """Done once kept (the call answered with the audio)."""
        if not self._path(job_id).exists():
            return JobStatus("failed", f"no audio was kept for {job_id}", "other")
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        """The kept line as WAV bytes."""
        try:
            return self._path(job_id).read_bytes()
        except OSError as exc:
            raise ProviderError(
                f"{job_id}: its audio is gone ({exc})", failure="download"
            ) from None

    def reported_cost(self, job_id: str) -> float | None:
        """The characters the vendor billed, at the configured price."""
        try:
            meta = json.loads(self._path(job_id).with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return int(meta["characters"]) * float(self.price_per_1k_chars or 0.0) / 1000

    # -- the call -------------------------------------------------------------------------

    def _post(self, job: SpeechJob, key: str) -> dict[str, object]:
        url = f"{self.base_url}/v1/text-to-speech/{job.external_voice_id}/with-timestamps"
        try:
            response = self.client.post(
                url,
                params={"output_format": f"pcm_{SAMPLE_RATE}"},
                headers={"xi-api-key": key},
                json={"text": job.text, "model_id": self.model_id},
            )
        except httpx.TimeoutException as exc:  # it may have been spoken, and billed
            raise ProviderError(
                f"{job.shot_id}: ElevenLabs did not answer in time ({exc})",
                failure="timeout",
                maybe_sent=True,
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"{job.shot_id}: ElevenLabs cannot be reached ({exc})",
                failure="server",
                maybe_sent=False,
            ) from None
        if response.status_code != 200:
            raise _refusal(job, response)
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("audio_base64"), str):
            raise ProviderError(
                f"{job.shot_id}: ElevenLabs answered without audio", failure="other"
            )
        body["characters"] = int(response.headers.get("x-character-count") or len(job.text))
        return body

    def _keep(self, job_id: str, job: SpeechJob, answer: dict[str, object]) -> None:
        pcm = base64.b64decode(str(answer["audio_base64"]))
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        meta = {"line": job.line, "shot": job.shot_id, "characters": answer["characters"]}
        for path, data in (
            (self._path(job_id).with_suffix(".json"), json.dumps(meta).encode()),
            (self._path(job_id), wav_bytes(samples, SAMPLE_RATE)),
        ):
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(data)
            partial.replace(path)

    def _path(self, job_id: str) -> Path:
        if not job_id.startswith("elevenlabs-") or not job_id[11:].isalnum():
            raise ProviderError(f"{job_id!r} is not an ElevenLabs job id", job_id=job_id)
        return self.cache_dir / f"{job_id}.wav"


def _refusal(job: SpeechJob, response: httpx.Response) -> ProviderError:
    """The vendor's error as a ProviderError of its kind (nothing billed for a refusal)."""
    status = response.status_code
    try:
        detail = str(response.json().get("detail", response.text))
    except ValueError:
        detail = response.text[:200]
    failure = (
        "auth" if status in (401, 403) else "invalid_input" if status in (400, 422) else "server"
    )
    return ProviderError(
        f"{job.shot_id}: ElevenLabs answered {status}: {detail[:200]}",
        failure=failure,
        maybe_sent=False,
    )
