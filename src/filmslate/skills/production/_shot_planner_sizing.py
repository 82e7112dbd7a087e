"""shot-planner's dialogue sizing (issue 15): every shot lasts long enough to say its lines.

The scene's lines (its SCRIPT slice, else SCENES: ``_dialogue_shots.scene_lines``) are placed
in the planned shots by dialogue-shots' own rule, each line as long as its speaker's voice
lock says (or its measured cue in the scene's AUDIO, when a run voiced it already: the
confirmation edit-planner's gate sends back here); each shot is lengthened to hold its lines
(``_dialogue_shots.sized_durations``), up to its cap: the clip limit (``[visual]
max_clip_s``), the longest clip its hero tier's model makes, and ``complex_max_s`` for a
complex or crowded shot. A shot is never shortened. The gate FAILs a shot whose lines still do
not fit its cap, naming the lines, the seconds they take and the fix (more shots for them).
"""

from __future__ import annotations

from ...core._visual_models import entry_for, tier_model
from ...engine._skill import Context
from ...schemas import DialogueRow, SceneRow, ShotRow
from ._dialogue_shots import (
    SpokenLine,
    assign_lines,
    line_clock,
    scene_lines,
    shot_needs,
    sized_durations,
    spoken_seconds,
)
from ._dialogue_timing import LineClock, shot_need
from ._shared import CROWD

__all__ = [
    "dialogue_lines_prompt",
    "dialogue_needs",
    "dialogue_size_failures",
    "shot_cap",
    "sized_rows",
]

EPS = 1e-3
SIZED_NOTE = "lengthened for its dialogue"


def shot_cap(ctx: Context, row: ShotRow) -> tuple[float, str]:
    """The longest a shot may last, and why: the clip limit, its model's longest clip, the
    complex or crowded limit, whichever is shortest."""
    visual = ctx.config.visual
    caps = [(visual.max_clip_s, "the [visual] max_clip_s clip limit")]
    entry = entry_for(ctx.config, tier_model(ctx.config, row.hero_tier))
    if entry is not None and entry.allowed_durations():
        caps.append((entry.allowed_durations()[-1], f"the longest clip {entry.key} makes"))
    if row.complexity_level == "high" or len(row.char_ids) >= CROWD:
        caps.append((visual.complex_max_s, "complex or crowded shots' limit"))
    return min(caps, key=lambda c: c[0])


def sized_rows(ctx: Context, scene: SceneRow, rows: list[ShotRow]) -> list[ShotRow]:
    """The rows with each shot lengthened to hold the lines the placement rule gives it."""
    lines = scene_lines(ctx.inputs.get("SCRIPT"), scene)
    if not lines or not rows:
        return rows
    caps = [shot_cap(ctx, row)[0] for row in rows]
    durations = sized_durations(lines, rows, caps, line_clock(ctx))
    out = []
    for row, duration in zip(rows, durations, strict=True):
        if duration <= row.duration_s + EPS:
            out.append(row)
            continue
        note = f"{SIZED_NOTE} (planned {row.duration_s:g}s)"
        notes = f"{row.notes}; {note}" if row.notes else note
        out.append(row.model_copy(update={"duration_s": duration, "notes": notes}))
    return out


def dialogue_needs(ctx: Context, scene: SceneRow, rows: list[ShotRow]) -> dict[str, float]:
    """Shot id -> the seconds its lines take (placement rule and clock as sizing's), for
    the shots that carry dialogue: what a cost reduction must not cut into."""
    lines = scene_lines(ctx.inputs.get("SCRIPT"), scene)
    if not lines or not rows:
        return {}
    clock = line_clock(ctx)
    needs = shot_needs(assign_lines(lines, rows, clock), lines, rows, clock)
    return {row.shot_id: need for row, need in zip(rows, needs, strict=True) if need > 0}


def dialogue_size_failures(ctx: Context, scene: SceneRow, rows: list[ShotRow]) -> list[str]:
    """Every shot too short for the lines the placement rule gives it, with the fix."""
    lines = scene_lines(ctx.inputs.get("SCRIPT"), scene)
    if not lines or not rows:
        return []
    clock = line_clock(ctx)
    placed = assign_lines(lines, rows, clock)
    out = []
    for row, need in zip(rows, shot_needs(placed, lines, rows, clock), strict=True):
        if need <= row.duration_s + EPS:
            continue
        mine = [p for p in placed if p.shot_id == row.shot_id]
        who = ", ".join(f"{p.line_order} {p.character}" for p in mine)
        cap, why = shot_cap(ctx, row)
        limit = (
            f"it may last at most {cap:g}s ({why})"
            if need > cap + EPS
            else f"it lasts {row.duration_s:g}s"
        )
        out.append(
            f"{row.shot_id}: its dialogue (lines {who}) takes about {need:.1f}s to say and "
            f"{limit}: " + _fix(mine, lines, clock, cap)
        )
    return out


def _fix(mine: list[DialogueRow], lines: list[SpokenLine], clock: LineClock, cap: float) -> str:
    """More shots, unless one line alone is longer than the shot may last: no shot list can
    place it whole, so the script or the model must change."""
    by_order = {line.order: line for line in lines}
    alone = [
        p.line_order
        for p in mine
        if shot_need([spoken_seconds(by_order[p.line_order], clock)]) > cap + EPS
    ]
    if alone:
        return (
            f"line {alone[0]} alone is longer than that: split the speech in the script, or "
            "route the shot to a model with longer clips"
        )
    return "add shots for these lines (a shot of each speaker after it) or give it fewer lines"


def dialogue_lines_prompt(ctx: Context, scene: SceneRow) -> list[str]:
    """The scene's lines for the planner, each with the seconds it takes to say."""
    lines = scene_lines(ctx.inputs.get("SCRIPT"), scene)
    if not lines:
        return []
    clock = line_clock(ctx)
    out = [
        "",
        "DIALOGUE (in order; each line lands in a shot that shows its speaker, and a shot "
        "lasts as long as its lines take to say: 0.3s before the first, 0.25s between, 0.2s "
        "after the last; plan enough shots, each within its clip limit)",
    ]
    for line in lines:
        out.append(
            f"- {line.order}. {line.character}{f' ({line.extension})' if line.extension else ''}"
            f": about {spoken_seconds(line, clock):.1f}s: {line.text}"
        )
    return out
