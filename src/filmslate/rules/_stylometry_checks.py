"""Voice checks on one speaker's lines: against the voice lock, and against their own past.

Both return :class:`DriftFlag` rows: High and Medium are contradictions backed by enough
evidence (see :mod:`~._stylometry_thresholds` for the bars), Low a weak signal or the note that
a sample was too small to judge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ._stylometry_profile import VoiceProfile, measure
from ._stylometry_thresholds import (
    BAND_TOLERANCE,
    INSUFFICIENT_TEXT,
    MIN_EVIDENCE,
    MIN_RATE_SHIFT,
    MIN_WORDS,
    SENTENCE_GAP_HIGH,
    SENTENCE_GAP_MEDIUM,
    SENTENCE_LOG_SD,
    SENTENCE_RATIO_HIGH,
    SENTENCE_RATIO_MEDIUM,
    TTR_NOISE,
    TTR_SHIFT_HIGH,
    TTR_SHIFT_MEDIUM,
    Z_HIGH,
    Z_LOCK,
    Z_MEDIUM,
    error_scale,
)

Severity = Literal["Low", "Medium", "High"]


# ── flags ───────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DriftFlag:
    """One measurable contradiction of a voice, or (metric ``insufficient_text``) a note.

    Severity: High and Medium are real contradictions (see the checks); Low is a weak signal
    (vocabulary variety alone) or the informational note that a sample was too small.
    """

    speaker: str
    metric: str
    severity: Severity
    expected: str
    observed: str
    message: str

    @property
    def is_drift(self) -> bool:
        """False for the informational "too little text to judge" note."""
        return self.metric != INSUFFICIENT_TEXT


def _insufficient(speaker: str, observed: str, what: str) -> DriftFlag:
    return DriftFlag(
        speaker=speaker,
        metric=INSUFFICIENT_TEXT,
        severity="Low",
        expected=f">= {MIN_WORDS} words",
        observed=observed,
        message=f"{speaker}: {what} skipped, insufficient text ({observed}; minimum "
        f"{MIN_WORDS} words); review by ear.",
    )


# ── lock checks ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class VoiceExpectation:
    """What a voice lock says about speech, in measurable terms (None: the lock is silent).

    Bands (upper edges inclusive; how far outside a band counts as a breach: see
    :func:`check_against_lock`):

    - ``sentence_length`` (mean words per sentence): short <= 8, medium <= 15, long > 15.
    - ``vocabulary_level`` (long-word rate): simple <= 5 %, everyday <= 12 %,
      educated <= 20 %, technical / ornate > 20 % (code cannot tell jargon from ornament:
      both are the top band). Plain screen dialogue measures 1-7 %, formal 10-20 %, florid
      or academic speech 20-30 %.
    - ``swearing`` (profanity per word): never 0, rare <= 2 %, frequent > 2 %.
    - ``slang_level`` (slang per word): none 0, low <= 2 %, medium <= 5 %, high > 5 %.
    - ``accent_strength`` (dialect markers per word): none 0, light <= 3 %,
      moderate <= 8 %, strong > 8 %.
    - ``figurative_language`` (similes per word): none 0, rare <= 1 %, frequent > 1 %.
    - ``directness`` (hedges per word): blunt <= 1 %, direct <= 3 %, indirect <= 6 %,
      evasive > 6 % (a nervous, non-committal speaker measures around 10 %).
    - ``hesitations`` (ellipses + dashes + fillers per word): none 0, some <= 4 %,
      frequent > 4 %.
    """

    sentence_length: Literal["short", "medium", "long"] | None = None
    vocabulary_level: Literal["simple", "everyday", "educated", "technical", "ornate"] | None = None
    swearing: Literal["never", "rare", "frequent"] | None = None
    slang_level: Literal["none", "low", "medium", "high"] | None = None
    accent_strength: Literal["none", "light", "moderate", "strong"] | None = None
    figurative_language: Literal["none", "rare", "frequent"] | None = None
    directness: Literal["blunt", "direct", "indirect", "evasive"] | None = None
    hesitations: Literal["none", "some", "frequent"] | None = None


@dataclass(frozen=True)
class _Band:
    """An ordinal lock field and the measured value its labels are bands of."""

    field: str
    metric: str
    labels: tuple[str, ...]  # observed band names, low to high
    edges: tuple[float, ...]  # inclusive upper edge of every band but the last
    counted: bool  # the metric is a per-word rate of countable events
    aliases: Mapping[str, int] | None = None  # lock labels sharing a band

    def index(self, label: str) -> int:
        if self.aliases and label in self.aliases:
            return self.aliases[label]
        return self.labels.index(label)

    def classify(self, value: float) -> int:
        return next((i for i, edge in enumerate(self.edges) if value <= edge), len(self.edges))


_BANDS: Final = (
    _Band("sentence_length", "mean_sentence_words", ("short", "medium", "long"), (8, 15), False),
    _Band(
        "vocabulary_level", "long_word_rate",
        ("simple", "everyday", "educated", "technical/ornate"), (0.05, 0.12, 0.20), True,
        {"technical": 3, "ornate": 3},
    ),
    _Band("swearing", "profanity_rate", ("never", "rare", "frequent"), (0, 0.02), True),
    _Band("slang_level", "slang_rate", ("none", "low", "medium", "high"), (0, 0.02, 0.05), True),
    _Band(
        "accent_strength", "dialect_marker_rate", ("none", "light", "moderate", "strong"),
        (0, 0.03, 0.08), True,
    ),
    _Band("figurative_language", "figurative_rate", ("none", "rare", "frequent"), (0, 0.01), True),
    _Band(
        "directness", "hedge_rate", ("blunt", "direct", "indirect", "evasive"),
        (0.01, 0.03, 0.06), True,
    ),
    _Band("hesitations", "hesitation_rate", ("none", "some", "frequent"), (0, 0.04), True),
)  # fmt: skip


def _describe(band: _Band, prof: VoiceProfile, index: int) -> str:
    value, label = measure(prof, band.metric), band.labels[index]
    if band.counted:
        return f"{label} ({prof.count(band.metric)} in {prof.words} words, {value:.1%})"
    return f"{label} ({value:.1f})"


def _breach_is_real(band: _Band, prof: VoiceProfile, expected: int, observed: int) -> bool:
    above = observed > expected
    edge = band.edges[expected] if above else band.edges[expected - 1]
    value, margin = measure(prof, band.metric), edge * BAND_TOLERANCE
    if (value <= edge + margin) if above else (value >= edge - margin):
        return False
    return not band.counted or _count_breach(prof.count(band.metric), prof.words, edge, above)


def _count_breach(count: int, words: int, edge: float, above: bool) -> bool:
    """Whether ``count`` events in ``words`` words are real evidence of a rate past ``edge``."""
    if (count if above else edge * words) < MIN_EVIDENCE:
        return False
    if edge == 0:
        return True
    z = (count - edge * words) / math.sqrt(words * edge * (1 - edge))
    return abs(z) >= Z_LOCK


def _lock_flag(speaker: str, band: _Band, label: str, prof: VoiceProfile) -> DriftFlag | None:
    expected = band.index(label)
    observed = band.classify(measure(prof, band.metric))
    hard_rule = band.field == "swearing" and label == "never" and prof.count(band.metric) > 0
    if observed == expected:
        return None
    if not hard_rule and not _breach_is_real(band, prof, expected, observed):
        return None
    steps = abs(observed - expected)
    severity: Severity = "High" if hard_rule or steps >= 2 else "Medium"
    seen = _describe(band, prof, observed)
    return DriftFlag(
        speaker=speaker,
        metric=band.metric,
        severity=severity,
        expected=f"{band.field}: {label}",
        observed=seen,
        message=f"{speaker}: voice lock says {band.field.replace('_', ' ')} {label!r}, "
        f"the scene measures {seen}.",
    )


def check_against_lock(speaker: str, prof: VoiceProfile, lock: VoiceExpectation) -> list[DriftFlag]:
    """Measurable contradictions of a voice lock by one character's lines in a scene.

    A breach must leave the expected band by :data:`BAND_TOLERANCE`; for a per-word rate it
    also needs :data:`MIN_EVIDENCE` events (an absence: enough words that the expected band
    would have produced them) and a binomial z of :data:`Z_LOCK` against the band edge.
    One band off is Medium, two or more High; any swearing under ``swearing="never"`` is High.
    Under :data:`MIN_WORDS` words only that hard rule is checked, plus an informational
    ``insufficient_text`` flag.
    """
    small = prof.words < MIN_WORDS
    flags: list[DriftFlag] = []
    for band in _BANDS:
        label = getattr(lock, band.field)
        if label is None or (small and (band.field, label) != ("swearing", "never")):
            continue
        flag = _lock_flag(speaker, band, label, prof)
        if flag:
            flags.append(flag)
    if small:
        flags.append(_insufficient(speaker, f"{prof.words} words", "voice-lock check"))
    return flags


# ── drift against the character's own earlier scenes ───────────────────────────────────────


def _z(current: VoiceProfile, history: VoiceProfile, rate: str) -> float:
    """Two-proportion z statistic of a per-word rate, current against history."""
    hits = current.count(rate) + history.count(rate)
    pooled = hits / (current.words + history.words)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / current.words + 1 / history.words))
    if spread == 0:
        return 0.0
    return (measure(current, rate) - measure(history, rate)) / spread


def _rate_drift(
    speaker: str, current: VoiceProfile, history: VoiceProfile, rate: str
) -> DriftFlag | None:
    z = _z(current, history, rate)
    shift = measure(current, rate) - measure(history, rate)
    if abs(z) < Z_MEDIUM or abs(shift) < MIN_RATE_SHIFT[rate]:
        return None
    before = f"{measure(history, rate):.1%} ({history.count(rate)} in {history.words} words)"
    now = f"{measure(current, rate):.1%} ({current.count(rate)} in {current.words} words)"
    direction = "rises" if shift > 0 else "falls"
    return DriftFlag(
        speaker=speaker,
        metric=rate,
        severity="High" if abs(z) >= Z_HIGH else "Medium",
        expected=before,
        observed=now,
        message=f"{speaker}: {rate.replace('_', ' ')} {direction} from {before} in earlier "
        f"scenes to {now} (z = {z:+.1f}).",
    )


def _sentence_severity(current: VoiceProfile, history: VoiceProfile) -> Severity | None:
    now, before = current.mean_sentence_words, history.mean_sentence_words
    ratio = max(now, before) / max(min(now, before), 1e-9)
    gap = abs(now - before)
    z = math.log(ratio) / (SENTENCE_LOG_SD * error_scale(current.sentences, history.sentences))
    if ratio >= SENTENCE_RATIO_HIGH and gap >= SENTENCE_GAP_HIGH and z >= Z_HIGH:
        return "High"
    if ratio >= SENTENCE_RATIO_MEDIUM and gap >= SENTENCE_GAP_MEDIUM and z >= Z_MEDIUM:
        return "Medium"
    return None


def _sentence_drift(speaker: str, current: VoiceProfile, history: VoiceProfile) -> DriftFlag | None:
    severity = _sentence_severity(current, history)
    if severity is None:
        return None
    now, before = current.mean_sentence_words, history.mean_sentence_words
    direction = "longer" if now > before else "shorter"
    return DriftFlag(
        speaker=speaker,
        metric="mean_sentence_words",
        severity=severity,
        expected=f"{before:.1f} words/sentence",
        observed=f"{now:.1f} words/sentence",
        message=f"{speaker}: sentences {direction} than in earlier scenes "
        f"({before:.1f} -> {now:.1f} words per sentence).",
    )


def _ttr_drift(speaker: str, current: VoiceProfile, history: VoiceProfile) -> DriftFlag | None:
    """Vocabulary variety alone is a weak signal: Low, or Medium for a large shift."""
    now, before = current.type_token_ratio, history.type_token_ratio
    shift = abs(now - before)
    noise = TTR_NOISE * error_scale(current.words, history.words)
    if shift < TTR_SHIFT_MEDIUM or shift < Z_MEDIUM * noise:
        return None
    large = shift >= TTR_SHIFT_HIGH and shift >= Z_HIGH * noise
    direction = "richer" if now > before else "poorer"
    return DriftFlag(
        speaker=speaker,
        metric="type_token_ratio",
        severity="Medium" if large else "Low",
        expected=f"MATTR {before:.2f}",
        observed=f"MATTR {now:.2f}",
        message=f"{speaker}: vocabulary variety {direction} than in earlier scenes "
        f"(MATTR {before:.2f} -> {now:.2f}).",
    )


def check_drift(speaker: str, current: VoiceProfile, history: VoiceProfile) -> list[DriftFlag]:
    """Drift of one character's voice in this scene against their own earlier scenes.

    ``history`` is the profile of their earlier lines. Both samples need :data:`MIN_WORDS`
    words; otherwise the result is one informational ``insufficient_text`` flag. Rates are
    compared with a two-proportion z-test (:data:`Z_MEDIUM`, :data:`Z_HIGH`) and a minimum
    audible shift (:data:`MIN_RATE_SHIFT`); sentence length by ratio and gap; vocabulary
    variety by MATTR shift (Low / Medium only).
    """
    if min(current.words, history.words) < MIN_WORDS:
        sizes = f"this scene {current.words} words, earlier scenes {history.words}"
        return [_insufficient(speaker, sizes, "drift check")]
    candidates = [_sentence_drift(speaker, current, history), _ttr_drift(speaker, current, history)]
    candidates += [_rate_drift(speaker, current, history, rate) for rate in MIN_RATE_SHIFT]
    return [flag for flag in candidates if flag]
