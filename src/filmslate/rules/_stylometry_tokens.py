"""Dialogue into sentences and words: the tokeniser every voice measure counts with.

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

import re
from typing import Final, NamedTuple


def word_set(words: str) -> frozenset[str]:
    """A word list written as one space-separated string."""
    return frozenset(words.split())


_LEADING_ELISIONS: Final = word_set("'em 'cause 'bout 'til 'round 'n")
_TRAILING_ELISIONS: Final = word_set("ol' o' an' th' li'l")

_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
ELLIPSIS_RE: Final = re.compile(r"\.(?:[ \t]?\.){2,}|\u2026")
DASH_RE: Final = re.compile(r"-{2,}|[\u2013\u2014\u2015]|(?<=[\s\w])-(?=\s|$)")
_PROTECTED_DOT: Final = "\ue000"  # private-use char: not a letter, not a terminator
_ABBREVIATION_RE: Final = re.compile(
    r"\b(?:Mrs|Mr|Ms|Mx|Dr|Prof|St|Jr|Sr|Mt|Capt|Col|Gen|Lt|Sgt|Rev|Det|Insp|Fr)\."
    r"|\b(?:vs|approx)\."
    r"|\b(?:[A-Za-z]\.){2,}"
)
_TERMINATOR_RE: Final = re.compile(r"[.!?]+[\"'\u201d)\]]*(?=\s|$)")
_WORD_RE: Final = re.compile(r"'?[^\W_]+(?:[-'.\ue000][^\W_]+)*'?")


class Sentence(NamedTuple):
    """One sentence: lowercased words, indices of words followed by a comma, end mark."""

    words: tuple[str, ...]
    comma_after: frozenset[int]
    end: str


def normalise(line: str) -> str:
    """Curly apostrophes as straight ones, so contractions match the word lists."""
    return line.translate(_APOSTROPHES)


def _protect(text: str) -> str:
    text = ELLIPSIS_RE.sub("\u2026", text)
    return _ABBREVIATION_RE.sub(lambda m: m.group().replace(".", _PROTECTED_DOT), text)


def _clean_token(raw: str) -> str:
    token = raw.lower().replace(_PROTECTED_DOT, ".")
    if token.startswith("'") and token.rstrip("'") not in _LEADING_ELISIONS:
        token = token[1:]
    if token.endswith("'") and not is_g_dropped(token) and token not in _TRAILING_ELISIONS:
        token = token[:-1]
    return token


def is_g_dropped(token: str) -> bool:
    """A dropped final g written with an apostrophe: ``runnin'``."""
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
    text = _protect(normalise(line))
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
