"""Production skills (SPEC §5): shot-planner, prompt-packager and storyboard-generator.

- **shot-planner** (Tier 2) asks a model for a scene's SHOTLIST and judges it in code: hero
  tier and regen risk on every shot, no hero-A wide, durations within the clip limit, short
  complex and crowded shots, sequential ids, locks for everything referenced, no bloat.
- **prompt-packager** (deterministic, zero cost) assembles a shot's GENPACK from the locks
  verbatim, the shot row, the forbidden-drift lists and the current regen rules. It invents
  nothing; its gate re-parses the pack and re-checks order and verbatim inclusion.
- **storyboard-generator** (Vision tier, proxy resolution) draws a schematic frame offline
  (``_storyboard``) and computes its report from what was drawn. A vision model would plug in
  as a ``FrameSource`` for the image and as an extra reviewer whose notes go into the report;
  the recommendation and the gate stay in code.

Policy numbers come from ``ctx.config``; the three shot-planner limits that have no config key
yet (``complex_max_s``, ``max_shots_per_scene``, ``shots_per_summary_sentence``) are read from
``config.visual`` when present and default to the values documented below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

from ...core._errors import UserError
from ...core._gate import Gate
from ...core._names import lock_subject
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...rules._storyboard import Figure, Frame, FramePlan, draw_storyboard, hex_of
from ...rules._takes import shot_seed
from ...schemas import (
    GENPACK_SECTIONS,
    Artifact,
    BreakdownRow,
    CharLock,
    ContinuityReport,
    GenPack,
    RegenRules,
    SceneRow,
    SetLock,
    ShotList,
    ShotRow,
    StoryboardReport,
    StyleLock,
)
from ...schemas._types import Level

# The shot-length and list-size limits live in [visual] of filmslate.toml.
CROWD = 3  # this many characters in one frame make a shot "multi-character"
WIDE_TYPES = ("wide", "establishing")
LEVEL_RANK = {"low": 0, "medium": 1, "high": 2}
SIMPLIFICATION = "Simplification:"


def _lock_text(lock: Artifact) -> str:
    """A lock as it sits in its .txt file, without the final newline (pasted verbatim)."""
    return lock.render().decode("utf-8").removesuffix("\n")


# -- shot-planner ----------------------------------------------------------------------------

PLANNER_SYSTEM = """\
You are the shot planner of a film production that generates its shots with video models.
For one scene you write the shot list: the fewest shots that tell the scene clearly and that a
video model can render without drifting from the locks.

How to work:
1. Read the scene (summary, goal, conflict, outcome), its breakdown row and the continuity
   notes; find the scene's emotional anchor and the interactions it needs.
2. Cover the anchor with a face-critical shot, the interactions with supporting shots, and the
   place with as little coverage as the story needs.
3. For each shot decide camera, duration, blocking (what is seen, who is where, what moves),
   the set and the characters in frame, then rate complexity and regeneration risk.

Checklist (the list is refused when one fails):
- hero_tier on every shot: A = face-critical or emotional anchor, B = supporting interaction,
  C = coverage or environment.
- An A shot is never a wide or establishing shot; keep the camera steady on A shots.
- regen_risk_estimate on every shot (low / medium / high): faces, hands, crowds, fast motion
  and long takes raise it.
- Durations stay within the clip limit given below. Complex shots and shots with three or more
  characters are short (limit below): split a complex interaction into several simple shots.
- Few characters per frame. Only characters of this scene, only sets and characters that
  have a lock (listed below), ids spelled exactly as listed.
- shot_id runs S##_SH01, S##_SH02, ... in order with the same zero padding; scene_id is the
  target scene on every row.
- No bloat: stay within the shot count given below.
"""


class ShotPlanner(Skill):
    """Plans a scene's shots with a judgment model; the gate enforces SPEC §5 rules in code."""

    name: ClassVar[str] = "shot-planner"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "judgment"
    loop: ClassVar[str] = "production"
    # The plan follows from the scene and its breakdown. The continuity report is a gate to
    # pass (fresh PASS) and the locks must exist, but a new version of either does not make
    # the plan stale: lock text reaches the shots through their GenPacks, which do depend on it.
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"), Need("BREAKDOWN"), Need("CONTINUITY_REPORT", "scene", lineage=False),
        Need("CHAR_LOCK", "cast", lineage=False), Need("SET_LOCK", "scene_set", lineage=False))
    produces: ClassVar[tuple[str, ...]] = ("SHOTLIST",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = ("after continuity PASS: the scene's shots with hero tier, "
                              "complexity and regen risk")

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask for the shot list of the target scene."""
        return [ctx.ask(ShotList, PLANNER_SYSTEM, planner_prompt(ctx))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on every broken rule, each named with its shot and its fix."""
        shotlist = outputs[0]
        assert isinstance(shotlist, ShotList)
        return Gate.from_failures(shotlist_failures(shotlist, ctx))


def _scene_rows(ctx: Context) -> tuple[SceneRow, BreakdownRow | None]:
    scene = next((r for r in ctx.inputs.get("SCENES").rows if r.scene_id == ctx.target), None)
    if scene is None:
        raise UserError(f"{ctx.target} is not in the latest SCENES: add it before planning "
                        "shots", target=ctx.target)
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
    places = {lock_subject(scene.location), *(lock_subject(p) for p in
                                            (row.locations_used if row else []))}
    lines = [f"TARGET SCENE: {scene.scene_id}", "", "SCENE",
             f"location: {scene.location} | time of day: {scene.time_of_day or '?'} | cast: "
             f"{', '.join(cast) or 'none'}", f"summary: {scene.summary}",
             f"goal: {scene.goal or '?'}", f"conflict: {scene.conflict or '?'}",
             f"outcome: {scene.outcome or '?'}"]
    if row is not None:
        lines += ["", "BREAKDOWN", f"props: {', '.join(row.props_used) or 'none'}",
                  f"state changes: {'; '.join(row.state_changes) or 'none'}",
                  f"continuity risks: {'; '.join(row.continuity_risks) or 'none'}"]
    lines += ["", "CONTINUITY NOTES", *(f"- {c}" for c in report.corrections),
              *(f"- {f.severity}: {f.description}" for f in report.findings)]
    lines += ["", "CHARACTER LOCKS (id: visual anchors)"]
    lines += [_char_line(cid, chars.get(cid)) for cid in cast]
    matching = sorted(p for p in places if p in sets)
    lines += ["", "SET LOCKS (id: visual anchors)"]
    lines += [f"- {sid}: {'; '.join(sets[sid].visual_anchors)}" for sid in matching] or \
        [f"- {sid}" for sid in sorted(sets)]
    lines += ["", "LIMITS",
              f"- clip limit: {ctx.config.visual.max_clip_s:g}s per shot",
              f"- complex (high) or {CROWD}+ character shots: at most "
              f"{ctx.config.visual.complex_max_s:g}s",
              f"- at most {shot_budget(ctx, scene)} shots for this scene"]
    if ctx.feedback:
        lines += ["", "YOUR PREVIOUS SHOT LIST WAS REFUSED. Fix every point:",
                  *(f"- {reason}" for reason in ctx.feedback)]
    lines += ["", f"Answer with the shot list of {scene.scene_id}."]
    return "\n".join(lines)


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
        out.append(f"{ctx.target}: bloated: {len(rows)} shots, at most {budget} for this scene "
                   "(merge coverage, drop redundant C shots)")
    cast = set(_cast(scene, row))
    chars = ctx.inputs.all("CHAR_LOCK")
    sets = ctx.inputs.all("SET_LOCK")
    for shot in rows:
        out += _shot_failures(shot, ctx, cast, chars, sets)
    return out


def _id_failures(rows: list[ShotRow], scene: str) -> list[str]:
    out = [f"{r.shot_id}: scene_id is {r.scene_id}, the target is {scene}"
           for r in rows if r.scene_id != scene]
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


def _shot_failures(shot: ShotRow, ctx: Context, cast: set[str], chars: dict[str, Any],
                   sets: dict[str, Any]) -> list[str]:
    out = []
    sid = shot.shot_id
    max_clip = ctx.config.visual.max_clip_s
    short = ctx.config.visual.complex_max_s
    if shot.hero_tier == "A" and shot.camera_type in WIDE_TYPES:
        out.append(f"{sid}: a hero-A moment is buried in a {shot.camera_type} shot: use a "
                   "close_up or medium, or lower the hero tier")
    if shot.duration_s > max_clip:
        out.append(f"{sid}: {shot.duration_s:g}s exceeds the {max_clip:g}s clip limit: split it")
    crowded = len(shot.char_ids) >= CROWD
    if (shot.complexity_level == "high" or crowded) and shot.duration_s > short:
        why = "high complexity" if shot.complexity_level == "high" else \
            f"{len(shot.char_ids)} characters"
        out.append(f"{sid}: {why} in {shot.duration_s:g}s: complex or crowded shots last at "
                   f"most {short:g}s; shorten or split it")
    if shot.set_id not in sets:
        out.append(f"{sid}: set {shot.set_id} has no SET lock: lock it (set-lock) or use a "
                   "locked set")
    for cid in shot.char_ids:
        if cid not in cast:
            out.append(f"{sid}: character {cid} is not in {shot.scene_id}'s cast "
                       f"({', '.join(sorted(cast)) or 'none'})")
        elif cid not in chars:
            out.append(f"{sid}: character {cid} has no CHAR lock: lock them (character-lock) "
                       "first")
    return out


# -- prompt-packager -------------------------------------------------------------------------

RESOLUTION_PARAM = "resolution_tier"  # ctx.params key: "proxy" (default) or "final"


class PromptPackager(Skill):
    """Builds a shot's GENPACK from locks verbatim, the shot row and the regen rules."""

    name: ClassVar[str] = "prompt-packager"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "production"
    # REGEN_RULES is one project-wide file: a new version for one shot must not make every
    # other shot's GenPack stale, so it is context here; the orchestrator repackages exactly
    # the shots whose applicable rules changed (``rules_missing``). The continuity report is
    # a gate to pass, not content.
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SHOTLIST", "scene"), Need("CHAR_LOCK", "cast"), Need("SET_LOCK", "scene_set"),
        Need("STYLE_LOCK", "all", optional=True),
        Need("REGEN_RULES", optional=True, lineage=False),
        Need("CONTINUITY_REPORT", "scene", lineage=False))
    produces: ClassVar[tuple[str, ...]] = ("GENPACK",)
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False
    summary: ClassVar[str] = ("after shot-planner PASS: the shot's GENPACK (locks verbatim, "
                              "action, negatives, settings); invents nothing")

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The GenPack of the target shot."""
        return [build_genpack(ctx)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """Re-parse the pack; FAIL on order, missing or altered locks, missing continuity."""
        pack = outputs[0]
        assert isinstance(pack, GenPack)
        return Gate.from_failures(genpack_failures(pack, ctx))


def shot_row(ctx: Context) -> ShotRow:
    """The target shot's row in its scene's latest shot list."""
    shotlist: ShotList = ctx.inputs.get("SHOTLIST")
    row = next((r for r in shotlist.rows if r.shot_id == ctx.target), None)
    if row is None:
        raise UserError(f"{ctx.target} is not in the latest SHOTLIST of {ctx.scene_id}: run "
                        f"shot-planner on {ctx.scene_id} or pick a planned shot",
                        target=ctx.target)
    return row


def _styles(ctx: Context) -> list[tuple[str, StyleLock]]:
    return sorted(ctx.inputs.all("STYLE_LOCK").items())


def _chars(ctx: Context, row: ShotRow) -> list[tuple[str, CharLock | None]]:
    locks = ctx.inputs.all("CHAR_LOCK")
    return [(cid, locks.get(cid)) for cid in row.char_ids]


def applicable_rules(rules: RegenRules | None, shot_id: str) -> list[str]:
    """The regen rules whose scope is this shot, its scene or ALL, as negative lines."""
    if rules is None:
        return []
    scopes = {shot_id, shot_id.split("_SH", 1)[0], "ALL"}
    return [f"- regen rule ({rule.type}, {rule.scope}): {rule.rule}"
            for rule in rules.prompt_adjustment_rules if rule.scope in scopes]


def rules_missing(pack: GenPack, rules: RegenRules | None, shot_id: str) -> list[str]:
    """The regen rules that apply to the shot but are not in its GenPack yet (a pack made
    before the rules changed must be rebuilt)."""
    text = pack.render().decode("utf-8")
    return [line for line in applicable_rules(rules, shot_id) if line not in text]


def _negatives(ctx: Context, row: ShotRow) -> str:
    set_lock = ctx.inputs.all("SET_LOCK").get(row.set_id)
    groups: list[tuple[str, Iterable[str]]] = [
        (f"STYLE {n}", lock.forbidden_drift) for n, lock in _styles(ctx)]
    if set_lock is not None:
        groups.append((f"SET {row.set_id}", set_lock.forbidden_drift))
    groups += [(f"CHAR {cid}", lock.forbidden_drift) for cid, lock in _chars(ctx, row)
               if lock is not None]
    lines = [f"- {label}: {item}" for label, items in groups for item in items]
    lines += applicable_rules(ctx.inputs.get("REGEN_RULES"), row.shot_id)
    return "\n".join(lines) or "- (no forbidden drift recorded)"


def _settings(ctx: Context, row: ShotRow) -> str:
    tier = str(ctx.params.get(RESOLUTION_PARAM, "proxy"))
    if tier not in ("proxy", "final"):
        raise UserError(f"resolution tier must be proxy or final, not {tier!r}")
    res = getattr(ctx.config.resolution, tier)
    return "\n".join([f"resolution_tier: {tier}", f"width: {res.width}",
                      f"height: {res.height}", f"fps: {res.fps}",
                      f"duration_s: {row.duration_s:g}", f"camera_type: {row.camera_type}",
                      f"seed: {shot_seed(row.shot_id)}"])


def _action(row: ShotRow) -> str:
    # Only what the shot row says: blocking, camera, duration, who and where.
    return "\n".join([row.blocking_summary, f"camera: {row.camera_type}",
                      f"duration: {row.duration_s:g}s",
                      f"in frame (left to right): {', '.join(row.char_ids) or 'no characters'}",
                      f"set: {row.set_id}"])


def build_genpack(ctx: Context) -> GenPack:
    """Assemble the six sections; a missing lock leaves its place empty for the gate."""
    row = shot_row(ctx)
    set_lock = ctx.inputs.all("SET_LOCK").get(row.set_id)
    return GenPack(
        shot_id=row.shot_id,
        style="\n\n".join(_lock_text(lock) for _, lock in _styles(ctx)),
        set=_lock_text(set_lock) if set_lock is not None else "",
        characters="\n\n".join(_lock_text(lock) for _, lock in _chars(ctx, row)
                               if lock is not None),
        action=_action(row), negatives=_negatives(ctx, row), settings=_settings(ctx, row))


def genpack_failures(pack: GenPack, ctx: Context) -> list[str]:
    """Order, presence and verbatim inclusion, checked on the pack as it will be stored."""
    row = shot_row(ctx)
    out = []
    try:
        stored = GenPack.parse(pack.render())
    except Exception as exc:  # the parser names the section out of order
        return [f"{row.shot_id}: the GenPack does not read back: {exc}"]
    lines = pack.render().decode("utf-8").split("\n")
    headings = [line for line in lines if line in GENPACK_SECTIONS.values()]
    if headings != list(GENPACK_SECTIONS.values()):
        out.append(f"{row.shot_id}: sections out of order or missing: {', '.join(headings)}")
    if ctx.inputs.get("CONTINUITY_REPORT") is None:
        out.append(f"{row.shot_id}: {ctx.scene_id} has no CONTINUITY_REPORT: run "
                   "continuity-supervisor before packaging")
    set_lock = ctx.inputs.all("SET_LOCK").get(row.set_id)
    if set_lock is None:
        out.append(f"{row.shot_id}: set {row.set_id} has no SET lock: lock it first")
    elif stored.set != _lock_text(set_lock):
        out.append(f"{row.shot_id}: [SET] is not the SET {row.set_id} lock verbatim")
    out += _char_failures(stored, ctx, row)
    style = "\n\n".join(_lock_text(lock) for _, lock in _styles(ctx))
    if stored.style != style:
        out.append(f"{row.shot_id}: [STYLE] is not the STYLE lock verbatim")
    for line in applicable_rules(ctx.inputs.get("REGEN_RULES"), row.shot_id):
        if line not in stored.negatives.split("\n"):
            out.append(f"{row.shot_id}: regen rule missing from the negatives: {line[2:]}")
    return out


def _char_failures(stored: GenPack, ctx: Context, row: ShotRow) -> list[str]:
    out = []
    position = 0
    for cid, lock in _chars(ctx, row):
        if lock is None:
            out.append(f"{row.shot_id}: character {cid} has no CHAR lock: lock them first")
            continue
        found = stored.characters.find(_lock_text(lock), position)
        if found < 0:
            out.append(f"{row.shot_id}: [CHARACTERS] lacks the CHAR {cid} lock verbatim (in "
                       "shot order)")
        else:
            position = found + len(_lock_text(lock))
    return out


def genpack_changed(previous: GenPack | None, new: GenPack) -> bool:
    """True when ``new`` differs from the last pack of the shot (a regen must change it)."""
    return previous is None or previous.render() != new.render()


# -- storyboard-generator --------------------------------------------------------------------


class StoryboardGenerator(Skill):
    """Draws a shot's schematic proxy frame and reports on it, offline and deterministic.

    With a vision model configured, a model-backed variant would pass the same ``FramePlan``
    to an image ``FrameSource`` and ask the vision tier to review the frame against the locks;
    its review would be appended to the report's paragraphs, never decide the verdict.
    """

    name: ClassVar[str] = "storyboard-generator"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "vision"
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SHOTLIST", "scene"), Need("CHAR_LOCK", "cast"), Need("SET_LOCK", "scene_set"),
        Need("CONTINUITY_REPORT", "scene", lineage=False))
    produces: ClassVar[tuple[str, ...]] = ("STORYBOARD", "STORYBOARD_REPORT")
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False
    summary: ClassVar[str] = ("before costly generation: a proxy frame (framing, placement, "
                              "anchors, light) and its report")

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The PNG frame and the report computed from what it shows."""
        row = shot_row(ctx)
        plan = FramePlan(row=row, set_lock=ctx.inputs.all("SET_LOCK").get(row.set_id),
                         characters=tuple(_chars(ctx, row)), version=_shotlist_version(ctx))
        png, frame = draw_storyboard(plan)
        return [Media("STORYBOARD", row.shot_id, png), storyboard_report(plan, frame)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on missing locks, or a Simplify recommendation that names no simplification."""
        report = next(o for o in outputs if isinstance(o, StoryboardReport))
        row = shot_row(ctx)
        failures = []
        if row.set_id not in ctx.inputs.all("SET_LOCK"):
            failures.append(f"{row.shot_id}: set {row.set_id} has no SET lock")
        failures += [f"{row.shot_id}: character {cid} has no CHAR lock"
                     for cid, lock in _chars(ctx, row) if lock is None]
        if report.recommendation == "Simplify" and SIMPLIFICATION not in report.composition:
            failures.append(f"{row.shot_id}: Simplify is recommended but no simplification is "
                            "named")
        return Gate.from_failures(failures)


def _shotlist_version(ctx: Context) -> str:
    name = next((n for n in ctx.inputs.names if n.startswith("SHOTLIST_")), "")
    found = re.search(r"_(v\d{3})\.", name)
    return f"shotlist {found.group(1)}" if found else ""


Recommendation = Literal["Proceed", "Adjust", "Simplify"]


def drift_risk(row: ShotRow) -> Level:
    """The higher of the shot's complexity and its regen risk."""
    return max(row.complexity_level, row.regen_risk_estimate, key=LEVEL_RANK.__getitem__)


def recommend(row: ShotRow) -> Recommendation:
    """Simplify crowded complex shots, Adjust risky ones, else Proceed."""
    if len(row.char_ids) >= CROWD and row.complexity_level == "high":
        return "Simplify"
    return "Adjust" if LEVEL_RANK[drift_risk(row)] >= 1 else "Proceed"


def _placement(index: int, figure: Figure) -> str:
    where = " (foreground, back to camera)" if figure.foreground else ""
    look = f"palette {', '.join(figure.colours)}" if figure.locked else "NO CHAR lock, grey"
    return f"{index}. {figure.name} at x={figure.x}{where}: {look}"


def storyboard_report(plan: FramePlan, frame: Frame) -> StoryboardReport:
    """The report, computed from the drawn frame (placements, anchors, light)."""
    row = plan.row
    recommendation = recommend(row)
    composition = [f"{frame.framing}; {row.camera_type}, {row.duration_s:g}s, hero "
                   f"{row.hero_tier}, complexity {row.complexity_level}; "
                   f"{len(frame.figures)} character(s) drawn; slate: {frame.slate}"]
    if frame.prop:
        composition.append(f"insert subject: {frame.prop}")
    if recommendation == "Simplify":
        composition.append(f"{SIMPLIFICATION} split into shots of at most {CROWD - 1} "
                           "characters each, or lower the blocking complexity to medium")
    placement = [_placement(i, f) for i, f in enumerate(frame.figures, 1)] or \
        ["no characters in frame"]
    set_lock = plan.set_lock
    if set_lock is None:
        anchors = f"NO SET lock for {row.set_id}: no anchors drawn"
    else:
        anchors = (f"{len(frame.anchors)} of {len(set_lock.visual_anchors)} visual anchors of "
                   f"{set_lock.name} drawn along the top edge: {'; '.join(frame.anchors)}"
                   if set_lock.visual_anchors else f"{set_lock.name} lists no visual anchors")
    if set_lock is None:
        lighting = "no SET lock: no lighting rules to follow"
    else:
        lighting = (f"key light from {frame.light_from} (lock primary source: "
                    f"{set_lock.lighting.primary_source}); {frame.kelvin}K drawn as tint "
                    f"{hex_of(frame.tint)}, matching the lock's temperature")
    return StoryboardReport(
        shot_id=row.shot_id, composition="\n".join(composition),
        character_placement="left to right:\n" + "\n".join(placement),
        set_anchor_presence=anchors, lighting_compliance=lighting,
        drift_risk=drift_risk(row), recommendation=recommendation)


REGISTRY.register(ShotPlanner)
REGISTRY.register(PromptPackager)
REGISTRY.register(StoryboardGenerator)

__all__ = ["PLANNER_SYSTEM", "PromptPackager", "ShotPlanner", "StoryboardGenerator",
           "applicable_rules", "build_genpack", "drift_risk", "genpack_changed", "recommend",
           "rules_missing",
           "shot_row", "shotlist_failures", "storyboard_report"]
