"""Who and what action text names: canonical ids, characters in every written form, props.

A character is matched by the longest written form known: a cue, an alias, a full name
introduced in CAPS with an age (``NELL OKAFOR (34)``), or one part of a personal name that
names nobody else (``Okafor``, ``Ms. Okafor``, ``NELL``), in CAPS, Title or mixed case. Names
are matched first, so a name is never also counted as a prop. Props follow the convention of a
prop's name in ALL CAPS in action; ``_fountain_props`` keeps screen directions, sounds, verbs
and emphasis out of them, and what remains is a candidate for script-breakdown to confirm.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ._fountain_props import DETERMINERS, SUBJECTS, not_a_thing

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
# Words of a descriptive name ("OLD MAN", "GUARD 2"): such a name is not split into parts.
_ROLE_WORDS = _words(
    """OLD YOUNG LITTLE BIG TALL SHORT FAT THIN MAN MEN WOMAN WOMEN BOY GIRL KID CHILD GUY LADY
    GENTLEMAN GUARD GUARDS COP COPS OFFICER POLICE SOLDIER DOCTOR NURSE DRIVER WAITER WAITRESS
    BARTENDER CLERK PRIEST VOICE VOICES CROWD RADIO PHONE TV ANNOUNCER NARRATOR REPORTER
    STRANGER FIRST SECOND THIRD HEAD CHIEF BOSS KEEPER FISHERMAN SAILOR AGENT DETECTIVE
    SERGEANT NEIGHBOUR NEIGHBOR FRIEND MOTHER FATHER MOM MUM DAD SISTER BROTHER AUNT UNCLE
    GRANDMA GRANDPA WIFE HUSBAND BABY TEEN TEENAGER STUDENT TEACHER NEWS ANCHOR HOST ATTENDANT
    PILOT WORKER MANAGER OWNER CUSTOMER CASHIER VENDOR PASSENGER TOURIST GUEST JUDGE LAWYER
    ASSISTANT TECHNICIAN MECHANIC FARMER CHEF COOK MAID BUTLER KING QUEEN PRINCE PRINCESS
    CALLER LEADER PRESENTER SHOPKEEPER LANDLORD LANDLADY PATIENT PRISONER INMATE"""
)


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


# a nickname quoted inside a name introduced in caps: MARGARET "MAGGIE" OKAFOR (60s)
_NICKNAME = re.compile(r"(?<=[A-Z])(\s+)[\"“]([A-Z][A-Z'’-]*)[\"”](?=\s+[A-Z]{2})")


def _unquoted(text: str) -> str:
    """``text`` with the quotes of a caps nickname blanked (same length, so every position
    holds), so the full name around it is one run of caps words."""
    return _NICKNAME.sub(lambda m: f"{m.group(1)} {m.group(2)} ", text)


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
    """Every written form of every known character, longest forms tried first.

    A form is a whole name (``MR. QUILL``, ``NELL OKAFOR``) or, for a personal name, one of
    its parts (``QUILL``, ``OKAFOR``, ``NELL``). A part is known only when it names one
    character (``ADAIR`` shared by ``NELL ADAIR`` and ``JONAH ADAIR`` names neither) and no
    whole name is written that way; a descriptive name (``OLD MAN``, ``GUARD 2``) has no parts.
    Forms are matched in CAPS, Title or mixed case (``NELL``, ``Nell``, ``McKay``), never in
    lowercase: ``will`` and ``rose`` are words, ``Will`` and ``Rose`` are names.
    """

    def __init__(self) -> None:
        # first word -> [(all words, character id)], longest first
        self._forms: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._parts: dict[str, set[str]] = {}  # a part -> the ids it could name

    def add(self, written: str, char_id: str) -> None:
        """Know a character by one written form (and by it without a leading honorific); the
        words of a personal name may name it alone once :meth:`finish` found them unique."""
        words = tuple(w for w in canonical_id(written).split("_") if w)
        self._add_form(words, char_id)
        if len(words) > 1 and words[0] in _HONORIFICS:
            words = words[1:]
            self._add_form(words, char_id)
        if len(words) > 1 and not any(_not_personal(w) for w in words):
            for word in words:
                if len(word) > 2:  # initials ("J.R.") name nobody alone
                    self._parts.setdefault(word, set()).add(char_id)

    def finish(self) -> None:
        """Add every part that names exactly one character (whole names written so win)."""
        for word, ids in self._parts.items():
            if len(ids) == 1:
                self._add_form((word,), next(iter(ids)))
        self._parts = {}

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
            if not all(t.caps or t.title for t in span):
                continue
            if all(_joined(text, a, b) for a, b in pairwise(span)):
                return char_id, len(words)
        return None


def _not_personal(word: str) -> bool:
    return word in _ROLE_WORDS or word in _STOPWORDS or any(c.isdigit() for c in word)


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


def _before(text: str, tokens: Sequence[_Token], at: int) -> _Token | None:
    """The token right before token ``at`` when only spaces part them."""
    if at == 0 or text[tokens[at - 1].end : tokens[at].start].strip():
        return None
    return tokens[at - 1]


def _owner(text: str, tokens: Sequence[_Token], last: int) -> bool:
    """Is token ``last`` a possessive right before another caps word (``MOTHER'S RING``)?"""
    after = last + 1
    if after >= len(tokens) or not tokens[last].possessive or not tokens[after].caps:
        return False
    return _before(text, tokens, after) is not None


def _props_in_group(
    text: str, tokens: Sequence[_Token], group: list[int], named: Mapping[int, str]
) -> list[str]:
    """The prop candidates in one run of caps words (see ``_fountain_props``)."""
    if text[tokens[group[-1]].end : tokens[group[-1]].end + 1] == "!":
        return []  # "BANG!", "DEAD!": a sound or a shout
    words = [tokens[i].word for i in group]
    if words[0] in _HONORIFICS:
        return []  # "MR. QUILL" is a person even before he speaks
    before = _before(text, tokens, group[0])
    determined = subject = False
    previous = ""
    if before is not None:
        determined = before.possessive or before.word in DETERMINERS
        named_before = before.word in SUBJECTS or group[0] - 1 in named
        subject = not before.possessive and named_before
        previous = before.word
    parts: list[list[str]] = [[]]
    for k, word in enumerate(words):
        if not_a_thing(
            word,
            determined=determined,
            after_subject=subject and k == 0,
            repeated=word in (previous, words[k + 1] if k + 1 < len(words) else ""),
            modifies=k + 1 < len(words),
        ):
            parts.append([])
        else:
            parts[-1].append(word)
        determined = determined or word in DETERMINERS
        previous = word
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
    """(character ids named, prop candidates in caps) in one action paragraph, in order."""
    text = _unquoted(text)
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
            if _owner(text, tokens, group[-1]):
                continue  # "her MOTHER'S RING": the ring is the thing, not its owner
            props += _props_in_group(text, tokens, group, named)
    return list(dict.fromkeys(named[k] for k in sorted(named))), props


def introduced(paragraphs: Iterable[str], names: NameBook) -> list[tuple[str, str, bool]]:
    """Characters introduced the conventional way, in CAPS with an age: ``(written, id,
    known)``. ``NELL OKAFOR (34)`` where ``NELL`` is known is her full name (``known``);
    ``OLD FISHERMAN (70s)`` is a new, non-speaking character."""
    found: list[tuple[str, str, bool]] = []
    for paragraph in paragraphs:
        text = _unquoted(paragraph)
        tokens = _tokens(text)
        for group in _caps_groups(text, tokens):
            end = tokens[group[-1]].end
            if tokens[group[-1]].possessive or not _AGE_AFTER_NAME.match(text[end:]):
                continue
            words = [tokens[i].word for i in group]
            while words and words[0] in _STOPWORDS:
                words.pop(0)
            written = " ".join(words)
            if not words or not canonical_id(written):  # an id needs a Latin letter
                continue
            hits = {h[0] for i in group if (h := names.match(text, tokens, i))}
            if not hits:
                found.append((written, canonical_id(written), False))
            elif len(hits) == 1:
                found.append((written, hits.pop(), True))
    return found
