"""scratch-voices (issue 15): a shot's dialogue spoken in its characters' locked voices.

For one shot, each of its lines in DIALOGUE_<SCENE> is spoken by the runner's speech service
(``ctx.params["speech"]``, a :class:`~filmslate.engine._speech.SpeechMaker`; offline espeak-ng
by default, at zero cost through the same reservations as any paid call) in the voice its
VOICE lock describes, and laid on the shot's timeline: ``LEAD_IN_S`` of silence, the lines one
after another with ``GAP_S`` between them, silence to the end of the shot (longer when the
lines run past it). The result is ``AUDIO_<SHOT>_v###.wav``, mono 16-bit, with the cues (line,
character, start, end) in the WAV (``engine._speech.wav_cues``). A shot without lines gets
its length of silence, so every shot has a track.

Lineage: each AUDIO is recorded as made from the scene's DIALOGUE and the VOICE locks of the
characters who speak in the shot only, so revising one voice lock makes exactly the shots
where that character speaks stale.

How a voice lock sounds (:func:`voice_settings`), by words in its fields:

- ``tone.pitch`` low / mid / high sets the pitch (35 / 50 / 68 of 99); a deep, gravelly or
  husky timbre lowers it, a thin, bright, light or breathy one raises it; low voices take a
  male espeak variant, high ones a female one, mid ones either, chosen by the name's hash (so
  two characters seldom share a voice);
- ``tone.energy``: quiet, soft or hushed speaks softer; loud, booming or forceful louder;
  flat or monotone narrows the pitch range; animated or expressive widens it;
- ``cadence.speed``: a rate it states ("160 wpm", "150 words a minute") as stated; else slow,
  unhurried or deliberate is 140 words a minute; fast, quick or brisk 195; else 165; long
  or frequent ``cadence.pauses`` add a gap between words;
- ``accent.region``: British, English or London speaks en-gb; Scottish en-gb-scotland;
  Caribbean or Jamaican en-029; anything else en-us.

Gate, in code: the audio decodes; every line of the shot has its cue; each cue holds speech
energy (RMS at least ``MIN_SPEECH_RMS``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ...core._errors import UserError
from ...core._gate import Gate
from ...core._names import format_stem
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...engine._speech import (
    SAMPLE_RATE,
    Cue,
    SpeechJob,
    SpeechMaker,
    VoiceSettings,
    read_wav,
    wav_bytes,
    wav_cues,
)
from ...schemas import Artifact, DialogueRow, DialogueShots, ShotList, VoiceLock
from ...schemas._continuity import words_per_minute
from ._dialogue_timing import GAP_S, LEAD_IN_S, TAIL_S

__all__ = [
    "GAP_S",
    "LEAD_IN_S",
    "SPEECH_PARAM",
    "ScratchVoices",
    "audio_failures",
    "voice_settings",
]

SPEECH_PARAM = "speech"  # ctx.params key: the runner's speech service
MIN_SPEECH_RMS = 200.0  # int16 RMS inside a cue: speech, not silence or hiss
MALE = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
FEMALE = ("f1", "f2", "f3", "f4", "f5")
PITCH = {"low": 35, "mid": 50, "high": 68}
ACCENTS = (
    (r"scot", "en-gb-scotland"),
    (r"caribbean|jamaica", "en-029"),
    (r"brit|english|england|london|\buk\b", "en-gb"),
)


def _has(text: str, words: str) -> bool:
    return re.search(rf"\b(?:{words})", text, re.IGNORECASE) is not None


def voice_settings(lock: VoiceLock) -> VoiceSettings:
    """The offline voice a voice lock describes (the rules are in the module docs)."""
    tone, cadence = lock.tone, lock.cadence
    pitch = PITCH[tone.pitch]
    if _has(tone.timbre, "deep|grav|husk|rough|boom"):
        pitch -= 8
    elif _has(tone.timbre, "thin|bright|light|breath|reed|shrill"):
        pitch += 6
    variants = MALE if tone.pitch == "low" else FEMALE if tone.pitch == "high" else MALE + FEMALE
    pick = int.from_bytes(hashlib.sha256(lock.name.encode()).digest()[:4], "big")
    rate = 165
    if (wpm := words_per_minute(cadence.speed)) is not None:
        rate = round(wpm)  # a rate the lock states is spoken as stated (the schema bounds it)
    elif _has(cadence.speed, "slow|unhurried|deliberate|measured"):
        rate = 140
    elif _has(cadence.speed, "fast|quick|rapid|brisk"):
        rate = 195
    return VoiceSettings(
        language=next((v for k, v in ACCENTS if re.search(k, lock.accent.region, re.I)), "en-us"),
        variant=variants[pick % len(variants)],
        pitch=max(0, min(99, pitch)),
        pitch_range=30
        if _has(tone.energy, "flat|monoton")
        else 75
        if _has(tone.energy, "animat|expressive|lively")
        else 50,
        rate=rate,
        volume=75
        if _has(tone.energy, "quiet|soft|hush|whisper")
        else 125
        if _has(tone.energy, "loud|boom|forceful")
        else 100,
        word_gap_ms=40 if _has(cadence.pauses, "long|frequent|many") else 0,
    )


class ScratchVoices(Skill):
    """Speaks a shot's dialogue lines in their voice locks' voices, as the shot's AUDIO.

    Each line of the shot in DIALOGUE is spoken by the speech model ``[audio] model`` names
    (``"espeak"``: espeak-ng, offline and free, through the same reservation and settlement
    as a paid call; a hosted provider is given the lock's ``external_voice_id``). The voice
    follows the lock: ``tone.pitch`` and the timbre's words set the pitch, ``tone.energy``
    the loudness and the pitch range, ``cadence.speed`` the words a minute, long
    ``cadence.pauses`` a gap between words, ``accent.region`` the espeak-ng accent.

    ``AUDIO_<SHOT>_v###.wav`` (mono, 16-bit): 0.3 s of silence, the lines in order 0.25 s
    apart, silence to the end of the shot; its cues (line, character, start, end) travel in
    the WAV's INFO comment (``engine._speech.wav_cues`` reads them). It is recorded as made
    from the scene's DIALOGUE and the voice locks of the shot's speakers only, so revising
    one voice lock re-voices exactly the shots where that character speaks.
    """

    name: ClassVar[str] = "scratch-voices"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("DIALOGUE", "scene"),
        Need("SHOTLIST", "scene", lineage=False),  # the shot's length (DIALOGUE follows it)
        Need("VOICE_LOCK", "all", optional=True),  # narrowed to the shot's speakers per file
    )
    produces: ClassVar[tuple[str, ...]] = ("AUDIO",)
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False
    uses_speech: ClassVar[bool] = True  # gets the runner's speech service
    revise_on_fail: ClassVar[bool] = False  # the same lines and voices sound the same
    summary: ClassVar[str] = (
        "after dialogue-shots: the shot's lines spoken in their voice locks' voices "
        "(offline espeak-ng by default), as AUDIO with its cues"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The shot's AUDIO, recorded as made from DIALOGUE and its speakers' voice locks."""
        speech = ctx.params.get(SPEECH_PARAM)
        if not isinstance(speech, SpeechMaker):
            raise UserError(
                f"{self.name} needs a speech service in ctx.params[{SPEECH_PARAM!r}] (the "
                "runner passes its own)",
                skill=self.name,
            )
        lines = _dialogue(ctx).lines_of(ctx.target)
        locks: dict[str, VoiceLock] = ctx.inputs.all("VOICE_LOCK")
        clips = [
            _spoken(speech, ctx.target, row, locks.get(row.character), self.name) for row in lines
        ]
        data = _track(lines, clips, _duration(ctx))
        made_from = [_file(ctx, "DIALOGUE", ctx.scene_id)]
        made_from += [
            _file(ctx, "VOICE_LOCK", c) for c in sorted({r.character for r in lines} & set(locks))
        ]
        return [Media("AUDIO", ctx.target, data, inputs=tuple(made_from))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on audio that does not decode, a line without a cue, or a silent cue."""
        lines = _dialogue(ctx).lines_of(ctx.target)
        locks = ctx.inputs.all("VOICE_LOCK")
        unlocked = sorted({r.character for r in lines} - set(locks))
        failures = [
            f"{ctx.target}: {c} speaks but has no VOICE lock: run voice-lock on {ctx.scene_id}"
            for c in unlocked
        ]
        return Gate.from_failures(failures + audio_failures(outputs[0].data, lines, ctx.target))


def audio_failures(data: bytes, lines: list[DialogueRow], shot: str) -> list[str]:
    """What is wrong with a shot's AUDIO: undecodable, a line without its cue, a silent cue."""
    try:
        samples, rate = read_wav(data)
    except ValueError as exc:
        return [f"{shot}: the audio does not decode ({exc})"]
    cues = {c.line: c for c in wav_cues(data)}
    out = []
    for row in lines:
        cue = cues.get(row.line_order)
        if cue is None:
            out.append(f"{shot}: line {row.line_order} ({row.character}) has no cue in the audio")
            continue
        window = samples[int(cue.start_s * rate) : int(cue.end_s * rate)].astype(np.float64)
        rms = float(np.sqrt(np.mean(window**2))) if len(window) else 0.0
        if rms < MIN_SPEECH_RMS:
            out.append(
                f"{shot}: line {row.line_order} ({row.character}) is silent in the audio "
                f"(RMS {rms:.0f}, speech is at least {MIN_SPEECH_RMS:.0f})"
            )
    return out


def _dialogue(ctx: Context) -> DialogueShots:
    table = ctx.inputs.get("DIALOGUE")
    assert isinstance(table, DialogueShots)
    return table


def _duration(ctx: Context) -> float:
    shots: ShotList = ctx.inputs.get("SHOTLIST")
    row = next((r for r in shots.rows if r.shot_id == ctx.target), None)
    if row is None:
        raise UserError(
            f"{ctx.target} is not in the latest SHOTLIST of {ctx.scene_id}: run shot-planner",
            target=ctx.target,
        )
    return row.duration_s


def _spoken(
    speech: SpeechMaker, shot: str, row: DialogueRow, lock: VoiceLock | None, skill: str
) -> NDArray[np.int16]:
    """One line spoken in its lock's voice (a plain voice for a speaker without a lock:
    the gate then fails the shot), as samples at ``SAMPLE_RATE``."""
    job = SpeechJob(
        shot_id=shot,
        line=row.line_order,
        character=row.character,
        text=row.text,
        voice=voice_settings(lock) if lock is not None else VoiceSettings(),
        external_voice_id=(lock.external_voice_id or "") if lock is not None else "",
    )
    samples, rate = read_wav(speech.speech(job, skill))
    if rate == SAMPLE_RATE or not len(samples):
        return samples
    at = np.linspace(0, len(samples) - 1, int(len(samples) * SAMPLE_RATE / rate))
    return np.interp(at, np.arange(len(samples)), samples).astype(np.int16)


def _track(lines: list[DialogueRow], clips: list[NDArray[np.int16]], duration_s: float) -> bytes:
    """The shot's timeline: lead-in, the lines with gaps, silence to the end (module docs)."""
    cues: list[Cue] = []
    at = LEAD_IN_S
    for row, clip in zip(lines, clips, strict=True):
        end = at + len(clip) / SAMPLE_RATE
        cues.append(Cue(row.line_order, row.character, round(at, 3), round(end, 3)))
        at = end + GAP_S
    total = max(duration_s, (cues[-1].end_s + TAIL_S) if cues else 0.0)
    track = np.zeros(round(total * SAMPLE_RATE), dtype=np.int16)
    for cue, clip in zip(cues, clips, strict=True):
        start = round(cue.start_s * SAMPLE_RATE)
        track[start : start + len(clip)] = clip[: len(track) - start]
    return wav_bytes(track, SAMPLE_RATE, cues)


def _file(ctx: Context, kind_name: str, subject: str) -> str:
    prefix = f"{format_stem(kind_name, subject)}_v"
    return next(n for n in ctx.inputs.names if n.startswith(prefix))


REGISTRY.register(ScratchVoices)
