"""Who and what action text names: canonical ids, characters in every written form, props.

Props follow the screenwriting convention of a prop's name in ALL CAPS in action; the word
lists below keep screen directions, transitions, emphasis and sound cues out of them. A
character is matched by the longest written form known (``MR. QUILL``, ``Quill``) in CAPS or
in Title case, so a name is never also counted as a prop.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

# ---------------------------------------------------------------------------------------------
# Vocabulary


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_AGE_AFTER_NAME = re.compile(
    r"^\s*(?:\(\s*|,\s*)(?:early\s+|mid-?\s*|late\s+)?\d{1,3}(?:['’]?s)?\b", re.IGNORECASE
)
_LABEL_LINE = re.compile(r"^(?:SUPER|TITLE|TITLE CARD|CHYRON|SUBTITLE|CAPTION|INSERT)\s*:")
_WORD = re.compile(r"[^\W\d_](?:\w|['’-](?=\w))*")
_HONORIFICS = _words(
    "MR MRS MS MISS DR PROF SIR DAME LORD LADY ST REV FR CAPT CAPTAIN SGT LT DET DETECTIVE COL "
    "GEN OFFICER AGENT"
)
_DOTTED_HONORIFICS = _words("MR MRS MS DR PROF ST REV FR CAPT SGT LT DET COL GEN JR SR")
_STOPWORDS = _words(
    "A AN THE HIS HER ITS THEIR MY YOUR OUR THIS THAT THESE THOSE OF AND OR TO IN ON AT WITH FOR "
    "FROM BY SOME"
)
# Screen directions, transitions and emphasis words: written in caps, never props.
_NOT_PROPS = _words(
    """CONTINUED CONT CONTD MORE CUT CUTS FADE FADES DISSOLVE DISSOLVES SMASH MATCH INTERCUT
    MONTAGE FLASHBACK FLASHFORWARD END BEGIN BACK SCENE SUPER TITLE CHYRON INSERT ANGLE POV CLOSE
    CLOSEUP CU ECU MCU WIDE SHOT SHOTS REVERSE PAN PANS TILT TILTS ZOOM ZOOMS DOLLY TRACKING
    OVER BLACK WHITE SLOW MOTION FREEZE FRAME SERIES SPLIT SCREEN VO OS OC INT EXT EST OK OKAY
    DAY NIGHT LATER CONTINUOUS SILENCE NOTHING EVERYTHING NOW NO YES STOP NEVER"""
)
# Sound cues (the convention of capitalising sounds in action).
_SOUNDS = _words(
    """BANG BOOM CRASH CRACK THUD SLAM CLICK BEEP KNOCK WHOOSH SNAP SCREAM GUNSHOT GUNFIRE
    THUNDER THUNDERCLAP SIREN WAIL HONK BUZZ CREAK SHATTER THUMP POP RUMBLE CLANG CLANK HISS
    ROAR HUM SCREECH SPLASH CLATTER BLARE CRACKLE STATIC FOOTSTEP EXPLOSION EXPLODE BLAST THWACK
    WHAM BAM POW ZAP DING CHIME TICK VROOM RATTLE GROWL BARK WHIMPER SOB GASP SHRIEK WHISTLE
    WHIRR WHIR CHIRP BLEEP DRIP SIZZLE SQUEAL SQUEAK THRUM"""
)
# Also objects: the bare word is a prop ("a RING"), only the verb is a sound ("it RINGS").
_SOUND_VERBS = frozenset({"RING", "WHISTLE", "TAP", "CHIME", "BELL", "HORN", "ALARM"})


def _is_sound(word: str) -> bool:
    for suffix in ("", "S", "ES", "ING", "ED", "D"):
        stem = word[: len(word) - len(suffix)]
        if word.endswith(suffix) and (stem in _SOUNDS or (suffix and stem in _SOUND_VERBS)):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Ids and small text helpers


def canonical_id(name: str) -> str:
    """Canonical id of a character or prop: ``"Mrs. Hale"`` -> ``"MRS_HALE"``.

    Accents are folded, periods and apostrophes dropped, any other run of non-alphanumerics
    becomes one underscore.
    """
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).upper()
    folded = re.sub(r"[.'’]", "", folded)
    return re.sub(r"[^A-Z0-9]+", "_", folded).strip("_")


# ---------------------------------------------------------------------------------------------
# Names and props in action text


@dataclass(frozen=True)
class _Token:
    word: str  # uppercase, possessive 'S removed
    start: int
    end: int
    caps: bool
    title: bool
    possessive: bool


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    for match in _WORD.finditer(text):
        raw = match.group()
        possessive = raw.upper().endswith(("'S", "’S"))
        if possessive:
            raw = raw[:-2]
        letters = [c for c in raw if c.isalpha()]
        caps = len(letters) >= 2 and all(c.isupper() for c in letters)
        title = raw[:1].isupper() and any(c.islower() for c in letters)
        found.append(_Token(raw.upper(), match.start(), match.end(), caps, title, possessive))
    return found


def _joined(text: str, left: _Token, right: _Token) -> bool:
    """Are two neighbouring tokens part of one name or noun phrase?"""
    if left.possessive:
        return False
    gap = text[left.end : right.start]
    return not gap.strip() or (gap.strip() == "." and left.word in _DOTTED_HONORIFICS)


class NameBook:
    """Every written form of every known character, longest forms tried first."""

    def __init__(self) -> None:
        # first word -> [(all words, character id)], longest first
        self._forms: dict[str, list[tuple[tuple[str, ...], str]]] = {}

    def add(self, written: str, char_id: str) -> None:
        """Know a character by one written form (and by it without a leading honorific)."""
        words = tuple(w for w in canonical_id(written).split("_") if w)
        self._add_form(words, char_id)
        if len(words) > 1 and words[0] in _HONORIFICS:
            self._add_form(words[1:], char_id)

    def _add_form(self, words: tuple[str, ...], char_id: str) -> None:
        if not words:
            return
        forms = self._forms.setdefault(words[0], [])
        if all(known != words for known, _ in forms):
            forms.append((words, char_id))
            forms.sort(key=lambda form: -len(form[0]))

    def match(self, text: str, tokens: Sequence[_Token], at: int) -> tuple[str, int] | None:
        """(character id, token count) of the longest name starting at token ``at``."""
        for words, char_id in self._forms.get(tokens[at].word, ()):
            span = tokens[at : at + len(words)]
            if len(span) != len(words) or tuple(t.word for t in span) != words:
                continue
            if not (all(t.caps for t in span) or all(t.title for t in span)):
                continue
            if all(_joined(text, a, b) for a, b in pairwise(span)):
                return char_id, len(words)
        return None


def _caps_groups(text: str, tokens: list[_Token]) -> list[list[int]]:
    """Indexes of runs of contiguous ALL-CAPS tokens."""
    groups: list[list[int]] = []
    for i, token in enumerate(tokens):
        if not token.caps:
            continue
        if groups and groups[-1][-1] == i - 1 and _joined(text, tokens[i - 1], token):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _props_in_group(text: str, words: list[str], end: int) -> list[str]:
    if text[end : end + 1] == "!":
        return []  # "BANG!" is a sound cue
    if words[0] in _HONORIFICS:
        return []  # "MR. QUILL" is a person even before he speaks
    parts: list[list[str]] = [[]]
    for word in words:
        if word in _NOT_PROPS or _is_sound(word):
            parts.append([])
        else:
            parts[-1].append(word)
    props: list[str] = []
    for part in parts:
        while part and part[0] in _STOPWORDS:
            part.pop(0)
        while part and part[-1] in _STOPWORDS:
            part.pop()
        prop = canonical_id(" ".join(part))
        if prop:  # a caps word in another script ("ΑΒΓ") has no id: not a prop we can track
            props.append(prop)
    return props


def scan_action(text: str, names: NameBook) -> tuple[list[str], list[str]]:
    """(character ids named, prop ids in caps) in one action paragraph, in order."""
    tokens = _tokens(text)
    named: dict[int, str] = {}
    at = 0
    while at < len(tokens):
        hit = names.match(text, tokens, at)
        if hit:
            for k in range(at, at + hit[1]):
                named[k] = hit[0]
            at += hit[1]
        else:
            at += 1
    props: list[str] = []
    emphasis_only = not any(c.islower() for c in text)
    if not emphasis_only and not _LABEL_LINE.match(text):
        for group in _caps_groups(text, tokens):
            if any(i in named for i in group):
                continue  # "NELL ADAIR (34)": the whole run is the character
            props += _props_in_group(text, [tokens[i].word for i in group], tokens[group[-1]].end)
    return list(dict.fromkeys(named[k] for k in sorted(named))), props


def introduced_extras(paragraphs: Iterable[str], names: NameBook) -> list[tuple[str, str]]:
    """Non-speaking characters introduced the conventional way: ``"OLD FISHERMAN (70s)"``."""
    extras: list[tuple[str, str]] = []
    for text in paragraphs:
        tokens = _tokens(text)
        for group in _caps_groups(text, tokens):
            end = tokens[group[-1]].end
            if tokens[group[-1]].possessive or not _AGE_AFTER_NAME.match(text[end:]):
                continue
            if any(names.match(text, tokens, i) for i in group):
                continue
            words = [tokens[i].word for i in group]
            while words and words[0] in _STOPWORDS:
                words.pop(0)
            if words and canonical_id(" ".join(words)):  # an id needs a Latin letter
                extras.append((" ".join(words), canonical_id(" ".join(words))))
    return extras
