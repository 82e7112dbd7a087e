"""Inputs in story time and by place (issue 16 §2, §4): the loader's two questions that
depend on the story rather than on ids.

- Which WORLD_STATE a scene starts from: the state after its story base
  (``rules._worldstate_story``: flashbacks skipped for a scene in order; for a flashback the
  scene before its story position).
- Which SET lock a place resolves to: a lock of that exact name, else the lock whose set
  declares the place among its places (``rules._set_places``); and for a scene that runs on
  (CONTINUOUS, SAME TIME) from another place, that place's lock too.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core._names import lock_subject
from ..rules._set_places import set_subject_for
from ..rules._worldstate_story import scene_places, story_base, story_place
from ..schemas import SceneRow, SetLock
from ..store._store import Store

__all__ = ["scene_set_subjects", "set_subject", "state_base"]


def state_base(rows: Sequence[SceneRow], scene: str, previous: str | None) -> str | None:
    """The scene whose WORLD_STATE ``scene`` starts from: ``previous`` (the row before it)
    unless a scene out of story order is involved, then its story base."""
    index = next((i for i, r in enumerate(rows) if r.scene_id == scene), None)
    if index is None or not any(story_place(r) for r in rows[: index + 1]):
        return previous
    return story_base(rows, scene)


def set_subject(store: Store, place: str) -> str:
    """The SET lock subject a place resolves to (its own canonical name when no lock's
    declared places cover it, so a missing lock is still named as before)."""
    exact = lock_subject(place)
    if store.latest("SET_LOCK", exact) is not None:
        return exact
    return set_subject_for(place, _declaring(store)) or exact


_DECLARED: dict[tuple[str, ...], list[tuple[str, SetLock]]] = {}


def _declaring(store: Store) -> list[tuple[str, SetLock]]:
    """(subject, lock) of every latest SET lock that declares places. Loaded once per set of
    lock versions: readiness asks for every artifact it checks."""
    records = store.latest_of_each("SET_LOCK")
    key = tuple(r.sha256 for r in records)
    if key not in _DECLARED:
        locks = [(r.name.subject or "", store.load(r.name)) for r in records]
        _DECLARED.clear()  # one production at a time: keep only the latest versions
        _DECLARED[key] = [
            (s, lock) for s, lock in locks if isinstance(lock, SetLock) and lock.places
        ]
    return _DECLARED[key]


def scene_set_subjects(store: Store, rows: Sequence[SceneRow], scene: str) -> list[str]:
    """The SET lock subjects a scene's set needs: its place's, and a continuous move's other
    end (in story time)."""
    subjects = [set_subject(store, p) for p in scene_places(list(rows), scene)]
    return list(dict.fromkeys(subjects))
