"""The scheduler of ``slate run --jobs N`` (issue 17): many provider waits at once, one writer.

A run's steps read and write one project: the store, the ledger, the hash-chained run log,
the SQLite index. The scheduler keeps all of that single-threaded by a **baton**: a thread
runs orchestrator or skill code only while it holds the baton, and gives it up only while it
waits on a provider (the points ``engine._waits`` marks: a text request, a job's submit, poll
and download) or on another step (a future, a turn). So every store write, every budget
reservation and every log row happens one at a time, in one thread at a time, exactly as in
a sequential run; what overlaps is the waiting, which is where the wall time goes.

Around each wait it applies the limits:

- ``--jobs N``: at most N provider waits in flight (a video job counts from its submit until
  the provider says it finished, ``_waits.job_over``; a text request for its duration; a
  finished job's download counts against nothing: the job no longer runs there);
- ``[providers.<name>] max_concurrent`` and ``requests_per_minute`` (``_limits``).

A slot is always waited for without the baton, and the baton is the only lock a thread takes
while it holds a slot, so the two never deadlock. A job's slots are free again the moment the
provider reports it finished, before the thread takes the baton back to settle it, so the
next submission never waits for this one's settlement, download or checks.

A thread also gives the baton up while it computes on bytes of its own (``_waits.computing``:
a downloaded take conformed, decoded and checked), so the next step's store writes and
submission overlap one take's checks; the store, ledger and run-log writes around them stay
under the baton.

What runs concurrently is decided by the phases (``_shots``): whole scenes (lanes) and the
independent paid steps inside one (``_executor``). A step that cannot pass stops the run at
once: the other lanes stop at their next step boundary (never inside a paid call: a call
abandoned between its intent and its job id would be settled at its worst case).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ..engine import _waits
from ..engine._waits import WaitKind
from ._baton import Baton
from ._limits import ProviderLimits

__all__ = ["Cancelled", "JobCounts", "Scheduler"]

T = TypeVar("T")


class Cancelled(Exception):
    """Another lane stopped the run: this one ends at its step boundary."""


class JobsProgress(Protocol):
    """A Progress that also draws the scheduler's counts (``_progress.RichProgress``)."""

    def jobs(self, counts: JobCounts) -> None:
        """Running, queued and done steps of the current phase; provider waits in flight."""


@dataclass
class JobCounts:
    """What the scheduler is doing now (for the progress bars)."""

    queued: int = 0
    running: int = 0
    done: int = 0
    waiting: dict[str, int] = field(default_factory=dict)  # provider -> waits in flight


@dataclass
class _Slot:
    """What one thread holds of the limits while its job is in flight."""

    provider: str
    semaphore: threading.BoundedSemaphore | None
    claimed: bool = False  # taken by ``claim`` for the submission that follows


class Scheduler:
    """The baton, the limits and the threads of one concurrent phase (see the module docs)."""

    def __init__(self, jobs: int, limits: ProviderLimits, progress: object | None = None) -> None:
        if jobs < 2:
            raise ValueError("a scheduler runs at least two jobs at once")
        self.jobs = jobs
        self.limits = limits
        self.progress = progress
        self.baton = Baton()
        self.slots = threading.BoundedSemaphore(jobs)
        self.stopping = threading.Event()
        self.counts = JobCounts()
        self._local = threading.local()
        self._counts_lock = threading.Lock()
        self._turns = threading.Condition()
        self._turn_at: dict[str, int] = {}

    # -- installing it ----------------------------------------------------------------------

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Report the engine's waits here for the duration (the caller holds no baton)."""
        last = _waits.install(self)
        try:
            yield
        finally:
            _waits.install(last)

    # -- the baton --------------------------------------------------------------------------

    def _holding(self) -> bool:
        return bool(getattr(self._local, "holding", False))

    def _take_baton(self) -> None:
        self.baton.acquire(urgent=getattr(self._local, "slot", None) is not None)
        self._local.holding = True

    def _give_baton(self) -> None:
        self._local.holding = False
        self.baton.release()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Run the block holding the baton (a task's body)."""
        self._take_baton()
        try:
            yield
        finally:
            self._free_slot()
            self._give_baton()

    @contextmanager
    def blocked(self) -> Iterator[None]:
        """Wait on something other than a provider (a future, a turn) without the baton."""
        self._free_slot()
        with self.computing():
            yield

    # -- engine._waits.Waits ----------------------------------------------------------------

    def enter(self, provider: str, kind: WaitKind) -> None:
        """Give up the baton, then take the slots the call needs (never the other way); a
        download needs none (its job finished: it is settled, only its output is fetched)."""
        held = self._holding()
        self._local.entered = [*getattr(self._local, "entered", []), held]
        new_call = kind in ("request", "submit")
        open_slot: _Slot | None = getattr(self._local, "slot", None)
        ended = kind == "download" or (open_slot is not None and open_slot.provider != provider)
        claimed = open_slot is not None and open_slot.claimed and kind == "submit" and not ended
        if (new_call and not claimed) or ended:
            self._free_slot()  # a thread runs one call at a time: its last job is over
            open_slot = None
        if held:
            self._give_baton()
        if open_slot is None and kind != "download":
            self._local.slot = self._take_slot(provider, counted=new_call)
        elif open_slot is not None:
            open_slot.claimed = False  # the submission it was claimed for
        self._count_wait(provider, +1)

    def claim(self, provider: str) -> None:
        """The slots of the submission the thread is about to record: taken at once when
        free, else waited for without the baton (so no intent waits on a full provider)."""
        self._free_slot()  # a thread runs one call at a time: its last job is over
        slot = self._try_slot(provider)
        if slot is None:
            held = self._holding()
            if held:
                self._give_baton()
            try:
                slot = self._take_slot(provider, counted=True)
            finally:
                if held:
                    self._take_baton()
        slot.claimed = True
        self._local.slot = slot

    def leave(self, provider: str, kind: WaitKind) -> None:
        """A request's slots are free again; a job keeps its own until it is over."""
        self._count_wait(provider, -1)
        if kind == "request":
            self._free_slot()
        entered: list[bool] = self._local.entered
        if entered.pop():
            self._take_baton()

    def job_over(self) -> None:
        """The thread's job finished at the provider (or was settled, or failed): its slots
        are free. Called inside the poll that saw it finish, before the baton is retaken."""
        self._free_slot()

    @contextmanager
    def computing(self) -> Iterator[None]:
        """Pure computation on the thread's own data: without the baton (its slots stay as
        they are; after a download it holds none)."""
        held = self._holding()
        if held:
            self._give_baton()
        try:
            yield
        finally:
            if held:
                self._take_baton()

    def _take_slot(self, provider: str, counted: bool) -> _Slot:
        semaphore = self.limits.slot(provider)
        if semaphore is not None:
            semaphore.acquire()
        self.slots.acquire()
        window = self.limits.window(provider) if counted else None
        if window is not None:
            window.take()
        return _Slot(provider, semaphore)

    def _try_slot(self, provider: str) -> _Slot | None:
        """The provider's and a --jobs slot when both are free and its request window (if
        any) has room, without waiting; else None."""
        if self.limits.window(provider) is not None:
            return None  # the window may have to be waited out: never with the baton
        semaphore = self.limits.slot(provider)
        if semaphore is not None and not semaphore.acquire(blocking=False):
            return None
        if not self.slots.acquire(blocking=False):
            if semaphore is not None:
                semaphore.release()
            return None
        return _Slot(provider, semaphore)

    def _free_slot(self) -> None:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            return
        self._local.slot = None
        self.slots.release()
        if slot.semaphore is not None:
            slot.semaphore.release()

    def _count_wait(self, provider: str, change: int) -> None:
        with self._counts_lock:
            waiting = self.counts.waiting
            waiting[provider] = waiting.get(provider, 0) + change
            if not waiting[provider]:
                del waiting[provider]
        self._report()

    # -- turns: steps that run in scene order even when their scenes overlap ---------------

    def turn(self, name: str, index: int) -> _Turn:
        """The ``index``-th use of ``name``: it begins once use ``index - 1`` has ended."""
        return _Turn(self, name, index)

    def await_turn(self, name: str, index: int) -> None:
        """Wait (without the baton) until uses ``0 .. index - 1`` of ``name`` have ended."""
        self._await_turn(name, index)

    def _await_turn(self, name: str, index: int) -> None:
        with self.blocked(), self._turns:
            while self._turn_at.get(name, 0) < index:
                if self.stopping.is_set():
                    raise Cancelled(name)
                self._turns.wait(0.2)

    def _end_turn(self, name: str, index: int) -> None:
        with self._turns:
            self._turn_at[name] = max(self._turn_at.get(name, 0), index + 1)
            self._turns.notify_all()

    # -- running tasks ---------------------------------------------------------------------

    def check(self) -> None:
        """Raise Cancelled when another task stopped the run (call between steps)."""
        if self.stopping.is_set():
            raise Cancelled("stopping")

    def run_all(self, tasks: Sequence[Callable[[], None]]) -> None:
        """Run the tasks concurrently (in order of start, at most ``jobs`` at once), each
        holding the baton but while it waits; the first failure in task order is raised
        once all have ended (the others stop at their next step boundary)."""
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="slate-lane") as pool:
            futures = [pool.submit(self.task, task) for task in tasks]
            self._queued(len(futures))
            try:
                self.wait(futures)
            except BaseException:  # Ctrl-C too: the lanes end at their next step boundary
                self.stopping.set()
                self._let_lanes_end(futures)
                raise

    def _let_lanes_end(self, futures: Sequence[Future[None]]) -> None:
        """Wait for every lane to reach its step boundary, however often Ctrl-C is pressed:
        a lane still running when the interpreter exits aborts the process in the middle of
        its call. (kill -9 stops at once and is safe: `slate run` resumes.)"""
        tell: Callable[[int], None] | None = getattr(self.progress, "stopping", None)
        while True:
            running = sum(not f.done() for f in futures)
            if tell is not None and running:
                tell(running)
            try:
                with self.blocked():
                    futures_wait(futures)
                return
            except KeyboardInterrupt:
                continue

    def task(self, body: Callable[[], T]) -> T:
        """One task's body, holding the baton; a failure stops the others."""
        with self.held():
            self._started()
            try:
                self.check()
                return body()
            except BaseException:
                self.stopping.set()
                raise
            finally:
                self._finished()

    def wait(self, futures: Sequence[Future[T]]) -> list[T]:
        """The futures' results (waited for without the baton); the first failure in their
        order is raised once all have ended (a Cancelled one only when nothing else failed)."""
        with self.blocked():
            for future in futures:
                future.exception()
        failures = [f.exception() for f in futures if f.exception() is not None]
        first = next((e for e in failures if not isinstance(e, Cancelled)), None)
        if first is not None or failures:
            raise first or failures[0]  # type: ignore[misc]
        return [f.result() for f in futures]

    # -- progress --------------------------------------------------------------------------

    def _queued(self, count: int) -> None:
        with self._counts_lock:
            self.counts.queued += count
        self._report()

    def _started(self) -> None:
        with self._counts_lock:
            self.counts.queued -= 1
            self.counts.running += 1
        self._report()

    def _finished(self) -> None:
        with self._counts_lock:
            self.counts.running -= 1
            self.counts.done += 1
        self._report()

    def _report(self) -> None:
        draw: Callable[[JobCounts], None] | None = getattr(self.progress, "jobs", None)
        if draw is not None:
            draw(self.counts)


class _Turn:
    """A context manager: wait for the turn (without the baton), run, hand it on."""

    def __init__(self, scheduler: Scheduler, name: str, index: int) -> None:
        self.scheduler, self.name, self.index = scheduler, name, index

    def __enter__(self) -> None:
        self.scheduler._await_turn(self.name, self.index)

    def __exit__(self, *exc: object) -> None:
        self.scheduler._end_turn(self.name, self.index)
