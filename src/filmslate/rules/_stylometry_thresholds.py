"""The numbers behind the voice checks, each with the reason for its value.

Shared by the word features (``MATTR_WINDOW``, the long-word cut-offs), the lock and drift
checks and the distance of two voices; ``error_scale`` is the unit most of the statistical bars
are measured in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

#: Fewer words than this and a sample says too little about a voice: drift is not checked and
#: lock checks keep only hard rules (a character locked to never swear, swearing). 25 words is
#: about four or five lines of screen dialogue, and equals MATTR_WINDOW, so every sample that
#: is compared has a full moving-average TTR window.
MIN_WORDS: Final = 25
#: Moving-average type-token ratio window (Covington & McFall 2010). Plain TTR falls as text
#: grows; the mean TTR over fixed 25-word windows does not, so scenes of any length compare.
MATTR_WINDOW: Final = 25
#: Vocabulary-level proxy: a word is "long" with >= 3 syllables or >= 8 letters (the classic
#: readability cut-off for "complex" words, plus a letter cut for Latinate words the syllable
#: heuristic under-counts).
LONG_WORD_MIN_SYLLABLES: Final = 3
LONG_WORD_MIN_LETTERS: Final = 8
#: A band breach is claimed only on at least two events (one "maybe" is not a hedging habit);
#: an absence is claimed only where the expected band would have produced at least two
#: events in this many words. Swearing under a "never" lock is the one hard rule: one is enough.
MIN_EVIDENCE: Final = 2
#: A measured value must leave its expected band by 15 % of the band edge before it counts:
#: the edges are conventions, and a voice sitting on one is not drifting.
BAND_TOLERANCE: Final = 0.15
#: A per-word rate must also be statistically outside its expected band: a one-sample
#: binomial z of the event count against the band edge of at least 1.96 (two-sided 5 %).
#: Scene-sized samples are small (60 words: a 5 % rate has a standard error near 3 %), so
#: without this, ordinary sampling noise would cross band edges.
Z_LOCK: Final = 1.96
#: Drift on per-word rates is a two-proportion z-test, current scene against earlier scenes.
#: 2.58 and 3.29 are the two-sided 1 % and 0.1 % points: with ten rates tested per character
#: and scene, a consistent voice should almost never raise a flag by chance.
Z_MEDIUM: Final = 2.58
Z_HIGH: Final = 3.29
#: ...and the shift must also be large enough to hear (absolute difference in the rate), so a
#: long script does not flag differences no reader would notice.
MIN_RATE_SHIFT: Final[Mapping[str, float]] = {
    "long_word_rate": 0.05,  # one extra long word in twenty
    "contraction_rate": 0.03,  # typical casual speech runs 4-8 %, formal near 0
    "profanity_rate": 0.01,  # one per hundred words
    "slang_rate": 0.02,
    "dialect_marker_rate": 0.03,
    "hedge_rate": 0.01,
    "figurative_rate": 0.01,
    "hesitation_rate": 0.02,
}
#: Mean sentence length drifts when one scene's mean is 1.6x (Medium) or 2.2x (High) the
#: other's and the gap is at least 3 (Medium) or 6 (High) words: one extra clause per sentence
#: is style variation, doubling it is a different cadence.
SENTENCE_RATIO_MEDIUM: Final = 1.6
SENTENCE_RATIO_HIGH: Final = 2.2
SENTENCE_GAP_MEDIUM: Final = 3.0
SENTENCE_GAP_HIGH: Final = 6.0
#: ...and the change must clear Z_MEDIUM / Z_HIGH times its sampling noise: one sentence's
#: log length spreads by about 0.5 in screen dialogue (1-word and 15-word sentences mixed);
#: 0.6 is the cautious end. Five sentences a side cannot show drift short of a 2.7x change.
SENTENCE_LOG_SD: Final = 0.6
#: Moving-average TTR (window 25) of ordinary dialogue sits around 0.85-0.95; a shift of 0.10
#: means a visibly richer or poorer vocabulary (flag Low: variety alone is a weak signal, word
#: choice shows in long_word_rate), 0.18 a different speaker (Medium). The shift must also
#: clear Z_MEDIUM / Z_HIGH times the sampling noise (TTR_NOISE below): at 40 words a side,
#: two halves of one speaker differ by up to 0.12 by chance.
TTR_SHIFT_MEDIUM: Final = 0.10
TTR_SHIFT_HIGH: Final = 0.18
#: Standard error of a MATTR-25 difference per unit of sqrt(1/n1 + 1/n2). Random half-splits
#: of single speakers' dialogue give an RMS of 0.28 and a 99th percentile of 0.76 units;
#: 0.35 puts the Medium bar (2.58 x 0.35 = 0.9 units) above that 99th percentile.
TTR_NOISE: Final = 0.35

#: Metric name of the informational flag returned when a sample is too small to judge.
INSUFFICIENT_TEXT: Final = "insufficient_text"


def error_scale(n_a: float, n_b: float) -> float:
    """sqrt(1/n_a + 1/n_b): how sampling error scales with two sample sizes."""
    return math.sqrt(1 / max(n_a, 1) + 1 / max(n_b, 1))
