"""Scene ids: their grammar (``S03``, and in a series ``E02_S03``) and their order.

SPEC §3 scene ids are ``S01``, ``S02``, ...; a series scopes them by episode (``E02_S03``,
shots ``E02_S03_SH01``; see ``core._episodes``). An id names a scene, it does not place it:
ids may have gaps (``S01``, ``S03``, ``S10``) or be renumbered, so the scene before another is
always the previous row of SCENES (story order), never the number minus one. Every "which
scene comes before" question goes through :func:`previous_in` or :func:`earlier_in`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

# ASCII digits only: \d would also match full-width and other scripts' digits
EPISODE_RE = re.compile(r"E[0-9]{2,}")
SCENE_RE = re.compile(r"(?:E[0-9]{2,}_)?S[0-9]{2,}")
SHOT_RE = re.compile(r"(?:E[0-9]{2,}_)?S[0-9]{2,}_SH[0-9]{2,}")
_KEY_RE = re.compile(r"(?:E([0-9]+)_)?S([0-9]+)")


@functools.lru_cache(maxsize=8192)  # asked for every row of SCENES at every step
def scene_key(scene: str) -> tuple[int, int]:
    """(episode, scene) numbers of an id, whatever the padding: ``E02_S03`` -> (2, 3),
    ``S7`` -> (0, 7). It identifies a scene despite padding slips; it does not order one."""
    match = _KEY_RE.fullmatch(scene)
    if match is None:
        raise ValueError(f"not a scene id: {scene!r} (expected e.g. S03 or E02_S03)")
    return int(match.group(1) or 0), int(match.group(2))


def same_scene(a: str, b: str) -> bool:
    """True when two ids name one scene (``S3`` and ``S03``)."""
    try:
        return scene_key(a) == scene_key(b)
    except ValueError:
        return a == b


def in_order(order: Sequence[str], scene: str) -> int | None:
    """The position of ``scene`` in ``order`` (padding slips allowed), None when absent."""
    if scene in order:
        return order.index(scene)
    return next((i for i, s in enumerate(order) if same_scene(s, scene)), None)


def earlier_in(order: Sequence[str], scene: str) -> list[str]:
    """The scenes before ``scene`` in story order, nearest first.

    ``order`` is the scene ids in story order (the rows of SCENES). A scene missing from it
    (a diff written before its row, a project without SCENES) is placed among the ids of
    ``order`` by its (episode, number) key, the only order such an id has.
    """
    if not scene:
        return []
    position = in_order(order, scene)
    if position is not None:
        return list(reversed(order[:position]))
    try:
        key = scene_key(scene)
    except ValueError:
        return []
    before = [s for s in order if (k := _key_or_none(s)) is not None and k < key]
    return sorted(before, key=scene_key, reverse=True)


def previous_in(order: Sequence[str], scene: str) -> str | None:
    """The scene before ``scene`` in story order (None for the first), see :func:`earlier_in`."""
    position = in_order(order, scene) if scene else None
    if position is not None:  # the common case, without copying the scenes before it
        return order[position - 1] if position else None
    earlier = earlier_in(order, scene)
    return earlier[0] if earlier else None


def ordered(scenes: Iterable[str], order: Sequence[str]) -> list[str]:
    """``scenes`` in story order: those of ``order`` by their row, the others after them by
    (episode, number)."""
    rows = {s: i for i, s in enumerate(order)}

    def place(scene: str) -> tuple[int, int, int, int, str]:
        row = rows.get(scene, in_order(order, scene))
        key = _key_or_none(scene) or (10**9, 10**9)
        return (0, row, 0, 0, scene) if row is not None else (1, 0, *key, scene)

    return sorted(dict.fromkeys(scenes), key=place)


def _key_or_none(scene: str) -> tuple[int, int] | None:
    try:
        return scene_key(scene)
    except ValueError:
        return None


def comes_after(scene: str, current: str, order: Sequence[str] = ()) -> bool:
    """True when ``scene`` comes after ``current`` in story order: by their rows in ``order``
    when both have one, else by (episode, number)."""
    here, there = in_order(order, scene), in_order(order, current)
    if here is not None and there is not None:
        return here > there
    return scene_key(scene) > scene_key(current)
