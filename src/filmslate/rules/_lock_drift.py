"""Forbidden-drift items read with their negation (issue 16 §3).

A lock's forbidden-drift item names a change that must never happen, and its words say which
way: ``red lipstick`` / ``no hat`` / ``never wears red`` **ban** something (its presence is the
drift), ``never without his glasses`` / ``always wears the locket`` **require** something (its
absence is the drift). ``indoors`` / ``outdoors`` limit an item to interior or exterior
scenes. A description is read the same way: ``no hat, hair loose`` shows hair and no hat,
``takes off his glasses`` shows the glasses absent. ``except`` / ``apart from`` / ``other
than`` name what an item spares (``no jewellery except her wedding ring``); a word naming a
kind (``hat``, ``jewellery``, ``glasses``) covers its members (``_lock_words.KINDS``) when the
caller asks (the continuity checks do; the lock gate compares anchors word for word).

An item breaks when a description shows what it bans, or shows absent what it requires;
a description that does not mention the thing is never a break (it cannot be judged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ._continuity_inputs import words
from ._lock_words import (
    ABSENCE_WORDS,
    EXTERIOR_WORDS,
    INTERIOR_WORDS,
    KINDS,
    REQUIRE_PATTERNS,
)

__all__ = ["Drift", "Seen", "breaks", "interior_of", "parse_drift", "seen"]

_CLAUSES = re.compile(r"[,;:.()]|\bbut\b|\bwhile\b|\band then\b", re.IGNORECASE)
_BAN_LEAD = re.compile(r"^\s*(?:no|not|never|nor|zero|not a|not any)\b\s*", re.IGNORECASE)
_REQUIRE = [re.compile(p, re.IGNORECASE) for p in REQUIRE_PATTERNS]
_HEDGES = frozenset({"visible", "any", "ever", "other", "kind", "at", "all", "time"})
_EXCEPT = re.compile(r"\b(?:except(?: for)?|apart from|other than|save for|besides)\b")
_SAFE_COMPOUNDS = (("off-white", "offwhite"), ("off white", "offwhite"), ("take-out", "takeout"))


@dataclass(frozen=True)
class Drift:
    """One forbidden-drift item: what it bans or requires, and where it applies."""

    text: str
    mode: Literal["ban", "require"]
    words: frozenset[str]
    where: Literal["", "interior", "exterior"] = ""
    spared: frozenset[str] = frozenset()
    """What the item excepts ('no jewellery except her wedding ring': wedding, ring)."""


@dataclass(frozen=True)
class Seen:
    """A description's content words, split into what it shows and what it shows absent."""

    present: frozenset[str]
    absent: frozenset[str]


@lru_cache(maxsize=1024)
def parse_drift(item: str) -> Drift:
    """A forbidden-drift item with its negation and place read."""
    text = f" {item.casefold()} "
    where: Literal["", "interior", "exterior"] = ""
    for place, table in (("interior", INTERIOR_WORDS), ("exterior", EXTERIOR_WORDS)):
        for word in table:
            if re.search(rf"\b{re.escape(word)}\b", text):
                where = "interior" if place == "interior" else "exterior"
                text = re.sub(rf"\b{re.escape(word)}\b", " ", text)
    text, spared = _split_except(text)
    for pattern in _REQUIRE:
        if match := pattern.search(text):
            return Drift(item, "require", words(match.group("thing")), where, spared)
    banned = words(_BAN_LEAD.sub("", text.strip())) - _HEDGES
    return Drift(item, "ban", banned, where, spared)


def _split_except(text: str) -> tuple[str, frozenset[str]]:
    """The item without its exception, and the words the exception spares."""
    parts = _EXCEPT.split(text, maxsplit=1)
    if len(parts) == 1:
        return text, frozenset()
    return f" {parts[0].strip()} ", words(parts[1])


def seen(description: str) -> Seen:
    """What a description shows and what it shows absent (clause by clause)."""
    text = description.casefold()
    for compound, joined in _SAFE_COMPOUNDS:
        text = text.replace(compound, joined)
    present: set[str] = set()
    absent: set[str] = set()
    for clause in _CLAUSES.split(text):
        tokens = re.findall(r"[a-z0-9']+", clause)
        cut = next((i for i, t in enumerate(tokens) if t in ABSENCE_WORDS), None)
        if cut is None:
            present |= words(clause)
        elif tokens[cut] in ("off", "removed", "missing", "gone", "lost"):
            absent |= words(clause)  # 'his glasses off', 'takes off his hat'
        else:
            present |= words(" ".join(tokens[:cut]))
            absent |= words(" ".join(tokens[cut + 1 :]))
    return Seen(frozenset(present - absent), frozenset(absent))


def breaks(
    drift: Drift, description: str, interior: bool | None = None, kinds: bool = False
) -> bool:
    """True when the description shows the drift the item forbids.

    ``interior``: whether the scene is inside (None: unknown, so a place-bound item still
    applies). ``kinds``: a word naming a kind is shown by any of its members ('no hat' by
    'a flat cap'), except the ones the item spares."""
    if not drift.words:
        return False
    if drift.where and interior is not None and interior != (drift.where == "interior"):
        return False
    shown = seen(description)
    if drift.mode == "require":
        return any(_shows(w, shown.absent - drift.spared, kinds) for w in drift.words)
    return all(_shows(w, shown.present - drift.spared, kinds) for w in drift.words)


def _shows(word: str, described: frozenset[str], kinds: bool) -> bool:
    return word in described or (kinds and bool(KINDS.get(word, frozenset()) & described))


def interior_of(*texts: str) -> bool | None:
    """Whether a scene plays inside, from its heading, place or set text (None: unknown)."""
    joined = " ".join(texts).casefold()
    if re.search(r"\bint\b|\binterior\b|\bindoors?\b|\binside\b|\broom\b", joined):
        return True
    if re.search(r"\bext\b|\bexterior\b|\boutdoors?\b|\boutside\b|\bstreet\b", joined):
        return False
    return None
