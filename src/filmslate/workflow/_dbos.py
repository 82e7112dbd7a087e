"""Paid jobs as durable DBOS workflows: the ``dbos`` engine of ``slate run`` and ``slate worker``.

Each paid job (a clip, an image, a line of speech) runs as one DBOS workflow, enqueued on its
provider's queue by the ``slate run`` that owns the project (``_dbos_jobs``) and run by any
process listening on that queue: the run itself, or a ``slate worker`` on this or another
machine sharing the system database and the project folder. The workflow is two steps:

1. **submit**, a step of its own, recorded before any polling. Before the provider is called
   the step claims the job's client reference in ``filmslate_sends`` (a table beside DBOS's own
   in the system database), so a step run again after its process died knows the call may have
   been sent, and settles it by the provider's kind, as an interrupted intent is settled:
   looked up by its reference, submitted again when the provider is offline (nothing billed),
   else returned as "may have been sent" for the run to stop on. It is never submitted twice.
   The outcome (the job id, or the provider's refusal) is published as the workflow's
   ``submitted`` event before polling, so the run records the job id BEFORE waiting;
2. **wait**: poll until the job is done or failed (bounded), and return its status. Polling
   again after a crash is harmless.

The run keeps every record of the job (reservation, intent, job id, settlement) in the
project's index: the workflow id is the intent's client reference, so the intent is the
source of truth and the workflow is found from it. Workers never write the project index:
they read ``filmslate.toml`` and the inputs, and offline providers write their renders into
``.filmslate/renders`` (docs/scale.md, "Many machines").

Queues: one per provider (``filmslate.<project>.<provider>``). ``[providers.<name>]
max_concurrent`` bounds a hosted provider's jobs across every process (the vendor account's
limit) and an offline provider's per process (the machine's); ``requests_per_minute`` is a
rate limit over all of them. The system database is SQLite in ``.filmslate/dbos.sqlite`` by
default (one machine), or the Postgres URL of ``FILMSLATE_DBOS_URL`` or ``[run]
dbos_database_url`` (several).
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy.dialects import postgresql, sqlite

from ..core._config import Config
from ..core._errors import ConfigError, ProviderError, UserError
from ..engine._image_service import IMAGE_FACTORY
from ..engine._metered_jobs import factory_providers, serving
from ..engine._render import ANIMATIC, VIDEO_FACTORY
from ..engine._render_jobs import REFUSALS
from ..engine._speech_service import SPEECH_FACTORY
from ..engine._submissions import JobProvider
from ..engine._video import JobStatus
from ..providers._factory import vendor_settings
from ..store._index import crash_point

__all__ = [
    "CRASH_AFTER_SUBMIT",
    "FINISHED",
    "SUBMITTED",
    "Outcome",
    "PaidJob",
    "Runtime",
    "paid_job",
    "project_key",
    "queue_name",
    "system_url",
    "workflow_id",
]

Kind = Literal["video", "image", "speech"]
FACTORIES: dict[Kind, str] = {
    "video": VIDEO_FACTORY,
    "image": IMAGE_FACTORY,
    "speech": SPEECH_FACTORY,
}
SUBMITTED = "submitted"  # the workflow event holding the submit step's Outcome
FINISHED = "finished"  # the one holding the wait step's
URL_ENV = "FILMSLATE_DBOS_URL"
SQLITE_FILE = "dbos.sqlite"  # in .filmslate/
CRASH_AFTER_SUBMIT = "dbos_job_submitted"  # FILMSLATE_CRASH_AT: sent, the step not recorded
SENDS = sa.Table(
    "filmslate_sends",
    sa.MetaData(),
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("executor", sa.Text, nullable=False),
    sa.Column("claimed_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class PaidJob:
    """What a worker needs to run one paid job (pickled into the system database)."""

    project: str  # project_key of the project it is paid for
    kind: Kind
    model: str
    reference: str  # the intent's client reference: the workflow's id is made from it
    job: Any  # the VideoJob, ImageJob or SpeechJob, as the provider's submit takes it
    poll_interval_s: float
    timeout_s: float


@dataclass(frozen=True)
class Outcome:
    """A step's result: the job id, the final status, or the provider's error."""

    job_id: str = ""
    status: JobStatus | None = None  # set by the wait step when the job finished or failed
    error: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    def raise_error(self) -> None:
        """The provider's error, as the run's own submission would have raised it."""
        if self.error:
            raise ProviderError(self.error, **self.context)


def workflow_id(reference: str) -> str:
    """The workflow of the job whose intent carries this client reference."""
    return f"filmslate-job-{reference}"


def project_key(config: Config) -> str:
    """The project's name in DBOS: its queues' and its processes' names carry it."""
    return re.sub(r"[^a-z0-9]+", "-", config.project.name.lower()).strip("-") or "project"


def queue_name(config: Config, provider: str) -> str:
    """The queue of one provider's jobs for this project."""
    return f"filmslate.{project_key(config)}.{provider}"


def system_url(root: Path, config: Config, given: str | None = None) -> str:
    """The system database: ``given``, else FILMSLATE_DBOS_URL, else ``[run]
    dbos_database_url``, else SQLite in the project's ``.filmslate`` folder (one machine)."""
    url = given or os.environ.get(URL_ENV) or config.run.dbos_database_url
    if not url:
        return f"sqlite:///{root / '.filmslate' / SQLITE_FILE}"
    if not re.match(r"(postgres(ql)?(\+psycopg)?|sqlite)://", url):
        raise ConfigError(
            f"{URL_ENV} / [run] dbos_database_url: {url[:60]!r} is not a Postgres or SQLite "
            'URL; give e.g. "postgresql://user@db-host:5432/filmslate"'
        )
    return url


def unreachable(url: str, exc: sa.exc.OperationalError) -> UserError:
    """The one-line error for a system database that cannot be reached (no password)."""
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    reason = (str(exc.orig).strip().splitlines() or ["no answer"])[0]
    return UserError(
        f"cannot reach the system database {shown}: {reason}; start it, or correct "
        f"{URL_ENV} / [run] dbos_database_url / slate worker --database-url"
    )


# -- the workflow ---------------------------------------------------------------------------


@DBOS.workflow(name="filmslate.paid_job")
def paid_job(spec: PaidJob) -> Outcome:
    """One paid job: submit (its own step, published before polling), then wait."""
    sent = submit_step(spec)
    DBOS.set_event(SUBMITTED, sent)  # the run records the job id before anything waits
    if sent.error:
        return sent
    waited = wait_step(spec, sent.job_id)
    DBOS.set_event(FINISHED, waited)  # wakes the run's poll at once
    return waited


@DBOS.step(name="filmslate.submit")
def submit_step(spec: PaidJob) -> Outcome:
    """Send the job once: claim its reference first; a claimed one may have been sent."""
    provider = _runtime().provider_of(spec)
    if not _runtime().claim(spec.reference):
        return resumed_submission(provider, spec)
    return _submit(provider, spec)


@DBOS.step(name="filmslate.wait")
def wait_step(spec: PaidJob, job_id: str) -> Outcome:
    """Poll until the job is done or failed (at most ``timeout_s``); an error of the poll
    leaves no status, and the run polls the job itself."""
    provider = _runtime().provider_of(spec)
    deadline = time.monotonic() + spec.timeout_s
    while time.monotonic() < deadline:
        try:
            status = provider.poll(job_id)
        except ProviderError as exc:
            if exc.context.get("failure") in REFUSALS:
                return Outcome(job_id, JobStatus("failed", exc.message, exc.context["failure"]))
            return Outcome(job_id)
        if status.state in ("done", "failed"):
            return Outcome(job_id, status)
        time.sleep(spec.poll_interval_s)
    return Outcome(job_id)


def _submit(provider: JobProvider, spec: PaidJob) -> Outcome:
    try:
        job_id = provider.submit(spec.job)
    except ProviderError as exc:  # refused before or while sending: the run records why
        return Outcome(error=exc.message, context=dict(exc.context))
    crash_point(CRASH_AFTER_SUBMIT)
    return Outcome(job_id)


def resumed_submission(provider: JobProvider, spec: PaidJob) -> Outcome:
    """A submit step run again after its process died: the job may have been sent."""
    if provider.finds_by_reference:
        job_id = provider.find(spec.reference)
        return Outcome(job_id) if job_id else _submit(provider, spec)
    if provider.offline:  # it renders on a machine of ours: sending it again bills nothing
        return _submit(provider, spec)
    return Outcome(
        error=(
            f"the worker sending job {spec.reference} to {provider.name} died before the "
            "provider's answer was recorded"
        ),
        context={"maybe_sent": True, "job": spec.reference},
    )


# -- the runtime of one process -------------------------------------------------------------


class Runtime:
    """DBOS in this process for one project: launched against its system database, with a
    queue per provider, listening on them (a worker, or a run that runs its own jobs) or not.
    The project folder's ``root`` is this machine's path to it."""

    current: Runtime | None = None

    def __init__(
        self, root: Path, config: Config, *, executor: str, listen: bool, url: str | None = None
    ) -> None:
        self.root = root
        self.config = config
        self.executor = executor
        self.listen = listen
        self.url = system_url(root, config, url)
        self._providers: dict[Kind, dict[str, JobProvider]] = {}
        self._sends: sa.Engine | None = None

    def start(self) -> Runtime:
        """Launch DBOS and register the project's queues."""
        if Runtime.current is not None:
            raise RuntimeError("a DBOS runtime is already running in this process")
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        queues = self.queues()
        try:
            self._create_sends()  # before launch: a recovered job claims its reference at once
        except sa.exc.OperationalError as exc:  # the first contact: a server down, a typo
            raise unreachable(self.url, exc) from None
        Runtime.current = self
        try:
            DBOS(config=self._dbos_config())
            DBOS.listen_queues(list(queues) if self.listen else [])
            DBOS.launch()
            for name, limits in queues.items():
                DBOS.register_queue(name, polling_interval_sec=0.2, **limits)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut DBOS down (jobs running here are resumed by the next process of this name)."""
        try:
            DBOS.destroy(workflow_completion_timeout_sec=0)
        finally:
            if self._sends is not None:
                self._sends.dispose()
            Runtime.current = None

    def queues(self) -> dict[str, dict[str, Any]]:
        """Queue name -> its limits, for every provider the project's config names."""
        out: dict[str, dict[str, Any]] = {}
        for kind in FACTORIES:
            for model in self.models(kind):
                name = model.split(":", 1)[0]
                out[queue_name(self.config, name)] = self._limits(kind, model)
        return out

    def models(self, kind: Kind) -> list[str]:
        """The models of a kind the config names (the providers the factories build)."""
        return sorted(self._built(kind))

    def provider(self, kind: Kind, model: str) -> JobProvider:
        """This machine's provider of a model (built once)."""
        found = serving(self._built(kind), model)
        if found is None:
            raise ProviderError(f"no {kind} provider for model {model!r} on this worker")
        return found

    def provider_of(self, spec: PaidJob) -> JobProvider:
        """The provider of a job of this project (a job of another is refused: it would be
        paid against the wrong folder)."""
        if spec.project != project_key(self.config):
            raise RuntimeError(
                f"job {spec.reference} belongs to project {spec.project!r}, not to "
                f"{project_key(self.config)!r} this process serves"
            )
        return self.provider(spec.kind, spec.model)

    def claim(self, reference: str) -> bool:
        """Claim a job's submission; False when an earlier attempt already did."""
        with self._engine().begin() as conn:  # the row back: it was new (rowcount may be -1)
            made = conn.execute(_insert_new(conn.dialect.name, reference, self.executor))
            return made.first() is not None

    def _built(self, kind: Kind) -> dict[str, JobProvider]:
        if kind not in self._providers:
            made: dict[str, JobProvider] = {}
            if kind == "video":
                made["animatic"] = _animatic(self.root)
            made.update(factory_providers(FACTORIES[kind], self.config, self.root))
            self._providers[kind] = made
        return self._providers[kind]

    def _limits(self, kind: Kind, model: str) -> dict[str, Any]:
        """A hosted provider's max_concurrent holds across every process; an offline one's
        per process (its machine); requests_per_minute over all of them."""
        name = model.split(":", 1)[0]
        table = self.config.providers.table(name)
        limits: dict[str, Any] = {}
        rpm = table.requests_per_minute
        if rpm:
            limits["limiter"] = {"limit": int(rpm), "period": 60.0}
        if table.max_concurrent is None and self.provider(kind, model).offline:
            return limits  # the machine's own work: as many as the run asks for
        cap = vendor_settings(self.config, name).max_concurrent
        key = "worker_concurrency" if self.provider(kind, model).offline else "global_concurrency"
        limits[key] = cap
        return limits

    def _create_sends(self) -> None:
        """The claims table (two processes creating it at once: one wins, both go on)."""
        try:
            with self._engine().begin() as conn:
                SENDS.create(conn, checkfirst=True)
        except sa.exc.DBAPIError:
            with self._engine().begin() as conn:
                if not sa.inspect(conn).has_table(SENDS.name):
                    raise

    def _dbos_config(self) -> Any:
        return {
            "name": "filmslate",
            "system_database_url": self.url,
            "executor_id": self.executor,
            "log_level": os.environ.get("FILMSLATE_DBOS_LOG", "WARNING"),
            "notification_listener_polling_interval_sec": 0.1,
        }

    def _engine(self) -> sa.Engine:
        if self._sends is None:
            url = sa.make_url(self.url)
            if url.drivername in ("postgres", "postgresql"):
                url = url.set(drivername="postgresql+psycopg")
            self._sends = sa.create_engine(url)
        return self._sends


def _insert_new(dialect: str, reference: str, executor: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the system database's own dialect."""
    module = sqlite if dialect == "sqlite" else postgresql
    values = {"reference": reference, "executor": executor, "claimed_at": time.time()}
    inserted = module.insert(SENDS).values(**values).on_conflict_do_nothing()
    return inserted.returning(SENDS.c.reference)


def _runtime() -> Runtime:
    if Runtime.current is None:
        raise RuntimeError("no DBOS runtime in this process")
    return Runtime.current


def _animatic(root: Path) -> JobProvider:
    module, _, attr = ANIMATIC.partition(":")
    made: Callable[[Path], JobProvider] = getattr(import_module(module), attr)
    return made(root / ".filmslate" / "renders")


def executor_name(config: Config, role: str, name: str | None = None) -> str:
    """A stable name for this process in DBOS (its pending jobs are resumed under it, so it
    carries the project: a process never resumes another project's jobs)."""
    return f"{name or f'{role}@{socket.gethostname()}'}.{project_key(config)}"
