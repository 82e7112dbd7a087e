"""The run's side of the ``dbos`` engine: its paid jobs sent through DBOS (see ``_dbos``).

The render, image and speech services keep every rule they apply to a paid job (reserve,
record the intent BEFORE the call and the job id BEFORE waiting, settle, fetch). Under this
engine they are given, for each provider, a :class:`QueuedProvider`: its ``submit`` enqueues
the job as a DBOS workflow (whose id is made from the intent's client reference) and returns
the job id the workflow's submit step published; its ``poll`` reads the workflow's wait step.
Everything else (payload, prices, download, lookup) is the provider's own, on this machine.

A run that died leaves an intent: before the provider's rules settle it, :class:`QueuedJobs`
asks DBOS for the workflow of its reference. One that exists is waited for (its submit step
runs once, here or on a worker, and says the job id or why it was not sent); one that never
was enqueued falls to the provider's rules, as under the local engine. So no job is
submitted twice, whichever process dies.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from ..core._errors import ProviderError, UserError
from ..engine._image_service import ImageService
from ..engine._render import RenderService
from ..engine._render_jobs import JobRow
from ..engine._speech_service import SpeechService
from ..engine._submissions import JobProvider
from ..engine._video import JobStatus
from ..engine._waits import waiting

if TYPE_CHECKING:
    from pathlib import Path

    from ..core._config import Config
    from ..engine._runner import Runner
    from ..store._project import Project
    from ._dbos import Kind, Outcome, Runtime

__all__ = [
    "ENGINES",
    "LOCAL_JOBS_ENV",
    "QueuedProvider",
    "attach",
    "run_engine",
    "start_runtime",
]

ENGINES = ("local", "dbos")
LOCAL_JOBS_ENV = "FILMSLATE_DBOS_LOCAL_JOBS"  # "0": this run leaves its jobs to the workers
OPEN = ("ENQUEUED", "PENDING")  # a workflow that will still publish or finish
P = TypeVar("P", bound=JobProvider)


class QueuedProvider:
    """A provider whose ``submit`` and ``poll`` go through its DBOS queue; every other
    attribute is the provider's own (so its kind decides how an intent is settled)."""

    def __init__(
        self, inner: JobProvider, kind: Kind, model: str, poll_s: float, timeout_s: float
    ) -> None:
        self.inner = inner
        self.kind = kind
        self.model = model
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.workflows: dict[str, str] = {}  # job id -> its workflow (jobs sent or found here)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def submit(self, job: Any) -> str:
        """Enqueue the job (once: the workflow id is its reference) and return the job id
        its submit step published; the step's refusal is raised as the provider's."""
        from dbos import DBOS, SetWorkflowID

        from ._dbos import PaidJob, paid_job, project_key, queue_name, workflow_id

        runtime = _runtime()
        project = project_key(runtime.config)
        spec = PaidJob(
            project, self.kind, self.model, job.reference, job, self.poll_s, self.timeout_s
        )
        queue = queue_name(runtime.config, self.model.split(":", 1)[0])
        with SetWorkflowID(workflow_id(job.reference)):
            DBOS.enqueue_workflow(queue, paid_job, spec)
        outcome = submitted(job.reference)
        if outcome is None:  # enqueued a moment ago: DBOS lost it
            raise ProviderError(f"{self.inner.name}: job {job.reference} left DBOS's queue")
        outcome.raise_error()
        return self.found(outcome.job_id, job.reference)

    def found(self, job_id: str, reference: str) -> str:
        """Remember the workflow a job id came from (its wait step is polled)."""
        from ._dbos import workflow_id

        self.workflows[job_id] = workflow_id(reference)
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        """The job's state from its workflow (waiting up to a poll interval for its end); a
        job of no workflow here, or one whose wait ended without a status, is polled at the
        provider."""
        from dbos import DBOS

        from ._dbos import FINISHED

        workflow = self.workflows.get(job_id)
        if workflow is None:
            return self.inner.poll(job_id)
        outcome: Outcome | None = DBOS.get_event(workflow, FINISHED, timeout_seconds=self.poll_s)
        if outcome is not None and outcome.status is not None:
            return outcome.status
        status = DBOS.get_workflow_status(workflow)
        if outcome is None and status is not None and status.status in OPEN:
            return JobStatus("running")
        self.workflows.pop(job_id, None)  # its wait ended without a word: ask the provider
        return self.inner.poll(job_id)


class QueuedJobs(Generic[P]):
    """What the three services share under the dbos engine (a mixin before the service)."""

    KIND: ClassVar[Kind]
    _queued: dict[int, QueuedProvider]

    def provider_for(self, model: str) -> P:
        """The provider's QueuedProvider (one per provider)."""
        inner = cast(JobProvider, super().provider_for(model))  # type: ignore[misc]
        if not hasattr(self, "_queued"):
            self._queued = {}
        if id(inner) not in self._queued:
            service = cast(Any, self)
            self._queued[id(inner)] = QueuedProvider(
                inner, self.KIND, model, service.poll_interval_s, service.timeout_s
            )
        return cast(P, self._queued[id(inner)])

    def _settle_intent(self, row: JobRow, skill: str) -> JobRow | None:
        """An interrupted intent: its workflow's word when it was enqueued, else the
        provider's rules (found, sent again offline, or a stop naming it)."""
        service = cast(Any, self)
        with waiting(row.provider, "submit"):  # a scheduler runs other steps meanwhile
            outcome = submitted(row.reference) if row.reference else None
        if outcome is not None and outcome.job_id:
            provider = cast(QueuedProvider, self.provider_for(row.provider))
            provider.found(outcome.job_id, row.reference)
            found = replace(row, job_id=outcome.job_id, state="submitted")
            service.jobs.record(found)
            return found
        if outcome is not None and not outcome.context.get("maybe_sent"):
            service._not_submitted(row, ProviderError(outcome.error, **outcome.context))
        settled: JobRow | None = super()._settle_intent(row, skill)  # type: ignore[misc]
        return settled


class QueuedRender(QueuedJobs[Any], RenderService):
    """The render service under the dbos engine."""

    KIND = "video"


class QueuedImages(QueuedJobs[Any], ImageService):
    """The image service under the dbos engine."""

    KIND = "image"


class QueuedSpeech(QueuedJobs[Any], SpeechService):
    """The speech service under the dbos engine."""

    KIND = "speech"


def submitted(reference: str) -> Outcome | None:
    """What the submit step of the reference's workflow published, waiting for it while the
    workflow is queued or running; None when no such workflow was ever enqueued."""
    from dbos import DBOS

    from ._dbos import SUBMITTED, Outcome, workflow_id

    workflow = workflow_id(reference)
    while True:
        status = DBOS.get_workflow_status(workflow)
        if status is None:
            return None
        outcome: Outcome | None = DBOS.get_event(workflow, SUBMITTED, timeout_seconds=2.0)
        if outcome is not None:
            return outcome
        if status.status not in OPEN:  # it ended before publishing: whatever killed it
            return Outcome(
                error=f"the workflow of job {reference} ended {status.status} before saying "
                "whether it was sent",
                context={"maybe_sent": True, "job": reference},
            )


def attach(runner: Runner) -> Runner:
    """Give the runner the services that send their jobs through DBOS (before it builds
    its own: they take over the holds of recorded jobs)."""
    runner._render = QueuedRender(runner.project, runner.ledger)
    runner._images = QueuedImages(runner.project, runner.ledger)
    runner._speech = QueuedSpeech(runner.project, runner.ledger)
    return runner


def engine_of(project: Project, chosen: str | None) -> str:
    """The engine asked for: ``--engine``, else ``[run] engine``, else local."""
    name = chosen or project.config.run.engine
    if name not in ENGINES:
        raise UserError(f"--engine {name}: no such engine; choose one of {', '.join(ENGINES)}")
    return str(name)


@contextmanager
def run_engine(project: Project, chosen: str | None) -> Iterator[Callable[[Runner], Runner]]:
    """The engine of one ``slate run``: what to do to each runner it makes. Under dbos, DBOS
    runs for the length of the command (and runs the jobs too, unless
    FILMSLATE_DBOS_LOCAL_JOBS=0 leaves them to ``slate worker``s)."""
    if engine_of(project, chosen) == "local":
        yield lambda runner: runner
        return
    listen = os.environ.get(LOCAL_JOBS_ENV) != "0"
    runtime = start_runtime(project.root, project.config, "run", listen=listen)
    try:
        yield attach
    finally:
        runtime.stop()


def start_runtime(
    root: Path,
    config: Config,
    role: str,
    *,
    listen: bool,
    name: str | None = None,
    url: str | None = None,
) -> Runtime:
    """DBOS launched for the project at ``root`` (this machine's path to it), as a ``role``
    ("run" or "worker") named ``name``; a clear error when the scale extra is missing."""
    try:
        from ._dbos import Runtime, executor_name
    except ImportError as exc:
        if exc.name not in ("dbos", "sqlalchemy", "psycopg"):
            raise
        raise UserError(
            "the dbos engine needs the scale extra: pip install 'filmslate[scale]'"
        ) from None
    executor = executor_name(config, role, name)
    return Runtime(root, config, executor=executor, listen=listen, url=url).start()


def _runtime() -> Runtime:
    from ._dbos import Runtime

    if Runtime.current is None:
        raise RuntimeError("no DBOS runtime in this process: start one with run_engine()")
    return Runtime.current
