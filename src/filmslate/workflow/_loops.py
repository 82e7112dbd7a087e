"""The narrative and validation loops of SPEC §6, and the production gate they guard.

``run_loop(runner, "narrative")`` runs story-architect -> script-breakdown ->
character-psychology (each scene with characters) -> narrative-red-team -> audience-simulator;
its start is the orchestrator's story phase: an imported project (SCENES and no PREMISE) has
no premise to structure, so story-architect is skipped, and scenes missing a goal, conflict or
outcome get scene-goals first (SPEC §5: every scene has all three);
``run_loop(runner, "validation", "S03")`` runs research-agent -> plausibility-auditor ->
cultural-check (when the truth packet names a real culture) for one scene, or for every scene
in SCENES order with ``"PROJECT"``. Each step goes through ``Runner.run``, which revises on
FAIL with the gate's reasons, escalates and hard-stops; the loop stops at the first step that
cannot pass and says where. Steps whose latest output is a fresh PASS are skipped. A FAIL on
findings about the work (the gate's route) goes upstream instead (``_backward``): the route's
skill revises the work with the findings as notes, and the loop runs again from the top, so
everything the revision made stale reruns; bounded by ``loops.max_revisions``.

Whether a step may run (``production_allowed``, ``passed_and_fresh``) is the engine's
readiness (``filmslate.engine._readiness``); the loops use it to skip steps already passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..core._errors import RunError, UserError
from ..core._gate import FixRoute
from ..core._names import SCENE_RE
from ..engine._readiness import culture_required, passed_and_fresh, scene_rows
from ..engine._runner import Runner, RunResult
from ..engine._skill import Registry, Skill
from ..skills.narrative._scene_goals import missing_fields
from ..store._project import Project
from ._backward import (
    SCENE_REVISION,
    STORY,
    LoopBack,
    open_loop_back,
    record_loop_back,
    reroute,
    rest_of_round,
)
from ._episodes import review_targets

LOOPS: dict[str, tuple[str, ...]] = {
    "narrative": (
        "story-architect",
        "script-breakdown",
        "character-psychology",
        "narrative-red-team",
        "audience-simulator",
    ),
    "validation": ("research-agent", "plausibility-auditor", "cultural-check"),
}
Status = Literal["passed", "up_to_date", "skipped", "stopped", "waiting", "sent_back"]


@dataclass(frozen=True)
class StepResult:
    """One step of a loop: a skill on a target, and how it ended."""

    skill: str
    target: str
    status: Status
    detail: str = ""
    run: RunResult | None = None

    @property
    def ok(self) -> bool:
        """True when the loop may go on past this step."""
        return self.status in ("passed", "up_to_date", "skipped", "sent_back")

    def describe(self) -> str:
        """``plausibility-auditor S03: stopped (hard stop ...)``."""
        return f"{self.skill} {self.target}: {self.status}" + (
            f" ({self.detail})" if self.detail else ""
        )


@dataclass
class LoopResult:
    """A loop's steps in order; it passed when every step did."""

    loop: str
    target: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def stopped_at(self) -> StepResult | None:
        """The step that could not pass (the last step when the loop stopped), else None."""
        return next((s for s in self.steps if not s.ok), None)

    @property
    def passed(self) -> bool:
        """True when every step passed, was up to date or did not apply."""
        return bool(self.steps) and self.stopped_at is None

    def describe(self) -> str:
        """A few lines for the CLI: every step, then the verdict and where it stopped."""
        lines = [step.describe() for step in self.steps]
        stop = self.stopped_at
        verdict = (
            f"{self.loop} loop on {self.target}: PASS"
            if stop is None
            else f"{self.loop} loop on {self.target}: stopped at {stop.skill} on {stop.target}"
        )
        return "\n".join([*lines, verdict])


def run_loop(runner: Runner, name: str, target: str = "PROJECT") -> LoopResult:
    """Run a named loop to PASS or to the first step that cannot pass."""
    if name not in LOOPS:
        raise UserError(f"no loop named {name!r}; loops: {', '.join(LOOPS)}", loop=name)
    skills = _loop_skills(runner.registry, name)
    result = LoopResult(name, target)
    while True:
        owed = _owed(runner)  # a killed loop's revision (its loop_back row) comes first
        if owed is not None and not _record(result, owed):
            return result
        try:
            if name == "narrative":
                _narrative(runner, skills, target, result)
            else:
                _validation(runner, skills, target, result)
            return result
        except LoopBack as back:  # the work was revised upstream: run the loop again
            if not _record(result, _send_back(runner, back)):
                return result


def _send_back(runner: Runner, back: LoopBack) -> StepResult:
    """Record the route (or the hard stop past its bound) and revise the work upstream; on
    an imported project, each scene the findings name (``_backward.reroute``)."""
    failed = back.failed
    routes = reroute(runner, back)
    if isinstance(routes, str):  # findings no revision here can fix: a person's turn
        return StepResult(failed.skill, failed.target, "stopped", routes, failed)
    sent = StepResult(failed.skill, failed.target, "sent_back", "; ".join(map(str, routes)), failed)
    for each in routes:
        route = each.route
        stop = record_loop_back(runner, each)
        if stop is not None:
            return StepResult(failed.skill, failed.target, "stopped", stop, failed)
        made = _revised(runner, open_loop_back(runner) or route)  # the notes as the row has them
        if not made.ok:
            return made
    return sent


def _owed(runner: Runner) -> StepResult | None:
    """The revision an open loop_back row owes (a run killed after logging it): made with
    the row's notes, as the same revision (no new row); None when none is owed here."""
    route = open_loop_back(runner)
    made = None
    if route is not None and route.skill in (STORY, SCENE_REVISION):
        made = _revised(runner, route)  # a shot's regen is the orchestrator's (a proxy follows)
        if not made.ok:
            return made
    for back in rest_of_round(runner):  # a kill between a round's rows: the rest of it
        if (stop := record_loop_back(runner, back)) is not None:
            return StepResult(back.failed.skill, back.failed.target, "stopped", stop)
        made = _revised(runner, open_loop_back(runner) or back.route)
        if not made.ok:
            return made
    return made


def _revised(runner: Runner, route: FixRoute) -> StepResult:
    """The route's revision as a step: passed, waiting for a handoff, or stopped."""
    try:
        revised = _revise(runner, route)
    except (RunError, UserError) as error:
        return StepResult(route.skill, route.target, "stopped", str(error))
    if revised.status == "waiting":
        return StepResult(route.skill, route.target, "waiting", revised.task_path, revised)
    return StepResult(route.skill, route.target, "passed", "revised upstream", revised)


def _revise(runner: Runner, route: FixRoute) -> RunResult:
    """The route's skill on its target, with the findings as its revision notes."""
    result = runner.run(route.skill, route.target, force=True, feedback=route.findings)
    if not result.gate.passed and result.status != "waiting":
        raise RunError(
            f"{route.skill} on {route.target} did not pass: " + "; ".join(result.gate.reasons)
        )
    return result


def _loop_skills(registry: Registry, name: str) -> dict[str, type[Skill]]:
    """Every skill of a loop, or one error naming all that are missing."""
    found, missing = {}, []
    for skill in LOOPS[name]:
        try:
            found[skill] = registry.get(skill)
        except UserError:
            missing.append(skill)
    if missing:
        raise UserError(
            f"the {name} loop needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not registered: install or "
            "register the skill (see `slate skills`)",
            loop=name,
            missing=missing,
        )
    return found


def _narrative(
    runner: Runner, skills: dict[str, type[Skill]], target: str, out: LoopResult
) -> None:
    if target != "PROJECT":
        raise UserError(
            f"the narrative loop runs on the whole story, not {target!r}: use PROJECT",
            target=target,
        )
    for name in LOOPS["narrative"]:
        skill = skills[name]
        if name == "story-architect":
            if not _story(runner, skill, out):
                return
            continue
        if skill.target_scope != "scene":
            for on in ("PROJECT", *review_targets(runner, name)):  # a series: each episode
                if not _record(out, _step(runner, skill, on)):
                    return
            continue
        for row in scene_rows(runner.project):  # read after story-architect passed
            step = (
                _step(runner, skill, row.scene_id)
                if row.characters_present
                else StepResult(name, row.scene_id, "skipped", "no characters in the scene")
            )
            if not _record(out, step):
                return


def _story(runner: Runner, architect: type[Skill], out: LoopResult) -> bool:
    """The story's start, decided as the orchestrator's story phase decides: story-architect
    unless the scenes were imported (no premise to structure), then scene-goals when a scene
    lacks a goal, conflict or outcome. False when the loop stops here."""
    store = runner.project.store
    if store.latest("PREMISE") is None and store.latest("SCENES") is not None:
        out.steps.append(
            StepResult(architect.name, "PROJECT", "skipped", "no premise: the scenes were imported")
        )
    elif not _record(out, _step(runner, architect, "PROJECT")):
        return False
    if not any(missing_fields(row) for row in scene_rows(runner.project)):
        return True
    # always run while a field is missing (a fresh earlier PASS is for older scenes)
    return _record(out, _step(runner, runner.registry.get("scene-goals"), "PROJECT", force=True))


def _validation(
    runner: Runner, skills: dict[str, type[Skill]], target: str, out: LoopResult
) -> None:
    ids = [row.scene_id for row in scene_rows(runner.project)]
    if not ids:
        raise UserError(
            "there are no scenes yet: run `slate run narrative` (or import a screenplay) first"
        )
    if target != "PROJECT" and not (SCENE_RE.fullmatch(target) and target in ids):
        raise UserError(
            f"the validation loop runs on a scene of SCENES or on PROJECT, not {target!r}",
            target=target,
        )
    for scene in ids if target == "PROJECT" else [target]:
        for name in LOOPS["validation"]:
            if name == "cultural-check" and not culture_required(runner.project, scene):
                out.steps.append(
                    StepResult(
                        name,
                        scene,
                        "skipped",
                        "the truth packet names no real culture, period or community",
                    )
                )
                continue
            if not _record(out, _step(runner, skills[name], scene)):
                return


def _record(out: LoopResult, step: StepResult) -> bool:
    out.steps.append(step)
    return step.ok


def _step(runner: Runner, skill: type[Skill], target: str, force: bool = False) -> StepResult:
    """One step: skip when already passed and fresh (unless forced), else run to PASS or
    report the stop."""
    if not force and passed_and_fresh(runner.project, skill, target):
        return StepResult(skill.name, target, "up_to_date")
    try:
        result = runner.run(skill.name, target, force=force)
        if result.status == "up_to_date":
            # The runner trusts the skill's own last output; a newer version (a light pass,
            # a failed hand edit) may have replaced it since, so run again for real.
            result = runner.run(skill.name, target, force=True)
    except RunError as stop:
        return StepResult(
            skill.name,
            target,
            "stopped",
            f"{stop}{_last_failure(runner.project, skill.name, target)}",
        )
    route = result.gate.route
    if route is not None and not result.gate.passed and result.gate.goes_upstream:
        raise LoopBack(result, route)
    if result.status == "waiting":
        return StepResult(
            skill.name,
            target,
            "waiting",
            f"answer the handoff task {result.task_path} and run again",
            result,
        )
    return StepResult(skill.name, target, "passed", f"attempt {result.attempt}", result)


def _last_failure(project: Project, skill: str, target: str) -> str:
    """' Last gate: <reasons>' when the skill's last run on the target failed, else ''."""
    row = project.store.conn.execute(
        "SELECT outcome, notes FROM runlog WHERE skill_name = ? AND target = ? AND "
        "event = 'run' ORDER BY seq DESC LIMIT 1",
        (skill, target),
    ).fetchone()
    return f" Last gate: {row[0]}: {row[1]}" if row and row[0] in ("FAIL", "FIX") else ""
