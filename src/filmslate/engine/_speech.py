"""The speech provider interface: one spoken line of dialogue per job (issue 15).

A speech provider has the video and image providers' shape (submit, poll, download, find), so
the same discipline applies to every voice a production pays for: reserved before, the
submission intent recorded before the call, the job id recorded before waiting, settled after,
never submitted twice (``engine._speech_service``). The offline default is espeak-ng
(``providers.scratch_voice``): it costs nothing but goes through the same path.

Skills never hold a provider: a skill that voices lines asks the :class:`SpeechMaker` it is
given in ``ctx.params["speech"]`` (a skill with ``uses_speech``; the runner's service).

Audio is mono 16-bit PCM WAV. A shot's ``AUDIO_<SHOT>_v###.wav`` carries, beside its
samples, one ``LIST/INFO/ICMT`` comment chunk with its cues as JSON
(``filmslate cues [{"line": 1, "character": "NICO", "start_s": 0.3, "end_s": 1.9}, ...]``):
players ignore it, and :func:`wav_cues` reads it back for subtitles and the edit.
"""

from __future__ import annotations

import io
import json
import struct
import wave
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ._video import JobProvider

__all__ = [
    "SAMPLE_RATE",
    "Cue",
    "SpeechJob",
    "SpeechMaker",
    "SpeechProvider",
    "VoiceSettings",
    "read_wav",
    "wav_bytes",
    "wav_cues",
]

SAMPLE_RATE = 22050  # espeak-ng's rate; every clip of a shot is resampled to it
CUES_MARK = "filmslate cues "


@dataclass(frozen=True)
class VoiceSettings:
    """How a voice lock sounds, in the offline engine's terms (a hosted voice uses
    ``external_voice_id`` and may ignore these).

    ``language`` is an espeak-ng voice (``en-us``, ``en-gb``), ``variant`` one of its variants
    (``m3``, ``f2``); ``pitch`` and ``pitch_range`` run 0-99, ``rate`` is words per minute,
    ``volume`` 0-200 (100 normal), ``word_gap_ms`` a pause added between words.
    """

    language: str = "en-us"
    variant: str = "m3"
    pitch: int = 50
    pitch_range: int = 50
    rate: int = 165
    volume: int = 100
    word_gap_ms: int = 0


@dataclass(frozen=True)
class SpeechJob:
    """One line to speak."""

    shot_id: str  # the shot the line falls in (its scene's and shot's caps hold the cost)
    line: int  # the line's place in the scene (DIALOGUE line_order)
    character: str
    text: str
    voice: VoiceSettings = VoiceSettings()
    external_voice_id: str = ""  # a hosted provider's voice, from the voice lock
    reference: str = ""  # the client reference its submission intent was recorded under
    model: str = ""  # the [audio] model string


class SpeechProvider(JobProvider[SpeechJob]):
    """A text-to-speech engine or hosted voice service; ``download`` returns the line as WAV
    bytes (mono, 16-bit)."""

    def payload(self, job: SpeechJob) -> dict[str, object]:
        """The exact input ``submit`` sends."""
        return {"text": job.text, "voice": job.external_voice_id or job.voice.__dict__}


@runtime_checkable
class SpeechMaker(Protocol):
    """What a skill may ask of the speech service it is given."""

    def speech(self, job: SpeechJob, skill: str = "") -> bytes:
        """The line spoken (WAV bytes), metered and resumable."""
        ...


# -- WAV --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    """Where one line sits in a shot's audio."""

    line: int
    character: str
    start_s: float
    end_s: float


def wav_bytes(
    samples: NDArray[np.int16], rate: int = SAMPLE_RATE, cues: list[Cue] | None = None
) -> bytes:
    """Mono 16-bit PCM WAV bytes, with the cues as an INFO comment when given."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    data = buf.getvalue()
    if cues is None:
        return data
    text = CUES_MARK + json.dumps([c.__dict__ for c in cues], separators=(",", ":"))
    comment = text.encode() + b"\0"
    if len(comment) % 2:
        comment += b"\0"
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(comment)) + comment
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    body = data[12:] + chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def read_wav(data: bytes) -> tuple[NDArray[np.int16], int]:
    """The samples (mono int16) and rate of WAV bytes; ValueError when they do not decode."""
    try:
        with wave.open(io.BytesIO(data), "rb") as src:
            channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
            frames = src.readframes(src.getnframes())
    except (wave.Error, EOFError, struct.error) as exc:
        raise ValueError(f"not a WAV file ({exc})") from None
    if width != 2:
        raise ValueError(f"{8 * width}-bit samples; 16-bit PCM expected")
    samples = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples.astype(np.int16), rate


def wav_cues(data: bytes) -> list[Cue]:
    """The cues a shot's AUDIO carries (empty when it carries none)."""
    at = data.find(b"ICMT")
    while at != -1:
        size = struct.unpack("<I", data[at + 4 : at + 8])[0]
        text = data[at + 8 : at + 8 + size].rstrip(b"\0").decode("utf-8", "replace")
        if text.startswith(CUES_MARK):
            return [Cue(**c) for c in json.loads(text[len(CUES_MARK) :])]
        at = data.find(b"ICMT", at + 4)
    return []
