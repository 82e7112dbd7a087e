"""Measurable dialogue voice: profiles, voice-lock checks, drift and distinctiveness.

The dialogue-consistency-check skill (SPEC §5) uses this module for everything code can
decide about a character's voice; a model only adds nuance afterwards. Everything here is
deterministic, uses no model and no network, and runs in time linear in the amount of text.

Pipeline::

    lines ──profile()──▶ VoiceProfile ──check_against_lock(lock)──▶ [DriftFlag]
                                      ──check_drift(history)──────▶ [DriftFlag]
    {speaker: VoiceProfile} ──distinctiveness()──▶ {speaker: 1..5}

Units: every ``*_rate`` of a :class:`VoiceProfile` is a share of *words* (events per word),
except ``question_rate`` and ``exclamation_rate``, which are shares of *sentences*. Because
rates are per word, ``round(rate * words)`` gives back the event count, which the checks use
to demand real evidence (see ``MIN_EVIDENCE`` in ``_stylometry_thresholds``).

The parts live beside this module and are re-exported here: tokenisation
(``_stylometry_tokens``, whose docstring has the rules), word features
(``_stylometry_features``), the profile (``_stylometry_profile``), the thresholds
(``_stylometry_thresholds``), the lock and drift checks (``_stylometry_checks``) and the
distance of two voices (``_stylometry_distance``).
"""

from __future__ import annotations

from ._stylometry_checks import DriftFlag, VoiceExpectation, check_against_lock, check_drift
from ._stylometry_distance import distinctiveness, voice_distance
from ._stylometry_features import FUNCTION_WORDS, syllables
from ._stylometry_profile import VoiceProfile, profile
from ._stylometry_thresholds import INSUFFICIENT_TEXT, MIN_WORDS
from ._stylometry_tokens import Sentence, split_sentences, words_of

__all__ = [
    "FUNCTION_WORDS",
    "INSUFFICIENT_TEXT",
    "MIN_WORDS",
    "DriftFlag",
    "Sentence",
    "VoiceExpectation",
    "VoiceProfile",
    "check_against_lock",
    "check_drift",
    "distinctiveness",
    "profile",
    "split_sentences",
    "syllables",
    "voice_distance",
    "words_of",
]
