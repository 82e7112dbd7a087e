"""Providers that take time like real ones, for the scheduler's tests and benchmarks (issue 17).

:class:`SlowVideo` is :class:`SyntheticVideo` whose every job takes ``latency_s`` from its
submission to done (its first poll waits out the rest, as a long poll would), and which counts
what it was sent: submissions by client reference, and the most jobs it had in flight at once
(running: from the submission until a poll reports it done, as a vendor counts them).
``journal`` (a file) makes it a provider that finds jobs by their reference, across processes,
like a vendor with an idempotency key: a resumed run asks it, and never submits twice.

:func:`slow_answers` wraps a text answerer so each call takes ``latency_s``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from ..engine._video import JobStatus, VideoJob
from ._video import SyntheticVideo

__all__ = ["JournaledVideo", "SlowVideo", "slow_answers"]


class SlowVideo(SyntheticVideo):
    """A synthetic video model whose jobs take ``latency_s`` each (see the module docs)."""

    def __init__(
        self,
        latency_s: float = 0.0,
        journal: Path | None = None,
        resolutions: tuple[str, ...] = ("proxy", "final"),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.latency_s = latency_s
        self.journal = journal
        self.resolutions = resolutions
        self.ready_at: dict[str, float] = {}
        self.in_flight = 0
        self.most_in_flight = 0
        self.references: list[str] = []
        self.slow_span: list[float] = []  # first slow submission, last slow download
        self.slow_ids: set[str] = set()
        self.lock = threading.Lock()

    finds_by_reference: ClassVar[bool] = False

    def submit(self, job: VideoJob) -> str:
        """Accept the job (recorded in the journal first, when there is one)."""
        job_id = super().submit(job)
        key = f"{job_id}#{job.reference}"
        latency = self._latency(job)
        with self.lock:
            self.references.append(job.reference)
            self.ready_at[key] = time.monotonic() + latency
            if latency:
                self.slow_ids.add(key)
                self.slow_span[:1] = self.slow_span[:1] or [time.monotonic()]
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.journal is not None:
            line = {"reference": job.reference, "shot": job.shot_id, "job_id": key}
            with open(self.journal, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        return key

    def poll(self, job_id: str) -> JobStatus:
        """Done once ``latency_s`` passed since the submission (waited out here); from then
        on the job is no longer in flight."""
        with self.lock:
            ready = self.ready_at.get(job_id, 0.0)
        time.sleep(max(0.0, ready - time.monotonic()))
        with self.lock:
            if self.ready_at.pop(job_id, None) is not None:
                self.in_flight -= 1
        return super().poll(job_id.split("#", 1)[0])

    def download(self, job_id: str) -> bytes:
        """The clip (the end of the paid-job span when the job was a slow one)."""
        with self.lock:
            if self.ready_at.pop(job_id, None) is not None:
                self.in_flight -= 1  # downloaded without a poll
            if job_id in self.slow_ids:
                self.slow_span[1:] = [time.monotonic()]
        return super().download(job_id.split("#", 1)[0])

    def find(self, reference: str) -> str | None:
        """The job submitted with this reference, from the journal (None: never sent)."""
        if self.journal is None or not self.journal.exists():
            return None
        for line in self.journal.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry["reference"] == reference:
                return str(entry["job_id"])
        return None

    def _latency(self, job: VideoJob) -> float:
        final = self.final_width is not None and job.width >= self.final_width
        return self.latency_s if ("final" if final else "proxy") in self.resolutions else 0.0


class JournaledVideo(SlowVideo):
    """A :class:`SlowVideo` with a journal: a vendor that finds jobs by reference (not offline:
    a resumed run must never submit again what it already sent)."""

    offline: ClassVar[bool] = False
    finds_by_reference: ClassVar[bool] = True


def slow_answers(answer: Callable[[Any], Any], latency_s: float) -> Callable[[Any], Any]:
    """``answer`` taking ``latency_s`` per call (a text model's wait)."""

    def slow(request: Any) -> Any:
        time.sleep(latency_s)
        return answer(request)

    return slow
