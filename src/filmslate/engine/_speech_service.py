"""The speech service: metered, resumable speech, the :class:`~filmslate.engine._speech.
SpeechMaker` a voicing skill is given in ``ctx.params["speech"]``.

``[audio] model`` in filmslate.toml names the speech model (``"espeak"``, offline, by default).
Every line gets the render and image services' discipline, in the ``speech_jobs`` table
(``_render_jobs``; ``shot_id`` is the shot, ``resolution`` ``line <n>``, ``genpack_sha`` the
digest of what is asked):

1. a job is keyed by its shot, its line and the digest of what it asks (model, text, voice
   settings, hosted voice id): asking again for the same line finds the recorded job, so it is
   fetched, never paid twice; a revised voice lock changes the digest of its lines only;
2. reserve the job's worst case against the project, scene and shot caps (0 for an offline
   engine; a hosted model outside the catalogue is refused, since nobody could say what it
   costs);
3. record the submission intent (a fresh client reference and the exact payload) BEFORE the
   call, then the provider's job id BEFORE waiting;
4. poll, settle (the provider's reported cost, else the price, 0 offline), download and check
   that the WAV decodes; a failed job is released.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, replace

from ..core._config import Config
from ..core._config_providers import SCRATCH_VOICE
from ..core._errors import ProviderError
from ..core._names import scene_of
from ._clips import payload_json, refused_error
from ._metered_jobs import MeteredJobs
from ._render_jobs import INTENT_STATES, OPEN_STATES, SPEECH_TABLE, JobRow
from ._speech import SpeechJob, SpeechProvider, read_wav
from ._submissions import fetch_checked

__all__ = [
    "CRASH_AFTER_SPEECH_INTENT",
    "SPEECH_FACTORY",
    "SpeechService",
    "speech_digest",
    "speech_price",
]

SPEECH_FACTORY = "filmslate.providers.scratch_voice:speech_providers"
CRASH_AFTER_SPEECH_INTENT = "speech_intent_recorded"  # FILMSLATE_CRASH_AT checkpoint
NO_PRICE = (None, 0.0, (0, 0))  # speech has no catalogue entry yet: reported cost or 0


class SpeechService(MeteredJobs[SpeechProvider]):
    """Metered, resumable speech for one project (see the module docs)."""

    FACTORY = SPEECH_FACTORY
    TABLE = SPEECH_TABLE
    CRASH_AFTER_INTENT = CRASH_AFTER_SPEECH_INTENT
    NOUN = "speech"
    UNSERVED_FIX = (
        'set [audio] model in filmslate.toml to "espeak" (offline) or a configured hosted '
        "speech model"
    )
    PREFIX = "speech "
    TIMEOUT_S = 600.0

    def model(self) -> str:
        """The speech model ``[audio]`` names."""
        return self.config.audio.model

    def speech(self, job: SpeechJob, skill: str = "") -> bytes:
        """The line spoken: fetched when it was made, else made and paid once."""
        model = self.model()
        job = replace(job, model=model, reference="")
        digest = speech_digest(job)
        row = self.jobs.get(job.shot_id, _line_key(job), digest)
        if row is not None and row.state in INTENT_STATES:
            row = self._settle_intent(row, skill)
        if row is not None and row.refused:
            raise refused_error(row, "speech")
        if row is not None and row.state == "done":
            return self._fetched_again(row, lambda: self._submit(job, digest, skill))
        if row is not None and row.state in OPEN_STATES and row.job_id:
            return self._finish(row, job, skill)
        if row is not None:
            self._discard(row)
        return self._submit(job, digest, skill)

    def _fetch(self, provider: SpeechProvider, row: JobRow) -> bytes:
        return fetch_speech(provider, row)

    def _submit(self, job: SpeechJob, digest: str, skill: str) -> bytes:
        provider = self.provider_for(job.model)
        worst = worst_case(provider, job)
        job = replace(job, reference=str(uuid.uuid4()))
        payload = payload_json(provider.payload(job))  # before any spend: it may refuse
        what = f"{skill or 'speech'} {job.shot_id} line {job.line} ({job.model})"
        hold = self._reserve(scene_of(job.shot_id), job.shot_id, worst, what)
        key = (job.shot_id, _line_key(job), digest)
        intent = self._intent(
            hold, key, job.model, "speech", reference=job.reference, payload=payload
        )
        row = self._send(intent, lambda: provider.submit(job))
        return self._finish(row, job, skill)

    def _finish(self, row: JobRow, job: SpeechJob, skill: str) -> bytes:
        provider = self.provider_for(row.provider)
        status = self._wait(provider, row)
        if status.state == "failed":
            self._failed(row, provider, status, NO_PRICE, skill)
        return self._paid(
            row,
            provider,
            NO_PRICE,
            skill,
            lambda source: f"speech line {job.line} of {job.shot_id}, job {row.job_id} ({source})",
        )


def worst_case(provider: SpeechProvider, job: SpeechJob) -> float:
    """What a line may cost at most: 0 offline, else the provider's price for its text; a
    hosted provider without a price is refused (nobody could say what a line costs)."""
    if provider.offline:
        return 0.0
    price = getattr(provider, "worst_case", None)
    cost = price(job) if callable(price) else None
    if not isinstance(cost, float) or not getattr(provider, "price_per_1k_chars", None):
        raise ProviderError(
            f"{job.shot_id}: speech model {job.model!r} has no price, so nobody can say what "
            'a line costs; set [audio] price_per_1k_chars, or use [audio] model = "espeak"',
            model=job.model,
        )
    return cost


def speech_price(config: Config) -> float:
    """USD per 1,000 characters of the ``[audio]`` model, for projections: 0 offline, else
    ``[audio] price_per_1k_chars`` when set, else its catalogue entry's (a fal speech model)."""
    if config.audio.model == SCRATCH_VOICE:
        return 0.0
    if config.audio.price_per_1k_chars is not None:
        return float(config.audio.price_per_1k_chars)
    entry = config.model_catalogue().entries.get(config.audio.model)
    priced = entry is not None and entry.kind == "speech" and entry.billing.price is not None
    return float(entry.billing.price or 0.0) if priced and entry is not None else 0.0


def _line_key(job: SpeechJob) -> str:
    return f"line {job.line}"


def speech_digest(job: SpeechJob) -> str:
    """What identifies a speech job: the model and everything the voice depends on."""
    parts = {
        "model": job.model,
        "character": job.character,
        "text": job.text,
        "voice": asdict(job.voice),
        "external_voice_id": job.external_voice_id,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def fetch_speech(provider: SpeechProvider, row: JobRow) -> bytes:
    """The job's audio, decodable: a bad copy is discarded and fetched once more."""
    return fetch_checked(provider, row, _unplayable, "audio", paid=False)


def _unplayable(data: bytes) -> str:
    """Why WAV bytes cannot be used ("" when they can)."""
    try:
        samples, _rate = read_wav(data)
    except ValueError as exc:
        return str(exc)
    return "" if len(samples) else "no samples"
