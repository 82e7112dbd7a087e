"""The cut's sound (issue 15 §3): each shot's dialogue where the edit plays it, over room tone,
at one loudness, and the subtitles timed from it.

A shot's AUDIO starts with its picture's first frame in the take, so a moment ``t`` of it
plays at ``t + record_in - in`` in the cut (``Placed.shift_s``). Of that audio the cut plays
what the edit lets be heard: from the picture's in point less its J cut (``lead_s``) to its
out point plus its L cut (``lag_s``); the rest is trimmed with the picture.

Levels: the dialogue bed is measured by ffmpeg's ``ebur128`` filter (EBU R128 integrated
loudness, gated, so the silence between lines does not count; what ``loudnorm`` measures)
and scaled by one gain to ``[audio] loudness_lufs`` (a linear gain: the voices keep their
dynamics; a gain that would push a peak past ``PEAK_DBFS`` is held there). Room tone is
added after the gain, at ``ROOM_TONE_DBFS`` RMS: a soft, seeded (so the cut is the same bytes
each run) noise under the whole cut, because digital silence between lines sounds like a
dropout at every cut and gives an editor nothing to fill a gap with; it lies ~37 dB under the
dialogue, far below the relative gate, so it does not move the measured loudness.

A take whose model made its own sound (its RAW clip has an audio stream) is heard as ``[audio]
take_audio`` says: ``dialogue`` (the default: the scratch voices are the reference the edit is
timed to), ``take`` (the model's sound instead of the dialogue, where a take has any), or
``mix`` (both); the take's sound is laid and trimmed exactly like the shot's dialogue.

Subtitles: one cue per dialogue line of the cut's shots, from the AUDIO's own cues moved by the
same shift (and kept inside the part of the audio the cut plays); SRT and VTT text by the
SUBTITLES schemas' own rendering (``schemas._subtitles``). A line none of whose speech is
heard gets no cue (the gate names it: a cue there would show words nobody says, for no
time), and a cue ends where the next one starts, so no two are on screen at once.

The cut's gate does not trust the mix: :func:`cut_sound_failures` decodes the audio stream
of the finished MP4 back (ffmpeg) and checks that it exists, lasts the video's length within
a frame, and, when the cut has dialogue, measures its integrated loudness within
``LOUDNESS_TOLERANCE_LU`` of ``[audio] loudness_lufs`` (quieter only where the peak ceiling
held the gain).
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
from numpy.typing import NDArray

from ...core._errors import ProviderError
from ...engine._skill import Context
from ...engine._speech import SAMPLE_RATE, read_wav, wav_bytes, wav_cues
from ...rules._media import probe
from ...schemas import Artifact, DialogueShots, EditPlan, SubtitleCue, SubtitlesSrt, SubtitlesVtt

__all__ = [
    "AAC",
    "PEAK_DBFS",
    "ROOM_TONE_DBFS",
    "Placed",
    "clip_sound",
    "cut_cues",
    "cut_sound_failures",
    "dialogue_lines",
    "loudness",
    "mix",
    "planned_sound",
    "room_tone",
    "subtitle_failures",
    "subtitles",
    "unheard_lines",
    "unplanned_sound",
    "with_take_sound",
]

ROOM_TONE_DBFS = -60.0  # RMS of the room tone, full scale = 0 dB
PEAK_DBFS = -1.0  # the normalising gain never lifts a sample past this
_FULL = 32767.0
_BLOCK = 1 << 16  # samples a block when the whole track need not be copied at once
_SEED = 15  # the room tone's noise: fixed, so a cut is reproducible to the byte
LOUDNESS_TOLERANCE_LU = 1.0  # the cut's measured loudness may be this far off the target
_PROBE_RATE = 16000  # the rate the cut's sound is decoded at to be checked: plenty for speech
# The cut's sound track: AAC in the MP4 at 48 kHz (what editors and players expect), mono like
# the dialogue, bit-exact so the same mix is the same bytes
AAC = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "1", "-flags:a", "+bitexact"]


@dataclass(frozen=True)
class Placed:
    """One shot's sound in the cut: its AUDIO (None: no track), where its picture plays
    (record in, in and out points in the take) and its J / L overlaps."""

    shot_id: str
    audio: bytes | None
    record_in_s: float
    in_s: float
    out_s: float
    lead_s: float = 0.0
    lag_s: float = 0.0
    take_audio: bytes | None = None  # the take's own sound (WAV), laid like the dialogue
    dialogue: bool = True  # False: the take's sound replaces the dialogue ([audio] take_audio)

    @property
    def shift_s(self) -> float:
        """Seconds added to a moment of the shot's audio to find it in the cut."""
        return self.record_in_s - self.in_s

    @property
    def heard(self) -> tuple[float, float]:
        """The part of the shot's audio the cut plays (seconds into the audio)."""
        return max(0.0, self.in_s - self.lead_s), self.out_s + self.lag_s


def planned_sound(ctx: Context, plan: EditPlan) -> list[Placed]:
    """Each planned shot's AUDIO where the plan plays its picture, with its J / L overlaps."""
    audio: dict[str, bytes] = ctx.inputs.all("AUDIO")
    return [
        Placed(
            *(r.shot_id, audio.get(r.shot_id), r.record_in_s, r.in_s, r.out_s),
            lead_s=r.audio_lead_s,
            lag_s=r.audio_lag_s,
        )
        for r in plan.rows
    ]


def unplanned_sound(ctx: Context, takes: Sequence[tuple[str, bytes]]) -> list[Placed]:
    """Each take's AUDIO under the whole take, the takes end to end (a cut without a plan)."""
    audio: dict[str, bytes] = ctx.inputs.all("AUDIO")
    out, at = [], 0.0
    for shot_id, data in takes:
        length = probe(data).duration_s
        out.append(Placed(shot_id, audio.get(shot_id), at, 0.0, length))
        at += length
    return out


def with_take_sound(placed: Sequence[Placed], raw: dict[str, bytes], mode: str) -> list[Placed]:
    """The shots with their takes' own sound (``raw``: shot -> the provider's clip) as
    ``[audio] take_audio`` says: ``dialogue`` ignores it; ``take`` plays it instead of the
    dialogue where a take has sound; ``mix`` plays both."""
    if mode == "dialogue":
        return list(placed)
    out = []
    for shot in placed:
        own = clip_sound(raw[shot.shot_id]) if shot.shot_id in raw else None
        keep = own is None or mode == "mix"
        out.append(replace(shot, take_audio=own, dialogue=keep))
    return out


def clip_sound(clip: bytes) -> bytes | None:
    """A clip's audio stream as mono WAV at ``SAMPLE_RATE``; None when it has none."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-i", "pipe:0"]
    command += ["-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"]
    result = subprocess.run(command, input=clip, capture_output=True, check=False)
    if result.returncode or not result.stdout:
        return None  # no audio stream (or none ffmpeg can read): the dialogue stands
    return wav_bytes(np.frombuffer(result.stdout, dtype="<i2").astype(np.int16), SAMPLE_RATE)


def dialogue_lines(ctx: Context) -> dict[str, dict[int, str]]:
    """Shot -> line number -> text of every DIALOGUE table the run read."""
    out: dict[str, dict[int, str]] = {}
    for table in ctx.inputs.all("DIALOGUE").values():
        assert isinstance(table, DialogueShots)
        for row in table.rows:
            out.setdefault(row.shot_id, {})[row.line_order] = row.text
    return out


def mix(placed: Sequence[Placed], duration_s: float, loudness_lufs: float) -> bytes:
    """The cut's sound as mono 16-bit WAV bytes of ``duration_s``: the dialogue laid out,
    normalised to ``loudness_lufs``, over room tone (module docs)."""
    # the dialogue bed in float32 (sums of 16-bit samples are exact in it): the one array of
    # the cut's whole length; the gain and room tone are applied a block at a time as written
    track = np.zeros(round(duration_s * SAMPLE_RATE), dtype=np.float32)
    for shot in placed:
        if shot.audio is not None and shot.dialogue:
            _lay(track, shot, shot.audio)
        if shot.take_audio is not None:
            _lay(track, shot, shot.take_audio)
    measured = loudness(_pcm(track))
    gain = 1.0 if measured is None else _gain(track, loudness_lufs - measured)
    return _pcm(track, gain, _room_tone_blocks(len(track)))


def _lay(track: NDArray[np.float32], shot: Placed, audio: bytes) -> None:
    """Add the heard part of a shot's audio to the track at its place in the cut."""
    samples, rate = read_wav(audio)
    samples_f = _resampled(samples.astype(np.float64), rate)
    start, end = shot.heard
    first, last = round(start * SAMPLE_RATE), min(len(samples_f), round(end * SAMPLE_RATE))
    piece = samples_f[first:last]
    at = round((start + shot.shift_s) * SAMPLE_RATE)
    if at < 0:
        piece, at = piece[-at:], 0
    piece = piece[: max(0, len(track) - at)]
    track[at : at + len(piece)] += piece


def _resampled(samples: NDArray[np.float64], rate: int) -> NDArray[np.float64]:
    if rate == SAMPLE_RATE or not len(samples):
        return samples
    at = np.linspace(0, len(samples) - 1, int(len(samples) * SAMPLE_RATE / rate))
    return np.interp(at, np.arange(len(samples)), samples)


def _gain(track: NDArray[np.floating[Any]], db: float) -> float:
    """The linear gain of ``db``, held where it would lift the loudest sample past the peak."""
    peak = max(float(track.max()), -float(track.min())) if len(track) else 0.0  # no copy
    gain = float(10 ** (db / 20))
    ceiling = _FULL * 10 ** (PEAK_DBFS / 20)
    return min(gain, ceiling / peak) if peak > 0 else gain


def room_tone(samples: int) -> NDArray[np.float64]:
    """Soft noise (white noise through a short moving average) at ``ROOM_TONE_DBFS`` RMS."""
    return np.concatenate([np.zeros(0), *_room_tone_blocks(samples)])


def _room_tone_blocks(samples: int) -> Iterator[NDArray[np.float64]]:
    """The room tone a block at a time: the cut's whole length at once held four float
    arrays of it (32 bytes a sample, ~2.5 MB a shot at the cut's peak)."""
    if not samples:
        return
    power = sum(float(np.sum(soft**2)) for _, soft in _soft_noise(samples)) / samples
    scale = _FULL * 10 ** (ROOM_TONE_DBFS / 20) / (float(np.sqrt(power)) or 1.0)
    for _, soft in _soft_noise(samples):
        yield soft * scale


def _soft_noise(samples: int) -> Iterator[tuple[int, NDArray[np.float64]]]:
    """The seeded white noise through an 8-sample moving average, in blocks (start, block):
    the same numbers as the whole at once (the generator's draws run on; 7 carried over)."""
    rng = np.random.default_rng(_SEED)
    carry = rng.standard_normal(7)
    for at in range(0, samples, _BLOCK):
        noise = np.concatenate([carry, rng.standard_normal(min(_BLOCK, samples - at))])
        yield at, np.convolve(noise, np.ones(8) / 8, mode="valid")
        carry = noise[-7:]


def _pcm(
    track: NDArray[np.float32],
    gain: float = 1.0,
    tone: Iterator[NDArray[np.float64]] | None = None,
) -> bytes:
    """The track times ``gain`` plus the ``tone`` blocks as mono 16-bit WAV bytes
    (``wav_bytes``'s), a block at a time: no whole-length copy besides the bytes."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for at in range(0, len(track), _BLOCK):
            block = track[at : at + _BLOCK].astype(np.float64) * gain
            if tone is not None:
                block += next(tone)
            block = np.clip(np.round(block), -_FULL - 1, _FULL)
            out.writeframesraw(block.astype("<i2").tobytes())
    return buf.getvalue()


def loudness(wav: bytes) -> float | None:
    """The integrated loudness (LUFS, EBU R128) of WAV bytes by ffmpeg's ebur128 filter (the
    measurement loudnorm makes, ~20x faster: loudnorm upsamples to 192 kHz first); None when
    nothing in it is loud enough to measure (no dialogue)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", "pipe:0"]
    command += ["-af", "ebur128", "-f", "null", "-"]
    result = subprocess.run(command, input=wav, capture_output=True, check=False)
    text = result.stderr.decode("utf-8", "replace")
    found = re.findall(r"I:\s+(-?[0-9.]+|-inf) LUFS", text)
    if result.returncode or not found:
        last = text.strip().splitlines()[-1:] or ["?"]
        raise ProviderError(f"ffmpeg could not measure the cut's loudness: {last[0]}")
    value = float(found[-1])
    return value if np.isfinite(value) and value > -70 else None


# -- subtitles ----------------------------------------------------------------------------------


def cut_cues(placed: Sequence[Placed], lines: dict[str, dict[int, str]]) -> list[SubtitleCue]:
    """One cue per heard dialogue line of the placed shots (``lines``: shot -> line number ->
    text), at its AUDIO cue moved to the cut and kept inside the part of the audio the cut
    plays; a line without a timed cue is shown over its shot's heard part. A line the cut
    plays none of gets no cue (:func:`unheard_lines` names it); a cue ends where the next
    one starts."""
    out: list[SubtitleCue] = []
    for shot, _, text, (a, b) in _timed_lines(placed, lines):
        if _ms(b + shot.shift_s) > _ms(a + shot.shift_s):
            out.append(
                SubtitleCue(start_ms=_ms(a + shot.shift_s), end_ms=_ms(b + shot.shift_s), text=text)
            )
    out.sort(key=lambda c: c.start_ms)
    kept = []
    for i, cue in enumerate(out):
        end = min(cue.end_ms, out[i + 1].start_ms) if i + 1 < len(out) else cue.end_ms
        if end > cue.start_ms:  # two lines heard at once: the edit gate refuses that plan
            kept.append(cue if end == cue.end_ms else cue.model_copy(update={"end_ms": end}))
    return kept


def unheard_lines(placed: Sequence[Placed], lines: dict[str, dict[int, str]]) -> list[str]:
    """The dialogue lines the cut plays none of (``SHOT line N``)."""
    return [
        f"{shot.shot_id} line {number}"
        for shot, number, _, (a, b) in _timed_lines(placed, lines)
        if _ms(b + shot.shift_s) <= _ms(a + shot.shift_s)
    ]


def _timed_lines(
    placed: Sequence[Placed], lines: dict[str, dict[int, str]]
) -> Iterator[tuple[Placed, int, str, tuple[float, float]]]:
    """Each line of each placed shot with the part of it the cut plays (seconds into the
    shot's audio; empty when none)."""
    for shot in placed:
        texts = lines.get(shot.shot_id, {})
        timed = {c.line: c for c in wav_cues(shot.audio)} if shot.audio else {}
        start, end = shot.heard
        for number, text in sorted(texts.items()):
            cue = timed.get(number)
            a, b = (cue.start_s, cue.end_s) if cue else (start, end)
            yield shot, number, text, (min(max(a, start), end), min(max(b, start), end))


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def subtitles(placed: Sequence[Placed], lines: dict[str, dict[int, str]]) -> list[Artifact]:
    """The cut's SUBTITLES, as SubRip and WebVTT, from the same cues."""
    cues = cut_cues(placed, lines)
    return [SubtitlesSrt(cues=cues), SubtitlesVtt(cues=cues)]


def subtitle_failures(cues: Sequence[SubtitleCue], lines: int, duration_s: float) -> list[str]:
    """What is wrong with the cut's subtitles: not one cue per dialogue line, a cue outside
    the cut, of no length, or on screen with the one before it."""
    out = []
    if len(cues) != lines:
        out.append(f"the subtitles have {len(cues)} cue(s) for {lines} dialogue line(s)")
    end_ms = round(duration_s * 1000) + 1  # a millisecond of rounding
    for before, cue in zip([None, *cues], cues, strict=False):
        if not 0 <= cue.start_ms < cue.end_ms <= end_ms:
            out.append(
                f"subtitle {cue.text!r} ({cue.start_s:g}-{cue.end_s:g}s) lies outside the cut "
                f"(0-{duration_s:g}s) or lasts no time"
            )
        elif before is not None and cue.start_ms < before.end_ms:
            out.append(f"subtitle {cue.text!r} starts before the one ahead of it ends")
    return out


# -- the cut's sound, measured --------------------------------------------------------------


def cut_sound_failures(
    cut: bytes, video_s: float, fps: float, loudness_lufs: float, speech: bool
) -> list[str]:
    """What is wrong with the finished cut's audio stream, decoded back from the MP4: none,
    not the video's length within a frame, or (``speech``: the cut has dialogue) not at the
    target loudness (quieter only where the gain was held at the peak ceiling)."""
    samples = _decoded(cut)
    if samples is None:
        return ["the cut has no audio stream: its dialogue track was not muxed"]
    out = []
    frame = 1 / fps if fps > 0 else 0.05
    heard_s = len(samples) / _PROBE_RATE
    if abs(heard_s - video_s) > frame + 1e-3:
        out.append(
            f"the cut's audio lasts {heard_s:.3f}s, its picture {video_s:.3f}s: more than a "
            f"frame ({frame:.3f}s) apart"
        )
    if not speech:
        return out
    measured = loudness(wav_bytes(samples, _PROBE_RATE))
    peak = float(np.max(np.abs(samples.astype(np.int32)))) if len(samples) else 0.0
    held = peak >= _FULL * 10 ** ((PEAK_DBFS - 1.0) / 20)  # the gain stopped at the ceiling
    if measured is None:
        out.append("the cut has dialogue but its audio is silent (no measurable loudness)")
    elif measured > loudness_lufs + LOUDNESS_TOLERANCE_LU or (
        measured < loudness_lufs - LOUDNESS_TOLERANCE_LU and not held
    ):
        out.append(
            f"the cut's audio measures {measured:.1f} LUFS, the target is {loudness_lufs:g} "
            f"LUFS ([audio] loudness_lufs, within {LOUDNESS_TOLERANCE_LU:g} LU)"
        )
    return out


def _decoded(cut: bytes) -> NDArray[np.int16] | None:
    """The cut's audio stream as mono samples at ``_PROBE_RATE``; None when it has none.
    Read from a file: an MP4 whose index follows its media cannot be read from a pipe."""
    with tempfile.TemporaryDirectory(prefix="filmslate-probe-") as tmp:
        source = Path(tmp) / "cut.mp4"
        source.write_bytes(cut)
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(source)]
        command += ["-map", "0:a:0", "-ac", "1", "-ar", str(_PROBE_RATE), "-f", "s16le", "-"]
        result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode or not result.stdout:
        return None
    return np.frombuffer(result.stdout, dtype="<i2").astype(np.int16)
