"""The seam "run this paid step" between the scheduler and whatever executes it (issue 17).

The scheduler (``_scheduler``, ``_shots``) decides WHAT may run at once: it hands each paid
step that is ready and independent of the others (a shot's render-final once its proxy
passed QC, a shot's scratch voices) to an :class:`Executor` as a :class:`PaidStep`, and waits
for the returned futures. How and where it runs is the executor's business:

- :class:`ThreadExecutor` (the default): in-process threads under the scheduler's baton, so
  the step's store writes stay serialised and only its provider waits overlap;
- a durable engine (DBOS, issue 17 §2) may run the same ``(skill, target)`` as a workflow
  keyed by :attr:`PaidStep.key` on a queue named by :attr:`PaidStep.provider`, in this or
  another process against the same project, and complete the future when it is done.

A durable engine installs its own with :func:`use_executor` (a factory taking the phase's
:class:`Scheduler`); every concurrent phase then builds its executor with :func:`executor_for`.

The contract an executor keeps:

1. ``start`` returns at once; the future completes (result None) once the step's outputs are
   in the project, or carries the step's exception (``Stop`` included: it stops the run);
2. it never runs one ``key`` twice at the same time, and running a key again after it
   finished, or after a crash, is safe: every paid call inside is recorded before it is sent
   and resumed, never repaid (``engine._metered_jobs``), so "at least once" is enough;
3. ``run`` is the in-process body (what :class:`ThreadExecutor` calls); an executor that runs
   the step elsewhere ignores it and runs ``slate``'s runner on ``(skill, target)``;
4. ``close`` waits for what it started.

After the futures complete, the orchestrator's own sequential pass visits every step again
and finds it a fresh PASS (or runs it, in order, when a step was dropped or failed), so an
executor may also drop a step (complete it without running it): that only costs time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from ._scheduler import Scheduler

__all__ = ["Executor", "PaidStep", "ThreadExecutor", "executor_for", "use_executor"]

# a step waiting on its job, one ready to send the next (its slot claimed as the first's
# frees), one checking the take it downloaded: 2 left gaps of ~0.2 s per job at --jobs 8
THREADS_PER_JOB = 3


@dataclass(frozen=True)
class PaidStep:
    """One paid step that may run beside others: a skill on a target, paying ``provider``."""

    skill: str
    target: str
    provider: str  # the provider it pays ("animatic", "fal", "espeak"...): a queue's name

    @property
    def key(self) -> str:
        """Unique and stable across runs: a durable engine's idempotency key."""
        return f"{self.skill}:{self.target}"


class Executor(Protocol):
    """Runs paid steps the scheduler found ready (see the module docs for the contract)."""

    def start(self, step: PaidStep, run: Callable[[], None]) -> Future[None]:
        """Begin ``step``; the future completes once its outputs are stored."""

    def close(self) -> None:
        """Wait for every started step, then free what the executor holds."""


class ThreadExecutor:
    """The default executor: the step's body on one of ``THREADS_PER_JOB x scheduler.jobs``
    threads, holding the scheduler's baton but while it waits on a provider or computes on
    its own data (``_waits.computing``).

    More threads than wait slots: while a step checks the take it downloaded (off the
    baton, its slots free), the next step is ready to send its job the moment a slot frees
    (it waits for the slot before recording its intent, ``_waits.claim_slot``). The slots,
    not the threads, bound what is in flight."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        threads = THREADS_PER_JOB * scheduler.jobs
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="slate-job")
        self.running: set[str] = set()

    def start(self, step: PaidStep, run: Callable[[], None]) -> Future[None]:
        """Queue the step's body on the pool (refusing a key already running)."""
        if step.key in self.running:
            raise ValueError(f"{step.key} is already running")
        self.running.add(step.key)
        self.scheduler._queued(1)

        def body() -> None:
            try:
                self.scheduler.task(run)
            finally:
                self.running.discard(step.key)

        return self.pool.submit(body)

    def close(self) -> None:
        """Wait for the started steps and stop the threads."""
        self.pool.shutdown(wait=True)


ExecutorFactory = Callable[[Scheduler], Executor]
_factory: ExecutorFactory = ThreadExecutor


def use_executor(factory: ExecutorFactory | None) -> ExecutorFactory:
    """Make ``factory`` build the executor of every concurrent phase from now on (None: the
    default ThreadExecutor); returns the one it replaces (for a ``finally``)."""
    global _factory
    last, _factory = _factory, factory or ThreadExecutor
    return last


def executor_for(scheduler: Scheduler) -> Executor:
    """The executor of one concurrent phase (``use_executor`` chooses its kind)."""
    return _factory(scheduler)
