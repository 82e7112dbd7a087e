"""Scene facts in story order: each scene's before and after, with flashbacks off the present.

The scenes in story order form the **present line**; its states come from the stored world
state by undoing diffs back to the first state wanted and applying them forward again. A
displaced scene (a flashback or a flash forward, ``_worldstate_story``) starts from the
after-state of its base and its diff never joins the present line. The stored state may sit
after a displaced scene (the supervisor of a flashback gets the state at its story time):
its diff is undone to reach its base on the present line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..schemas import Finding, Scenes, StateDiff, WorldState
from ._continuity_inputs import SceneFacts
from ._worldstate import RuleBreach, WorldStateError
from ._worldstate_story import apply_out_of_order, story_bases, story_place

Step = Callable[[WorldState, StateDiff], tuple[WorldState, list[RuleBreach]]]
Undo = Callable[[WorldState, StateDiff, str | None], WorldState]
Facts = Callable[[str, StateDiff | None, WorldState, WorldState], SceneFacts]


class StoryReplay:
    """One pass over the diffs for the scenes wanted (see the module docstring)."""

    def __init__(
        self, scenes: Scenes, diffs: Mapping[str, StateDiff], step: Step, undo: Undo
    ) -> None:
        self.order = [r.scene_id for r in scenes.rows]
        self.bases = story_bases(scenes.rows)
        self.displaced = {r.scene_id for r in scenes.rows if story_place(r) is not None}
        self.line = [s for s in self.order if s not in self.displaced]
        self.diffs, self.step, self.undo = diffs, step, undo
        self.after: dict[int, WorldState] = {}  # present-line position -> state after it
        self.off_line: dict[str, tuple[WorldState, WorldState]] = {}
        self.breaches: dict[str, list[RuleBreach]] = {}

    def root(self, sid: str | None) -> int:
        """The present-line position a scene's base chain ends at (-1: the initial state)."""
        while sid is not None and sid in self.displaced:
            sid = self.bases.get(sid)
        return self.line.index(sid) if sid is not None else -1

    def run(self, world: WorldState, wanted: Sequence[str]) -> list[str]:
        """Fill the states for ``wanted``; returns the present-line scenes walked in order."""
        at, state = self._on_line(world)
        needed = [self.root(self.bases.get(s)) for s in wanted]
        needed += [self.line.index(s) for s in wanted if s in self.line]
        low, high = min(needed), max(needed)
        for i in range(at, low, -1):  # undo back to the state after position low
            if (sid := self.line[i]) in self.diffs:
                state = self.undo(state, self.diffs[sid], self._applied_before(i))
        for i in range(at + 1, low + 1):
            if (sid := self.line[i]) in self.diffs:
                state, _ = self.step(state, self.diffs[sid])
        self.after[low] = state
        walked = self.line[low + 1 : high + 1]
        for i in range(low + 1, high + 1):
            diff = self.diffs.get(self.line[i])
            if diff is not None:
                state, self.breaches[self.line[i]] = self.step(state, diff)
            self.after[i] = state
        return walked

    def _on_line(self, world: WorldState) -> tuple[int, WorldState]:
        """(position, state) on the present line the stored world state stands at."""
        current = world.timeline.current_scene
        state = world
        while current in self.displaced and current in self.diffs:
            base = self.bases.get(current)
            state = self.undo(state, self.diffs[current], base)
            current = base
        if current in self.line:
            return self.line.index(current), state
        return -1, state

    def _applied_before(self, i: int) -> str | None:
        return next(
            (self.line[j] for j in range(i - 1, -1, -1) if self.line[j] in self.diffs), None
        )

    def states(self, sid: str) -> tuple[WorldState, WorldState]:
        """(before, after) of a scene in story time."""
        if sid in self.line:
            i = self.line.index(sid)
            return self.after[i - 1], self.after[i]
        if sid not in self.off_line:
            base = self.bases.get(sid)
            before = self.states(base)[1] if base in self.displaced else self.after[self.root(base)]
            after = before
            if (diff := self.diffs.get(sid)) is not None:
                after, self.breaches[sid] = step_out_of_order(before, diff, self.step)
            self.off_line[sid] = (before, after)
        return self.off_line[sid]


def step_out_of_order(
    before: WorldState, diff: StateDiff, lenient: Step
) -> tuple[WorldState, list[RuleBreach]]:
    """A displaced scene's diff on the state at its story time (refused: applied leniently)."""
    try:
        return apply_out_of_order(before, diff), []
    except WorldStateError as refused:
        timeline = before.timeline.model_copy(update={"current_scene": None})
        after, _ = lenient(before.model_copy(update={"timeline": timeline}), diff)
        return after, list(refused.breaches)


def story_facts(
    replay: StoryReplay, world: WorldState, wanted: Sequence[str], build: Facts
) -> tuple[list[SceneFacts], list[str]]:
    """The facts of the wanted scenes in SCENES order, and every scene walked (for the
    missing-diff and rule findings)."""
    walked = replay.run(world, wanted)
    out = []
    for sid in (s for s in replay.order if s in wanted):
        before, after = replay.states(sid)
        out.append(build(sid, replay.diffs.get(sid), before, after))
    displaced = [s for s in replay.order if s in wanted and s in replay.displaced]
    order = {s: i for i, s in enumerate(replay.order)}
    return out, sorted({*walked, *displaced}, key=order.__getitem__)


def findings_of(
    replay: StoryReplay,
    scenes: Sequence[str],
    missing: Callable[[str], Finding],
    breach: Callable[[RuleBreach], Finding],
) -> list[Finding]:
    """Missing diffs and broken rules of the scenes walked, in order."""
    out: list[Finding] = []
    for sid in scenes:
        if sid not in replay.diffs:
            out.append(missing(sid))
        out += [breach(b) for b in replay.breaches.get(sid, [])]
    return out
