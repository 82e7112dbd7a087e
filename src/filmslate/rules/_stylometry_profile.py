"""A character's measured voice: :class:`VoiceProfile` and :func:`profile`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._stylometry_features import Tally, mattr


@dataclass(frozen=True)
class VoiceProfile:
    """A character's voice measured from their lines.

    ``lines``/``words`` are counts; ``mean_sentence_words`` is words per sentence;
    ``type_token_ratio`` is the moving-average TTR (window :data:`MATTR_WINDOW`);
    ``mean_word_length`` is letters per word. ``question_rate`` and ``exclamation_rate`` are
    shares of sentences; every other ``*_rate`` is events per word (``long_word_rate``:
    words of >= 3 syllables or >= 8 letters; ``dialect_marker_rate``: g-dropping, "ain't",
    "y'all", "gonna", "innit", "aye", "he don't", ...; ``hedge_rate``: "maybe", "I think",
    "kind of", ...; ``filler_rate``: "um", "uh", "you know", "like,"; ``figurative_rate``:
    similes "like a ...", "as cold as ..."; ``ellipsis_rate``/``dash_rate``: pause marks).
    ``function_word_profile`` holds, for each word of :data:`FUNCTION_WORDS` in order, its
    occurrences (contractions expanded) per word.
    """

    lines: int
    words: int
    mean_sentence_words: float
    type_token_ratio: float
    mean_word_length: float
    long_word_rate: float
    contraction_rate: float
    question_rate: float
    exclamation_rate: float
    profanity_rate: float
    slang_rate: float
    dialect_marker_rate: float
    hedge_rate: float
    filler_rate: float
    figurative_rate: float
    ellipsis_rate: float
    dash_rate: float
    function_word_profile: tuple[float, ...]

    @property
    def hesitation_rate(self) -> float:
        """Pauses and fillers per word: ellipses + dashes + fillers."""
        return self.ellipsis_rate + self.dash_rate + self.filler_rate

    @property
    def sentences(self) -> int:
        """Number of sentences (words / mean sentence length)."""
        return round(self.words / self.mean_sentence_words) if self.mean_sentence_words else 0

    def count(self, rate: str) -> int:
        """Events behind a per-word rate (``profile.count("profanity_rate")``)."""
        return round(float(getattr(self, rate)) * self.words)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def profile(lines: Sequence[str]) -> VoiceProfile:
    """Measure a character's voice from their lines of dialogue (one string per speech)."""
    if isinstance(lines, str):  # one speech passed bare: not a sequence of characters
        lines = [lines]
    tally = Tally()
    for line in lines:
        tally.add_line(line)
    n = len(tally.words)
    return VoiceProfile(
        lines=len(lines),
        words=n,
        mean_sentence_words=_share(n, tally.sentences),
        type_token_ratio=mattr(tally.words),
        mean_word_length=_share(tally.letters, n),
        long_word_rate=_share(tally.long, n),
        contraction_rate=_share(tally.contractions, n),
        question_rate=_share(tally.questions, tally.sentences),
        exclamation_rate=_share(tally.exclamations, tally.sentences),
        profanity_rate=_share(tally.profanity, n),
        slang_rate=_share(tally.slang, n),
        dialect_marker_rate=_share(tally.dialect, n),
        hedge_rate=_share(tally.hedges, n),
        filler_rate=_share(tally.fillers, n),
        figurative_rate=_share(tally.similes, n),
        ellipsis_rate=_share(tally.ellipses, n),
        dash_rate=_share(tally.dashes, n),
        function_word_profile=tuple(_share(c, n) for c in tally.function),
    )


def measure(prof: VoiceProfile, metric: str) -> float:
    """One measured value of a profile, by field or property name."""
    return float(getattr(prof, metric))
