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
to demand real evidence (see :data:`MIN_EVIDENCE`).

Tokenisation (a small regex splitter, :func:`split_sentences` and :func:`words_of`):

- curly apostrophes (’ ‘ ʼ) become straight ones; contractions stay one word (``don't``);
- a leading apostrophe is kept only for known elisions (``'em``, ``'cause``), a trailing one
  only for g-dropping (``runnin'``) and a few elisions (``ol'``, ``o'``); anything else is a
  quotation mark and is stripped;
- hyphenated compounds, decimals and initialisms are one word (``well-known``, ``3.5``,
  ``U.S``); numbers are words;
- a sentence ends at ``.``, ``!`` or ``?`` followed by space or end of line, and at the end of
  every line; an ellipsis (``...``, ``. . .``, ``…``) or a dash never ends a sentence (both
  are counted as pauses); titles (``Mr.``, ``Dr.``, ...) and dotted initialisms (``U.S.``,
  ``e.g.``, ``a.m.``) do not end one either.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

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

Severity = Literal["Low", "Medium", "High"]

# ── thresholds ──────────────────────────────────────────────────────────────────────────────

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

# ── word lists ──────────────────────────────────────────────────────────────────────────────


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


FUNCTION_WORDS: Final = (
    "the", "a", "an", "and", "but", "or", "if", "so",
    "of", "to", "in", "on", "at", "for", "with", "from", "by", "about", "as", "than",
    "that", "this", "it", "is", "was", "be", "are", "have", "do", "not", "no",
    "will", "would", "can", "could",
    "i", "you", "he", "she", "we", "they", "me", "my", "your",
    "what", "there", "all", "just", "up", "out",
)  # fmt: skip
_FUNCTION_INDEX: Final = {w: i for i, w in enumerate(FUNCTION_WORDS)}

_PROFANITY: Final = _word_set(
    "damn damned dammit damnit hell bastard bastards ass asses arse crap crappy piss pissed "
    "pissing bollocks bugger wanker prick pricks cunt twat"
)  # not "bloody", "dick", "cock": too often literal or a name in scripts
_PROFANITY_PREFIXES: Final = (
    "fuck", "motherf", "shit", "bullshit", "horseshit", "goddam", "bitch", "asshole",
    "arsehole", "dickhead", "wank", "cunt", "jackass", "dumbass",
)  # fmt: skip
_SLANG: Final = _word_set(
    "yeah yep yup nope nah dude dudes bro bruh bruv awesome legit dope cops cop bucks "
    "freaking frickin friggin screwed busted hella sketchy dodgy stoked psyched bummer kiddo "
    "buddy pal jeez geez gosh heck darn dang bloke blokes quid knackered gutted skint chuffed "
    "telly mate grub booze bonkers wacko gotcha sup wassup homie critter fella feller"
)  # informal words with little literal use ("cool", "chill", "folks" left out)
_DIALECT_WORDS: Final = _word_set(
    "ain't y'all yall ya ye yer yous youse gonna wanna gotta gimme lemme dunno outta oughta "
    "hafta innit init aye nae naw och wee lass lassie laddie bairn 'em 'cause 'bout 'til "
    "'round ol' o' an' li'l y'know d'ya whaddya reckon yonder howdy summat owt nowt thee thou "
    "tha dat dem dis dese dere mam"
)
#: Non-standard agreement: "he don't", "we was".
_DIALECT_BIGRAMS: Final = frozenset(
    [(p, "don't") for p in ("he", "she", "it")] + [(p, "was") for p in ("we", "you", "they")]
)
_LEADING_ELISIONS: Final = _word_set("'em 'cause 'bout 'til 'round 'n")
_TRAILING_ELISIONS: Final = _word_set("ol' o' an' th' li'l")
_STANDARD_S_CONTRACTIONS: Final = _word_set(
    "it's that's he's she's what's there's here's who's where's how's let's"
)
_CONTRACTION_SUFFIXES: Final = ("n't", "'m", "'re", "'ve", "'ll", "'d")

_HEDGES: Final = (
    ("maybe",), ("perhaps",), ("possibly",), ("probably",), ("presumably",), ("apparently",),
    ("seemingly",), ("somewhat",), ("arguably",), ("might",), ("kinda",), ("sorta",),
    ("i", "think"), ("i", "guess"), ("i", "suppose"), ("i", "believe"), ("i", "suspect"),
    ("not", "sure"), ("it", "seems"), ("seems",), ("could", "be"),
    ("sort", "of"), ("kind", "of"),
)  # fmt: skip
_HEDGES_BY_FIRST_WORD: Final = {
    first: tuple(h for h in _HEDGES if h[0] == first) for first in {h[0] for h in _HEDGES}
}
#: "kind of"/"sort of" after these is the noun ("what kind of car"), not a hedge.
_NOUN_KIND_BEFORE: Final = _word_set(
    "what this that the a any some every which same different no one"
)
_FILLER_WORDS: Final = _word_set("um umm uh uhh uhm er erm hmm mm")
_FILLER_PHRASES: Final = (("you", "know"), ("i", "mean"))
#: "you know" after these is a real question ("do you know where...").
_KNOW_QUESTION_BEFORE: Final = _word_set("do did don't didn't if how what would")
#: "like a" after these is the verb ("I'd like a coffee"), not a simile.
_LIKE_VERB_BEFORE: Final = _word_set(
    "i you we they i'd you'd we'd they'd he'd she'd would wouldn't do don't did didn't "
    "to i'll you'll we'll they'll should might may could something anything"
)
_SIMILE_DETERMINERS: Final = _word_set("a an some")
#: "as soon as", "as far as I know" ... are idioms or literal comparisons, not similes.
_AS_AS_IDIOMS: Final = _word_set(
    "soon long well far much many little few often early late fast quickly"
)
_AS_AS_LITERAL_AFTER: Final = _word_set(
    "i you he she we they it that this possible ever usual before always can the"
)

# ── tokenisation ────────────────────────────────────────────────────────────────────────────

_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_ELLIPSIS_RE: Final = re.compile(r"\.(?:[ \t]?\.){2,}|\u2026")
_DASH_RE: Final = re.compile(r"-{2,}|[\u2013\u2014\u2015]|(?<=[\s\w])-(?=\s|$)")
_PROTECTED_DOT: Final = "\ue000"  # private-use char: not a letter, not a terminator
_ABBREVIATION_RE: Final = re.compile(
    r"\b(?:Mrs|Mr|Ms|Mx|Dr|Prof|St|Jr|Sr|Mt|Capt|Col|Gen|Lt|Sgt|Rev|Det|Insp|Fr)\."
    r"|\b(?:vs|approx)\."
    r"|\b(?:[A-Za-z]\.){2,}"
)
_TERMINATOR_RE: Final = re.compile(r"[.!?]+[\"'\u201d)\]]*(?=\s|$)")
_WORD_RE: Final = re.compile(r"'?[^\W_]+(?:[-'.\ue000][^\W_]+)*'?")
_VOWEL_GROUP_RE: Final = re.compile(r"[aeiouy]+")


class Sentence(NamedTuple):
    """One sentence: lowercased words, indices of words followed by a comma, end mark."""

    words: tuple[str, ...]
    comma_after: frozenset[int]
    end: str


def _normalise(line: str) -> str:
    return line.translate(_APOSTROPHES)


def _protect(text: str) -> str:
    text = _ELLIPSIS_RE.sub("\u2026", text)
    return _ABBREVIATION_RE.sub(lambda m: m.group().replace(".", _PROTECTED_DOT), text)


def _clean_token(raw: str) -> str:
    token = raw.lower().replace(_PROTECTED_DOT, ".")
    if token.startswith("'") and token.rstrip("'") not in _LEADING_ELISIONS:
        token = token[1:]
    if token.endswith("'") and not _is_g_dropped(token) and token not in _TRAILING_ELISIONS:
        token = token[:-1]
    return token


def _is_g_dropped(token: str) -> bool:
    return len(token) >= 5 and token.endswith("in'")


def _sentence_of(text: str, end: str) -> Sentence | None:
    words: list[str] = []
    commas: set[int] = set()
    for match in _WORD_RE.finditer(text):
        words.append(_clean_token(match.group()))
        if text[match.end() : match.end() + 1] == ",":
            commas.add(len(words) - 1)
    return Sentence(tuple(words), frozenset(commas), end) if words else None


def split_sentences(line: str) -> list[Sentence]:
    """Split one line of dialogue into sentences of lowercased words (rules: module doc)."""
    text = _protect(_normalise(line))
    sentences: list[Sentence | None] = []
    start = 0
    for match in _TERMINATOR_RE.finditer(text):
        sentences.append(_sentence_of(text[start : match.start()], match.group()))
        start = match.end()
    sentences.append(_sentence_of(text[start:], ""))
    return [s for s in sentences if s is not None]


def words_of(line: str) -> list[str]:
    """The lowercased words of one line, as :func:`profile` counts them."""
    return [w for s in split_sentences(line) for w in s.words]


# ── word-level features ─────────────────────────────────────────────────────────────────────


def _letters(token: str) -> str:
    return "".join(ch for ch in token if ch.isalpha())


def syllables(word: str) -> int:
    """Heuristic English syllable count: vowel groups, minus silent final -e/-es/-ed."""
    letters = _letters(word).lower()
    count = len(_VOWEL_GROUP_RE.findall(letters))
    if count > 1 and (
        (letters.endswith("e") and not letters.endswith("le"))
        or (letters.endswith("es") and letters[-3:-2] not in ("s", "x", "z", "c", "g"))
        or (letters.endswith("ed") and letters[-3:-2] not in ("t", "d"))
    ):
        count -= 1
    return max(count, 1) if letters else 0


def _is_long(word: str) -> bool:
    letters = _letters(word)
    return len(letters) >= LONG_WORD_MIN_LETTERS or syllables(letters) >= LONG_WORD_MIN_SYLLABLES


def _is_contraction(word: str) -> bool:
    return word.endswith(_CONTRACTION_SUFFIXES) or word in _STANDARD_S_CONTRACTIONS


def _is_profane(word: str) -> bool:
    return word in _PROFANITY or word.startswith(_PROFANITY_PREFIXES)


def _is_dialect(words: tuple[str, ...], i: int) -> bool:
    word = words[i]
    if word in _DIALECT_WORDS or _is_g_dropped(word):
        return True
    if len(word) > 4 and word.endswith("nae"):  # Scots: cannae, didnae, wouldnae
        return True
    return i > 0 and (words[i - 1], word) in _DIALECT_BIGRAMS


def _expand(word: str) -> tuple[str, ...]:
    """Contractions as their full words, so function-word counts ignore contraction habit."""
    special = {"can't": ("can", "not"), "won't": ("will", "not"), "ain't": ("not",)}
    if word in special:
        return special[word]
    if word.endswith("n't"):
        return (word[:-3], "not")
    suffixes = {"'m": "am", "'re": "are", "'ve": "have", "'ll": "will", "'d": "would"}
    for suffix, full in suffixes.items():
        if word.endswith(suffix):
            return (word[: -len(suffix)], full)
    if word in _STANDARD_S_CONTRACTIONS:
        return (word[:-2], "us" if word == "let's" else "is")
    return (word,)


def _phrase_at(words: tuple[str, ...], i: int, phrase: tuple[str, ...]) -> bool:
    return words[i : i + len(phrase)] == phrase


def _count_hedges(words: tuple[str, ...]) -> int:
    count = 0
    for i, word in enumerate(words):
        for phrase in _HEDGES_BY_FIRST_WORD.get(word, ()):
            if not _phrase_at(words, i, phrase):
                continue
            if phrase[0] in ("kind", "sort") and i > 0 and words[i - 1] in _NOUN_KIND_BEFORE:
                continue
            if phrase == ("seems",) and i > 0 and words[i - 1] == "it":
                continue  # already counted as "it seems"
            count += 1
    return count


def _count_fillers(sentence: Sentence) -> int:
    words = sentence.words
    count = 0
    for i, word in enumerate(words):
        if word in _FILLER_WORDS or (word == "like" and i in sentence.comma_after):
            count += 1
        elif any(_phrase_at(words, i, p) for p in _FILLER_PHRASES):
            count += not (i > 0 and words[i - 1] in _KNOW_QUESTION_BEFORE)
    return count


def _count_similes(words: tuple[str, ...]) -> int:
    count = 0
    for i, word in enumerate(words[:-1]):
        before = words[i - 1] if i > 0 else ""
        if word == "like" and words[i + 1] in _SIMILE_DETERMINERS:
            count += before not in _LIKE_VERB_BEFORE
        elif word == "as" and words[i + 2 : i + 3] == ("as",):
            after = words[i + 3] if i + 3 < len(words) else ""
            count += words[i + 1] not in _AS_AS_IDIOMS and after not in _AS_AS_LITERAL_AFTER
    return count


def _mattr(words: Sequence[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio; plain TTR when the text is shorter than the window."""
    if len(words) <= window:
        return len(set(words)) / len(words) if words else 0.0
    counts: dict[str, int] = {}
    for word in words[:window]:
        counts[word] = counts.get(word, 0) + 1
    total = len(counts)
    for i in range(window, len(words)):
        leaving, entering = words[i - window], words[i]
        counts[leaving] -= 1
        if counts[leaving] == 0:
            del counts[leaving]
        counts[entering] = counts.get(entering, 0) + 1
        total += len(counts)
    return total / ((len(words) - window + 1) * window)


# ── profile ─────────────────────────────────────────────────────────────────────────────────


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


class _Tally:
    """Running counts over all sentences of one speaker."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.sentences = self.letters = self.long = self.contractions = 0
        self.questions = self.exclamations = self.profanity = self.slang = self.dialect = 0
        self.hedges = self.fillers = self.similes = self.ellipses = self.dashes = 0
        self.function = [0] * len(FUNCTION_WORDS)

    def add_line(self, line: str) -> None:
        text = _normalise(line)
        self.ellipses += len(_ELLIPSIS_RE.findall(text))
        self.dashes += len(_DASH_RE.findall(text))
        for sentence in split_sentences(text):
            self.add_sentence(sentence)

    def add_sentence(self, sentence: Sentence) -> None:
        words = sentence.words
        self.sentences += 1
        self.questions += "?" in sentence.end
        self.exclamations += "!" in sentence.end
        self.hedges += _count_hedges(words)
        self.fillers += _count_fillers(sentence)
        self.similes += _count_similes(words)
        for i, word in enumerate(words):
            self.add_word(word)
            self.dialect += _is_dialect(words, i)

    def add_word(self, word: str) -> None:
        self.words.append(word)
        self.letters += len(_letters(word))
        self.long += _is_long(word)
        self.contractions += _is_contraction(word)
        self.profanity += _is_profane(word)
        self.slang += word in _SLANG
        for part in _expand(word):
            index = _FUNCTION_INDEX.get(part)
            if index is not None:
                self.function[index] += 1


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def profile(lines: Sequence[str]) -> VoiceProfile:
    """Measure a character's voice from their lines of dialogue (one string per speech)."""
    if isinstance(lines, str):  # one speech passed bare: not a sequence of characters
        lines = [lines]
    tally = _Tally()
    for line in lines:
        tally.add_line(line)
    n = len(tally.words)
    return VoiceProfile(
        lines=len(lines),
        words=n,
        mean_sentence_words=_share(n, tally.sentences),
        type_token_ratio=_mattr(tally.words),
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


def _value(prof: VoiceProfile, metric: str) -> float:
    return float(getattr(prof, metric))


def _describe(band: _Band, prof: VoiceProfile, index: int) -> str:
    value, label = _value(prof, band.metric), band.labels[index]
    if band.counted:
        return f"{label} ({prof.count(band.metric)} in {prof.words} words, {value:.1%})"
    return f"{label} ({value:.1f})"


def _breach_is_real(band: _Band, prof: VoiceProfile, expected: int, observed: int) -> bool:
    above = observed > expected
    edge = band.edges[expected] if above else band.edges[expected - 1]
    value, margin = _value(prof, band.metric), edge * BAND_TOLERANCE
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
    observed = band.classify(_value(prof, band.metric))
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
    return (_value(current, rate) - _value(history, rate)) / spread


def _rate_drift(
    speaker: str, current: VoiceProfile, history: VoiceProfile, rate: str
) -> DriftFlag | None:
    z = _z(current, history, rate)
    shift = _value(current, rate) - _value(history, rate)
    if abs(z) < Z_MEDIUM or abs(shift) < MIN_RATE_SHIFT[rate]:
        return None
    before = f"{_value(history, rate):.1%} ({history.count(rate)} in {history.words} words)"
    now = f"{_value(current, rate):.1%} ({current.count(rate)} in {current.words} words)"
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
    z = math.log(ratio) / (SENTENCE_LOG_SD * _spread(current.sentences, history.sentences))
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
    noise = TTR_NOISE * _spread(current.words, history.words)
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


# ── distinctiveness ─────────────────────────────────────────────────────────────────────────

#: Noise model for comparing two samples. A scene gives a speaker 20-80 words, so sampling
#: noise is of the same size as real differences; each difference is therefore measured in
#: units of hypot(scale, NOISE_WEIGHT x standard error), where scale is the difference a reader
#: clearly notices and the standard error is what two samples of one voice would differ by.
NOISE_WEIGHT: Final = 1.0
#: Spread of one word's length in letters (English: about 2.5).
WORD_LENGTH_SD: Final = 2.5
#: Function words: total-variation distance between two samples of the *same* speaker runs
#: about 1.4 x sqrt(1/n1 + 1/n2) (0.25 at 40 words each), so only the excess counts, in units
#: of 0.1. Function words tell speakers apart only with hundreds of words; at scene size this
#: term is mostly zero, by design.
FUNCTION_WORD_NOISE: Final = 1.4
FUNCTION_WORD_SCALE: Final = 0.1
#: A feature difference counts at most 3 units, so one extreme feature (a dialect, say) cannot
#: on its own push a voice past 4.
FEATURE_CAP: Final = 3.0
#: Score from the distance to the *nearest* other speaker (root mean square of the 15 gaps):
#: < 0.5 -> 1 (indistinguishable), < 0.65 -> 2 (barely apart), < 0.9 -> 3 (the SPEC minimum:
#: distinct on a few clear features), < 1.2 -> 4, otherwise 5 (distinct on many).
#: Calibration, random half-splits of single speakers' lines (20-60 words a side): median
#: 0.39, 7 % at or above 0.55, 1 % at or above 0.65, so one voice split in two scores 1 or 2
#: and reaches 3 about once in a hundred. Pairs of different characters: a hesitant hedger
#: against a terse cop 0.68, two standard-English speakers apart only by swearing 0.75, plain
#: against rural dialect 1.0-1.1, terse against florid or academic 1.4 or more.
DISTINCTIVENESS_EDGES: Final = (0.5, 0.65, 0.9, 1.2)

_WORD_RATES: Final = (
    "long_word_rate", "contraction_rate", "profanity_rate", "slang_rate",
    "dialect_marker_rate", "hedge_rate", "filler_rate", "figurative_rate", "pause_rate",
)  # fmt: skip
#: The difference a reader clearly notices, per feature (one unit of distance).
_SCALES: Final[Mapping[str, float]] = {
    "sentence_log": 0.35,  # about 1.4x longer or shorter sentences
    "type_token_ratio": 0.08,
    "mean_word_length": 0.4,
    "long_word_rate": 0.06,
    "contraction_rate": 0.04,
    "profanity_rate": 0.02,
    "slang_rate": 0.02,
    "dialect_marker_rate": 0.03,
    "hedge_rate": 0.015,
    "filler_rate": 0.02,
    "figurative_rate": 0.01,
    "pause_rate": 0.02,  # ellipses + dashes
    "question_rate": 0.3,
    "exclamation_rate": 0.3,
}


def _spread(n_a: float, n_b: float) -> float:
    """sqrt(1/n_a + 1/n_b): how sampling error scales with two sample sizes."""
    return math.sqrt(1 / max(n_a, 1) + 1 / max(n_b, 1))


def _gap(difference: float, scale: float, noise: float) -> float:
    return min(abs(difference) / math.hypot(scale, NOISE_WEIGHT * noise), FEATURE_CAP)


def _rate(prof: VoiceProfile, name: str) -> float:
    return prof.ellipsis_rate + prof.dash_rate if name == "pause_rate" else _value(prof, name)


def _share_gap(p_a: float, p_b: float, n_a: float, n_b: float, scale: float) -> float:
    pooled = (p_a * n_a + p_b * n_b) / max(n_a + n_b, 1)
    noise = math.sqrt(pooled * (1 - pooled)) * _spread(n_a, n_b)
    return _gap(p_a - p_b, scale, noise)


def _feature_gaps(a: VoiceProfile, b: VoiceProfile) -> list[float]:
    words, sentences = _spread(a.words, b.words), _spread(a.sentences, b.sentences)
    cadence = math.log1p(a.mean_sentence_words) - math.log1p(b.mean_sentence_words)
    gaps = [
        _gap(cadence, _SCALES["sentence_log"], SENTENCE_LOG_SD * sentences),
        _gap(a.type_token_ratio - b.type_token_ratio, _SCALES["type_token_ratio"],
             TTR_NOISE * words),
        _gap(a.mean_word_length - b.mean_word_length, _SCALES["mean_word_length"],
             WORD_LENGTH_SD * words),
    ]  # fmt: skip
    for name in _WORD_RATES:
        gaps.append(_share_gap(_rate(a, name), _rate(b, name), a.words, b.words, _SCALES[name]))
    for name in ("question_rate", "exclamation_rate"):
        gaps.append(
            _share_gap(_value(a, name), _value(b, name), a.sentences, b.sentences, _SCALES[name])
        )
    return gaps


def _function_word_gap(a: VoiceProfile, b: VoiceProfile) -> float:
    fw_a, fw_b = np.array(a.function_word_profile), np.array(b.function_word_profile)
    distance = 0.5 * float(np.abs(fw_a - fw_b).sum())
    excess = distance - FUNCTION_WORD_NOISE * _spread(a.words, b.words)
    return min(max(excess, 0.0) / FUNCTION_WORD_SCALE, FEATURE_CAP)


def voice_distance(a: VoiceProfile, b: VoiceProfile) -> float:
    """Noise-aware distance of two voices: about 0.3 for one voice, 1 or more for two."""
    gaps: npt.NDArray[np.float64] = np.array(
        [*_feature_gaps(a, b), _function_word_gap(a, b)], dtype=np.float64
    )
    return float(np.sqrt(np.mean(gaps**2)))


def distinctiveness(profiles: Mapping[str, VoiceProfile]) -> dict[str, int]:
    """Distinctiveness 1-5 of every speaker in one scene (5: unlike everyone else).

    A speaker's score comes from :func:`voice_distance` to the nearest other speaker, banded
    by :data:`DISTINCTIVENESS_EDGES`: 1 indistinguishable from someone, 2 barely apart,
    3 distinct on a few clear features (the SPEC minimum), 4 clearly distinct, 5 distinct on
    many features. A lone speaker scores 5. Pairwise, so quadratic in the number of speakers
    of a scene (a handful) and linear in text.
    """
    scores: dict[str, int] = {}
    for name, prof in profiles.items():
        others = [voice_distance(prof, other) for n, other in profiles.items() if n != name]
        nearest = min(others, default=math.inf)
        scores[name] = 1 + sum(nearest >= edge for edge in DISTINCTIVENESS_EDGES)
    return scores
