"""The edit plan of a cut (issue 15 §4): the deterministic core that proposes it.

:func:`propose` plans the accepted takes in shot-list order. With ``[edit] j_cut_s`` set, an
exchange within a scene (the next shot's first speaker is not the one who spoke last) gets a
J cut when the outgoing shot is quiet by then: the incoming picture starts that long after its
line does, and the incoming sound from the take's start plays over the outgoing picture. A cut
within the tolerance of its target runtime is not trimmed further; a longer one is trimmed to
the target, each shot in proportion to what it can lose (never into its dialogue, never below
``[edit] min_shot_s``; the shots a J cut joins keep theirs), half from the head and half from
the tail where its lines allow. A line that runs past its shot's out point is carried over the
next shot (an L cut) where that shot has room before its own first line. Times are snapped to
the take's frames.

The gate is ``_edit_gate``'s; :func:`plan_takes` is how assemble-cut reads a plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core._config_edit import EditSection
from ..core._errors import InputNotReady
from ..schemas import EditPlan, EditRow, ShotRow

__all__ = [
    "LINE_PAD_S",
    "LineTiming",
    "PlannedShot",
    "Trim",
    "plan_takes",
    "propose",
    "replan",
]

EPS = 1e-3  # seconds: CSV rounding and frame snapping stay inside this
LINE_PAD_S = 0.1  # picture kept either side of a line when a shot is trimmed
GAP_S = 0.1  # silence left between two speakers when a J cut brings the next line forward


@dataclass(frozen=True)
class LineTiming:
    """A dialogue line of a shot and where it sits in the shot's audio (None: not timed)."""

    line: int
    character: str
    start_s: float | None = None
    end_s: float | None = None

    @property
    def timed(self) -> bool:
        """True when the shot's AUDIO gave this line a cue."""
        return self.start_s is not None and self.end_s is not None


@dataclass(frozen=True)
class PlannedShot:
    """What the planner knows of one shot: its row, its accepted take and its lines."""

    row: ShotRow
    take: str
    source_s: float
    fps: float = 0.0
    lines: tuple[LineTiming, ...] = ()

    @property
    def shot_id(self) -> str:
        """The shot's id."""
        return self.row.shot_id

    def keep(self) -> tuple[float, float] | None:
        """The part of the take a trim must leave: its lines (padded), all of it when they
        are not timed, None when it has none."""
        if not self.lines:
            return None
        if not all(line.timed for line in self.lines):
            return 0.0, self.source_s
        start = min(line.start_s or 0.0 for line in self.lines) - LINE_PAD_S
        end = max(line.end_s or 0.0 for line in self.lines) + LINE_PAD_S
        return max(0.0, start), min(self.source_s, end)


@dataclass(frozen=True)
class Trim:
    """A shot's place and trims as a plan (or a model's adjustment) sets them."""

    shot_id: str
    in_s: float
    out_s: float
    notes: tuple[str, ...] = field(default=())
    lead_s: float = 0.0  # a J cut: the sound starts this long before the picture


# -- the deterministic core -------------------------------------------------------------------


def propose(
    shots: Sequence[PlannedShot], target_s: float, edit: EditSection, closes_film: bool = True
) -> EditPlan:
    """The core's plan: shot-list order, J cuts in the exchanges, then trimmed to the target
    only when over its tolerance."""
    trims = _j_cuts(shots, edit)
    excess = sum(t.out_s - t.in_s for t in trims) - target_s
    if excess > target_s * edit.runtime_tolerance_pct / 100 + EPS:
        trims = _fit(shots, trims, excess, edit.min_shot_s)
    return replan(shots, trims, target_s, edit, closes_film)


def _j_cuts(shots: Sequence[PlannedShot], edit: EditSection) -> list[Trim]:
    """Every shot whole, but for the J cuts: the incoming speaker's picture starts ``j_cut_s``
    after their line does, and its sound from the take's start plays over the shot before."""
    out: list[Trim] = []
    for i, shot in enumerate(shots):
        start = _j_cut(shots[i - 1], out[-1], shot, edit) if i else 0.0
        note = (f"J cut: the line is heard {edit.j_cut_s:g}s before the picture",) if start else ()
        out.append(Trim(shot.shot_id, start, shot.source_s, note, lead_s=start))
    return out


def _j_cut(before: PlannedShot, cut: Trim, shot: PlannedShot, edit: EditSection) -> float:
    """The in point of ``shot``'s picture for a J cut (0: none): in an exchange within a
    scene, when the shot before (as ``cut`` plays it) is quiet by then and long enough, and
    the shot stays long enough itself."""
    first = next((line for line in shot.lines if line.timed), None)
    last = next((line for line in reversed(before.lines) if line.timed), None)
    if not edit.j_cut_s or first is None or before.row.scene_id != shot.row.scene_id:
        return 0.0
    if last is not None and last.character == first.character:
        return 0.0  # one speaker on both sides of the cut: not an exchange
    start = _up((first.start_s or 0.0) + edit.j_cut_s, shot.fps)
    early = start - (first.start_s or 0.0)  # how long before the cut the line begins
    length = cut.out_s - cut.in_s
    quiet = last is None or (last.end_s or 0.0) - cut.in_s <= length - early - GAP_S
    if not quiet or start > length or shot.source_s - start < edit.min_shot_s:
        return 0.0
    return start


def _fit(
    shots: Sequence[PlannedShot], base: list[Trim], excess: float, min_shot_s: float
) -> list[Trim]:
    """Trims that take ``excess`` seconds off, each shot in proportion to its slack (the shots
    on either side of a J cut keep theirs: a trim there would move the lines it joins)."""
    joined = {i for i, t in enumerate(base) if t.lead_s} | {
        i - 1 for i, t in enumerate(base) if t.lead_s
    }
    slack = [0.0 if i in joined else _slack(s, min_shot_s) for i, s in enumerate(shots)]
    room = sum(slack)
    out = []
    for shot, spare, trim in zip(shots, slack, base, strict=True):
        cut = min(spare, excess * spare / room) if room > 0 else 0.0
        if not cut:
            out.append(trim)
            continue
        head, tail = _split(shot, cut)
        head, tail = _snap(head, shot.fps), _snap(tail, shot.fps)
        note = (f"trimmed {head:g}s head, {tail:g}s tail to fit the target",)
        out.append(Trim(shot.shot_id, head, shot.source_s - tail, note))
    return out


def _slack(shot: PlannedShot, min_shot_s: float) -> float:
    keep = shot.keep()
    kept = keep[1] - keep[0] if keep else 0.0
    return max(0.0, shot.source_s - max(min(min_shot_s, shot.source_s), kept))


def _split(shot: PlannedShot, cut: float) -> tuple[float, float]:
    """Half from the head and half from the tail, within what the lines leave free."""
    keep = shot.keep()
    head_room, tail_room = (keep[0], shot.source_s - keep[1]) if keep else (cut, cut)
    head = min(cut / 2, head_room)
    tail = min(cut - head, tail_room)
    return min(cut - tail, head_room), tail


def _snap(seconds: float, fps: float) -> float:
    """Down to a whole frame (never more than asked), rounded for the CSV."""
    if fps <= 0:
        return round(seconds, 4)
    return round(math.floor(seconds * fps + 1e-6) / fps, 4)


def replan(
    shots: Sequence[PlannedShot],
    trims: Sequence[Trim],
    target_s: float,
    edit: EditSection,
    closes_film: bool = True,
) -> EditPlan:
    """The plan of ``trims`` in their order: timeline, handles, and the J and L cuts."""
    by_id = {s.shot_id: s for s in shots}
    order = [by_id[t.shot_id] for t in trims]
    lags = [_lag(s, t) for s, t in zip(order, trims, strict=True)]
    for i, lag in enumerate(lags):  # an L cut only where the next shot has room for it
        after = (order[i + 1], trims[i + 1]) if i + 1 < len(order) else None
        if lag and not (_room(*after) >= lag - EPS if after else not closes_film):
            lags[i] = 0.0  # the line is longer than the take: overrun_failures names it
    leads = [trim.lead_s if i else 0.0 for i, trim in enumerate(trims)]
    rows, record = [], 0.0
    for i, (shot, trim) in enumerate(zip(order, trims, strict=True)):
        notes = list(trim.notes)
        if lags[i]:
            notes.append(f"L cut: the sound runs {lags[i]:g}s over the next shot")
        rows.append(_row(i + 1, shot, trim, record, leads[i], lags[i], target_s, notes))
        record = round(record + trim.out_s - trim.in_s, 4)
    return EditPlan(rows=rows)


def _row(
    position: int,
    shot: PlannedShot,
    trim: Trim,
    record: float,
    lead: float,
    lag: float,
    target_s: float,
    notes: list[str],
) -> EditRow:
    return EditRow(
        position=position,
        shot_id=shot.shot_id,
        take=shot.take,
        source_s=round(shot.source_s, 4),
        in_s=round(trim.in_s, 4),
        out_s=round(trim.out_s, 4),
        handle_in_s=round(trim.in_s, 4),
        handle_out_s=round(shot.source_s - trim.out_s, 4),
        record_in_s=record,
        audio_lead_s=lead,
        audio_lag_s=lag,
        target_runtime_s=round(target_s, 4),
        notes="; ".join(notes),
    )


def _lag(shot: PlannedShot, trim: Trim) -> float:
    """How far the shot's last line runs past its out point (an L cut), 0 when it does not."""
    ends = [line.end_s for line in shot.lines if line.end_s is not None]
    over = max(ends) - trim.out_s if ends else 0.0
    return _up(over, shot.fps) if over > EPS else 0.0


def _room(shot: PlannedShot, trim: Trim) -> float:
    """How long the shot plays before its own first line is heard (room for an L cut)."""
    first = next((ln for ln in shot.lines if ln.timed), None)
    length = trim.out_s - trim.in_s
    if first is None:
        return length
    return min(length, (first.start_s or 0.0) - trim.in_s - GAP_S)


def _up(seconds: float, fps: float) -> float:
    """Up to a whole frame, rounded for the CSV."""
    if fps <= 0:
        return round(seconds, 4)
    return round(math.ceil(seconds * fps - 1e-6) / fps, 4)


# -- following a plan -------------------------------------------------------------------------


def plan_takes(
    plan: EditPlan, takes: dict[str, tuple[str, bytes]], target: str
) -> list[tuple[bytes, float, float]]:
    """The takes (shot id -> file name, bytes) in the plan's order, each with its in and out
    point; refused when the plan is not of exactly these takes (a shot added or dropped since,
    a newer take than the one it was planned on)."""
    planned = [row.shot_id for row in plan.rows]
    wrong = [f"{s} (not planned)" for s in takes if s not in planned]
    wrong += [f"{s} (no accepted take)" for s in planned if s not in takes]
    wrong += [
        f"{r.shot_id} (planned on {r.take}, the accepted take is {takes[r.shot_id][0]})"
        for r in plan.rows
        if r.shot_id in takes and r.take != takes[r.shot_id][0]
    ]
    wrong += [
        f"{r.shot_id} (in {r.in_s:g}s / out {r.out_s:g}s outside its {r.source_s:g}s take)"
        for r in plan.rows
        if not 0 <= r.in_s < r.out_s <= r.source_s + EPS
    ]
    if wrong or len(set(planned)) != len(planned) or not planned:
        raise InputNotReady(
            f"the edit plan of {target} is not a plan of its accepted takes: "
            + (", ".join(wrong) or "a shot is planned twice, or none is")
            + f"; run `slate run edit-planner --target {target}` again",
            input=f"EDIT_{target}",
        )
    return [(takes[r.shot_id][1], r.in_s, r.out_s) for r in plan.rows]
