"""world-state-tracker (SPEC §5, continuity layer, Tier 1): one STATE_DIFF per scene.

What changed in a scene is judgment, so a throughput model proposes the scene's STATE_DIFF
from the scene row, its breakdown row and the prior state's entries for what the scene
shows (a bounded prompt: scene 500 costs what scene 5 costs). Applying the diff is code:
``apply_diff`` refuses a diff that breaks a rule, the gate FAILs with the rule named and the
loop asks for a revised diff. On PASS the run writes the STATE_DIFF and the next WORLD_STATE.

Order matters: a scene is tracked from the WORLD_STATE after the scene before it (the runner
loads it: scope ``before_scene``; absent for the first scene, or the hand-made initial state).
A target whose prior state does not match SCENES order is refused before any model is asked:
no revision of the diff can fix that, only running the earlier scene can.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from ...core._gate import Gate
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...rules._worldstate import RuleBreach, WorldStateError, apply_diff
from ...rules._worldstate_story import apply_out_of_order, story_base, story_place
from ...schemas import Artifact, Breakdown, BreakdownRow, SceneRow, Scenes, StateDiff, WorldState
from .._prompts import system_prompt

_WRONG_SCENE = "wrong_scene"
PACKAGE = "filmslate.skills.continuity"  # the package whose prompts/ holds the prompts


class WorldStateTracker(Skill):
    """Proposes a scene's STATE_DIFF (Tier 1) and applies it in code to the prior WORLD_STATE."""

    name: ClassVar[str] = "world-state-tracker"
    prompt_name: ClassVar[str] = "world-state-tracker"
    layer: ClassVar[Layer] = "continuity"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "continuity"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        Need("BREAKDOWN"),
        Need("WORLD_STATE", "before_scene", optional=True),
        # the scene's script slice sharpens the diff when the project has one
        Need("SCRIPT", "scene", optional=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("STATE_DIFF", "WORLD_STATE")
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = (
        "after each validated scene: the scene's STATE_DIFF and the next "
        "WORLD_STATE (injuries persist, props never teleport, knowledge "
        "only grows)"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask for the diff and apply it; a refused diff is returned alone, for the record."""
        scene, row, prior = _scene_inputs(ctx)
        diff = ctx.ask(
            StateDiff,
            system_prompt(PACKAGE, self.prompt_name),
            render_prompt(ctx, scene, row, prior),
        )
        if diff.scene_id != ctx.target:
            ctx.params[_WRONG_SCENE] = diff.scene_id  # stored under S05, it would pollute S05
            return []
        breaches, after = judge(diff, scene, row, prior, _order(ctx))
        # The next WORLD_STATE is written only from an accepted diff: a FAIL-gated state
        # would block every later scene.
        return [diff] if breaches or after is None else [diff, after]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on every rule the diff breaks, each named with its fix."""
        if _WRONG_SCENE in ctx.params:
            return Gate.from_failures(
                [
                    str(
                        RuleBreach(
                            "scene_mismatch",
                            ctx.target,
                            "STATE_DIFF",
                            f"the diff is for {ctx.params[_WRONG_SCENE]}, not {ctx.target}",
                            f"set scene_id to {ctx.target}",
                        )
                    )
                ]
            )
        diff = next(o for o in outputs if isinstance(o, StateDiff))
        breaches, after = judge(diff, *_scene_inputs(ctx), _order(ctx))
        produced = [o for o in outputs if isinstance(o, WorldState)]
        if not breaches and produced != [after]:
            breaches.append(
                RuleBreach(
                    "changes_recorded",
                    ctx.target,
                    "WORLD_STATE",
                    "the next state is not the prior state with this diff applied",
                    "rerun the tracker",
                )
            )
        return Gate.from_failures([str(b) for b in breaches])


def judge(
    diff: StateDiff,
    scene: SceneRow,
    row: BreakdownRow,
    prior: WorldState,
    order: Sequence[str] = (),
) -> tuple[list[RuleBreach], WorldState | None]:
    """Every rule the diff breaks (scene rules first), and the next state when it applies
    (``order``: the scene ids of SCENES, the story order the diff must follow)."""
    breaches = _scene_breaches(diff, scene, row, prior)
    try:
        # a flashback's diff applies to the state at its story time, never to the present
        if story_place(scene):
            after = apply_out_of_order(prior, diff)
        else:
            after = apply_diff(prior, diff, order)
    except WorldStateError as refused:
        return breaches + list(refused.breaches), None
    return breaches, after


# -- inputs and order ------------------------------------------------------------------------


def _order(ctx: Context) -> list[str]:
    scenes: Scenes = ctx.inputs.get("SCENES")
    return [r.scene_id for r in scenes.rows]


def _scene_inputs(ctx: Context) -> tuple[SceneRow, BreakdownRow, WorldState]:
    """The target's scene row, breakdown row and prior state; refuses a target out of order."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    breakdown: Breakdown = ctx.inputs.get("BREAKDOWN")
    prior: WorldState = ctx.inputs.get("WORLD_STATE") or WorldState()
    order = [r.scene_id for r in scenes.rows]
    scene = next((r for r in scenes.rows if r.scene_id == ctx.target), None)
    row = next((r for r in breakdown.rows if r.scene_id == ctx.target), None)
    if scene is None or row is None:
        where = "SCENES" if scene is None else "BREAKDOWN"
        raise WorldStateError(
            [
                RuleBreach(
                    "unknown_scene",
                    ctx.target,
                    where,
                    f"{ctx.target} is not in the latest {where}",
                    "add the scene to SCENES and run script-breakdown before tracking it",
                )
            ]
        )
    base = story_base(scenes.rows, ctx.target)
    check_order(order, ctx.target, prior.timeline.current_scene, base)
    return scene, row, prior


_PREVIOUS_ROW = "previous row"


def check_order(
    order: list[str], target: str, current: str | None, base: str | None = _PREVIOUS_ROW
) -> None:
    """Refuse unless ``current`` (the prior state's scene) is the scene ``target`` starts
    from: its story base when given (``rules._worldstate_story.story_base``: the scene before
    it in SCENES order, flashbacks skipped; for a flashback the scene before its story
    position), else the scene just before it in SCENES order (None: the initial state)."""
    index = order.index(target)
    previous = base if base != _PREVIOUS_ROW else (order[index - 1] if index else None)
    if current == previous:
        return
    start = current or "nothing (the initial state)"
    problem = f"the WORLD_STATE it starts from is the state after {start}, but {target} " + (
        f"follows {previous or 'nothing'} in SCENES"
        if previous == (order[index - 1] if index else None)
        else f"starts from the state after {previous or 'nothing'} (its story time)"
    )
    fix = (
        f"run world-state-tracker on {previous} first (scene ids follow SCENES order)"
        if previous
        else "the first scene starts from the initial state (a WORLD_STATE "
        "whose timeline.current_scene is null) or from none"
    )
    raise WorldStateError([RuleBreach("scene_order", target, "WORLD_STATE", problem, fix)])


def _scene_breaches(
    diff: StateDiff, scene: SceneRow, row: BreakdownRow, prior: WorldState
) -> list[RuleBreach]:
    """Rules that need the scene: first appearances in the cast, listed changes recorded."""
    out = []
    cast = (
        set(scene.characters_present)
        | set(row.characters_present)
        | set(row.new_characters_introduced)
    )
    for cid in diff.character_updates:
        if cid not in prior.characters and cid not in cast:
            out.append(
                RuleBreach(
                    "first_appearance",
                    diff.scene_id,
                    cid,
                    f"{cid} enters the "
                    f"world here but is not in {diff.scene_id}'s cast "
                    f"({', '.join(sorted(cast)) or 'none'})",
                    "use the id the scene lists, or drop the update",
                )
            )
    for cid in row.new_characters_introduced:
        if cid not in prior.characters and cid not in diff.character_updates:
            out.append(
                RuleBreach(
                    "first_appearance",
                    diff.scene_id,
                    cid,
                    "the breakdown introduces this character but the diff does not",
                    f"add character_updates.{cid} with at least their location",
                )
            )
    for pid in row.new_props_introduced:
        if pid not in prior.props and pid not in diff.prop_updates:
            out.append(
                RuleBreach(
                    "first_appearance",
                    diff.scene_id,
                    pid,
                    "the breakdown introduces this prop but the diff does not",
                    f"add prop_updates.{pid} with its owner or location and a via",
                )
            )
    if row.state_changes and _is_empty(diff):
        out.append(
            RuleBreach(
                "changes_recorded",
                diff.scene_id,
                "STATE_DIFF",
                "the breakdown lists state changes but the diff records none: "
                + ", ".join(row.state_changes),
                "record each change in its section",
            )
        )
    return out


def _is_empty(diff: StateDiff) -> bool:
    return diff == StateDiff(scene_id=diff.scene_id)


# -- the prompt ------------------------------------------------------------------------------


def render_prompt(ctx: Context, scene: SceneRow, row: BreakdownRow, prior: WorldState) -> str:
    """The scene, its breakdown and the prior state of what it shows; nothing else."""
    lines = [
        f"TARGET SCENE: {scene.scene_id}",
        "",
        "SCENE",
        *_scene_lines(scene),
        "",
        "BREAKDOWN",
        *_breakdown_lines(row),
    ]
    script = ctx.inputs.get("SCRIPT")
    if script is not None:
        lines += ["", "SCRIPT", script.text]
    place = story_place(scene)
    when = (
        f"; {scene.scene_id} is out of story order ({place}): this is the world at its "
        "story time, and its diff changes only that time, never the present"
        if place
        else ""
    )
    lines += [
        "",
        f"WORLD STATE BEFORE {scene.scene_id} (after "
        f"{prior.timeline.current_scene or 'nothing: the story starts here'}; only what "
        f"this scene shows{when})",
        *_state_lines(prior, scene, row),
    ]
    if ctx.feedback:
        lines += [
            "",
            "YOUR PREVIOUS DIFF WAS REFUSED. Fix every point:",
            *(f"- {reason}" for reason in ctx.feedback),
        ]
    lines += ["", f"Answer with the STATE_DIFF of {scene.scene_id}."]
    return "\n".join(lines)


def _scene_lines(scene: SceneRow) -> list[str]:
    return [
        f"location: {scene.location} | time of day: {scene.time_of_day or '?'} | cast: "
        f"{', '.join(scene.characters_present) or 'none'}",
        f"summary: {scene.summary}",
        f"goal: {scene.goal or '?'}",
        f"conflict: {scene.conflict or '?'}",
        f"outcome: {scene.outcome or '?'}",
    ]


def _breakdown_lines(row: BreakdownRow) -> list[str]:
    fields = (
        "new_characters_introduced",
        "locations_used",
        "new_locations_introduced",
        "props_used",
        "new_props_introduced",
        "state_changes",
        "continuity_risks",
    )
    return [f"{f}: {', '.join(getattr(row, f)) or 'none'}" for f in fields]


def _state_lines(prior: WorldState, scene: SceneRow, row: BreakdownRow) -> list[str]:
    cast = _ordered(
        [*scene.characters_present, *row.characters_present, *row.new_characters_introduced]
    )
    places = _ordered([scene.location, *row.locations_used, *row.new_locations_introduced])
    props = _ordered(
        [*row.props_used, *row.new_props_introduced, *_props_near(prior, cast, places)]
    )
    lines = [f"elapsed time: {prior.timeline.elapsed_time or 'not recorded'}", "characters:"]
    lines += [_entry(cid, prior.characters.get(cid)) for cid in cast]
    lines.append("props:")
    lines += [_entry(pid, prior.props.get(pid)) for pid in props]
    lines.append("locations:")
    lines += [_entry(lid, prior.locations.get(lid)) for lid in places]
    return lines


def _props_near(prior: WorldState, cast: list[str], places: list[str]) -> list[str]:
    """Props held by the cast or lying where the scene happens (the scene may touch them)."""
    present = set(cast)
    here = {p.casefold() for p in places}
    return [
        pid
        for pid, prop in prior.props.items()
        if prop.owner in present or prop.location.casefold() in here
    ]


def _entry(key: str, value: BaseModel | None) -> str:
    if value is None:
        return f"  {key}: not in the world yet (a first appearance if the scene changes it)"
    return f"  {key}: {json.dumps(value.model_dump(), ensure_ascii=False, separators=(',', ':'))}"


def _ordered(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


REGISTRY.register(WorldStateTracker)
