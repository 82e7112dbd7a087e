"""Where a run waits on a provider: the points a concurrent scheduler may use (issue 17).

Every paid call spends most of its time waiting on someone else's machine: a text request,
a video, image or speech job's submit, poll and download. The engine marks those waits with
:func:`waiting` (and the end of a job with :func:`job_over`); nothing else in a run is a wait.
With no :class:`Waits` installed (a plain ``slate run``, library use) they do nothing, so a
sequential run behaves exactly as before.

``slate run --jobs N`` installs one (``workflow._scheduler``): it serialises everything a run
does EXCEPT these waits (store writes, the ledger, the run log stay single-file), lets up to
N waits overlap, and applies each provider's limits (``[providers.<name>] max_concurrent``,
``requests_per_minute``) as a job is submitted or a request sent.

A wait never holds a store transaction open: each marked point is outside one, which
``waiting`` does not check (the tests of the scheduler do, through real runs).

:func:`computing` marks the other kind of work a scheduler may overlap: a thread's pure
computation on bytes it already holds (a downloaded clip conformed, decoded and checked),
touching no store, ledger, run log or other mutable state of the run. The code inside must be
thread-safe (its caches locked, OpenCV's cascade one per thread: ``rules._media_decode``,
``rules._looks``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Literal, Protocol

__all__ = [
    "WaitKind",
    "Waits",
    "claim_slot",
    "computing",
    "install",
    "installed",
    "job_over",
    "provider_of",
    "waiting",
]

WaitKind = Literal["request", "submit", "poll", "download"]
"""``request``: a synchronous call (text); ``submit``: a job's start (it stays in flight until
:func:`job_over` or the thread's next job); ``poll`` and ``download``: the rest of a job."""


class Waits(Protocol):
    """What a scheduler does around a provider wait."""

    def enter(self, provider: str, kind: WaitKind) -> None:
        """The calling thread is about to wait on ``provider``."""

    def leave(self, provider: str, kind: WaitKind) -> None:
        """The wait is over; the thread carries on with the run."""

    def job_over(self) -> None:
        """The calling thread's job (the last ``submit``) finished at the provider."""

    def claim(self, provider: str) -> None:
        """Wait for the slots of a submission to ``provider`` the thread is about to record."""

    def computing(self) -> AbstractContextManager[None]:
        """The calling thread computes on its own data for the block (see the module docs)."""


_installed: Waits | None = None


def install(waits: Waits | None) -> Waits | None:
    """Make ``waits`` the one every marked wait reports to (None: none); returns the last."""
    global _installed
    last, _installed = _installed, waits
    return last


def installed() -> Waits | None:
    """The installed Waits, or None."""
    return _installed


def provider_of(model: str) -> str:
    """The provider a model string names ("fal" of "fal:fal-ai/..."; "animatic")."""
    return model.split(":", 1)[0]


@contextmanager
def waiting(model: str, kind: WaitKind) -> Iterator[None]:
    """Mark a wait on the provider of ``model`` (nothing happens when no Waits is installed)."""
    waits = _installed
    if waits is None:
        yield
        return
    provider = provider_of(model)
    waits.enter(provider, kind)
    try:
        yield
    finally:
        waits.leave(provider, kind)


def job_over() -> None:
    """The calling thread's paid job finished at the provider (done or failed; the poll that
    saw it calls this inside its wait), or was settled: its provider slot is free."""
    if _installed is not None:
        _installed.job_over()


def claim_slot(model: str) -> None:
    """Wait for the slots a job's submission to the provider of ``model`` needs, BEFORE its
    intent is recorded (nothing happens when no Waits is installed): the ``submit`` that
    follows uses them. A run killed while a job waits for a full provider then leaves no
    intent that may or may not have been sent, only a hold its recovery releases."""
    if _installed is not None:
        _installed.claim(provider_of(model))


@contextmanager
def computing() -> Iterator[None]:
    """Mark pure computation on the caller's own data (nothing happens when no Waits is
    installed): under ``slate run --jobs N`` other steps run meanwhile, so the block must not
    touch the project (no store, ledger or run-log reads or writes) and must be thread-safe."""
    waits = _installed
    if waits is None:
        yield
        return
    with waits.computing():
        yield
