"""`slate import --episode E02` (issue 16 §1): a screenplay becomes one episode's scenes.

The screenplay's scenes (S01, S02, ... as parsed) are scoped by the episode (``E02_S01``,
...), their SCRIPT slices named alike. SCENES and BREAKDOWN keep every other episode's rows
as they are and take this episode's rows in its declared place (after the rows of the
episodes declared before it). An episode that already has scenes gets the screenplay's
instead: a re-import is a revised draft of that episode (the earlier SCENES version stays in
the history, and the import says which scenes it replaced); the same screenplay again
changes nothing. First appearances count the episodes before: a character, set or voice met
in E01 is not new in E02 and needs no lock of its own there (so importing E01 after E02
takes E02's claim to what both meet: the one change made to another episode's rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

from pydantic import ValidationError

from ..core._episodes import check_episode, episode_of, episode_scene, series_failures
from ..core._errors import UserError
from ..rules._fountain import Screenplay
from ..schemas import Breakdown, BreakdownRow, Scenes

__all__ = [
    "check_episode_import",
    "merged_breakdown",
    "merged_scenes",
    "same_episode",
    "scoped",
]


# What scene-goals fills into an imported scene: no reason to import the same screenplay again.
_MODEL_FIELDS = frozenset({"goal", "conflict", "outcome"})


class _SceneKeyed(Protocol):
    @property
    def scene_id(self) -> str: ...


Row = TypeVar("Row", bound=_SceneKeyed)  # a SCENES or a BREAKDOWN row


def check_episode_import(episode: str, declared: Sequence[str]) -> str:
    """The episode an import may fill: well formed and declared, or a one-line UserError."""
    check_episode(episode)
    if not declared:
        raise UserError(
            f"--episode {episode}: this project is a single film (no [series] episodes in "
            f"filmslate.toml): declare it first (`slate episode add {episode}`), or import "
            "without --episode"
        )
    if episode not in declared:
        raise UserError(
            f"--episode {episode}: not an episode of this project ({', '.join(declared)}): "
            f"`slate episode add {episode}` first"
        )
    return episode


def scoped(play: Screenplay, episode: str) -> Screenplay:
    """The screenplay with its scene ids scoped by the episode (``S01`` -> ``E02_S01``)."""
    scenes = tuple(replace(s, scene_id=episode_scene(episode, s.scene_id)) for s in play.scenes)
    return replace(play, scenes=scenes)


def _merged(
    old: Sequence[Row], new: Sequence[Row], episode: str, declared: Sequence[str]
) -> list[Row]:
    """``old`` without the episode's rows, the episode's ``new`` rows in its declared place:
    before the first row of an episode declared after it (else at the end)."""
    rank = {e: i for i, e in enumerate(declared)}
    kept = [r for r in old if episode_of(r.scene_id) != episode]
    later = (i for i, r in enumerate(kept) if rank.get(episode_of(r.scene_id), -1) > rank[episode])
    at = next(later, len(kept))
    return [*kept[:at], *new, *kept[at:]]


def merged_scenes(
    latest: Scenes | None, new: Scenes, episode: str, declared: Sequence[str]
) -> tuple[Scenes, list[str]]:
    """The next SCENES and the ids of the episode's scenes it replaces."""
    old = latest.rows if latest is not None else []
    replaced = [r.scene_id for r in old if episode_of(r.scene_id) == episode]
    rows = _merged(old, new.rows, episode, declared)
    for problem in series_failures([r.scene_id for r in rows], declared):
        raise UserError(f"importing {episode} would leave SCENES unfit for the series: {problem}")
    try:
        return Scenes(rows=rows), replaced
    except ValidationError as exc:  # another episode's story_position names a replaced scene
        problem = "; ".join(str(e["msg"]) for e in exc.errors())
        raise UserError(f"importing {episode} would leave SCENES invalid: {problem}") from None


def same_episode(latest: Scenes | None, new: Scenes, episode: str) -> bool:
    """Whether ``latest`` holds the episode's scenes as the screenplay's ``new`` ones write
    them, in everything but what scene-goals filled in since (goal, conflict, outcome)."""
    old = [r for r in latest.rows if episode_of(r.scene_id) == episode] if latest else []
    return len(old) == len(new.rows) and all(
        a.model_dump(exclude=set(_MODEL_FIELDS)) == b.model_dump(exclude=set(_MODEL_FIELDS))
        for a, b in zip(old, new.rows, strict=True)
    )


def merged_breakdown(
    latest: Breakdown | None, new: Breakdown, episode: str, declared: Sequence[str]
) -> Breakdown:
    """The next BREAKDOWN: the episode's rows in place; from its first row on, nothing is
    introduced (nor its lock required) that a row before already has, so an episode imported
    after a later one takes that one's first appearances of what it meets first."""
    rows = _merged(latest.rows if latest is not None else [], new.rows, episode, declared)
    first = next((i for i, r in enumerate(rows) if episode_of(r.scene_id) == episode), len(rows))
    met = _Met()
    for row in rows[:first]:
        met.add(row)
    for index in range(first, len(rows)):
        rows[index] = met.without_known(rows[index])
        met.add(rows[index])
    return Breakdown(rows=rows)


class _Met:
    """What the rows so far have brought in: characters, sets, props and required locks."""

    def __init__(self) -> None:
        self.chars: set[str] = set()
        self.places: set[str] = set()
        self.props: set[str] = set()
        self.locks: set[str] = set()

    def add(self, row: BreakdownRow) -> None:
        self.chars.update(row.characters_present)
        self.places.update(row.locations_used)
        self.props.update(row.props_used)
        self.locks.update(row.lock_requirements)
        self.locks.update(f"CHAR_{c}_LOCK" for c in row.characters_present)
        self.locks.update(f"SET_{p}_LOCK" for p in row.locations_used)

    def without_known(self, row: BreakdownRow) -> BreakdownRow:
        """The row's introductions and lock needs less what came in before it."""
        return row.model_copy(
            update={
                "new_characters_introduced": _less(row.new_characters_introduced, self.chars),
                "new_locations_introduced": _less(row.new_locations_introduced, self.places),
                "new_props_introduced": _less(row.new_props_introduced, self.props),
                "lock_requirements": _less(row.lock_requirements, self.locks),
            }
        )


def _less(items: Sequence[str], known: set[str]) -> list[str]:
    return [i for i in items if i not in known]
