"""Steps run ahead of their sequential place, side by side (``slate run --jobs N``, issue 17).

A step is run ahead only where nothing before it in the sequential order can change its
inputs: research-agent of every scene (it reads the scene and the premise alone),
shot-planner of every scene (its scene's locks, breakdown and continuity report, all passed
before planning), a scene's render-finals once its proxies passed QC (``_shots``). Each runs
through the runner as it would in its place (guards, reservations, the log) on the
executor (``_executor``); the orchestrator's sequential pass then finds it a fresh PASS.

A step refused before anything is sent is dropped, to be met in its place (see ``ahead``);
a result that does not pass ends the run exactly as the orchestrator's own step would: a
handoff waits, a finding about upstream work goes back (``LoopBack``), a FAIL stops.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from ..core._errors import CostReviewRequired, InputNotReady, RenderRefused, RunError
from ..engine._readiness import passed_and_fresh
from ..engine._runner import Runner, RunResult
from ..engine._waits import provider_of
from ..schemas import ShotRow
from ..store._project import Project
from ._backward import LoopBack
from ._executor import Executor, PaidStep, executor_for
from ._limits import ProviderLimits
from ._scheduler import Scheduler
from ._stop import Stop

__all__ = ["Orchestrator", "Progress", "ahead", "ahead_all", "at_once", "ended"]


class Progress(Protocol):
    """Where a phase reports (the orchestrator's Progress)."""

    def phase(self, name: str, total: int) -> None: ...

    def advance(self, detail: str) -> None: ...

    def ran(self, result: RunResult) -> None: ...


class Orchestrator(Protocol):
    """What the phases outside it need of the orchestrator (``_orchestrator.Orchestrator``)."""

    runner: Runner
    project: Project
    progress: Progress
    jobs: int

    def cost_loop(self, target: str) -> None:
        """cost-optimizer on the target, simplifying or stopping over a cap."""

    def batch_plan(self, scene: str) -> None:
        """model-router's ROUTING_DECISION for the scene's shots."""

    def batch_prepare(self, scene: str) -> None:
        """What a scene's shots need before one is rendered out of turn."""

    def proxy_until_accepted(self, shot: str, row: ShotRow | None = None) -> None:
        """storyboard -> GenPack -> proxy -> QC until the shot's take is accepted."""

    def step(self, skill: str, target: str, *, advance: bool = True) -> None:
        """Run a skill unless its latest output is a fresh PASS (or stop the run)."""

    def _run(
        self, skill: str, target: str, *, stop_on_fail: bool = True, feedback: tuple[str, ...] = ()
    ) -> RunResult:
        """Run a skill to PASS, or stop the run."""

    def _record(self, result: RunResult) -> None:
        """Count a step that ran (and show it)."""

    def cost_review(self, target: str) -> None:
        """SPEC §8: at a cap's warning point cost-optimizer reruns and budget-gates reports."""


def ahead_all(orch: Orchestrator, skill: str, targets: list[str]) -> None:
    """With ``orch.jobs`` > 1, run ``skill`` on every target at once, ahead of the
    sequential loop over them (which then finds them done); nothing with one job."""
    if orch.jobs < 2 or len(targets) < 2:
        return
    runner = orch.runner
    cls = runner.registry.get(skill)
    provider = provider_of(runner.router.route(cls.tier, cls.uses_model).model)
    scheduler = Scheduler(orch.jobs, ProviderLimits(runner.config), orch.progress)
    executor = executor_for(scheduler)
    with scheduler.installed():
        try:
            at_once(orch, scheduler, executor, skill, targets, provider)
        finally:
            executor.close()


def at_once(
    orch: Orchestrator,
    scheduler: Scheduler,
    executor: Executor,
    skill: str,
    targets: list[str],
    provider: str,
) -> None:
    """Run ``skill`` on each target that is not a fresh PASS, all at once; a Stop raised by
    one is raised once all have ended (the sequential steps after it then find them done)."""
    cls = orch.runner.registry.get(skill)
    todo = [t for t in targets if not passed_and_fresh(orch.project, cls, t)]
    futures = [
        executor.start(PaidStep(skill, target, provider), partial(ahead, orch, skill, target))
        for target in todo
    ]
    scheduler.wait(futures)


def ahead(orch: Orchestrator, skill: str, target: str) -> None:
    """Run a paid step ahead of its sequential place. A step refused before anything was
    sent (a cost review due, a refused render, inputs not ready yet) is dropped: the
    sequential step meets it in its own place and does what a sequential run does. Any other
    refusal, and a result that does not pass, ends the run as the orchestrator's step would."""
    if passed_and_fresh(orch.project, orch.runner.registry.get(skill), target):
        return
    try:
        result = orch.runner.run(skill, target, force=True)
    except (CostReviewRequired, RenderRefused, InputNotReady):
        return
    except RunError as error:
        raise Stop("stopped", skill, target, str(error)) from None
    orch._record(result)
    ended(result)


def ended(result: RunResult) -> None:
    """End the run where a result does not pass, as the orchestrator's step does."""
    skill, target, gate = result.skill, result.target, result.gate
    if result.status == "waiting":
        raise Stop(
            "waiting",
            skill,
            target,
            f"answer the handoff task {result.task_path} "
            "with `slate submit ANSWER.json`, then `slate run` again",
        )
    if not gate.passed and gate.route and gate.goes_upstream:
        raise LoopBack(result, gate.route)
    if not gate.passed:
        raise Stop("stopped", skill, target, f"{gate.verdict}: " + "; ".join(gate.reasons))
