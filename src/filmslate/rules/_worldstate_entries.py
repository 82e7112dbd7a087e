"""Entry lists and id maps as the world-state engine compares them.

Entries (injuries, knowledge, inventory items) are sets of sentences that match ignoring case
and spacing; the helpers here add, remove and compare them without changing the lists they
are given, and merge updates into immutable models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel

__all__ = [
    "entry_key",
    "has_entry",
    "merged",
    "missing_entries",
    "sorted_if_grown",
    "with_entries",
    "without_entries",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@lru_cache(maxsize=1 << 16)
def entry_key(text: str) -> str:
    # Cached: the same entries are compared scene after scene as the story goes on.
    return " ".join(text.casefold().split())


def has_entry(entries: Sequence[str], entry: str) -> bool:
    key = entry_key(entry)
    return any(entry_key(e) == key for e in entries)


def with_entries(entries: list[str], added: Sequence[str]) -> list[str]:
    """A new list: ``entries`` plus each of ``added`` not already there (sets of entries)."""
    out = list(entries)
    if not added:
        return out
    keys = {entry_key(e) for e in out}
    for entry in added:
        if entry_key(entry) not in keys:
            keys.add(entry_key(entry))
            out.append(entry)
    return out


def without_entries(entries: list[str], removed: Sequence[str]) -> list[str]:
    gone = {entry_key(r) for r in removed}
    return [e for e in entries if entry_key(e) not in gone] if gone else list(entries)


def missing_entries(
    old: Sequence[str], new: Sequence[str], allowed: Sequence[str] = ()
) -> list[str]:
    """Entries of ``old`` absent from ``new`` and not in ``allowed``."""
    if new[: len(old)] == old:  # the usual case, compared at C speed: only appended to
        return []
    kept = {entry_key(e) for e in new} | {entry_key(e) for e in allowed}
    return [e for e in old if entry_key(e) not in kept]


def merged(old: M, update: BaseModel, fields: tuple[str, ...]) -> M:
    """``old`` with each field the update sets (None = unchanged)."""
    changes = {f: getattr(update, f) for f in fields if getattr(update, f) is not None}
    return old.model_copy(update=changes) if changes else old


def sorted_if_grown(out: dict[str, T], old: Mapping[str, object]) -> dict[str, T]:
    """Keep maps in id order (as the schema renders them); sort only when ids were added."""
    return dict(sorted(out.items())) if len(out) != len(old) else out
