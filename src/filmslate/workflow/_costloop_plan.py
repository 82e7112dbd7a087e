"""The cost plan's reductions (``_costloop``), made on working copies of shot lists.

Pure code over rows and the config: no store, no runner. ``_costloop`` builds the plan from
the latest shot lists, runs :data:`STEPS` and :func:`split_long` on it, and writes what
changed; the order of the steps and what each one may touch are in its docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..core._config import Config
from ..schemas import ShotList, ShotRow
from ..skills.governance._governance import shot_line

__all__ = [
    "STEPS",
    "ZERO",
    "Found",
    "Plan",
    "Shot",
    "ShotChange",
    "Step",
    "reduce_step",
    "renumber",
    "shot_list",
    "shot_lists",
    "split_long",
]

ZERO = 1e-9

Step = Literal["downgrade", "shorten", "simplify", "split"]


@dataclass(frozen=True)
class ShotChange:
    """One reduction made to one shot (ids as in the shot list it was made from)."""

    shot_id: str
    step: Step
    before: str
    after: str
    why: str
    saving: float = 0.0

    def describe(self) -> str:
        """``S01_SH02: downgrade hero B -> C (no character in frame), saves 1.20``."""
        saving = f", saves {self.saving:.2f}" if self.saving > ZERO else ""
        return f"{self.shot_id}: {self.step} {self.before} -> {self.after} ({self.why}){saving}"


@dataclass
class Shot:
    """A working copy of one row: where it came from, and whether it may change."""

    row: ShotRow
    origin: str
    locked: bool
    notes: list[str] = field(default_factory=list)
    floor_s: float = 0.0  # what its dialogue takes to say: never shortened below (issue 15)


@dataclass
class Plan:
    """The working copies of the target's shot lists and what has been done to them."""

    scenes: dict[str, list[Shot]]
    total: float
    changes: list[ShotChange] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    kept: list[str] = field(default_factory=list)

    def fits(self, room: float) -> bool:
        """True when the projection, rounded as the cost report rounds it, fits the room."""
        return round(self.total, 4) <= room + ZERO


# -- the steps -------------------------------------------------------------------------------

Found = tuple[ShotRow, str, str, str] | None  # new row, before, after, why


def _with(row: ShotRow, **change: object) -> ShotRow:
    return ShotRow.model_validate({**row.model_dump(), **change})


def _to_grid(seconds: float, step: float) -> float:
    """Round half up to the duration grid (``round`` would round 2.25 down to 2.0)."""
    return math.floor(seconds / step + 0.5) * step if step > 0 else seconds


def _downgrade(row: ShotRow, config: Config) -> Found:
    if row.hero_tier != "B" or row.char_ids:
        return None
    return (
        _with(row, hero_tier="C"),
        "hero B",
        "C",
        "no character in frame: coverage, routed to the low-cost visual tier",
    )


def _shorten_coverage(row: ShotRow, config: Config) -> Found:
    if row.hero_tier != "C":
        return None
    keep, least = config.visual.coverage_keep_pct, config.visual.coverage_min_s
    seconds = max(least, _to_grid(row.duration_s * keep / 100, config.visual.duration_step_s))
    if seconds >= row.duration_s - ZERO:
        return None
    return (
        _with(row, duration_s=seconds),
        f"{row.duration_s:g}s",
        f"{seconds:g}s",
        f"coverage shot kept at {keep:g}% of its length, at least {least:g}s",
    )


def _shorten_complex(row: ShotRow, config: Config) -> Found:
    limit = config.visual.complex_max_s
    if row.complexity_level == "high":
        why = "high complexity"
    elif row.regen_risk_estimate == "high":
        why = "high regen risk"
    else:
        return None
    if row.duration_s <= limit + ZERO:
        return None
    return (
        _with(row, duration_s=limit),
        f"{row.duration_s:g}s",
        f"{limit:g}s",
        f"{why}: complex shots last at most {limit:g}s",
    )


STEPS: tuple[tuple[Step, Callable[[ShotRow, Config], Found]], ...] = (
    ("downgrade", _downgrade),
    ("shorten", _shorten_coverage),
    ("simplify", _shorten_complex),
)


def reduce_step(
    plan: Plan, step: tuple[Step, Callable[[ShotRow, Config], Found]], room: float, config: Config
) -> None:
    """Apply one step to the shots it fits, largest saving first, until the plan fits."""
    name, change = step
    candidates = []
    for scene, shots in plan.scenes.items():
        for index, shot in enumerate(shots):
            found = None if shot.locked else change(shot.row, config)
            if found is None or found[0].duration_s < shot.floor_s - ZERO:
                continue
            saving = shot_line(shot.row, config).cost - shot_line(found[0], config).cost
            if saving > ZERO:  # a change that saves nothing is not worth a new version
                candidates.append((-saving, scene, index, found))
    for negative, scene, index, (row, before, after, why) in sorted(
        candidates, key=lambda c: (c[0], c[1], c[2])
    ):
        if plan.fits(room):
            return
        shot = plan.scenes[scene][index]
        plan.changes.append(ShotChange(shot.origin, name, before, after, why, -negative))
        shot.notes.append(f"{name} {before} -> {after}")
        shot.row = row
        plan.total += negative
        plan.changed.add(scene)


def _split_durations(seconds: float, limit: float) -> list[float]:
    parts = max(2, math.ceil(seconds / limit - ZERO))
    while True:
        each = round(seconds / parts, 3)
        last = round(seconds - each * (parts - 1), 3)
        if max(each, last) <= limit + ZERO:
            return [each] * (parts - 1) + [last]
        parts += 1


def split_long(plan: Plan, config: Config) -> None:
    """Split what is longer than the clip limit in the scenes being rewritten."""
    limit = config.visual.max_clip_s
    for scene in sorted(plan.changed):
        shots, out = plan.scenes[scene], []
        for index, shot in enumerate(shots):
            rendered = [s.origin for s in shots[index + 1 :] if s.locked]
            if shot.locked or shot.row.duration_s <= limit + ZERO or rendered:
                if rendered and not shot.locked and shot.row.duration_s > limit + ZERO:
                    plan.kept.append(
                        f"{shot.origin}: not split: {rendered[0]} after it has "
                        "a proxy and would be renumbered"
                    )
                out.append(shot)
                continue
            parts = _split_durations(shot.row.duration_s, limit)
            for number, seconds in enumerate(parts, 1):
                row = _with(
                    shot.row,
                    duration_s=seconds,
                    blocking_summary=(
                        f"{shot.row.blocking_summary} (part {number} of {len(parts)})"
                    ),
                )
                out.append(
                    Shot(
                        row,
                        shot.origin,
                        False,
                        [*shot.notes, f"split part {number} of {len(parts)}"],
                    )
                )
            plan.changes.append(
                ShotChange(
                    shot.origin,
                    "split",
                    f"{shot.row.duration_s:g}s",
                    " + ".join(f"{p:g}s" for p in parts),
                    f"clip limit {limit:g}s",
                )
            )
        plan.scenes[scene] = out


def renumber(plan: Plan) -> dict[str, str]:
    """Sequential ids in each rewritten scene (one padding); old id -> new id(s) that moved."""
    moved: dict[str, list[str]] = {}
    for scene in sorted(plan.changed):
        shots = plan.scenes[scene]
        width = max(2, len(str(len(shots))), *(len(s.origin.rsplit("_SH", 1)[1]) for s in shots))
        for number, shot in enumerate(shots, 1):
            new_id = f"{scene}_SH{number:0{width}d}"
            moved.setdefault(shot.origin, []).append(new_id)
            if new_id != shot.row.shot_id:
                shot.row = _with(shot.row, shot_id=new_id)
    return {old: ", ".join(new) for old, new in moved.items() if new != [old]}


def shot_lists(plan: Plan) -> dict[str, ShotList]:
    """The plan's rows as shot lists, by scene (to project their cost)."""
    return {scene: ShotList(rows=[s.row for s in shots]) for scene, shots in plan.scenes.items()}


def shot_list(shots: list[Shot]) -> ShotList:
    """The shot list to write: each changed row notes what the cost plan did to it."""
    rows = []
    for shot in shots:
        row = shot.row
        if shot.notes:
            note = f"cost plan: {', '.join(shot.notes)}"
            row = _with(row, notes=f"{row.notes}; {note}" if row.notes else note)
        rows.append(row)
    return ShotList(rows=rows)
