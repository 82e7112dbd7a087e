"""The edit plan of a cut (issue 15 §4): the deterministic core that proposes it, and its gate.

:func:`propose` plans the accepted takes in shot-list order. A cut within the tolerance of its
target runtime is not trimmed; a longer one is trimmed to the target, each shot in proportion
to what it can lose (never into its dialogue, never below ``[edit] min_shot_s``), half from
the head and half from the tail where its lines allow. Then the sound: a line that runs past
its shot's picture carries over the next shot (an L cut), and in an exchange (the next shot's
first speaker is not the one who spoke last) the incoming line starts ``[edit] j_cut_s``
before its picture (a J cut) when the outgoing shot's sound is quiet by then.

:func:`plan_failures` is the gate, in code: the rows cover every shot once on its accepted
take, handles and timeline add up, shots move only within their scene; the runtime is within
the tolerance of the target; every line is heard whole (no trim cuts into it, no two lines
at once, a scene's lines in their order); no shot is trimmed below the minimum; no jump cut;
screen direction kept across a cut where the shot list says so (``_edit_shots``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from ..core._config_edit import EditSection
from ..core._errors import InputNotReady
from ..schemas import EditPlan, EditRow, ShotRow
from ._edit_shots import direction_of, jump_cut, keeps_direction

__all__ = [
    "LINE_PAD_S",
    "LineTiming",
    "PlannedShot",
    "Trim",
    "plan_failures",
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
    out = []
    for i, shot in enumerate(shots):
        start = _j_cut(shots[i - 1], shot, edit) if i else 0.0
        note = (f"J cut: the line is heard {edit.j_cut_s:g}s before the picture",) if start else ()
        out.append(Trim(shot.shot_id, start, shot.source_s, note, lead_s=start))
    return out


def _j_cut(before: PlannedShot, shot: PlannedShot, edit: EditSection) -> float:
    """The in point of ``shot``'s picture for a J cut (0: none): in an exchange within a
    scene, when the shot before is quiet by then and the shot stays long enough."""
    first = next((line for line in shot.lines if line.timed), None)
    last = next((line for line in reversed(before.lines) if line.timed), None)
    if not edit.j_cut_s or first is None or before.row.scene_id != shot.row.scene_id:
        return 0.0
    if last is not None and last.character == first.character:
        return 0.0  # one speaker on both sides of the cut: not an exchange
    start = _up((first.start_s or 0.0) + edit.j_cut_s, shot.fps)
    early = start - (first.start_s or 0.0)  # how long before the cut the line begins
    quiet = last is None or (last.end_s or 0.0) <= before.source_s - early - GAP_S
    if not quiet or start > before.source_s or shot.source_s - start < edit.min_shot_s:
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
    if closes_film and lags:
        lags[-1] = 0.0  # nothing follows the last shot: its line is cut off (the gate says so)
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


def _up(seconds: float, fps: float) -> float:
    """Up to a whole frame, rounded for the CSV."""
    if fps <= 0:
        return round(seconds, 4)
    return round(math.ceil(seconds * fps - 1e-6) / fps, 4)


# -- the gate ---------------------------------------------------------------------------------


def plan_failures(
    plan: EditPlan,
    shots: Sequence[PlannedShot],
    target_s: float,
    edit: EditSection,
    closes_film: bool = True,
) -> list[str]:
    """Everything wrong with a plan of ``shots`` (in their shot-list order), each naming the
    shot at fault and what to change; empty when the plan passes."""
    failures = structure_failures(plan, shots)
    if failures:
        return failures  # the rules below read the rows as a timeline of these shots
    by_id = {s.shot_id: s for s in shots}
    order = [by_id[r.shot_id] for r in plan.rows]
    failures += _runtime_failures(plan, target_s, edit.runtime_tolerance_pct)
    failures += _length_failures(plan, edit.min_shot_s)
    failures += _sound_failures(plan, order, closes_film)
    failures += _cut_failures(order)
    return failures


def structure_failures(plan: EditPlan, shots: Sequence[PlannedShot]) -> list[str]:
    """The rows against the shots: each once, on its accepted take, in scene order, with
    handles and a timeline that add up (what assemble-cut checks before it follows a plan)."""
    if not plan.rows:
        return ["the plan has no shots: every shot of the target needs a row"]
    by_id = {s.shot_id: s for s in shots}
    planned = [r.shot_id for r in plan.rows]
    out = [f"{s} is in no row: plan every shot of the target" for s in by_id if s not in planned]
    out += [f"{s} is not a shot of the target's shot lists" for s in planned if s not in by_id]
    out += [f"{s} has more than one row" for s in sorted(set(planned)) if planned.count(s) > 1]
    if out:
        return out
    record = 0.0
    for index, row in enumerate(plan.rows):
        out += _row_failures(row, by_id[row.shot_id], index + 1, record, plan.target_s)
        record += row.length_s
    return out + _scene_order_failures(plan, [s.shot_id for s in shots])


def _row_failures(
    row: EditRow, shot: PlannedShot, position: int, record: float, target_s: float
) -> list[str]:
    at = f"{row.shot_id} (row {position})"
    checks = [
        (row.position == position, f"{at}: position {row.position}, expected {position}"),
        (
            row.take == shot.take,
            f"{at}: planned on {row.take}, the accepted take is {shot.take}: plan it again",
        ),
        (
            abs(row.source_s - shot.source_s) <= EPS,
            f"{at}: source_s {row.source_s:g}s, the take lasts {shot.source_s:g}s",
        ),
        (
            row.in_s < row.out_s <= row.source_s + EPS,
            f"{at}: in {row.in_s:g}s / out {row.out_s:g}s must lie inside the take "
            f"(0-{row.source_s:g}s), in before out",
        ),
        (
            abs(row.handle_in_s - row.in_s) <= EPS
            and abs(row.handle_out_s - (row.source_s - row.out_s)) <= EPS,
            f"{at}: handles {row.handle_in_s:g}s / {row.handle_out_s:g}s are not what the "
            f"trims leave ({row.in_s:g}s / {row.source_s - row.out_s:g}s)",
        ),
        (
            abs(row.record_in_s - record) <= EPS,
            f"{at}: record_in {row.record_in_s:g}s, the shots before it end at {record:g}s",
        ),
        (
            abs(row.target_runtime_s - target_s) <= EPS,
            f"{at}: target_runtime_s {row.target_runtime_s:g}s differs from the first row's",
        ),
    ]
    return [why for ok, why in checks if not ok]


def _scene_order_failures(plan: EditPlan, shot_order: list[str]) -> list[str]:
    scenes = [s.split("_SH", 1)[0] for s in shot_order]
    rank = {scene: scenes.index(scene) for scene in scenes}
    out = []
    for before, after in pairwise(plan.rows):
        a, b = before.shot_id.split("_SH", 1)[0], after.shot_id.split("_SH", 1)[0]
        if rank[b] < rank[a]:
            out.append(
                f"{after.shot_id} plays after {before.shot_id}: scenes keep their SCENES "
                "order (a shot moves only within its scene)"
            )
    return out


def _runtime_failures(plan: EditPlan, target_s: float, tolerance_pct: float) -> list[str]:
    runtime, allowed = plan.runtime_s, target_s * tolerance_pct / 100
    off = runtime - target_s
    if abs(off) <= allowed + EPS:
        return []
    how = "overruns" if off > 0 else "falls short of"
    fix = (
        "trim or drop shots, or raise [edit] target_runtime_s"
        if off > 0
        else "add or lengthen shots, or lower [edit] target_runtime_s"
    )
    return [
        f"runtime {runtime:.2f}s {how} the target {target_s:.2f}s by {abs(off):.2f}s "
        f"({100 * abs(off) / target_s:.1f}%; tolerance {tolerance_pct:g}%): {fix}"
    ]


def _length_failures(plan: EditPlan, min_shot_s: float) -> list[str]:
    out = []
    for row in plan.rows:
        trimmed = row.in_s > EPS or row.out_s < row.source_s - EPS
        if trimmed and row.length_s < min(min_shot_s, row.source_s) - EPS:
            out.append(
                f"{row.shot_id} is trimmed to {row.length_s:.2f}s, below the minimum "
                f"{min_shot_s:g}s ([edit] min_shot_s): trim it less"
            )
    return out


def _sound_failures(plan: EditPlan, order: list[PlannedShot], closes_film: bool) -> list[str]:
    """Every line heard whole, never two at once, each scene's in its order; the J and L
    overlaps fit inside the neighbouring shots."""
    out: list[str] = []
    heard: list[tuple[float, float, str, int, str]] = []  # record start, end, shot, line, who
    rows = plan.rows
    for i, (row, shot) in enumerate(zip(rows, order, strict=True)):
        out += _overlap_failures(rows, i, closes_film)
        trimmed = row.in_s > EPS or row.out_s < row.source_s - EPS
        if trimmed and any(not line.timed for line in shot.lines):
            out.append(
                f"{row.shot_id} is trimmed but its lines have no timings (no cues in "
                f"AUDIO_{row.shot_id}): run scratch-voices on it, or leave it whole"
            )
            continue
        start, end = row.in_s - row.audio_lead_s, row.out_s + row.audio_lag_s
        for line in (ln for ln in shot.lines if ln.timed):
            a, b = line.start_s or 0.0, line.end_s or 0.0
            if a < start - EPS or b > end + EPS:
                out.append(
                    f"{row.shot_id} line {line.line} ({line.character}) is cut off: it is "
                    f"spoken {a:.2f}-{b:.2f}s into the take, the cut plays the shot's sound "
                    f"{max(start, 0):.2f}-{end:.2f}s: trim less or carry it over (J/L)"
                )
            shift = row.record_in_s - row.in_s
            heard.append((a + shift, b + shift, row.shot_id, line.line, line.character))
    return out + _clash_failures(heard)


def _overlap_failures(rows: list[EditRow], i: int, closes_film: bool) -> list[str]:
    row, out = rows[i], []
    if row.audio_lead_s > EPS and (i == 0 or row.audio_lead_s > rows[i - 1].length_s + EPS):
        out.append(
            f"{row.shot_id}: its J cut leads {row.audio_lead_s:g}s, longer than the shot "
            "before it plays"
        )
    last = i == len(rows) - 1
    if row.audio_lag_s > EPS and (
        (last and closes_film) or (not last and row.audio_lag_s > rows[i + 1].length_s + EPS)
    ):
        out.append(
            f"{row.shot_id}: its L cut runs {row.audio_lag_s:g}s over "
            + ("the end of the film" if last else "more than the next shot plays")
            + ": lengthen the shot or shorten its lines"
        )
    return out


def _clash_failures(heard: list[tuple[float, float, str, int, str]]) -> list[str]:
    out = []
    ordered = sorted(heard)
    for (_, a1, shot_a, line_a, who_a), (b0, _, shot_b, line_b, who_b) in pairwise(ordered):
        if b0 < a1 - EPS:
            out.append(
                f"{shot_a} line {line_a} ({who_a}) and {shot_b} line {line_b} ({who_b}) are "
                f"heard at once ({b0:.2f}-{a1:.2f}s of the cut): shorten the J/L overlap"
            )
    by_scene: dict[str, list[tuple[float, int]]] = {}
    for start, _, shot, line, _ in heard:
        by_scene.setdefault(shot.split("_SH", 1)[0], []).append((start, line))
    for scene, lines in by_scene.items():
        numbers = [line for _, line in sorted(lines)]
        if numbers != sorted(numbers):
            out.append(
                f"{scene}: its lines play out of order ({', '.join(map(str, numbers))}): "
                "keep the shots that carry them in their order"
            )
    return out


def _cut_failures(order: list[PlannedShot]) -> list[str]:
    """No jump cut; screen direction kept where the shot list asks for it."""
    out = []
    for before, after in pairwise(order):
        a, b = before.row, after.row
        if jump_cut(a, b):
            out.append(
                f"jump cut from {a.shot_id} to {b.shot_id}: both {a.camera_type} of "
                f"{', '.join(sorted(a.char_ids))} with no change of angle: change the "
                "camera type or the angle of one in the shot list, or put a shot between them"
            )
        if a.scene_id == b.scene_id and keeps_direction(b):
            was, now = direction_of(a), direction_of(b)
            if not was or was != now:
                out.append(
                    f"screen direction broken from {a.shot_id} ({was or 'no direction'}) to "
                    f"{b.shot_id} ({now or 'no direction'}), which the shot list says keeps "
                    "it: state the same direction in both shots' blocking"
                )
    return out


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
    if wrong or len(set(planned)) != len(planned) or not planned:
        raise InputNotReady(
            f"the edit plan of {target} is not a plan of its accepted takes: "
            + (", ".join(wrong) or "a shot is planned twice, or none is")
            + f"; run `slate run edit-planner --target {target}` again",
            input=f"EDIT_{target}",
        )
    return [(takes[r.shot_id][1], r.in_s, r.out_s) for r in plan.rows]
