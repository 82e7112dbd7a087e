"""The render service: metered, resumable video generation (SPEC §5, §8).

Skills never touch the ledger, the store or a provider. A generation skill asks the
:class:`RenderService` the runner passes in ``ctx.params["render"]`` (for skills with
``uses_video``) for a clip; the service applies to every video call the discipline the runner
applies to text calls:

1. route the shot by hero tier (``Router.route_visual``, premium quota counted from the shots
   already rendered premium) and pick the provider serving that model;
2. reserve the worst case (duration x configured price per second of the resolution tier)
   against the project, scene and shot caps;
3. record a submission intent (a fresh client reference, sent with the job) in
   ``render_jobs``, then submit, and record the provider's job id BEFORE waiting;
4. poll (bounded by a timeout), settle the actual cost, download; release on failure.
   A clip that does not decode is fetched once more (a local copy is discarded first) and
   never handed on: no undecodable clip becomes an artifact.

A process killed after the job id is recorded leaves the job in ``render_jobs``: the next
service finds it by (shot, resolution, GenPack sha), takes over its open reservation and
polls the same job, so the provider is paid once and the reservation is settled once. One
killed between the intent and the job id leaves an intent; the next run settles it by the
provider's kind (see ``_video``): found by its reference, submitted again when it is offline,
or a stop naming the job for a person to check (charged at its worst case, the ledger's rule
for a call that may have been billed). docs/guide.md lists the window left per provider.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from importlib import import_module
from pathlib import Path

from ..core._config import Resolution
from ..core._errors import ProviderError, RegenRefused
from ..core._video_prices import price_per_second
from ..rules._takes import genpack_sha, last_qc_verdict, shot_seed
from ..schemas import GenPack, QcBatch, ShotRow
from ..store import _runlog
from ..store._ledger import Ledger
from ..store._project import Project
from ..store._store import crash_point
from ._render_jobs import (
    INTENT_STATES,
    OPEN_STATES,
    JobRow,
    JobTable,
    adopt_open_jobs,
    spend_entry,
)
from ._router import Route, Router
from ._submissions import fetch_clip, settle_intent
from ._video import JobStatus, ResolutionTier, VideoJob, VideoProvider

__all__ = ["ANIMATIC", "CRASH_AFTER_INTENT", "CRASH_AFTER_JOB", "JobRow", "RenderService"]

# The offline renderer is a provider like any other; the engine names it, never imports it.
ANIMATIC = "filmslate.providers.animatic:AnimaticProvider"

# FILMSLATE_CRASH_AT checkpoints (crash tests)
CRASH_AFTER_INTENT = "render_intent_recorded"
CRASH_AFTER_JOB = "render_job_recorded"


class RenderService:
    """Metered, resumable video generation for one project (see the module docs).

    ``providers`` maps a model string (or its prefix before ``:``) to a provider; ``animatic``
    is always available and renders into ``<project>/.filmslate/renders``.
    """

    def __init__(
        self,
        project: Project,
        ledger: Ledger | None = None,
        providers: dict[str, VideoProvider] | None = None,
        *,
        poll_interval_s: float = 1.0,
        timeout_s: float = 1800.0,
    ) -> None:
        self.project = project
        self.store = project.store
        self.config = project.config
        self.ledger = ledger or Ledger(project.store, project.config)
        self.router = Router(project.store, project.config)
        animatic = _animatic(project.root / ".filmslate" / "renders")
        self.providers: dict[str, VideoProvider] = {"animatic": animatic, **(providers or {})}
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.run_id = _runlog.new_run_id()
        self.estimated = 0.0  # worst cases reserved by this service (for the run's meter)
        self.spent = 0.0  # actual costs settled by this service
        self._shots_total: int | None = None
        self.jobs = JobTable(project.store)
        self.adopt_open_jobs()

    # -- public ---------------------------------------------------------------------------

    def adopt_open_jobs(self) -> int:
        """Take over the holds of jobs and intents left by dead processes (see
        ``_render_jobs.adopt_open_jobs``). Returns how many were adopted."""
        return adopt_open_jobs(self.store)

    def render(
        self,
        shot: ShotRow,
        pack: GenPack,
        resolution: ResolutionTier,
        image: bytes | None = None,
        skill: str = "",
    ) -> bytes:
        """The shot's clip at a resolution tier: resumed, reused, or generated and paid."""
        sha = genpack_sha(pack)
        if resolution == "proxy":
            self._refuse_unchanged(shot.shot_id, sha)
        row = self.job(shot.shot_id, resolution, sha)
        if row is not None and row.state in INTENT_STATES:
            row = settle_intent(self.project, self.ledger, self.jobs, row, skill, self.provider_for)
        if row is not None and row.state == "done":
            return self._reuse(row, shot, pack, resolution, image, skill)
        if row is not None and row.state in OPEN_STATES and row.job_id:
            return self._finish(row, shot, resolution, skill)
        if row is not None:
            self._discard(row)
        return self._submit(shot, pack, resolution, sha, image, skill)

    def job(self, shot_id: str, resolution: str, sha: str) -> JobRow | None:
        """The recorded job for a (shot, resolution, GenPack) key."""
        return self.jobs.get(shot_id, resolution, sha)

    def route(self, shot: ShotRow) -> Route:
        """The visual route of a shot by hero tier, within the premium quota."""
        premium = self.store.conn.execute(
            "SELECT count(DISTINCT shot_id) FROM render_jobs WHERE tier = 'visual_premium' "
            "AND shot_id != ?",
            (shot.shot_id,),
        ).fetchone()[0]
        return self.router.route_visual(shot.hero_tier, self.shots_total(), int(premium))

    def provider_for(self, model: str) -> VideoProvider:
        """The provider serving a model string, or a ProviderError naming the known ones."""
        found = self.providers.get(model) or self.providers.get(model.split(":", 1)[0])
        if found is None:
            raise ProviderError(
                f"no video provider for model {model!r}: the render service knows "
                f"{', '.join(sorted(self.providers))}; set [visual] to one of them",
                model=model,
            )
        return found

    def shots_total(self) -> int:
        """How many shots the latest shot lists plan (the base of the premium quota)."""
        if self._shots_total is None:
            self._shots_total = sum(
                len(getattr(self.store.load(rec.name), "rows", []))
                for rec in self.store.latest_of_each("SHOTLIST")
            )
        return max(1, self._shots_total)

    def last_qc_verdict(self, shot_id: str) -> str | None:
        """The shot's last QC verdict in its scene's latest QC_BATCH."""
        record = self.store.latest("QC_BATCH", shot_id.split("_SH", 1)[0])
        batch = self.store.load(record.name) if record else None
        return last_qc_verdict(batch if isinstance(batch, QcBatch) else None, shot_id)

    # -- steps ----------------------------------------------------------------------------

    def _refuse_unchanged(self, shot_id: str, sha: str) -> None:
        """SPEC §8: a regeneration after a failed take must change the GenPack."""
        previous = self.store.conn.execute(
            "SELECT genpack_sha FROM render_jobs WHERE shot_id = ? AND resolution = 'proxy' "
            "AND state = 'done' ORDER BY rowid DESC LIMIT 1",
            (shot_id,),
        ).fetchone()
        if previous is None or previous[0] != sha:
            return
        verdict = self.last_qc_verdict(shot_id)
        if verdict in ("FAIL", "FIX"):
            raise RegenRefused(
                f"{shot_id}: the last proxy got QC {verdict} and this GenPack is unchanged "
                f"(sha {sha[:12]}): a regeneration must change it. Run regen-analyzer, then "
                f"prompt-packager on {shot_id}, and render again.",
                target=shot_id,
            )

    def _submit(
        self,
        shot: ShotRow,
        pack: GenPack,
        resolution: ResolutionTier,
        sha: str,
        image: bytes | None,
        skill: str,
    ) -> bytes:
        route = self.route(shot)
        provider = self.provider_for(route.model)
        res: Resolution = getattr(self.config.resolution, resolution)
        job = VideoJob(
            shot_id=shot.shot_id,
            prompt=pack.render().decode("utf-8"),
            duration_s=shot.duration_s,
            width=res.width,
            height=res.height,
            fps=res.fps,
            image=image,
            seed=shot_seed(shot.shot_id),
            reference=str(uuid.uuid4()),
        )
        worst = shot.duration_s * price_per_second(self.config, route.model, resolution) * 1
        hold = self.ledger.reserve(
            self.run_id,
            shot.scene_id,
            shot.shot_id,
            worst,
            what=f"{skill or 'render'} {shot.shot_id} {resolution} ({route.model})",
        )
        self.estimated += worst
        intent = JobRow(
            shot.shot_id, resolution, sha, route.model, "", "intent", hold.id, route.tier
        )
        intent = replace(
            intent, reference=job.reference, created_at=_runlog.utc_now(), hold_run=hold.run_id
        )
        self.jobs.record_intent(intent)  # before the call: a crash leaves a settleable intent
        crash_point(CRASH_AFTER_INTENT)
        try:
            job_id = provider.submit(job)
        except ProviderError as exc:
            if exc.context.get("maybe_sent"):  # it may have arrived: the next run settles it
                raise ProviderError(
                    f"{exc.message}; the intent (reference {job.reference}) is kept: the next "
                    "run looks it up or stops for you to check, and never pays twice",
                    **exc.context,
                ) from None
            self.ledger.release(hold, f"submission failed: {exc}")
            self.jobs.set_state(intent, "failed")
            raise
        row = replace(intent, job_id=job_id, state="submitted")
        self.jobs.record(row)  # before waiting: a killed run resumes this job, not a new one
        crash_point(CRASH_AFTER_JOB)
        return self._finish(row, shot, resolution, skill)

    def _finish(self, row: JobRow, shot: ShotRow, resolution: ResolutionTier, skill: str) -> bytes:
        provider = self.provider_for(row.provider)
        hold = self.jobs.hold(row)
        status = self._wait(provider, row)
        if status.state == "failed":
            if hold is not None:
                self.ledger.release(hold, f"job {row.job_id} failed: {status.message}")
            self.jobs.set_state(row, "failed")
            raise ProviderError(
                f"{row.shot_id}: {row.provider} job {row.job_id} failed: {status.message}",
                job_id=row.job_id,
            )
        res: Resolution = getattr(self.config.resolution, resolution)
        actual = shot.duration_s * provider.price_per_second(res.width, res.height)
        if hold is not None:  # None: an earlier recovery already charged it
            note = f"{resolution} render, job {row.job_id}, {shot.duration_s:g}s"
            self.ledger.settle(hold, actual, spend_entry(hold, row, skill, note))
            self.spent += actual
        self.jobs.set_state(row, "done")  # paid: from here on it is only fetched
        return fetch_clip(provider, row)

    def _reuse(
        self,
        row: JobRow,
        shot: ShotRow,
        pack: GenPack,
        resolution: ResolutionTier,
        image: bytes | None,
        skill: str,
    ) -> bytes:
        """A finished job's clip again; an offline one that cannot be fetched is redone."""
        provider = self.provider_for(row.provider)
        try:
            return fetch_clip(provider, row)
        except ProviderError:
            if not provider.offline:
                raise
        self._discard(row)  # rendering it again costs nothing
        return self._submit(shot, pack, resolution, row.genpack_sha, image, skill)

    def _wait(self, provider: VideoProvider, row: JobRow) -> JobStatus:
        """Poll until done or failed; a timeout leaves the job recorded for the next run."""
        deadline = time.monotonic() + self.timeout_s
        state = row.state
        while True:
            status = provider.poll(row.job_id)
            if status.state in ("done", "failed"):
                return status
            if status.state == "running" and state != "running":
                state = "running"
                self.jobs.set_state(row, state)
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"{row.shot_id}: {row.provider} job {row.job_id} is still {status.state} "
                    f"after {self.timeout_s:g}s; run again to resume polling it (it will not "
                    "be submitted or paid twice)",
                    job_id=row.job_id,
                )
            time.sleep(self.poll_interval_s)

    def _discard(self, row: JobRow) -> None:
        """Forget a job that failed, was settled as unknown, or is to be redone."""
        hold = self.jobs.hold(row)
        if hold is not None:
            self.ledger.release(hold, f"job for {row.shot_id} {row.state}: discarded")
        self.jobs.delete(row)


def _animatic(folder: Path) -> VideoProvider:
    module, _, attr = ANIMATIC.partition(":")
    provider: VideoProvider = getattr(import_module(module), attr)(folder)
    return provider
