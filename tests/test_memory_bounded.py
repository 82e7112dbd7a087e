"""Peak memory of a production grows with its shots only as its outputs must: the cut's mix
(``skills.production._mix.mix``) held the whole film's track four times over as floats while
it added the room tone (32 bytes a sample, ~2.5 MB a shot: 1.4 GB at 500 shots in
benchmarks/bench_production.py). The mix now holds one float32 bed of the dialogue and
its WAV bytes, and works a block at a time beyond them. Measured by tracemalloc (numpy
reports its arrays to it), not RSS."""

from __future__ import annotations

import tracemalloc

import numpy as np

from filmslate.engine._speech import SAMPLE_RATE, read_wav, wav_bytes
from filmslate.skills.production._mix import (
    ROOM_TONE_DBFS,
    Placed,
    _gain,
    loudness,
    mix,
    room_tone,
)

SECONDS = 120.0
SHOT_S = 4.0


def _placed() -> list[Placed]:
    rng = np.random.default_rng(3)
    voice = wav_bytes((rng.standard_normal(round(SHOT_S * SAMPLE_RATE)) * 3000).astype(np.int16))
    shots = round(SECONDS / SHOT_S)
    return [Placed(f"S01_SH{i:02d}", voice, i * SHOT_S, 0.0, SHOT_S) for i in range(shots)]


def test_the_mix_peaks_at_under_eight_bytes_a_sample() -> None:
    placed = _placed()
    mix(placed[:1], SHOT_S, -23.0)  # imports and first-call allocations out of the count
    tracemalloc.start()
    try:
        mix(placed, SECONDS, -23.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_sample = peak / (SECONDS * SAMPLE_RATE)
    # the float32 dialogue bed (4 bytes) and the WAV bytes (2) as they grow; it was 32
    assert per_sample < 8, f"the mix peaked at {per_sample:.1f} bytes a sample"


def test_the_room_tone_in_blocks_is_the_whole_noise_at_once() -> None:
    samples = 200_003  # more than three blocks and a remainder
    noise = np.random.default_rng(15).standard_normal(samples + 7)
    soft = np.convolve(noise, np.ones(8) / 8, mode="valid")[:samples]
    whole = soft * (32767.0 * 10 ** (ROOM_TONE_DBFS / 20) / float(np.sqrt(np.mean(soft**2))))
    assert np.allclose(room_tone(samples), whole, rtol=1e-12, atol=1e-9)
    assert len(room_tone(0)) == 0


def test_the_mix_is_the_bytes_of_the_whole_track_at_once() -> None:
    placed = _placed()[:3]
    voice, _ = read_wav(placed[0].audio or b"")
    track = np.concatenate([voice] * 3).astype(np.float64)  # end to end, nothing trimmed
    measured = loudness(wav_bytes(track.astype(np.int16)))
    assert measured is not None
    track *= _gain(track, -23.0 - measured)
    track += room_tone(len(track))
    whole = wav_bytes(np.clip(np.round(track), -32768, 32767).astype(np.int16))
    assert mix(placed, 3 * SHOT_S, -23.0) == whole
