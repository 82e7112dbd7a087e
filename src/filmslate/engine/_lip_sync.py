"""Lip sync (issue 15 §3): a video model driven by the dialogue gets the shot's AUDIO.

Where the catalogue says a video model takes audio (``input.audio``: Wan 2.7's ``audio_url``),
a shot with dialogue is sent with its ``AUDIO_<SHOT>`` (the WAV scratch-voices made: the
lines in their locked voices, on the shot's timeline), so the mouths match the lines.

- **What is sent.** The render skill hands the shot's AUDIO to the render service when the
  shot has lines in its scene's DIALOGUE; the service sends it only when the routed model
  takes audio (:func:`takes_audio`), after checking it is the latest AUDIO of the shot and a
  fresh PASS (:func:`checked_audio`): a stale voice is never lip-synced. It is padded with
  silence to the clip length sent (:func:`fitted`: a 1.5 s shot is sent as a 2 s clip, and the
  model takes no audio shorter than its clip's floor), never cut.
- **Identity.** The job's key is the GenPack's sha followed by the audio's
  (:func:`job_sha`): the same GenPack with other audio is another job, never the recorded
  one fetched again, while a refusal of it is still the GenPack's (:func:`pack_sha_of`), for
  regen-analyzer to reword; a take made with audio records that AUDIO in its lineage, so revising a
  voice lock makes exactly the takes of that character's shots stale.
- **Order.** ``workflow._lip_sync`` voices a scene's shots before its takes are rendered when
  any ``[visual]`` model takes audio.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..core._config import Config
from ..core._errors import InputNotReady
from ..core._video_prices import video_entry
from ..rules._takes import genpack_sha
from ..schemas import GenPack
from ..store._project import Project
from ._readiness import output_problems
from ._speech import read_wav, wav_bytes, wav_cues

__all__ = ["any_takes_audio", "checked_audio", "fitted", "job_sha", "pack_sha_of", "takes_audio"]

VISUAL_TIERS = ("premium", "mid", "low")


def takes_audio(config: Config, model: str) -> bool:
    """True when the catalogue says the video model takes the dialogue audio."""
    entry = video_entry(config, model)
    return entry is not None and entry.takes_audio


def any_takes_audio(config: Config) -> bool:
    """True when a ``[visual]`` tier renders with a model that takes the dialogue audio."""
    return any(takes_audio(config, str(getattr(config.visual, t))) for t in VISUAL_TIERS)


def job_sha(pack: GenPack, audio: bytes | None) -> str:
    """A render job's identity: the GenPack's sha, followed by the audio's when sent
    (``<genpack sha>+audio:<audio sha>``)."""
    sha = genpack_sha(pack)
    if audio is None:
        return sha
    return f"{sha}+audio:{hashlib.sha256(audio).hexdigest()}"


def fitted(audio: bytes | None, seconds: float) -> bytes | None:
    """The shot's audio padded with silence to ``seconds`` (as long already: unchanged)."""
    if audio is None:
        return None
    samples, rate = read_wav(audio)
    missing = round(seconds * rate) - len(samples)
    if missing <= 0:
        return audio
    padded = np.concatenate([samples, np.zeros(missing, dtype=np.int16)])
    return wav_bytes(padded, rate, wav_cues(audio) or None)


def pack_sha_of(job_key: str) -> str:
    """The GenPack's sha of a render job's key (what a refusal is matched by)."""
    return job_key.split("+", 1)[0]


def checked_audio(project: Project, shot_id: str, audio: bytes) -> bytes:
    """The shot's audio, when it is its latest AUDIO and a fresh PASS; else InputNotReady
    naming the step to run (nothing is reserved or sent)."""
    record = project.store.latest("AUDIO", shot_id)
    problems = output_problems(project, "AUDIO", shot_id, shot_id.split("_SH", 1)[0])
    if record is None or project.store.read(record.name) != audio:
        problems = problems or [f"the audio given is not the latest AUDIO_{shot_id}"]
    if problems:
        raise InputNotReady(
            f"{shot_id}: its model is driven by the dialogue audio, and {problems[0]}: run "
            f"scratch-voices on {shot_id} (`slate run scratch-voices --shot {shot_id}`) first",
            target=shot_id,
        )
    return audio
