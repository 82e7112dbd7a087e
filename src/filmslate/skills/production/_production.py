"""shot-planner (SPEC §5, Tier 2) and the shot-row lookups every later production skill uses.

shot-planner asks a model for a scene's SHOTLIST and judges it in code: hero tier and regen
risk on every shot, no hero-A wide, durations within the clip limit, short complex and crowded
shots, sequential ids, locks for everything referenced, no bloat, and every shot long enough
to say the dialogue it gets (code lengthens a shot for its lines, ``_shot_planner_sizing``,
and FAILs one whose lines do not fit its clip limit). Its system prompt is
``prompts/shot-planner.md``.

Policy numbers come from ``ctx.config``; the three shot-planner limits that have no config key
yet (``complex_max_s``, ``max_shots_per_scene``, ``shots_per_summary_sentence``) are read from
``config.visual`` when present and default to the values documented below.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ...core._config import Config
from ...core._errors import UserError
from ...core._gate import Gate
from ...core._names import lock_subject
from ...core._visual_models import entry_for, tier_model
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...schemas import (
    Artifact,
    BreakdownRow,
    CharLock,
    ContinuityReport,
    SceneRow,
    SetLock,
    ShotList,
    ShotRow,
)
from .._prompts import system_prompt
from ._shared import CROWD, PACKAGE, rules_missing
from ._shot_planner_sizing import dialogue_lines_prompt, dialogue_size_failures, sized_rows

WIDE_TYPES = ("wide", "establishing")
MODEL_CLIP = re.compile(r"model clip (\d+(?:\.\d+)?)s \(([^)]+)\)")  # the note on a shot row


# -- the target shot -------------------------------------------------------------------------


def shot_row(ctx: Context) -> ShotRow:
    """The target shot's row in its scene's latest shot list."""
    shotlist: ShotList = ctx.inputs.get("SHOTLIST")
    row = next((r for r in shotlist.rows if r.shot_id == ctx.target), None)
    if row is None:
        raise UserError(
            f"{ctx.target} is not in the latest SHOTLIST of {ctx.scene_id}: run "
            f"shot-planner on {ctx.scene_id} or pick a planned shot",
            target=ctx.target,
        )
    return row


def shot_cast(ctx: Context, row: ShotRow) -> list[tuple[str, CharLock | None]]:
    """The shot's characters in frame order, each with its CHAR lock (None when unlocked)."""
    locks = ctx.inputs.all("CHAR_LOCK")
    return [(cid, locks.get(cid)) for cid in row.char_ids]


def model_clip(config: Config, row: ShotRow) -> tuple[str, float] | None:
    """The video model of the shot's hero tier and the clip length it is asked for (the
    catalogue's snap: the shortest allowed length that covers the plan, so the take is
    trimmed, never stretched); None for a model outside the catalogue (any length)."""
    model = tier_model(config, row.hero_tier)
    entry = entry_for(config, model)
    return None if entry is None else (model, entry.snap_duration(row.duration_s))


def with_model_clip(config: Config, row: ShotRow) -> ShotRow:
    """The row with its model clip length recorded in the notes (replacing an older note)."""
    found = model_clip(config, row)
    kept = MODEL_CLIP.sub("", row.notes).strip().strip(";").strip()
    if found is None:
        return row if kept == row.notes else row.model_copy(update={"notes": kept})
    note = f"model clip {found[1]:g}s ({found[0]})"
    return row.model_copy(update={"notes": f"{kept}; {note}" if kept else note})


# -- shot-planner ----------------------------------------------------------------------------


class ShotPlanner(Skill):
    """Plans a scene's shots with a judgment model; the gate enforces SPEC §5 rules in code."""

    name: ClassVar[str] = "shot-planner"
    prompt_name: ClassVar[str] = "shot-planner"  # the system prompt: prompts/shot-planner.md
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "judgment"
    loop: ClassVar[str] = "production"
    # The plan follows from the scene and its breakdown. The continuity report is a gate to
    # pass (fresh PASS) and the locks must exist, but a new version of either does not make
    # the plan stale: lock text reaches the shots through their GenPacks, which do depend on it.
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        Need("BREAKDOWN"),
        Need("CONTINUITY_REPORT", "scene", lineage=False),
        Need("CHAR_LOCK", "cast", lineage=False),
        Need("SET_LOCK", "scene_set", lineage=False),
        # the dialogue each shot must last long enough to say: the lines, their speakers'
        # cadence, and (once voiced) their measured length; a new voice or take re-sizes a
        # shot only through edit-planner's confirmation, not by making the plan stale
        Need("SCRIPT", "scene", optional=True),
        Need("VOICE_LOCK", "cast", optional=True, lineage=False),
        Need("AUDIO", "within", optional=True, lineage=False, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("SHOTLIST",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = (
        "after continuity PASS: the scene's shots with hero tier, complexity and regen risk"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask for the shot list of the target scene; each shot is lengthened to hold its
        dialogue (within its clip limit), and each routed to a catalogue model records the
        clip length it will be asked for (``model clip 5s (fal:...)``)."""
        answer = ctx.ask(ShotList, system_prompt(PACKAGE, self.prompt_name), planner_prompt(ctx))
        rows = sized_rows(ctx, _scene_rows(ctx)[0], answer.rows)
        return [ShotList(rows=[with_model_clip(ctx.config, row) for row in rows])]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on every broken rule, each named with its shot and its fix."""
        shotlist = outputs[0]
        assert isinstance(shotlist, ShotList)
        return Gate.from_failures(shotlist_failures(shotlist, ctx))


def _scene_rows(ctx: Context) -> tuple[SceneRow, BreakdownRow | None]:
    scene = next((r for r in ctx.inputs.get("SCENES").rows if r.scene_id == ctx.target), None)
    if scene is None:
        raise UserError(
            f"{ctx.target} is not in the latest SCENES: add it before planning shots",
            target=ctx.target,
        )
    row = next((r for r in ctx.inputs.get("BREAKDOWN").rows if r.scene_id == ctx.target), None)
    return scene, row


def _cast(scene: SceneRow, row: BreakdownRow | None) -> list[str]:
    names = [*scene.characters_present]
    if row is not None:
        names += [*row.characters_present, *row.new_characters_introduced]
    return list(dict.fromkeys(lock_subject(n) for n in names if n.strip()))


def _sentences(text: str) -> int:
    return max(1, len([s for s in re.split(r"[.!?]+(?:\s+|$)", text) if s.strip()]))


def shot_budget(ctx: Context, scene: SceneRow) -> int:
    """The most shots a scene may have: a per-sentence allowance, capped per scene."""
    per_sentence = ctx.config.visual.shots_per_summary_sentence
    cap = ctx.config.visual.max_shots_per_scene
    return min(cap, per_sentence * _sentences(scene.summary))


def planner_prompt(ctx: Context) -> str:
    """The scene, its breakdown, its continuity notes, the relevant locks and the limits."""
    scene, row = _scene_rows(ctx)
    chars: dict[str, CharLock] = ctx.inputs.all("CHAR_LOCK")
    sets: dict[str, SetLock] = ctx.inputs.all("SET_LOCK")
    report: ContinuityReport = ctx.inputs.get("CONTINUITY_REPORT")
    cast = _cast(scene, row)
    places = {
        lock_subject(scene.location),
        *(lock_subject(p) for p in (row.locations_used if row else [])),
    }
    lines = [
        f"TARGET SCENE: {scene.scene_id}",
        "",
        "SCENE",
        f"location: {scene.location} | time of day: {scene.time_of_day or '?'} | cast: "
        f"{', '.join(cast) or 'none'}",
        f"summary: {scene.summary}",
        f"goal: {scene.goal or '?'}",
        f"conflict: {scene.conflict or '?'}",
        f"outcome: {scene.outcome or '?'}",
    ]
    if row is not None:
        lines += [
            "",
            "BREAKDOWN",
            f"props: {', '.join(row.props_used) or 'none'}",
            f"state changes: {'; '.join(row.state_changes) or 'none'}",
            f"continuity risks: {'; '.join(row.continuity_risks) or 'none'}",
        ]
    lines += [
        "",
        "CONTINUITY NOTES",
        *(f"- {c}" for c in report.corrections),
        *(f"- {f.severity}: {f.description}" for f in report.findings),
    ]
    lines += ["", "CHARACTER LOCKS (id: visual anchors)"]
    lines += [_char_line(cid, chars.get(cid)) for cid in cast]
    matching = sorted(p for p in places if p in sets)
    lines += ["", "SET LOCKS (id: visual anchors)"]
    lines += [f"- {sid}: {'; '.join(sets[sid].visual_anchors)}" for sid in matching] or [
        f"- {sid}" for sid in sorted(sets)
    ]
    lines += [
        "",
        "LIMITS",
        f"- clip limit: {ctx.config.visual.max_clip_s:g}s per shot",
        f"- complex (high) or {CROWD}+ character shots: at most "
        f"{ctx.config.visual.complex_max_s:g}s",
        f"- at most {shot_budget(ctx, scene)} shots for this scene",
        *clip_length_limits(ctx.config),
    ]
    lines += dialogue_lines_prompt(ctx, scene)
    if ctx.feedback:
        lines += [
            "",
            "YOUR PREVIOUS SHOT LIST WAS REFUSED. Fix every point:",
            *(f"- {reason}" for reason in ctx.feedback),
        ]
    lines += ["", f"Answer with the shot list of {scene.scene_id}."]
    return "\n".join(lines)


def clip_length_limits(config: Config) -> list[str]:
    """The clip lengths each catalogue model routed by hero tier allows (none otherwise)."""
    lines = []
    for hero in ("A", "B", "C"):
        model = tier_model(config, hero)
        entry = entry_for(config, model)
        if entry is not None:
            lengths = entry.allowed_durations()
            allowed = ", ".join(f"{d:g}" for d in lengths)
            lines.append(
                f"- hero {hero} shots render on {model}: clips of {allowed}s; a shot is "
                f"trimmed from the next length up, and lasts at most {lengths[-1]:g}s"
            )
    return lines


def _char_line(cid: str, lock: CharLock | None) -> str:
    if lock is None:
        return f"- {cid}: NO LOCK (do not put them in a shot)"
    return f"- {cid}: {'; '.join(lock.visual_anchors) or lock.wardrobe.default_outfit}"


def shotlist_failures(shotlist: ShotList, ctx: Context) -> list[str]:
    """Every rule a shot list breaks (SPEC §5 shot-planner), as actionable reasons."""
    scene, row = _scene_rows(ctx)
    rows = shotlist.rows
    if not rows:
        return [f"{ctx.target}: the shot list is empty: plan at least one shot"]
    out = _id_failures(rows, ctx.target)
    budget = shot_budget(ctx, scene)
    if len(rows) > budget:
        out.append(
            f"{ctx.target}: bloated: {len(rows)} shots, at most {budget} for this scene "
            "(merge coverage, drop redundant C shots)"
        )
    cast = set(_cast(scene, row))
    chars = ctx.inputs.all("CHAR_LOCK")
    sets = ctx.inputs.all("SET_LOCK")
    for shot in rows:
        out += _shot_failures(shot, ctx, cast, chars, sets)
    return out + dialogue_size_failures(ctx, scene, rows)


def _id_failures(rows: list[ShotRow], scene: str) -> list[str]:
    out = [
        f"{r.shot_id}: scene_id is {r.scene_id}, the target is {scene}"
        for r in rows
        if r.scene_id != scene
    ]
    numbers = [r.shot_id.rsplit("_SH", 1)[1] for r in rows]
    widths = {len(n) for n in numbers}
    if len(widths) > 1:
        out.append(f"{scene}: shot numbers mix paddings ({', '.join(numbers)}): use one width")
    expected = list(range(1, len(rows) + 1))
    if [int(n) for n in numbers] != expected:
        width = max(2, *widths)
        want = ", ".join(f"{scene}_SH{i:0{width}d}" for i in expected)
        out.append(f"{scene}: shot ids are not sequential: expected {want}")
    return out


def _shot_failures(
    shot: ShotRow, ctx: Context, cast: set[str], chars: dict[str, Any], sets: dict[str, Any]
) -> list[str]:
    out = []
    sid = shot.shot_id
    max_clip = ctx.config.visual.max_clip_s
    short = ctx.config.visual.complex_max_s
    if shot.hero_tier == "A" and shot.camera_type in WIDE_TYPES:
        out.append(
            f"{sid}: a hero-A moment is buried in a {shot.camera_type} shot: use a "
            "close_up or medium, or lower the hero tier"
        )
    if shot.duration_s > max_clip:
        out.append(f"{sid}: {shot.duration_s:g}s exceeds the {max_clip:g}s clip limit: split it")
    clip = model_clip(ctx.config, shot)
    if clip is not None and clip[1] < shot.duration_s - 1e-3:
        out.append(
            f"{sid}: {shot.duration_s:g}s is longer than the longest clip {clip[0]} makes "
            f"({clip[1]:g}s; hero {shot.hero_tier}): shorten or split it (a take is trimmed, "
            "never stretched)"
        )
    crowded = len(shot.char_ids) >= CROWD
    if (shot.complexity_level == "high" or crowded) and shot.duration_s > short:
        why = (
            "high complexity"
            if shot.complexity_level == "high"
            else f"{len(shot.char_ids)} characters"
        )
        out.append(
            f"{sid}: {why} in {shot.duration_s:g}s: complex or crowded shots last at "
            f"most {short:g}s; shorten or split it"
        )
    if shot.set_id not in sets:
        out.append(
            f"{sid}: set {shot.set_id} has no SET lock: lock it (set-lock) or use a locked set"
        )
    for cid in shot.char_ids:
        if cid not in cast:
            out.append(
                f"{sid}: character {cid} is not in {shot.scene_id}'s cast "
                f"({', '.join(sorted(cast)) or 'none'})"
            )
        elif cid not in chars:
            out.append(f"{sid}: character {cid} has no CHAR lock: lock them (character-lock) first")
    return out


REGISTRY.register(ShotPlanner)

# rules_missing moved to _shared; the orchestrator still imports it from here.
__all__ = [
    "MODEL_CLIP",
    "ShotPlanner",
    "clip_length_limits",
    "model_clip",
    "planner_prompt",
    "rules_missing",
    "shot_budget",
    "shot_cast",
    "shot_row",
    "shotlist_failures",
    "with_model_clip",
]
