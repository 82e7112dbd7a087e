"""The shots phase of the orchestrated run, one scene after another or many at once.

Sequentially (``slate run``, ``--jobs 1``), as the orchestrator's module docs say: a switch's
QC samples first, then for each scene in SCENES order the cost loop and its routing plan,
reference-sheets, each shot's proxy loop (storyboard, GenPack, proxy, QC, regen), the visual
pass, each shot's render-final, and budget-gates when a cap moved.

With ``--jobs N`` (N > 1) the same steps first run as a dependency graph (``_scheduler``):

- every scene is a **lane**, and lanes run at once (up to N): a scene's steps keep their
  order inside its lane, and the gates before each step are the same, so nothing downstream
  of a FAIL runs;
- reference-sheets take **turns** in SCENES order (scenes share their cast's sheets: the
  second scene uses the sheets the first made, as in a sequential run), and so do the lanes'
  ends (budget-gates' status, counting the cap changes of the scenes so far) and the cost
  reviews inside lanes (they wait for the scenes before theirs to end);
- inside a lane, the shots' render-finals (once the scene's proxies passed QC and the visual
  pass) are independent **paid steps**, handed to the executor (``_executor``) to run at once,
  unless their worst cases together would reach a cap's warning point (``finals_fit``).

Proxies of one scene stay in shot order: each QC verdict may add a regen rule the next
shot's GenPack must carry, and rendering before it would pay for a take made stale at once.

Then the sequential pass runs over every scene as a sweep: it finds each step a fresh PASS
(nothing is paid again: it reads the store), runs in its place any step the concurrent pass
dropped (a call a cost review must precede, a refused render), and repacks a shot a regen
rule learned in another lane now applies to. Every paid call inside a step is the runner's
or the render service's, so its reservation, intent and settlement are what they always are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from ..core._budget import Level
from ..core._names import scene_of
from ..core._video_prices import video_cost
from ..engine._runner import RunResult
from ..engine._waits import provider_of
from ..schemas import ShotRow
from ..store._ledger import scopes_of
from ._ahead import Orchestrator, Progress, at_once
from ._executor import Executor, executor_for
from ._limits import ProviderLimits
from ._pending import budget_moved, scene_ids, shot_rows
from ._scheduler import Scheduler
from ._sheets import sheets_pending
from ._switching import pending_samples
from ._visual_continuity import visual_pass

__all__ = ["Orchestrator", "concurrent_shots", "sequential_shots", "shots_pass"]

BUDGET_EVENTS = ("budget_warning", "hard_stop", "override")
BUDGET_TURN = "budget-gates"  # lanes end (and review costs) in scene order
_LANE = threading.local()  # the index of the lane a thread runs


def shots_pass(orch: Orchestrator) -> None:
    """The shots phase: concurrently first when ``orch.jobs`` > 1, then the sequential pass."""
    if orch.jobs > 1:
        concurrent_shots(orch, orch.jobs)
        progress, orch.progress = orch.progress, _RanOnly(orch.progress)
        try:
            sequential_shots(orch)  # the sweep: fresh steps are only read
        finally:
            orch.progress = progress
        return
    sequential_shots(orch)


def sequential_shots(orch: Orchestrator) -> None:
    """The shots phase one step after another (the order of the orchestrator's docs)."""
    runner = orch.runner
    for sample in pending_samples(runner):  # SPEC §7: a switch's QC sample first
        orch.batch_prepare(scene_of(sample))
        orch.proxy_until_accepted(sample)
    for scene in scene_ids(runner):
        rows = shot_rows(runner, scene)
        orch.progress.phase(f"shots of {scene}", 2 * len(rows) + 3)
        orch.cost_loop(scene)  # SPEC §5: a projection before every batch
        orch.progress.advance(f"cost-optimizer {scene}")
        rows = shot_rows(runner, scene)  # the cost loop may have simplified the list
        orch.batch_plan(scene)
        orch.progress.advance(f"model-router {scene}")
        if sheets_pending(runner, scene):  # before the storyboards that use them
            orch._run("reference-sheets", scene)
        orch.progress.advance(f"reference-sheets {scene}")
        for row in rows:
            orch.proxy_until_accepted(row.shot_id, row)
            orch.progress.advance(f"{row.shot_id} proxy")
        visual_pass(orch, scene)  # issue 13 §4: the accepted takes looked at, before finals
        for row in rows:
            orch.step("render-final", row.shot_id, advance=False)
            orch.progress.advance(f"{row.shot_id} final")
        if budget_moved(runner, BUDGET_EVENTS):  # a cap changed state: report it now
            orch._run("budget-gates", "PROJECT")


def concurrent_shots(orch: Orchestrator, jobs: int, executor: Executor | None = None) -> None:
    """Every scene's shots as a lane, up to ``jobs`` provider waits at once (module docs)."""
    runner = orch.runner
    for sample in pending_samples(runner):  # a switch's samples decide first, alone
        orch.batch_prepare(scene_of(sample))
        orch.proxy_until_accepted(sample)
    scenes = scene_ids(runner)
    total = sum(2 * len(shot_rows(runner, scene)) + 3 for scene in scenes)
    orch.progress.phase(f"shots, {jobs} at once", total)
    scheduler = Scheduler(jobs, ProviderLimits(runner.config), orch.progress)
    paid = executor or executor_for(scheduler)
    lanes = [partial(_lane, orch, scheduler, paid, i, scene) for i, scene in enumerate(scenes)]
    review = orch.cost_review
    setattr(orch, "cost_review", partial(_review_in_turn, scheduler, review))  # noqa: B010
    with scheduler.installed():
        try:
            scheduler.run_all(lanes)
        finally:
            delattr(orch, "cost_review")  # the class's own again
            if executor is None:
                paid.close()


def _review_in_turn(scheduler: Scheduler, review: Callable[[str], None], target: str) -> None:
    """A cost review (a COST_REPORT, then budget-gates' status of every cap) in a lane waits
    for the scenes before it to end, as sequentially it comes after their statuses."""
    index = getattr(_LANE, "index", None)
    if index is not None:
        scheduler.await_turn(BUDGET_TURN, index)
    review(target)


def _lane(
    orch: Orchestrator, scheduler: Scheduler, executor: Executor, index: int, scene: str
) -> None:
    """One scene's shots, in the sequential order; its finals at once unless they would
    reach a cap's warning point; budget-gates' status at its end in scene order."""
    runner, progress = orch.runner, orch.progress
    _LANE.index = index
    orch.cost_loop(scene)
    progress.advance(f"cost-optimizer {scene}")
    rows = shot_rows(runner, scene)
    orch.batch_plan(scene)
    progress.advance(f"model-router {scene}")
    with scheduler.turn("reference-sheets", index):
        if sheets_pending(runner, scene):
            orch._run("reference-sheets", scene)
    progress.advance(f"reference-sheets {scene}")
    for row in rows:
        scheduler.check()
        orch.proxy_until_accepted(row.shot_id, row)
        progress.advance(f"{row.shot_id} proxy")
    scheduler.check()
    visual_pass(orch, scene)
    finals = [row.shot_id for row in rows]
    if finals_fit(orch, rows):  # near a warning point they go one by one, as sequentially
        at_once(orch, scheduler, executor, "render-final", finals, _video_provider(orch, scene))
    for shot in finals:
        scheduler.check()
        orch.step("render-final", shot, advance=False)
        progress.advance(f"{shot} final")
    with scheduler.turn(BUDGET_TURN, index):  # statuses in scene order, as sequentially
        if moved_so_far(orch, scene_ids(runner)[: index + 1]):
            orch._run("budget-gates", "PROJECT")


def moved_so_far(orch: Orchestrator, scenes: list[str]) -> bool:
    """``budget_moved`` as a sequential run sees it at the end of the last of ``scenes``: a
    cap changed state (in these scenes or the whole project) since the latest status. What
    later scenes' lanes did meanwhile comes, sequentially, after."""
    store = orch.runner.store
    status = store.latest("BUDGET_STATUS")
    if status is None:
        return True
    marks, scenes_in = ", ".join("?" * len(BUDGET_EVENTS)), ", ".join("?" * len(scenes))
    found = store.conn.execute(
        f"SELECT 1 FROM runlog WHERE event IN ({marks}) AND seq > ? "
        f"AND (scene_id = '' OR scene_id IN ({scenes_in})) LIMIT 1",
        (*BUDGET_EVENTS, store.written_at(status.filename), *scenes),
    ).fetchone()
    return found is not None


def finals_fit(orch: Orchestrator, rows: list[ShotRow]) -> bool:
    """True when every cap the shots' finals count against stays below its warning point
    with all their worst cases held at once: then no final meets a cost review or a stop,
    whatever their order, and they may run at once."""
    runner = orch.runner
    service = runner.render_service()
    need: dict[tuple[Level, str], float] = {}
    for row in rows:
        worst = video_cost(runner.config, service.route(row).model, "final", row.duration_s)
        for cap in scopes_of(row.scene_id, row.shot_id):
            need[cap] = need.get(cap, 0.0) + worst
    warn = runner.config.budget.warn_pct / 100
    for (level, scope), amount in need.items():
        state = runner.ledger.state(level, scope)
        if state is not None and state.committed + amount >= state.cap * warn:
            return False
    return True


def _video_provider(orch: Orchestrator, scene: str) -> str:
    """The provider the scene's renders pay (for the executor's queues)."""
    rows = shot_rows(orch.runner, scene)
    if not rows:
        return ""
    return provider_of(orch.runner.render_service().route(rows[0]).model)


class _RanOnly:
    """A Progress passing on only the steps that ran (the sweep draws no bars of its own)."""

    def __init__(self, inner: Progress) -> None:
        self.inner = inner

    def phase(self, name: str, total: int) -> None:
        """Ignore."""

    def advance(self, detail: str) -> None:
        """Ignore."""

    def ran(self, result: RunResult) -> None:
        """Print it as the orchestrator would."""
        self.inner.ran(result)
