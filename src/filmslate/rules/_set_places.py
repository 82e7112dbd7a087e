"""Which set lock a place belongs to (issue 16 §4): by the set's name and its declared places.

A SET lock names a set (``FARMHOUSE``) and may declare its places (``KITCHEN``, ``Cellar
stairs``): a scene at ``FARMHOUSE``, at one of its places (``KITCHEN``, ``FARMHOUSE_KITCHEN``)
or inside either (``FARMHOUSE_KITCHEN_PANTRY``) resolves to that lock. The best match wins: a
lock's own name exactly, then a declared place exactly, then the longest name the place is
inside. Every caller resolves the same way: the continuity checks (``Locks.set_for``) and
the input loader (``engine._inputs``, which loads a scene's or a shot's set lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from ..schemas import SetLock
from ._fountain import canonical_id

__all__ = ["place_names", "resolve_set", "set_subject_for"]

L = TypeVar("L")


def place_names(subject: str, lock: SetLock) -> list[str]:
    """The canonical names a lock answers to: its subject, each place, and subject_place."""
    own = canonical_id(subject)
    places = [canonical_id(p) for p in lock.places if canonical_id(p)]
    return [own, *places, *(f"{own}_{p}" for p in places if not p.startswith(own + "_"))]


def _score(place: str, names: list[str]) -> int:
    """How well a place matches a lock's names (0: not at all)."""
    best = 0
    for i, name in enumerate(names):
        if place == name:
            best = max(best, 3_000 if i == 0 else 2_000)
        elif place.startswith(name + "_"):
            best = max(best, len(name))
    return best


def resolve_set(place: str, locks: Mapping[str, L], places_of: Mapping[str, list[str]]) -> L | None:
    """The lock a place resolves to, given each lock subject's names (``place_names``)."""
    wanted = canonical_id(place)
    if not wanted:
        return None
    best: tuple[int, L] | None = None
    for subject, lock in locks.items():
        score = _score(wanted, places_of.get(subject) or [canonical_id(subject)])
        if score and (best is None or score > best[0]):
            best = (score, lock)
    return best[1] if best else None


def set_subject_for(place: str, locks: Iterable[tuple[str, SetLock]]) -> str | None:
    """The SET lock subject a place resolves to (None: no lock covers it)."""
    pairs = list(locks)
    names = {subject: place_names(subject, lock) for subject, lock in pairs}
    return resolve_set(place, {s: s for s, _ in pairs}, names)
