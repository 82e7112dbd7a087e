"""The semi-automated mode of SPEC §9: ``slate run`` with no skill named.

The orchestrator reads the project (SCENES, shot lists, the run log) and runs whatever is
missing or stale, in loop order:

1. story: story-architect (or, for imported scenes missing a goal, conflict or outcome,
   scene-goals), script-breakdown;
2. locks: character-lock, set-lock, voice-lock for each scene;
3. scenes, one at a time in SCENES order: character-psychology and
   dialogue-consistency-check (after the previous scene was tracked: they read the state
   before the scene, so knowledge carried over from an earlier scene is known), then
   research-agent, plausibility-auditor, cultural-check (where a real culture is central),
   then the continuity loop (world-state-tracker, continuity-supervisor, and on a supervisor
   FAIL a revised diff from the tracker);
4. story review: story-digest (code), then narrative-red-team and audience-simulator on the
   whole story (past a bound they read the digest and the scenes in focus);
5. planning: shot-planner for each scene, then the cost loop on the whole production;
6. shots, one scene at a time (a batch): the cost loop on the scene and its routing plan
   (model-router writes a ROUTING_DECISION), reference-sheets for the scene's cast and set
   (from their passing locks), then per shot
   storyboard-generator, prompt-packager, render-proxy, qc-grader, and on FIX or FAIL
   regen-analyzer and round again; with ``[qc] visual_continuity`` visual-continuity on the
   scene's accepted takes (a shot with a High finding goes back to regen-analyzer, see
   ``_visual_continuity``); then render-final for each shot;
7. scratch dialogue (``_audio``): dialogue-shots for each scene, scratch-voices for each shot;
8. edit (``_edit``): edit-planner for each scene, then for the whole film (EDIT_PROJECT);
9. cut: assemble-cut, which follows EDIT_PROJECT, and budget-gates.

Nothing is remembered between runs: every decision is read back from the files and the log,
so after Ctrl-C or kill -9 the next ``slate run`` picks up exactly where the last one stopped
(the runner resumes loops from the log and render jobs from their recorded ids). A step that
cannot pass (a hard stop, a handoff waiting for an answer, a gate that stays FAIL) ends the
run with the reason and what to do; nothing downstream of it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..core._errors import CostReviewRequired, GateFailed, RenderRefused, RunError
from ..core._names import scene_of
from ..engine._readiness import culture_required, passed_and_fresh, scene_rows
from ..engine._runner import Runner, RunResult
from ..rules._worldstate_story import tracking_order
from ..schemas import ShotRow
from ..skills.narrative._scene_goals import missing_fields
from ..store._runlock import run_lock
from ._ahead import ahead_all
from ._audio import voice_pass
from ._backward import LoopBack, revise_open, send_back
from ._edit import edit_pass
from ._episodes import episode_cuts, episode_reviews
from ._lip_sync import voices_first
from ._pending import (
    budget_moved,
    locks_pending,
    pack_pending,
    qc_state,
    scene_ids,
    shot_rows,
    tracked,
)
from ._sheets import sheets_pending
from ._shots import shots_pass
from ._stop import Refused, Status, Stop
from ._switching import check_switch

LOCK_SKILLS = ("character-lock", "set-lock", "voice-lock")
BUDGET_EVENTS = ("budget_warning", "hard_stop", "override")
MAX_ROUNDS = 10  # QC rounds per shot in one run; the regen limits stop far earlier


class Progress(Protocol):
    """Where the orchestrator reports what it does (the CLI draws rich progress bars)."""

    def phase(self, name: str, total: int) -> None:
        """A new phase with ``total`` units of work begins."""

    def advance(self, detail: str) -> None:
        """One unit of the current phase is done."""

    def ran(self, result: RunResult) -> None:
        """A skill ran (not called for steps that were already up to date)."""


class Silent:
    """A Progress that reports nothing (library use, tests)."""

    def phase(self, name: str, total: int) -> None:
        """Ignore."""

    def advance(self, detail: str) -> None:
        """Ignore."""

    def ran(self, result: RunResult) -> None:
        """Ignore."""


@dataclass
class Outcome:
    """How a whole orchestrated run ended."""

    status: Status
    ran: list[RunResult] = field(default_factory=list)
    skill: str = ""
    target: str = ""
    reason: str = ""
    cut: str = ""

    def describe(self) -> str:
        """One paragraph for the CLI."""
        done = f"{len(self.ran)} step(s) ran"
        if self.status == "complete":
            return f"production complete: {done}" + (f"; cut {self.cut}" if self.cut else "")
        verb = "waiting at" if self.status == "waiting" else "stopped at"
        return f"{done}; {verb} {self.skill} on {self.target}:\n{self.reason}"


class Orchestrator:
    """Runs every missing or stale step of a project in loop order (see the module docs)."""

    jobs: int = 1  # provider waits at once (`slate run --jobs N`; 1: one step after another)

    def __init__(self, runner: Runner, progress: Progress | None = None) -> None:
        self.runner = runner
        self.project = runner.project
        self.store = runner.store
        self.progress = progress or Silent()
        self.ran: list[RunResult] = []
        # Adopt render jobs a killed run left behind before any step's budget recovery runs,
        # so they are resumed and settled at their price, not charged at the worst case.
        runner.render_service()

    def run(self) -> Outcome:
        """Run to a complete production or to the first step that cannot pass."""
        with run_lock(self.project.root):  # re-entrant: `slate run` holds it already
            return self._run_phases()

    def _run_phases(self) -> Outcome:
        try:
            while not self._phases():
                pass  # a FAIL went upstream and was revised: rerun what it made stale
        except Stop as stop:
            return Outcome(stop.status, self.ran, stop.skill, stop.target, stop.reason)
        cut = self.store.latest("CUT", "PROJECT")
        return Outcome("complete", self.ran, cut=cut.name.relpath if cut else "")

    # -- phases -----------------------------------------------------------------------------

    def _phases(self) -> bool:
        phases = (self._story, self._locks, self._scenes, self._review, self._planning, self._shots)
        try:  # issue 15: the scratch voices, then the EDIT plans the cut follows (_edit)
            revise_open(self)  # the revision a loop_back row owes (this run's or a killed one's)
            for phase in (*phases, lambda: voice_pass(self), lambda: edit_pass(self), self._cut):
                phase()
        except LoopBack as back:
            self.loop_back(back)
            return False
        return True

    def _story(self) -> None:
        self.progress.phase("story", 2)
        if self.store.latest("PREMISE") is None and self.store.latest("SCENES") is not None:
            self.progress.advance("story-architect: no premise (scenes were imported)")
        else:
            self.step("story-architect", "PROJECT")
        if any(missing_fields(r) for r in scene_rows(self.project)):  # SPEC §5: all three
            self._run("scene-goals", "PROJECT")  # imported scenes: goal, conflict, outcome
        self.step("script-breakdown", "PROJECT")

    def _locks(self) -> None:
        scenes = scene_ids(self.runner)
        self.progress.phase("locks", len(scenes) * len(LOCK_SKILLS))
        for scene in scenes:
            for skill in LOCK_SKILLS:
                if locks_pending(self.runner, skill, scene):
                    self._run(skill, scene)
                self.progress.advance(f"{skill} {scene}")

    def _scenes(self) -> None:
        rows = scene_rows(self.project)
        self.progress.phase("scenes", 7 * len(rows))
        ahead_all(self, "research-agent", [r.scene_id for r in rows])  # --jobs N: at once
        for row in tracking_order(rows):  # a flash forward after the scene it follows
            scene = row.scene_id
            self._scene_narrative(row.scene_id, bool(row.characters_present))
            self.step("research-agent", scene)
            self.step("plausibility-auditor", scene)
            if culture_required(self.project, scene):
                self.step("cultural-check", scene)
            else:
                self.progress.advance(f"cultural-check {scene}: no real culture is central")
            self.continuity_loop(scene)

    def _scene_narrative(self, scene: str, has_cast: bool) -> None:
        """Psychology and dialogue, after the previous scene's world-state update (SPEC §5)."""
        if has_cast:
            self.step("character-psychology", scene)
        else:
            self.progress.advance(f"character-psychology {scene}: no characters")
        if has_cast and self.store.latest("SCRIPT", scene):
            self.step("dialogue-consistency-check", scene)
        else:
            self.progress.advance(f"dialogue-consistency-check {scene}: no script")

    def _review(self) -> None:
        self.progress.phase("story review", 3)
        self.step("story-digest", "PROJECT")  # what the reviews read past a bound (issue 14 §8)
        self.step("narrative-red-team", "PROJECT")
        self.step("audience-simulator", "PROJECT")
        episode_reviews(self)  # a series: each episode's red team and audience (_episodes)

    def continuity_loop(self, scene: str) -> None:
        """world-state-tracker -> continuity-supervisor; a supervisor FAIL sends its findings
        back to the tracker for a revised diff (SPEC §6), a bounded number of times."""
        if not tracked(self.runner, scene):
            self._run("world-state-tracker", scene)
        self.progress.advance(f"world-state-tracker {scene}")
        supervisor = self.runner.registry.get("continuity-supervisor")
        rounds = self.runner.config.loops.max_revisions
        for round_ in range(rounds + 1):
            if passed_and_fresh(self.project, supervisor, scene):
                break
            result = self._run("continuity-supervisor", scene, stop_on_fail=False)
            if result.gate.passed:
                break
            if round_ == rounds:
                raise Stop(
                    "stopped",
                    "continuity-supervisor",
                    scene,
                    f"continuity still FAILs after {rounds} revised diff(s): "
                    + "; ".join(result.gate.reasons)
                    + ". Revise the scene or the "
                    "locks, or record `slate override`.",
                )
            self._run("world-state-tracker", scene, feedback=result.gate.reasons)
        self.progress.advance(f"continuity-supervisor {scene}")

    def _planning(self) -> None:
        scenes = scene_ids(self.runner)
        self.progress.phase("shot planning", len(scenes) + 1)
        ahead_all(self, "shot-planner", scenes)  # --jobs N: every scene's plan at once
        for scene in scenes:
            self.step("shot-planner", scene)
        self.cost_loop("PROJECT")
        self.progress.advance("cost-optimizer PROJECT")

    def _shots(self) -> None:
        shots_pass(self)  # _shots: one scene after another, or with --jobs N many at once

    def _cut(self) -> None:
        episode_cuts(self)  # a series: each episode's edit plan and cut, then the season's
        self.progress.phase("cut", 2)
        self.step("assemble-cut", "PROJECT")
        if budget_moved(self.runner, (*BUDGET_EVENTS, "spend")):
            self._run("budget-gates", "PROJECT")
        self.progress.advance("budget-gates PROJECT")

    # -- the production loop of one shot ----------------------------------------------------

    def batch_prepare(self, scene: str) -> None:
        """What a scene's shots need before one is rendered out of turn (a QC sample)."""
        self.cost_loop(scene)
        self.batch_plan(scene)
        if sheets_pending(self.runner, scene):
            self._run("reference-sheets", scene)

    def proxy_until_accepted(self, shot: str, row: ShotRow | None = None) -> None:
        """storyboard -> GenPack -> proxy -> QC; on FIX or FAIL the analyzer writes rules and
        the shot goes round again (the regen limits hard-stop a shot that keeps failing). A
        proxy the provider refused goes to the analyzer too, which rewords its prompt."""
        for _ in range(MAX_ROUNDS):
            self.step("storyboard-generator", shot, advance=False)
            row = row or next(
                r for r in shot_rows(self.runner, scene_of(shot)) if r.shot_id == shot
            )
            if pack_pending(self.runner, shot, row):
                try:  # a changed [visual] model is re-packed only once the switch is recorded
                    check_switch(self.runner, row)
                except RunError as error:
                    raise Stop("stopped", "prompt-packager", shot, str(error)) from None
                self._run("prompt-packager", shot)
            try:
                self.step("render-proxy", shot, advance=False)
            except Refused:  # never sent again unchanged: reword the prompt within the locks
                self._run("regen-analyzer", shot)
                continue
            state = qc_state(self.runner, shot)
            if state == "todo":
                self._run("qc-grader", shot, stop_on_fail=False)
                state = qc_state(self.runner, shot)
            if state == "PASS":
                return
            self._run("regen-analyzer", shot)
        raise Stop(
            "stopped",
            "qc-grader",
            shot,
            f"{shot} did not pass QC in {MAX_ROUNDS} "
            "rounds; review its QC rows (`slate show QC_BATCH_...`)",
        )

    # -- the cost loop ----------------------------------------------------------------------

    def cost_loop(self, target: str) -> None:
        """cost-optimizer on the target; over a cap, apply its recommendations to the shot
        lists (a logged, versioned simplification), or stop for the budget."""
        from ._costloop import apply_cost_plan

        skill = self.runner.registry.get("cost-optimizer")
        if passed_and_fresh(self.project, skill, target):
            return
        try:
            self._record(self.runner.run("cost-optimizer", target, force=True))
            return
        except GateFailed:
            pass  # over the cap: simplify below
        except RunError as error:
            raise Stop("stopped", "cost-optimizer", target, str(error)) from None
        try:
            plan = apply_cost_plan(self.runner, target, story=True)  # SPEC §6: may simplify
        except RunError as error:
            raise Stop("stopped", "cost-optimizer", target, str(error)) from None
        if plan.verdict not in ("", "PASS"):
            raise Stop(
                "stopped",
                "cost-optimizer",
                target,
                f"the simplified shot lists still fail the cost gate: {'; '.join(plan.reasons)}",
            )

    def batch_plan(self, scene: str) -> None:
        """model-router: route the batch's shots by hero tier within the premium quota, as a
        ROUTING_DECISION with its projected cost (once per version of the shot list)."""
        plan = self.store.latest("ROUTING_DECISION", f"BATCH_PLAN_{scene}")
        if plan is None or self.store.is_stale(plan.name):
            try:
                self.runner.plan_batch(scene)
            except RunError as error:
                raise Stop("stopped", "model-router", scene, str(error)) from None
        voices_first(self, scene)  # issue 15 §3: a lip-syncing model needs the AUDIO first

    # -- steps ------------------------------------------------------------------------------

    def step(self, skill: str, target: str, *, advance: bool = True) -> None:
        """Run one skill on one target unless its latest output is a fresh PASS."""
        if not passed_and_fresh(self.project, self.runner.registry.get(skill), target):
            self._run(skill, target)
        if advance:
            self.progress.advance(f"{skill} {target}")

    def _run(
        self, skill: str, target: str, *, stop_on_fail: bool = True, feedback: tuple[str, ...] = ()
    ) -> RunResult:
        """Run a skill to PASS (the runner revises and escalates); stop the whole run when it
        cannot pass. A cost review demanded by a cap's warning state runs first."""
        for _ in range(2):
            try:
                result = self.runner.run(skill, target, force=True, feedback=feedback)
                break
            except CostReviewRequired as review:
                self.cost_review(str(review.context.get("target", "PROJECT")))
            except RenderRefused as error:
                raise Refused("stopped", skill, target, str(error)) from None
            except RunError as error:
                raise Stop("stopped", skill, target, str(error)) from None
        else:
            raise Stop("stopped", skill, target, "a cost review did not clear the warning")
        self._record(result)
        if result.status == "waiting":
            raise Stop(
                "waiting",
                skill,
                target,
                f"answer the handoff task {result.task_path} "
                "with `slate submit ANSWER.json`, then `slate run` again",
            )
        if not result.gate.passed and result.gate.route and result.gate.goes_upstream:
            raise LoopBack(result, result.gate.route)
        if stop_on_fail and not result.gate.passed:
            raise Stop(
                "stopped",
                skill,
                target,
                f"{result.gate.verdict}: " + "; ".join(result.gate.reasons),
            )
        return result

    def loop_back(self, back: LoopBack) -> None:
        """Send a FAIL's findings upstream (logged, bounded); the next pass revises from it."""
        if (stop := send_back(self, back)) is not None:  # imported scenes: per scene
            raise Stop("stopped", back.failed.skill, back.failed.target, stop)

    def cost_review(self, target: str) -> None:
        """SPEC §8: at 90% of a cap cost-optimizer reruns and budget-gates reports."""
        for skill, on in (("cost-optimizer", target), ("budget-gates", "PROJECT")):
            self._record(self.runner.run(skill, on, force=True))

    def _record(self, result: RunResult) -> None:
        self.ran.append(result)
        self.progress.ran(result)


__all__ = ["Orchestrator", "Outcome", "Progress", "Silent", "Stop"]
