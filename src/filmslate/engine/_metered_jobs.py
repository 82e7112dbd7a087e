"""What the render service and the image service share: metered, resumable paid jobs.

:class:`MeteredJobs` holds the discipline both apply to a paid job (the steps are in the
module docs of ``_render`` and ``_image_service``): the provider lookup (given providers first,
then the provider factory's, named by string and built once, when needed), the reservation,
the intent recorded BEFORE the call and the job id BEFORE waiting, a submission that raised
(kept when it may have arrived, else released and recorded), the poll, the settlement of a
finished or failed job, an interrupted intent settled by the provider's kind, and the fetch.
Each service keeps only what differs: how a job is routed, built and keyed, and what it checks.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar, Generic, NoReturn, TypeVar

from ..core._catalogue import ModelEntry
from ..core._config import Config
from ..core._errors import ProviderError
from ..store import _runlog
from ..store._ledger import Ledger, Reservation
from ..store._project import Project
from ..store._store import crash_point
from ._clips import failed_charge, fetched, refused_error, settled_cost, wait_for
from ._render_jobs import REFUSALS, VIDEO_TABLE, JobRow, JobTable, adopt_open_jobs, spend_entry
from ._submissions import JobProvider, settle_intent
from ._video import JobStatus
from ._waits import claim_slot, job_over, waiting

__all__ = ["CLOSE_FACTORY", "MeteredJobs", "close_made", "factory_providers", "serving"]

P = TypeVar("P", bound=JobProvider)
T = TypeVar("T")
CLOSE_FACTORY = "filmslate.providers._factory:close_providers"  # closes their HTTP clients


class MeteredJobs(abc.ABC, Generic[P]):
    """Metered, resumable paid jobs of one kind for one project (see the module docs).

    A subclass names its ``FACTORY`` (``module:function``), its ``TABLE``, the
    ``CRASH_AFTER_INTENT`` checkpoint, the ``PREFIX`` its ledger notes and errors give a job
    ("image " or none), its default ``TIMEOUT_S``, and how a model nobody serves is refused
    and a job's output fetched.
    """

    FACTORY: ClassVar[str]
    TABLE: ClassVar[str] = VIDEO_TABLE
    CRASH_AFTER_INTENT: ClassVar[str]
    PREFIX: ClassVar[str] = ""
    TIMEOUT_S: ClassVar[float] = 1800.0  # how long a job is polled before the run stops
    NOUN: ClassVar[str] = "video"  # what a provider of these jobs makes, for errors
    UNSERVED_FIX: ClassVar[str] = ""  # what to set when no provider serves a model

    def __init__(
        self,
        project: Project,
        ledger: Ledger | None = None,
        providers: Mapping[str, P] | None = None,
        *,
        poll_interval_s: float = 1.0,
        timeout_s: float | None = None,
    ) -> None:
        self.project = project
        self.store = project.store
        self.config = project.config
        self.ledger = ledger or Ledger(project.store, project.config)
        self.providers: dict[str, P] = {**self._builtin(), **(providers or {})}
        self._made: dict[str, P] | None = None  # the factory's, once loaded
        self.poll_interval_s = poll_interval_s
        self.timeout_s = self.TIMEOUT_S if timeout_s is None else timeout_s
        self.run_id = _runlog.new_run_id()
        self.estimated = 0.0  # worst cases reserved by this service (for the run's meter)
        self.spent = 0.0  # actual costs settled by this service
        self.jobs = JobTable(project.store, self.TABLE)
        adopt_open_jobs(self.store)  # the holds of jobs and intents left by dead processes

    def provider_for(self, model: str) -> P:
        """The provider serving a model string, or a ProviderError naming the known ones."""
        found = serving(self.providers, model)
        if found is None and self._made is None:
            self._made = factory_providers(self.FACTORY, self.config, self.project.root)
            self.providers = {**self._made, **self.providers}  # given providers win
            found = serving(self.providers, model)
        if found is None:
            self._unserved(model)
        return found

    def close(self) -> None:
        """Close what the provider factory opened (its HTTP clients)."""
        close_made(self._made)
        self._made = None

    # -- what a subclass says -------------------------------------------------------------

    def _builtin(self) -> dict[str, P]:
        """The providers always there, beside the given ones (the given win)."""
        return {}

    def _unserved(self, model: str) -> NoReturn:
        """Refuse a model no provider serves, naming the known ones and ``UNSERVED_FIX``."""
        known = ", ".join(sorted(self.providers)) or "none"
        raise ProviderError(
            f"no {self.NOUN} provider for model {model!r} (known: {known}); {self.UNSERVED_FIX}",
            model=model,
        )

    @abc.abstractmethod
    def _fetch(self, provider: P, row: JobRow) -> bytes:
        """A finished job's output, checked (a bad copy is fetched once more)."""

    # -- the shared steps -----------------------------------------------------------------

    def _settle_intent(self, row: JobRow, skill: str) -> JobRow | None:
        """An interrupted submission settled by its provider's kind (``settle_intent``)."""
        return settle_intent(self.project, self.ledger, self.jobs, row, skill, self.provider_for)

    def _reserve(
        self, scene: str, shot: str, worst: float, what: str, target: str = ""
    ) -> Reservation:
        """Hold a job's worst case against the caps, before anything is sent; ``target``:
        what the job is for (its shot or scene unless given; a call on an episode itself
        counts for the episode, ``_scopes``)."""
        target = target or shot or scene
        hold = self.ledger.reserve(self.run_id, scene, shot, worst, what=what, target=target)
        self.estimated += worst
        return hold

    def _intent(
        self, hold: Reservation, key: tuple[str, str, str], model: str, tier: str, **fields: Any
    ) -> JobRow:
        """The intent row of the job ``key`` (shot or image key, resolution or use, digest)
        for ``model`` under ``hold``; ``fields``: what else it records (reference, payload)."""
        intent = JobRow(*key, model, "", "intent", hold.id, tier)
        return replace(intent, created_at=_runlog.utc_now(), hold_run=hold.run_id, **fields)

    def _send(self, intent: JobRow, submit: Callable[[], str]) -> JobRow:
        """Record the intent BEFORE the call, submit, record the job id BEFORE waiting; under
        ``--jobs N`` the provider's slot is waited for first (``claim_slot``): no intent
        waits on a full provider, so a kill leaves at most one per job really being sent."""
        claim_slot(intent.provider)
        self.jobs.record_intent(intent)  # before the call: a crash leaves a settleable intent
        crash_point(self.CRASH_AFTER_INTENT)
        try:
            with waiting(intent.provider, "submit"):  # the job is in flight from here
                job_id = submit()
        except ProviderError as exc:
            self._not_submitted(intent, exc)
        row = replace(intent, job_id=job_id, state="submitted")
        self.jobs.record(row)  # before waiting: a killed run resumes this job, not a new one
        return row

    def _not_submitted(self, intent: JobRow, exc: ProviderError) -> NoReturn:
        """A submission that raised: kept when it may have arrived, else released and
        recorded (a refusal or invalid input is never sent again unchanged)."""
        if exc.context.get("maybe_sent"):  # it may have arrived: the next run settles it
            raise ProviderError(
                f"{exc.message}; the intent (reference {intent.reference}) is kept: the next "
                "run looks it up or stops for you to check, and never pays twice",
                **exc.context,
            ) from None
        hold = self.jobs.hold(intent)
        if hold is not None:  # the vendor turned it away: no job ran, nothing is charged
            self.ledger.release(hold, f"{self.PREFIX}submission failed: {exc}")
        failed = self.jobs.fail(intent, str(exc.context.get("failure") or "other"), exc.message)
        if failed.failure in REFUSALS:
            raise refused_error(failed, self.jobs.noun) from None
        raise exc

    def _wait(self, provider: P, row: JobRow) -> JobStatus:
        """Poll the job until done or failed (bounded by the timeout)."""
        return wait_for(provider, row, self.jobs, self.timeout_s, self.poll_interval_s)

    def _failed(
        self,
        row: JobRow,
        provider: P,
        status: JobStatus,
        priced: tuple[ModelEntry | None, float, tuple[int, int]],
        skill: str,
    ) -> NoReturn:
        """Record a failed job (its kind and message), charge or release its hold, raise.
        ``priced``: the catalogue entry, the clip's seconds and the picture's size."""
        job_over()
        failure = status.failure or "other"
        hold = self.jobs.hold(row)
        charge = failed_charge(provider, row.job_id, *priced)
        job = f"{self.PREFIX}job {row.job_id} failed ({failure})"
        if hold is not None and charge is None:
            self.ledger.release(hold, f"{job}: {status.message}")
        elif hold is not None and charge is not None:
            note = f"{job}; the vendor charges failed jobs"
            self.ledger.settle(hold, charge[0], spend_entry(hold, row, skill, note, "FAILED"))
            self.spent += charge[0]
        failed = self.jobs.fail(row, failure, status.message)
        if failed.refused:
            raise refused_error(failed, self.jobs.noun)
        raise ProviderError(
            f"{row.shot_id}: {row.provider} {self.PREFIX}job {row.job_id} failed: {status.message}",
            job_id=row.job_id,
            failure=failure,
        )

    def _paid(
        self,
        row: JobRow,
        provider: P,
        priced: tuple[ModelEntry | None, float, tuple[int, int]],
        skill: str,
        note: Callable[[str], str],
    ) -> bytes:
        """Settle a finished job (its reported cost, else the catalogue's price; ``note``
        says which), mark it done and fetch its output."""
        hold = self.jobs.hold(row)
        if hold is not None:  # None: an earlier recovery already charged it
            actual, source = settled_cost(provider, row.job_id, *priced)
            self.ledger.settle(hold, actual, spend_entry(hold, row, skill, note(source)))
            self.spent += actual
        self.jobs.set_state(row, "done")  # paid: from here on it is only fetched
        try:
            return fetched(self.jobs, row, lambda: self._fetch(provider, row))
        finally:
            job_over()

    def _fetched_again(self, row: JobRow, redo: Callable[[], bytes]) -> bytes:
        """A finished job's output again; an offline one that cannot be fetched is redone
        (``redo``). A paid one whose download fails stays recorded: fetched again by the
        next run, never paid again."""
        provider = self.provider_for(row.provider)
        try:
            return fetched(self.jobs, row, lambda: self._fetch(provider, row))
        except ProviderError:
            if not provider.offline:
                raise
        self._discard(row)  # making it again costs nothing
        return redo()

    def _discard(self, row: JobRow) -> None:
        """Forget a job that failed, was settled as unknown, or is to be redone."""
        hold = self.jobs.hold(row)
        if hold is not None:
            self.ledger.release(hold, f"{self.PREFIX}job for {row.shot_id} {row.state}: discarded")
        self.jobs.delete(row)


def serving(providers: Mapping[str, T], model: str) -> T | None:
    """The provider of a model string, by the whole string or its provider prefix."""
    return providers.get(model) or providers.get(model.split(":", 1)[0])


def factory_providers(name: str, config: Config, root: Path) -> dict[str, Any]:
    """The providers the factory ``module:function`` builds from the config (none when the
    providers layer has no factory)."""
    module_name, _, attr = name.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return {}
    factory: Callable[[Config, Path], Mapping[str, Any]] = getattr(module, attr)
    return dict(factory(config, root))


def close_made(made: Mapping[str, object] | None) -> None:
    """Close the HTTP clients of the providers a factory made (nothing when none were)."""
    if made:
        module_name, _, attr = CLOSE_FACTORY.partition(":")
        getattr(import_module(module_name), attr)(made)
