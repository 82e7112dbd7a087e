"""The cost loop's hands (SPEC §6 "over budget: simplify, downgrade, split, shorten", §8).

cost-optimizer projects and recommends; ``apply_cost_plan`` makes the reductions when the
projection of a scene (or of PROJECT) does not fit in what is left under its cap: the cap
(raised by any budget override) less what the ledger has already committed. It works on
copies of the latest shot lists, one step at a time, and stops as soon as the projection
fits, so it changes as few shots as it can:

1. downgrade: a hero-B shot with no character in frame is coverage and becomes C (C shots
   already route to the low-cost visual tier);
2. shorten coverage: C shots to 60% of their length, never under 2 s, on a 0.5 s grid;
3. shorten complex and high-risk shots to ``visual.complex_max_s``;
4. split whatever is still longer than ``visual.max_clip_s`` (shot ids are renumbered).

Within a step the largest saving goes first. A hero-A shot's tier is never changed, and a
shot whose proxy exists is never touched: rendered work is not invalidated silently. Each
changed scene gets a new SHOTLIST version, checked against shot-planner's gate before
anything is written and logged with every change; then cost-optimizer reruns on the target.
When even every reduction cannot fit, nothing is written. Called by the orchestrator
(``story=True``) before any take is rendered, the overrun then goes to story-architect as a
"simplify" revision naming the costliest scenes (SPEC §6: a cost overrun may force narrative
simplification; a ``loop_back`` row from cost-optimizer, bounded by ``loops.max_revisions``:
``_backward``); otherwise, or past that bound, a budget hard stop is recorded, to be lifted
by a structural simplification or a logged human override.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, NoReturn

from ..core._config import Config
from ..core._errors import GateFailed, HardStop, UserError
from ..core._names import SCENE_RE, target_fields
from ..engine._override import lift
from ..engine._router import BUILTIN
from ..engine._runner import Runner
from ..engine._skill import Context
from ..engine._stops import HardStopRow, open_hard_stops, record_hard_stop
from ..schemas import ShotList, ShotRow
from ..skills.governance._governance import (
    CostOptimizer,
    cap_scope,
    projected_total,
    room_left,
    shot_line,
    target_lines,
)
from ..skills.governance._speech_cost import speech_cost
from ..skills.production._production import ShotPlanner, shotlist_failures
from ..skills.production._shot_planner_sizing import dialogue_needs
from ..store import _runlog
from ..store._store import Record
from ._backward import LoopBack, loop_backs_since_pass, simplify_story
from ._costloop_plan import (
    STEPS,
    ZERO,
    Found,
    Plan,
    Shot,
    ShotChange,
    Step,
    reduce_step,
    renumber,
    shot_list,
    shot_lists,
    split_long,
)

# The reductions themselves (``_costloop_plan``) live beside this module; its public names are
# re-exported so callers import from here.
__all__ = [
    "STEPS",
    "ZERO",
    "CostPlanResult",
    "Found",
    "ShotChange",
    "Step",
    "apply_cost_plan",
]

SKILL = CostOptimizer.name
# The shortening policy. [visual] in filmslate.toml may carry these keys; until it does, the
# values of the cost loop's definition apply.
RENDERED_KINDS = ("PROXY", "FINAL")


@dataclass
class CostPlanResult:
    """What ``apply_cost_plan`` found and did.

    ``status`` is ``within_cap`` (the projection fits: nothing written) or ``applied`` (new
    shot lists written and cost-optimizer rerun: ``report``, ``verdict``, ``reasons``).
    """

    target: str
    status: Literal["within_cap", "applied"]
    cap_level: str
    cap_scope: str
    cap: float
    committed: float
    room: float
    projected_before: float
    projected_after: float
    currency: str = "USD"
    changes: list[ShotChange] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    renumbered: dict[str, str] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    stale_renders: list[str] = field(default_factory=list)
    report: Record | None = None
    verdict: str = ""
    reasons: tuple[str, ...] = ()


def apply_cost_plan(runner: Runner, target: str, *, story: bool = False) -> CostPlanResult:
    """Fit ``target``'s projection (a scene id or PROJECT) under its cap, or hard-stop.

    Raises ``HardStop`` when a hard stop already blocks the target or when even every
    reduction cannot fit (a budget stop is recorded), ``LoopBack`` instead of that stop when
    ``story`` and the story may still be simplified, ``GateFailed`` when the reduced shot
    list would break shot-planner's rules (nothing is written), and ``InputNotReady`` when a
    shot list or a shot-planner input is missing, stale or failed.
    """
    if target != "PROJECT" and not SCENE_RE.fullmatch(target):
        raise UserError(
            f"the cost plan applies to a scene (S03) or PROJECT, not {target!r}", target=target
        )
    _refuse_on_stops(runner, target)
    config = runner.config
    inputs = runner.load_inputs(CostOptimizer(), target)
    lists: dict[str, ShotList] = inputs.all("SHOTLIST")
    # the scratch voices, as the cost report counts them: no reduction changes them
    voices = speech_cost(
        target, inputs.get("SCENES"), inputs.all("SCRIPT"), inputs.all("VOICE_LOCK"), config
    ).cost
    lists = {s: shots for s, shots in lists.items() if target in ("PROJECT", s)}
    level, scope = cap_scope(target, config)
    cap = runner.ledger.state(level, scope)
    assert cap is not None  # cap_scope names a level that has a cap
    room = room_left(cap, config)
    before = round(projected_total(target_lines(lists, target, config)) + voices, 4)
    result = CostPlanResult(
        target,
        "within_cap",
        level,
        scope,
        cap.cap,
        cap.committed,
        room,
        before,
        before,
        config.budget.currency,
    )
    if before <= room + ZERO:
        return result
    plan = _plan(runner, lists, config)
    for step in STEPS:
        reduce_step(plan, step, room - voices, config)  # the voices take their share first
    after = round(projected_total(target_lines(shot_lists(plan), target, config)) + voices, 4)
    if after > room + ZERO:
        if story and (back := _story_route(runner, result, lists, after)) is not None:
            raise back  # the story is simplified upstream; nothing is written here
        _stop_for_budget(runner, result, plan, after)
    split_long(plan, config)
    result.renumbered = renumber(plan)
    new_lists = {scene: shot_list(plan.scenes[scene]) for scene in sorted(plan.changed)}
    _check_rules(runner, plan, new_lists)
    result.status, result.projected_after = "applied", after
    result.changes, result.kept = plan.changes, plan.kept
    trigger = runner.store.latest("COST_REPORT", target)
    for scene, shotlist in new_lists.items():
        result.records.append(
            _write(
                runner,
                target,
                scene,
                shotlist,
                plan,
                result,
                trigger.filename if trigger else "no cost report yet",
            )
        )
    result.stale_renders = _stale_renders(runner, plan)
    _lift_cost_stops(runner, target, result.records)
    _rerun_review(runner, result)
    return result


def _plan(runner: Runner, lists: dict[str, ShotList], config: Config) -> Plan:
    scenes: dict[str, list[Shot]] = {}
    kept = []
    for scene, shotlist in sorted(lists.items()):
        scenes[scene] = []
        for row in shotlist.rows:
            proxy = runner.store.latest("PROXY", row.shot_id)
            if proxy is not None:
                kept.append(f"{row.shot_id}: {proxy.filename} exists: left as it is")
            scenes[scene].append(Shot(row, row.shot_id, proxy is not None))
    for scene, shots in scenes.items():  # issue 15: no shot shorter than its dialogue
        floors = dialogue_floors(runner, scene, [s.row for s in shots])
        for shot in shots:
            shot.floor_s = floors.get(shot.row.shot_id, 0.0)
    total = sum(shot_line(s.row, config).cost for shots in scenes.values() for s in shots)
    return Plan(scenes, total, kept=kept)


# -- checks, writes, stops -------------------------------------------------------------------


def dialogue_floors(runner: Runner, scene: str, rows: list[ShotRow]) -> dict[str, float]:
    """Shot id -> the seconds its dialogue takes, as shot-planner sized it."""
    inputs = runner.load_inputs(ShotPlanner(), scene)
    row = next((r for r in inputs.get("SCENES").rows if r.scene_id == scene), None)
    if row is None:
        return {}
    return dialogue_needs(Context(target=scene, inputs=inputs, config=runner.config), row, rows)


def _check_rules(runner: Runner, plan: Plan, new_lists: dict[str, ShotList]) -> None:
    """Every rewritten list must pass shot-planner's gate, checked before anything is written."""
    failures = [
        f"{s.origin}: has a proxy and would be renumbered {s.row.shot_id}"
        for scene in new_lists
        for s in plan.scenes[scene]
        if s.locked and s.row.shot_id != s.origin
    ]
    for scene, shotlist in new_lists.items():
        inputs = runner.load_inputs(ShotPlanner(), scene)
        failures += shotlist_failures(
            shotlist, Context(target=scene, inputs=inputs, config=runner.config)
        )
    if failures:
        raise GateFailed(
            "the reduced shot list would fail shot-planner's gate, so nothing was "
            "written: " + "; ".join(failures) + ". Revise the scene's shots with "
            "shot-planner, then run the cost plan again.",
            skill=SKILL,
            failures=failures,
        )


def _write(
    runner: Runner,
    target: str,
    scene: str,
    shotlist: ShotList,
    plan: Plan,
    result: CostPlanResult,
    trigger: str,
) -> Record:
    """The scene's next SHOTLIST version; its lineage is the old version's own inputs."""
    old = runner.store.latest("SHOTLIST", scene)
    assert old is not None  # the plan was made from it
    origins = {s.origin for s in plan.scenes[scene]}
    lines = [c.describe() for c in plan.changes if c.shot_id in origins]
    lines += [k for k in plan.kept if k.split(":", 1)[0] in origins]
    lines += [
        f"renumbered {old_id} -> {new}"
        for old_id, new in result.renumbered.items()
        if old_id in origins
    ]
    cost = projected_total([shot_line(row, runner.config) for row in shotlist.rows])
    entry = _runlog.LogEntry(
        run_id=_runlog.new_run_id(),
        skill_name=SKILL,
        event="write",
        **target_fields(scene),
        model_used=BUILTIN,
        tier="throughput",
        outcome="PASS",
        estimated_cost=cost,
        notes=f"cost plan for {target} ({result.room:.2f} left under the {result.cap_level} "
        f"cap {result.cap_scope}): revises {old.filename} per {trigger}; " + "; ".join(lines),
    )
    # The old version is not an input: a version made from its own predecessor (or from the
    # cost report the rerun replaces) would be stale at once. The log row names both.
    return runner.store.write(
        "SHOTLIST", scene, shotlist, inputs=runner.store.lineage(old.name), entry=entry
    )


def _stale_renders(runner: Runner, plan: Plan) -> list[str]:
    """Renders of untouched shots that the new shot-list versions make stale by lineage."""
    out = []
    for scene in sorted(plan.changed):
        for shot in plan.scenes[scene]:
            for kind_name in RENDERED_KINDS if shot.locked else ():
                record = runner.store.latest(kind_name, shot.origin)
                if record is not None and runner.store.is_stale(record.name):
                    out.append(record.filename)
    return out


def _cost_stops(stops: list[HardStopRow], target: str) -> list[HardStopRow]:
    """cost-optimizer's own gate stops on the target: what a simplification resolves."""
    return [s for s in stops if s.kind == "gate" and s.skill == SKILL and s.target == target]


def _refuse_on_stops(runner: Runner, target: str) -> None:
    if runner.store.log_problem:
        raise HardStop(runner.store.log_problem)
    stops = open_hard_stops(runner.project, target, SKILL)
    liftable = _cost_stops(stops, target)
    blocking = [s for s in stops if s not in liftable]
    if blocking:
        stop = blocking[0]
        raise HardStop(
            f"hard stop ({stop.kind}) on {stop.target}: {stop.reason}. Resolve it, "
            f"or record `slate override {stop.target} --reason ... --cost-impact "
            "AMOUNT`, then apply the cost plan.",
            kind=stop.kind,
            target=stop.target,
        )


def _stop_for_budget(runner: Runner, result: CostPlanResult, plan: Plan, after: float) -> NoReturn:
    """Even every reduction does not fit: record a budget hard stop and raise it."""
    overrun = after - result.room
    stop_target = "PROJECT" if result.cap_level == "project" else result.cap_scope
    currency = result.currency
    simplified = loop_backs_since_pass(runner, SKILL, result.target)
    reason = (
        f"the {result.target} projection {result.projected_before:.2f} {currency} does "
        f"not fit the {result.room:.2f} left under the {result.cap_level} cap "
        f"{result.cap_scope} ({result.cap:.2f}, {result.committed:.2f} committed), even "
        f"after every reduction the cost plan may make ({len(plan.changes)} change(s), "
        f"{after:.2f})"
        + (f" and {simplified} story simplification(s) by story-architect" if simplified else "")
        + f": overrun {overrun:.2f}. Nothing was changed. Simplify the "
        "structure (fewer or shorter shots: revise the scene, rerun shot-planner), or "
        f"record `slate override {stop_target} --reason ... --cost-impact "
        f"{math.ceil(overrun * 100) / 100:.2f}`"
    )
    record_hard_stop(runner.project, stop_target, "budget", reason, SKILL)
    raise HardStop(reason, kind="budget", target=stop_target, overrun=overrun)


def _story_route(
    runner: Runner, result: CostPlanResult, lists: dict[str, ShotList], after: float
) -> LoopBack | None:
    """The "simplify" revision for story-architect: the overrun and the costliest scenes.
    None once a take is rendered: a new story would make every take stale, and paying for
    them again costs more than the simplification saves (the budget stop asks a person)."""
    if _any_take(runner):
        return None
    config, money = runner.config, result.currency
    by_scene = {
        scene: [shot_line(row, config) for row in shotlist.rows]
        for scene, shotlist in lists.items()
    }
    costliest = sorted(by_scene.items(), key=lambda item: -projected_total(item[1]))[:3]
    named = ", ".join(
        f"{scene} ({len(lines)} shots, {sum(x.seconds for x in lines):g} s, "
        f"{projected_total(lines):.2f} {money})"
        for scene, lines in costliest
    )
    finding = (
        f"simplify: the {result.target} projection {result.projected_before:.2f} {money} "
        f"does not fit the {result.room:.2f} left under the {result.cap_level} cap "
        f"{result.cap_scope}, even after every cheaper routing and shorter shot "
        f"({after:.2f}, over by {after - result.room:.2f}): fewer or shorter scenes and "
        f"fewer shots, the costliest first: {named}"
    )
    report = runner.store.latest("COST_REPORT", result.target)
    back = simplify_story(runner, SKILL, result.target, (finding,), report)
    if back is not None:  # the revision will resolve the overrun: cost-optimizer reruns then
        _lift_for(
            runner,
            result.target,
            f"story-architect revises the story for the overrun "
            f"{after - result.room:.2f} (a loop_back from cost-optimizer on {result.target}); "
            "cost-optimizer reruns on the plan made from it",
        )
    return back


def _any_take(runner: Runner) -> bool:
    marks = ", ".join("?" for _ in RENDERED_KINDS)
    found = runner.store.conn.execute(
        f"SELECT 1 FROM artifacts WHERE kind IN ({marks}) LIMIT 1", RENDERED_KINDS
    )
    return found.fetchone() is not None


def _lift_cost_stops(runner: Runner, target: str, records: list[Record]) -> None:
    """SPEC §8: a structural simplification lifts cost-optimizer's stop; it is logged as an
    OVERRIDE that names the new shot lists, never silently."""
    written = ", ".join(r.filename for r in records)
    _lift_for(runner, target, f"the cost plan wrote {written}; cost-optimizer reruns on it")


def _lift_for(runner: Runner, target: str, simplification: str) -> None:
    reason = f"structural simplification: {simplification}"
    for stop in _cost_stops(open_hard_stops(runner.project, target, SKILL), target):
        lift(runner.project, stop, reason, by_skill=SKILL)


def _rerun_review(runner: Runner, result: CostPlanResult) -> None:
    """cost-optimizer on the new lists; a FAIL (say, premium quota) is reported, not raised:
    the shot lists are written and the runner has recorded its stop."""
    try:
        review = runner.run(SKILL, result.target, force=True)
    except GateFailed as failed:
        result.report = runner.store.latest("COST_REPORT", result.target)
        result.verdict, result.reasons = "FAIL", (str(failed),)
        return
    result.report = review.records[0] if review.records else None
    result.verdict, result.reasons = review.gate.verdict, review.gate.reasons
