"""The offline scratch voice: espeak-ng, from the ``espeakng-loader`` package, which bundles the
library and its voice data, so nothing is downloaded at run time and nothing is paid.

It is a speech provider like a hosted one (submit, poll, download), so its lines go through
the speech service's reservations and settlements at a price of 0. ``submit`` writes the job
down (a small JSON file in the cache, so a resumed run can still fetch it); the first
``download`` speaks it and keeps the WAV beside it, so every later fetch of the job returns the
same bytes (espeak-ng carries a little state from one utterance to the next: the same line
spoken twice in one process can differ by a few samples).

``speech_providers`` is the speech service's factory: the provider of the ``[audio]`` model
(this one, ElevenLabs for ``"elevenlabs:<model_id>"``, see ``providers.elevenlabs``, or a
fal-hosted model for ``"fal:<model id>"``, see ``providers.fal_speech``).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from ..core._config import Config
from ..core._errors import ProviderError
from ..engine._speech import SpeechJob, SpeechProvider, VoiceSettings, wav_bytes
from ..engine._video import JobStatus

__all__ = ["ESPEAK", "EspeakVoice", "espeak_samples", "speech_providers"]

ESPEAK = "espeak"
# espeak-ng's API numbers (speak_lib.h)
_SYNCHRONOUS, _DONT_EXIT, _UTF8 = 2, 0x8000, 1
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
_LOCK = threading.Lock()  # espeak-ng keeps one global voice: one line at a time
_ENGINE: list[tuple[ctypes.CDLL, int]] = []  # loaded once per process
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def speech_providers(config: Config, root: Path) -> dict[str, SpeechProvider]:
    """The speech provider of the ``[audio]`` model (the offline voice needs no settings)."""
    name, _, model_id = config.audio.model.partition(":")
    cache = root / ".filmslate" / "speech"
    if name == ESPEAK:
        return {ESPEAK: EspeakVoice(cache)}
    if name == "elevenlabs" and model_id:
        return {config.audio.model: _elevenlabs(config, model_id, cache)}
    if name == "fal" and model_id:
        from .fal_speech import fal_speech_provider

        return {config.audio.model: fal_speech_provider(config, model_id, cache)}
    return {}


def _elevenlabs(config: Config, model_id: str, cache: Path) -> SpeechProvider:
    """ElevenLabs with its ``[providers.elevenlabs]`` settings (the key stays in the env)."""
    import httpx

    from ._factory import vendor_settings
    from .elevenlabs import DEFAULT_BASE_URL, DEFAULT_KEY_ENV, ElevenLabsVoice

    settings = vendor_settings(config, "elevenlabs")
    client = httpx.Client(timeout=httpx.Timeout(settings.timeout_s, connect=30.0))
    provider = ElevenLabsVoice(
        model_id,
        cache,
        price_per_1k_chars=config.audio.price_per_1k_chars,
        api_key_env=settings.api_key_env or DEFAULT_KEY_ENV,
        base_url=settings.base_url or DEFAULT_BASE_URL,
        http_client=client,
    )
    return provider


class EspeakVoice(SpeechProvider):
    """Offline, free scratch voices spoken by espeak-ng (see the module docs)."""

    name: ClassVar[str] = ESPEAK
    offline: ClassVar[bool] = True

    def __init__(self, cache_dir: str | Path) -> None:
        self.cache_dir = Path(cache_dir)

    def submit(self, job: SpeechJob) -> str:
        """Write the job down and return its id (the line is spoken in download)."""
        spec = {"text": job.text, "voice": job.voice.__dict__}
        job_id = (
            "espeak-" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]
        )
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self._spec(job_id)
        if not path.exists():
            partial = path.with_suffix(f".{threading.get_ident()}.part")
            partial.write_text(json.dumps(spec), encoding="utf-8")
            partial.replace(path)
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        """Done when the job was written down; failed for an unknown job."""
        if not self._spec(job_id).exists():
            return JobStatus("failed", f"unknown espeak job {job_id}")
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        """The line spoken, as WAV bytes (spoken on the first download, then kept)."""
        kept = self._spec(job_id).with_suffix(".wav")
        if kept.exists():
            return kept.read_bytes()
        try:
            spec = json.loads(self._spec(job_id).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProviderError(
                f"espeak job {job_id} is unknown ({exc})", failure="download"
            ) from None
        samples, rate = espeak_samples(spec["text"], VoiceSettings(**spec["voice"]))
        data = wav_bytes(samples, rate)
        partial = kept.with_suffix(f".{threading.get_ident()}.part")
        partial.write_bytes(data)
        partial.replace(kept)
        return data

    def discard(self, job_id: str) -> None:
        """Drop the kept WAV (it did not decode); the next download speaks the line again."""
        self._spec(job_id).with_suffix(".wav").unlink(missing_ok=True)

    def _spec(self, job_id: str) -> Path:
        if not job_id.startswith("espeak-") or not job_id[7:].isalnum():
            raise ProviderError(f"{job_id!r} is not an espeak job id", job_id=job_id)
        return self.cache_dir / f"{job_id}.json"


def espeak_samples(text: str, voice: VoiceSettings) -> tuple[NDArray[np.int16], int]:
    """The samples and sample rate of ``text`` spoken in ``voice``."""
    with _LOCK:
        lib, rate = _engine()
        chunks: list[NDArray[np.int16]] = []

        def collect(wav: ctypes._Pointer[ctypes.c_short], count: int, events: int) -> int:
            if count > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.int16))
            return 0

        callback = _CALLBACK(collect)
        lib.espeak_SetSynthCallback(callback)
        name = f"{voice.language}+{voice.variant}".encode()
        if lib.espeak_SetVoiceByName(name) != 0 and lib.espeak_SetVoiceByName(b"en") != 0:
            raise ProviderError(f"espeak-ng has no voice {name.decode()!r}", failure="other")
        for parameter, value in (
            (_RATE, voice.rate),
            (_VOLUME, voice.volume),
            (_PITCH, voice.pitch),
            (_RANGE, voice.pitch_range),
            (_WORDGAP, max(0, voice.word_gap_ms // 10)),
        ):
            lib.espeak_SetParameter(parameter, int(value), 0)
        spoken = text.encode("utf-8")
        if lib.espeak_Synth(spoken, len(spoken) + 1, 0, 0, 0, _UTF8, None, None) != 0:
            raise ProviderError(f"espeak-ng could not speak {text[:40]!r}", failure="other")
        lib.espeak_SetSynthCallback(_CALLBACK())  # drop the reference to ``collect``
    empty = np.zeros(0, dtype=np.int16)
    return (np.concatenate(chunks) if chunks else empty), rate


def _engine() -> tuple[ctypes.CDLL, int]:
    """espeak-ng loaded and initialised once (its library and data come from the package)."""
    if _ENGINE:
        return _ENGINE[0]
    try:
        import espeakng_loader  # type: ignore[import-untyped]
    except ImportError:
        raise ProviderError(
            "the offline scratch voice needs the espeakng-loader package: "
            "pip install espeakng-loader (a filmslate dependency)",
            failure="other",
        ) from None
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
    except OSError as exc:
        raise ProviderError(f"espeak-ng does not load: {exc}", failure="other") from None
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    data = espeakng_loader.get_data_path().encode()
    rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, data, _DONT_EXIT)
    if rate <= 0:
        raise ProviderError("espeak-ng did not start (its voice data is missing)", failure="other")
    _ENGINE.append((lib, rate))
    return lib, rate
