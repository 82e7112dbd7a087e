"""The gate of an edit plan (issue 15 §4), in code.

:func:`plan_failures`: the rows cover every shot once on its accepted take, handles and
timeline add up, shots move only within their scene; the runtime is within the tolerance of
the target; every line is heard whole as far as the edit decides it (no trim cuts into one, no
J/L overlap makes two heard at once, a scene's lines in their order); no shot is trimmed below
the minimum; no jump cut; screen direction kept across a cut where the shot list says so
(``_edit_shots``). :func:`overrun_failures`: what the edit cannot fix and the shot list must (a
take shorter than its measured lines, where no L cut can carry them); edit-planner sends those
back to shot-planner.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from ..core._config_edit import EditSection
from ..schemas import EditPlan, EditRow
from ._edit import EPS, PlannedShot
from ._edit_shots import direction_of, jump_cut, keeps_direction

__all__ = ["overrun_failures", "plan_failures", "structure_failures"]


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
    """Every line heard whole as far as the edit decides it (no trim cuts into one), never two
    at once, each scene's in its order; the J and L overlaps fit inside the neighbouring shots."""
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
            if a < start - EPS or (b > end + EPS and end < row.source_s - EPS):
                out.append(
                    f"{row.shot_id} line {line.line} ({line.character}) is cut off: it is "
                    f"spoken {a:.2f}-{b:.2f}s into the take, the cut plays the shot's sound "
                    f"{max(start, 0):.2f}-{end:.2f}s: trim less or carry it over (J/L)"
                )
            shift = row.record_in_s - row.in_s
            if min(b, end) > max(a, start):
                heard.append(
                    (
                        max(a, start) + shift,
                        min(b, end) + shift,
                        row.shot_id,
                        line.line,
                        line.character,
                    )
                )
    return out + _clash_failures(heard)


def overrun_failures(plan: EditPlan, shots: Sequence[PlannedShot]) -> list[str]:
    """Lines that run past their shot's take where no L cut carries them: the edit cannot
    make them heard (the take is whole, so no trim cut them), the shot list can, by giving
    the shot the picture its measured lines take (shot-planner re-sizes it from the cues)."""
    by_id = {s.shot_id: s for s in shots}
    out = []
    for row in plan.rows:
        end = max(row.out_s + row.audio_lag_s, row.source_s)
        over = [
            ln for ln in by_id[row.shot_id].lines if ln.end_s is not None and ln.end_s > end + EPS
        ]
        if over:
            last = max(ln.end_s or 0.0 for ln in over)
            which = ("line " if len(over) == 1 else "lines ") + ", ".join(
                str(ln.line) for ln in over
            )
            out.append(
                f"{row.shot_id}: its dialogue runs {last - end:.2f}s past its take "
                f"({last:.2f}s of lines in AUDIO_{row.shot_id}, a {row.source_s:g}s take) and "
                f"the next shot cannot carry it ({which}), so the cut would end the line "
                "early: lengthen the shot to its measured lines in the shot list"
            )
    return out


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
