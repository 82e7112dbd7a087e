"""What is counted in a speaker's words: the word lists, word-level features, the tally.

Each feature is a count of events (a long word, a contraction, a hedge, a simile ...) that
:func:`~._stylometry_profile.profile` turns into a rate per word or per sentence; the lists say
what counts, with the common false positives (``what kind of car``, ``I'd like a coffee``)
ruled out next to them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from ._stylometry_thresholds import LONG_WORD_MIN_LETTERS, LONG_WORD_MIN_SYLLABLES, MATTR_WINDOW
from ._stylometry_tokens import (
    DASH_RE,
    ELLIPSIS_RE,
    Sentence,
    is_g_dropped,
    normalise,
    split_sentences,
    word_set,
)

# ── word lists ──────────────────────────────────────────────────────────────────────────────


FUNCTION_WORDS: Final = (
    "the", "a", "an", "and", "but", "or", "if", "so",
    "of", "to", "in", "on", "at", "for", "with", "from", "by", "about", "as", "than",
    "that", "this", "it", "is", "was", "be", "are", "have", "do", "not", "no",
    "will", "would", "can", "could",
    "i", "you", "he", "she", "we", "they", "me", "my", "your",
    "what", "there", "all", "just", "up", "out",
)  # fmt: skip
_FUNCTION_INDEX: Final = {w: i for i, w in enumerate(FUNCTION_WORDS)}

_PROFANITY: Final = word_set(
    "damn damned dammit damnit hell bastard bastards ass asses arse crap crappy piss pissed "
    "pissing bollocks bugger wanker prick pricks cunt twat"
)  # not "bloody", "dick", "cock": too often literal or a name in scripts
_PROFANITY_PREFIXES: Final = (
    "fuck", "motherf", "shit", "bullshit", "horseshit", "goddam", "bitch", "asshole",
    "arsehole", "dickhead", "wank", "cunt", "jackass", "dumbass",
)  # fmt: skip
_SLANG: Final = word_set(
    "yeah yep yup nope nah dude dudes bro bruh bruv awesome legit dope cops cop bucks "
    "freaking frickin friggin screwed busted hella sketchy dodgy stoked psyched bummer kiddo "
    "buddy pal jeez geez gosh heck darn dang bloke blokes quid knackered gutted skint chuffed "
    "telly mate grub booze bonkers wacko gotcha sup wassup homie critter fella feller"
)  # informal words with little literal use ("cool", "chill", "folks" left out)
_DIALECT_WORDS: Final = word_set(
    "ain't y'all yall ya ye yer yous youse gonna wanna gotta gimme lemme dunno outta oughta "
    "hafta innit init aye nae naw och wee lass lassie laddie bairn 'em 'cause 'bout 'til "
    "'round ol' o' an' li'l y'know d'ya whaddya reckon yonder howdy summat owt nowt thee thou "
    "tha dat dem dis dese dere mam"
)
#: Non-standard agreement: "he don't", "we was".
_DIALECT_BIGRAMS: Final = frozenset(
    [(p, "don't") for p in ("he", "she", "it")] + [(p, "was") for p in ("we", "you", "they")]
)
_STANDARD_S_CONTRACTIONS: Final = word_set(
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
_NOUN_KIND_BEFORE: Final = word_set(
    "what this that the a any some every which same different no one"
)
_FILLER_WORDS: Final = word_set("um umm uh uhh uhm er erm hmm mm")
_FILLER_PHRASES: Final = (("you", "know"), ("i", "mean"))
#: "you know" after these is a real question ("do you know where...").
_KNOW_QUESTION_BEFORE: Final = word_set("do did don't didn't if how what would")
#: "like a" after these is the verb ("I'd like a coffee"), not a simile.
_LIKE_VERB_BEFORE: Final = word_set(
    "i you we they i'd you'd we'd they'd he'd she'd would wouldn't do don't did didn't "
    "to i'll you'll we'll they'll should might may could something anything"
)
_SIMILE_DETERMINERS: Final = word_set("a an some")
#: "as soon as", "as far as I know" ... are idioms or literal comparisons, not similes.
_AS_AS_IDIOMS: Final = word_set(
    "soon long well far much many little few often early late fast quickly"
)
_AS_AS_LITERAL_AFTER: Final = word_set(
    "i you he she we they it that this possible ever usual before always can the"
)

_VOWEL_GROUP_RE: Final = re.compile(r"[aeiouy]+")


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
    if word in _DIALECT_WORDS or is_g_dropped(word):
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


def mattr(words: Sequence[str], window: int = MATTR_WINDOW) -> float:
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


class Tally:
    """Running counts over all sentences of one speaker."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.sentences = self.letters = self.long = self.contractions = 0
        self.questions = self.exclamations = self.profanity = self.slang = self.dialect = 0
        self.hedges = self.fillers = self.similes = self.ellipses = self.dashes = 0
        self.function = [0] * len(FUNCTION_WORDS)

    def add_line(self, line: str) -> None:
        """Count one speech: its pause marks, then each of its sentences."""
        text = normalise(line)
        self.ellipses += len(ELLIPSIS_RE.findall(text))
        self.dashes += len(DASH_RE.findall(text))
        for sentence in split_sentences(text):
            self.add_sentence(sentence)

    def add_sentence(self, sentence: Sentence) -> None:
        """Count one sentence: its end mark, hedges, fillers, similes, then each word."""
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
        """Count one word: letters, length, register, and its function words."""
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
