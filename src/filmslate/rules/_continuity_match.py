"""Matching what a scene shows against what the world state records (issue 16 §3).

- **Injuries and their visible signs**: an observation matches an injury when it names it
  (a specific word in common, and no contradicting body part or side: a cut on the *right
  hand* is not the cut on the *left arm*) or shows one of its signs: those the state records
  (``injury_signs``) and the usual ones of its kind (an ankle injury limps, an arm is in a
  sling, a cut is bandaged).
- **Knowledge as claims**: a claim is *known* when one recorded entry entails it (every
  content word of the claim is in the entry, with the same polarity: "the vault is not
  locked" does not entail "the vault is locked"); *unknown* when nothing recorded comes
  close; *ambiguous* when an entry is wrapped in more (a new accusation around a known
  identity) or the claim joins several entries. Code decides known and unknown; ambiguous
  claims go to the judgment tier, whose verdict is recorded (:class:`ClaimJudgment`), and an
  ambiguous claim nobody judged counts as not known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from ._continuity_inputs import ClaimJudgment, entry_key, words

__all__ = [
    "ClaimJudgment",
    "Verdict",
    "injury_signs",
    "judge_claim",
    "matches_injury",
]

# fmt: off
_BODY = frozenset({
    "head", "face", "eye", "eyebrow", "nose", "lip", "jaw", "cheek", "ear", "neck", "throat",
    "shoulder", "arm", "elbow", "wrist", "hand", "finger", "thumb", "palm", "knuckle", "chest",
    "rib", "back", "side", "stomach", "hip", "leg", "thigh", "knee", "shin", "ankle", "foot",
    "feet", "toe", "forehead", "temple", "scalp", "collarbone", "forearm", "calf", "heel",
})
_SIDES = frozenset({"left", "right"})
# A limb and the parts it contains: an arm in a sling is how a wrist or shoulder injury
# shows, so "arm" does not contradict "wrist" (a hand stays its own part: a cut on the hand
# is not the cut on the arm).
_REGIONS: Mapping[str, frozenset[str]] = {
    "arm": frozenset({"shoulder", "elbow", "wrist", "forearm", "collarbone"}),
    "leg": frozenset({"hip", "thigh", "knee", "shin", "calf", "ankle"}),
    "hand": frozenset({"finger", "thumb", "palm", "knuckle"}),
    "foot": frozenset({"feet", "toe", "heel"}),
    "head": frozenset({"forehead", "temple", "scalp", "face"}),
    "face": frozenset({"eye", "eyebrow", "nose", "lip", "jaw", "cheek", "forehead"}),
    "chest": frozenset({"rib"}),
}
# Words that say how bad or where, not what: sharing only these does not match an injury.
_VAGUE = frozenset({
    "small", "deep", "bad", "minor", "major", "fresh", "old", "light", "slight", "nasty",
    "visible", "upper", "lower", "inner", "outer", "injury", "injured", "wound", "hurt", "mark",
    *_SIDES,
})
# The usual visible signs of an injury, by a word of its wording.
_SIGNS_BY_WORD: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(("ankle", "foot", "feet", "knee", "leg", "shin", "thigh", "hip", "toe"),
                    ("limp", "crutch", "cane", "walking stick", "brace")),
    **dict.fromkeys(("arm", "shoulder", "wrist", "elbow", "collarbone"),
                    ("sling", "cast", "brace", "splint")),
    **dict.fromkeys(("hand", "finger", "thumb", "knuckle", "palm"),
                    ("bandage", "splint", "strapping", "plaster")),
    **dict.fromkeys(("cut", "gash", "laceration", "stab", "slash", "graze", "bite", "burn",
                     "wound", "stitche", "scrape"),
                    ("bandage", "dressing", "stitche", "gauze", "plaster", "blood")),
    **dict.fromkeys(("rib", "chest", "side", "stomach"),
                    ("wince", "strapped", "clutche", "hunched")),
    **dict.fromkeys(("head", "concussion", "forehead", "temple", "scalp"),
                    ("bandage", "dizzy", "dressing")),
    **dict.fromkeys(("eye", "bruise", "bruised", "black"),
                    ("bruise", "swollen", "shiner", "patch")),
    # A limp or a sling belongs to a leg or an arm: the body part words above give them.
    **dict.fromkeys(("broken", "fracture", "fractured", "sprain", "sprained"),
                    ("cast", "splint", "brace")),
}
# Words that report a claim without adding to it ("she knows that ...", "he told me ...").
_REPORTING = frozenset({
    "know", "knew", "known", "told", "tell", "say", "said", "heard", "hear", "think", "thought",
    "believe", "that", "she", "he", "they", "me", "you", "we", "it", "this", "these", "those",
    "so", "now", "already", "still", "really", "just", "all", "about", "what", "remember",
    "learned", "learnt", "found", "out", "did", "doe", "do", "can", "will", "would", "him",
    "them", "us", "my", "our", "your", "sure", "certain", "realise", "realize", "realised",
    "realized", "understand", "understood", "aware", "there", "here",
})
# Words that mark an entry as hearsay or a guess, not a fact ("a rumour that ...", "Lena
# suspects ..."): such an entry does not entail the bare fact; a claim hedged the same way
# (or reported: "I heard ...") restates it.
_HEDGES = frozenset({
    "rumour", "rumor", "rumoured", "rumored", "gossip", "allegedly", "alleged", "supposedly",
    "apparently", "reportedly", "suspect", "suspected", "suspicion", "maybe", "perhaps",
    "possibly", "probably", "might", "unconfirmed", "guess", "guesse", "guessed",
})
_HEARSAY = frozenset({"heard", "hear", "say", "said", "told", "claim", "claimed", "word"})
_NEGATIVE = re.compile(
    r"\b(?:not|no|never|nobody|nothing|none|neither|nor|cannot|isn't|wasn't|aren't|weren't|"
    r"doesn't|didn't|don't|hasn't|hadn't|won't|can't|couldn't)\b"
)
# fmt: on

Verdict = Literal["known", "unknown", "ambiguous"]


def _same_word(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


def _overlap(a: Iterable[str], b: Iterable[str]) -> bool:
    bs = list(b)
    return any(_same_word(x, y) for x in a for y in bs)


def injury_signs(injury: str, recorded: Mapping[str, Sequence[str]]) -> list[str]:
    """The visible signs of an injury: those recorded for it, then the usual ones."""
    own = next((list(s) for i, s in recorded.items() if entry_key(i) == entry_key(injury)), [])
    usual = [sign for word in sorted(words(injury)) for sign in _SIGNS_BY_WORD.get(word, ())]
    return list(dict.fromkeys([*own, *usual]))


def matches_injury(text: str, injury: str, recorded: Mapping[str, Sequence[str]]) -> bool:
    """True when an observation's text names the injury or shows one of its signs."""
    if entry_key(text) == entry_key(injury):
        return True
    said, has = words(text), words(injury)
    if _contradicts(said, has):
        return False
    if _overlap(said - _VAGUE, has - _VAGUE):
        return True
    return any(
        (sign_words := words(sign)) and all(_overlap([w], said) for w in sign_words)
        for sign in injury_signs(injury, recorded)
    )


def _contradicts(said: frozenset[str], has: frozenset[str]) -> bool:
    """Both name a body part (or a side) and they differ (a limb and a part of it agree)."""
    for table in (_BODY, _SIDES):
        a, b = said & table, has & table
        if a and b and not _overlap(a, b) and not _one_region(a, b):
            return True
    return False


def _one_region(a: frozenset[str], b: frozenset[str]) -> bool:
    """A part named on one side lies within a limb named on the other."""
    return any(y in _REGIONS.get(x, ()) or x in _REGIONS.get(y, ()) for x in a for y in b)


def _polarity(text: str) -> bool:
    return len(_NEGATIVE.findall(_plain(text))) % 2 == 0


_CONTRACTIONS = ((re.compile(r"\bcan'?t\b"), "cannot"), (re.compile(r"\bwon'?t\b"), "will not"))
_NOT = re.compile(r"n't\b")
_NEGATION_WORDS = frozenset({"cannot", "nobody", "nothing", "none", "neither", "nor"})


def _plain(text: str) -> str:
    """Lower case with contractions spelled out ("isn't" -> "is not")."""
    out = text.casefold().replace("’", "'")
    for pattern, spelled in _CONTRACTIONS:
        out = pattern.sub(spelled, out)
    return _NOT.sub(" not", out)


def _content(text: str) -> frozenset[str]:
    return frozenset(
        _stem(w)
        for w in words(_plain(text))
        if w not in _REPORTING and w not in _NEGATION_WORDS and w not in _HEDGES
    )


# fmt: off
# Common irregular verbs: a past form as its base ("the ship sank" is "the ship has sunk").
_IRREGULAR: Mapping[str, str] = {
    **dict.fromkeys(("sank", "sunk"), "sink"), **dict.fromkeys(("hid", "hidden"), "hide"),
    "sold": "sell", **dict.fromkeys(("stole", "stolen"), "steal"),
    **dict.fromkeys(("took", "taken"), "take"), **dict.fromkeys(("gave", "given"), "give"),
    **dict.fromkeys(("wrote", "written"), "write"), **dict.fromkeys(("broke", "broken"), "break"),
    **dict.fromkeys(("drove", "driven"), "drive"), "ran": "run",
    **dict.fromkeys(("saw", "seen"), "see"), **dict.fromkeys(("went", "gone"), "go"),
    "came": "come", "lost": "lose", "paid": "pay", "shot": "shoot", "bought": "buy",
    "caught": "catch", **dict.fromkeys(("fell", "fallen"), "fall"),
    **dict.fromkeys(("forgot", "forgotten"), "forget"), "kept": "keep", "met": "meet",
    **dict.fromkeys(("spoke", "spoken"), "speak"), "sent": "send", "left": "leave",
    "built": "build", "burnt": "burn", "fled": "flee", "hung": "hang", "led": "lead",
    **dict.fromkeys(("swore", "sworn"), "swear"), **dict.fromkeys(("froze", "frozen"), "freeze"),
}
# fmt: on


def _stem(word: str) -> str:
    """A verb's forms as one ('closing', 'closes', 'closed', 'close' -> 'clos'; 'sank',
    'sunk' -> 'sink'), so a claim in another tense is the same claim; both sides are stemmed
    alike."""
    word = _IRREGULAR.get(word, word)
    for ending, shortest in (("ing", 6), ("ed", 5), ("e", 4)):
        if word.endswith(ending) and len(word) >= shortest:
            return word[: -len(ending)]
    return word


def _hedged(text: str, hearsay: bool = False) -> bool:
    """The text marks itself as a rumour or a guess (a claim also by reporting hearsay)."""
    said = words(_plain(text))
    return bool(said & _HEDGES) or (hearsay and bool(said & _HEARSAY))


# A reporting frame at the head of a claim names its source, not its content: "Lena told me
# (that) ...", "the coastguard says ...", "according to Marta, ...". Up to three words of
# source before the verb.
_FRAME = re.compile(
    r"^\s*(?:according to [\w' ]{1,40}?,|(?:[\w']+\s+){1,3}?"
    r"(?:told|tells|tell|said|says|say|heard|hears|wrote|writes|warned|warns)"
    r"(?:\s+(?:me|us|him|her|them|you|everyone))?(?:\s+that)?)\s+(?P<body>\S.*)$",
    re.IGNORECASE,
)


def _body(claim: str) -> str:
    """The claim without a reporting frame at its head."""
    match = _FRAME.match(claim)
    return match["body"] if match else claim


def judge_claim(claim: str, entries: Sequence[str]) -> tuple[Verdict, str]:
    """Whether recorded knowledge entails a claim: (verdict, the entry it turned on)."""
    hedged = _hedged(claim, hearsay=True)
    claim = _body(claim)
    said, positive = _content(claim), _polarity(claim)
    if not said:
        return "known", ""
    close, denied = "", ""
    for entry in entries:
        known = _content(entry)
        if not known:
            continue
        if said <= known:
            if _polarity(entry) != positive:
                denied = denied or entry  # they know the opposite
            elif hedged or not _hedged(entry):
                return "known", entry
            else:  # a rumour stated as fact: the judgment tier decides
                close = close or entry
        elif known <= said or (len(said & known) >= 2 and len(said & known) * 2 >= len(said)):
            close = close or entry
    if denied:
        return "unknown", denied
    if close:
        return "ambiguous", close
    joined = frozenset().union(*(_content(e) for e in entries)) if entries else frozenset()
    if said <= joined:
        return "ambiguous", "; ".join(e for e in entries if _content(e) & said)
    return "unknown", ""
