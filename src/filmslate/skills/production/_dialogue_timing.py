"""How long dialogue takes to say, before and after it is voiced (issue 15): what sizes a shot.

A shot's AUDIO (scratch-voices) is ``LEAD_IN_S`` of silence, its lines one after another
``GAP_S`` apart, then ``TAIL_S``; a shot covers its lines when it lasts that long
(:func:`shot_need`). Before a line is voiced its length is estimated from its words and its
speaker's voice lock (:func:`line_seconds`); once a shot's AUDIO exists, the line's cue in it
is the measured length, and the longer of the two is used (:class:`LineClock`), so a plan made
after the voices never shrinks below what was really said.

The estimate is fitted to espeak-ng, the offline default, on the demo film's 36 lines as its
three voice locks speak them (140 and 195 words a minute, one with the word gap of long
pauses; least squares on the measured cues): ``SYLLABLE_S`` a syllable and ``PAUSE_S`` at
each comma, dash, ellipsis or sentence end (both at 165 words a minute, scaled by the lock's
cadence), the lock's word gap ``WORD_GAP_FACTOR`` times over after every word, then ``MARGIN``
more. There the longest line says 1.14 times the unmargined estimate, so the margined one
covers every line; a voice that speaks slower (a hosted one) is caught by the measured
confirmation (edit-planner's gate) and its shot re-sized from the cue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ...engine._speech import VoiceSettings

__all__ = [
    "GAP_S",
    "LEAD_IN_S",
    "TAIL_S",
    "LineClock",
    "line_seconds",
    "round_up",
    "shot_need",
    "syllables",
]

LEAD_IN_S = 0.3  # silence before a shot's first line
GAP_S = 0.25  # between two lines of a shot
TAIL_S = 0.2  # after its last line
SYLLABLE_S = 0.471 * 60 / 165  # seconds a syllable at 165 words a minute (fitted: see above)
PAUSE_S = 1.27 * 60 / 165  # ... at a pause mark, at 165 words a minute
WORD_GAP_FACTOR = 2.4  # espeak-ng's word gap lasts longer than its nominal milliseconds
MARGIN = 1.15
STEP_S = 0.5  # a sized shot lasts a whole number of half seconds
_PAUSES = re.compile(r"\.\.\.|--|[,;:.!?\u2014\u2013\u2026]+")
_WORDS = re.compile(r"[A-Za-z\u00c0-\u024f']+|\d+")


def syllables(text: str) -> int:
    """The syllables of a line, by vowel groups (a digit is about 1.4: ``1984`` says five)."""
    count = 0
    for word in _WORDS.findall(text):
        if word.isdigit():
            count += round(1.4 * len(word))
            continue
        lower = word.lower()
        groups = len(re.findall(r"[aeiouy\u00e0-\u00ff]+", lower))
        if lower.endswith("e") and groups > 1 and not lower.endswith(("le", "ee")):
            groups -= 1  # a silent final e
        count += max(1, groups)
    return count


def line_seconds(text: str, voice: VoiceSettings | None = None) -> float:
    """The estimated seconds a line takes to say in ``voice`` (the default voice without)."""
    voice = voice or VoiceSettings()
    pace = 165 / max(voice.rate, 1)
    spoken = syllables(text) * SYLLABLE_S * pace + len(_PAUSES.findall(text)) * PAUSE_S * pace
    gaps = len(text.split()) * voice.word_gap_ms / 1000 * WORD_GAP_FACTOR
    return round((spoken + gaps) * MARGIN, 3)


def shot_need(seconds: Iterable[float]) -> float:
    """How long a shot must last to hold lines of these lengths (its AUDIO's layout)."""
    lengths = list(seconds)
    if not lengths:
        return 0.0
    return LEAD_IN_S + sum(lengths) + GAP_S * (len(lengths) - 1) + TAIL_S


def round_up(seconds: float) -> float:
    """Up to a whole number of ``STEP_S`` (what a sized shot lasts)."""
    return math.ceil(seconds / STEP_S - 1e-6) * STEP_S


@dataclass(frozen=True)
class LineClock:
    """Seconds a line of a scene takes: estimated from its words and its speaker's voice,
    or the measured length of its cue in a shot's AUDIO when that is longer."""

    voices: Mapping[str, VoiceSettings] = field(default_factory=dict)
    measured: Mapping[tuple[int, str], float] = field(default_factory=dict)

    def seconds(self, line: int, character: str, text: str) -> float:
        """The length of line ``line`` (its order in the scene) spoken by ``character``."""
        estimate = line_seconds(text, self.voices.get(character))
        return max(estimate, self.measured.get((line, character), 0.0))
