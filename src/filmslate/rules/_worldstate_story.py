"""Story order against shooting order (issue 16 §2, SPEC §11): which world state a scene is
checked against.

SCENES lists scenes in shooting (screen) order. A scene out of story order says where it sits
in story time in its ``story_position``: ``before S02`` (a flashback), ``after S08`` (a flash
forward); a time-of-day text saying FLASHBACK / FLASH FORWARD with no position sits before
the story (the initial state) / at the present. Every scene is checked against the state at
its story time: its **base** is the scene whose after-state that is (None: the initial state).

- A scene in order: the last scene in order before it (displaced scenes are skipped: a
  flashback's diffs do not change the present).
- A displaced scene that follows a displaced scene with the same position: that scene (a
  flashback of several scenes runs on from itself).
- ``before A``: the last scene in order before A; ``after A``: A.

Pure code, no I/O; ``engine._inputs`` asks :func:`story_base` for the WORLD_STATE a scene
starts from, and ``_continuity_replay`` replays the diffs the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..schemas import SceneRow, StateDiff, WorldState
from ..schemas._narrative import STORY_POSITION_RE
from ._continuity_inputs import time_join
from ._fountain import canonical_id
from ._worldstate import apply_diff

__all__ = [
    "StoryPlace",
    "apply_out_of_order",
    "scene_places",
    "story_base",
    "story_bases",
    "story_place",
    "story_previous",
    "tracking_order",
]

_FLASHBACK = re.compile(r"\bFLASH\s*-?\s*BACKS?\b")
_FLASH_FORWARD = re.compile(r"\bFLASH\s*-?\s*FORWARDS?\b")


@dataclass(frozen=True)
class StoryPlace:
    """Where a displaced scene sits: ``before`` or ``after`` a scene ('' = not said)."""

    relation: Literal["before", "after"]
    anchor: str = ""

    def __str__(self) -> str:
        return f"{self.relation} {self.anchor}" if self.anchor else f"{self.relation} the story"


def story_place(row: SceneRow) -> StoryPlace | None:
    """Where a scene sits in story time when it is out of order (None: in order)."""
    return _place(row.story_position or "", row.time_of_day)


@functools.lru_cache(maxsize=4096)
def _place(position: str, time_of_day: str) -> StoryPlace | None:
    # Cached: every step scans the whole SCENES table for places (the loader's state_base,
    # story_bases, story_previous); parsing each row's text once keeps a 500-scene run's
    # million scans to lookups. StoryPlace is frozen, so sharing one is safe.
    if match := STORY_POSITION_RE.fullmatch(position):
        relation: Literal["before", "after"] = "before" if match[1].lower() == "before" else "after"
        return StoryPlace(relation, match[2].upper())
    text = time_of_day.upper()
    if _FLASHBACK.search(text):
        return StoryPlace("before")
    if _FLASH_FORWARD.search(text):
        return StoryPlace("after")
    return None


def story_bases(rows: Sequence[SceneRow]) -> dict[str, str | None]:
    """Every scene -> its base: the scene whose after-state it is checked against."""
    order = [r.scene_id for r in rows]
    places = {r.scene_id: story_place(r) for r in rows}
    out: dict[str, str | None] = {}
    last_in_order: str | None = None
    previous: str | None = None
    for sid in order:
        place = places[sid]
        if place is None:
            out[sid] = last_in_order
            last_in_order = sid
        elif previous is not None and places[previous] == place:
            out[sid] = previous
        else:
            out[sid] = _anchor_base(place, order, places, last_in_order)
        previous = sid
    return out


def _anchor_base(
    place: StoryPlace,
    order: Sequence[str],
    places: dict[str, StoryPlace | None],
    present: str | None,
) -> str | None:
    if place.anchor not in order:
        # no position (or an unknown one): a flashback before the story, a flash forward
        # from the present
        return None if place.relation == "before" else present
    if place.relation == "after":
        return place.anchor
    earlier = order[: order.index(place.anchor)]
    return next((s for s in reversed(earlier) if places[s] is None), None)


def story_base(rows: Sequence[SceneRow], scene: str) -> str | None:
    """The scene whose WORLD_STATE ``scene`` starts from (None: the initial state)."""
    return story_bases(rows).get(scene)


def story_previous(rows: Sequence[SceneRow], scene: str) -> str | None:
    """The scene a scene joins in story time (for the continuous / same-time checks): the
    last scene in order before a scene in order; the scene before a displaced one only when
    it continues the same flashback (None: a cut)."""
    order = [r.scene_id for r in rows]
    if scene not in order:
        return None
    places = {r.scene_id: story_place(r) for r in rows}
    index = order.index(scene)
    if places[scene] is not None:
        before = order[index - 1] if index else None
        return before if before is not None and places[before] == places[scene] else None
    return next((s for s in reversed(order[:index]) if places[s] is None), None)


def apply_out_of_order(before: WorldState, diff: StateDiff) -> WorldState:
    """Apply a displaced scene's diff to the state at its story time (WorldStateError when it
    breaks a rule). The scene-order rule does not apply: the state may be at a later scene
    (a flash forward), and the diff never reaches the present."""
    timeline = before.timeline.model_copy(update={"current_scene": None})
    return apply_diff(before.model_copy(update={"timeline": timeline}), diff)


def scene_places(rows: Sequence[SceneRow], scene: str) -> list[str]:
    """The places whose set locks a scene's checks read: its own, and, when it runs on
    (CONTINUOUS, SAME TIME) from the scene before it in story time, that scene's too (a
    continuous move between two locked places is judged against both ends)."""
    row = next((r for r in rows if r.scene_id == scene), None)
    if row is None:
        return []
    places = [row.location]
    previous = story_previous(rows, scene)
    if previous and time_join(row.time_of_day) in ("continuous", "simultaneous"):
        before = next(r for r in rows if r.scene_id == previous)
        if canonical_id(before.location) != canonical_id(row.location):
            places.append(before.location)
    return places


def tracking_order(rows: Sequence[SceneRow]) -> list[SceneRow]:
    """SCENES rows in an order that tracks each scene after its base: the rows' own order,
    except that a flash forward waits for the scene it follows (``after S08`` placed before
    S08 runs right after S08). A cycle of positions keeps the rest in row order (the runner
    then names the scene to track first)."""
    bases = story_bases(rows)
    done: set[str] = set()
    pending = list(rows)
    out: list[SceneRow] = []
    while pending:
        ready = next((r for r in pending if bases[r.scene_id] in (None, *done)), None)
        if ready is None:
            return out + pending
        pending.remove(ready)
        done.add(ready.scene_id)
        out.append(ready)
    return out
