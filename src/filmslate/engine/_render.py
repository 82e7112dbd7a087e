"""The render service: metered, resumable video generation (SPEC §5, §8).

Skills never touch the ledger, the store or a provider. A generation skill asks the
:class:`RenderService` the runner passes in ``ctx.params["render"]`` (for skills with
``uses_video``) for a clip; the service applies to every video call the discipline the runner
applies to text calls:

1. route the shot by hero tier (``Router.route_visual``, premium quota counted from the shots
   already rendered premium) and pick the provider serving that model;
2. reserve the worst case (duration x configured price per second of the resolution tier)
   against the project, scene and shot caps;
3. submit, and record the provider's job id in ``render_jobs`` BEFORE waiting;
4. poll (bounded by a timeout), download, settle the actual cost; release on failure.

A process killed after step 3 leaves the job in ``render_jobs``: the next service finds it by
(shot, resolution, GenPack sha), takes over its open reservation and polls the same job, so
the provider is paid once and the reservation is settled once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from ..core._config import Resolution
from ..core._errors import ProviderError, RegenRefused
from ..core._video_prices import price_per_second
from ..rules._takes import genpack_sha, last_qc_verdict, shot_seed
from ..schemas import GenPack, QcBatch, ShotRow
from ..store import _runlog
from ..store._ledger import Ledger, Reservation
from ..store._project import Project
from ..store._store import crash_point
from ._router import Route, Router
from ._video import JobStatus, ResolutionTier, VideoJob, VideoProvider

# The offline renderer is a provider like any other; the engine names it, never imports it.
ANIMATIC = "filmslate.providers.animatic:AnimaticProvider"

CRASH_AFTER_JOB = "render_job_recorded"  # FILMSLATE_CRASH_AT checkpoint (crash tests)
OPEN_STATES = ("submitted", "running")

SCHEMA = """
CREATE TABLE IF NOT EXISTS render_jobs (
    shot_id TEXT NOT NULL,
    resolution TEXT NOT NULL,
    genpack_sha TEXT NOT NULL,
    provider TEXT NOT NULL,
    job_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    reservation_id INTEGER,
    tier TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (shot_id, resolution, genpack_sha)
)"""


@dataclass(frozen=True)
class JobRow:
    """One row of ``render_jobs``."""

    shot_id: str
    resolution: str
    genpack_sha: str
    provider: str
    job_id: str
    state: str
    reservation_id: int | None
    tier: str


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
        self.store.conn.execute(SCHEMA)
        self.adopt_open_jobs()

    # -- public ---------------------------------------------------------------------------

    def adopt_open_jobs(self) -> int:
        """Take over the reservations of submitted jobs left by dead processes.

        ``Ledger.recover`` would charge them at worst case; this process will poll them and
        settle the actual cost instead. Returns how many were adopted.
        """
        with self.store.transaction() as conn:
            cur = conn.execute(
                "UPDATE reservations SET pid = ? WHERE id IN (SELECT reservation_id FROM "
                "render_jobs WHERE state IN ('submitted', 'running') AND job_id != '')",
                (os.getpid(),),
            )
        return int(cur.rowcount or 0)

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
        if row is not None and row.state == "done":
            return self.provider_for(row.provider).download(row.job_id)  # paid already
        if row is not None and row.state in OPEN_STATES and row.job_id:
            return self._finish(row, shot, resolution, skill)
        if row is not None:
            self._discard(row)
        return self._submit(shot, pack, resolution, sha, image, skill)

    def job(self, shot_id: str, resolution: str, sha: str) -> JobRow | None:
        """The recorded job for a (shot, resolution, GenPack) key."""
        found = self.store.conn.execute(
            "SELECT shot_id, resolution, genpack_sha, provider, job_id, state, reservation_id, "
            "tier FROM render_jobs WHERE shot_id = ? AND resolution = ? AND genpack_sha = ?",
            (shot_id, resolution, sha),
        ).fetchone()
        return JobRow(*found) if found else None

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
        self._record(
            JobRow(shot.shot_id, resolution, sha, route.model, "", "reserved", hold.id, route.tier)
        )
        self.ledger.mark_started(hold)
        try:
            job_id = provider.submit(job)
        except ProviderError as exc:
            self.ledger.release(hold, f"submission failed: {exc}")
            self._set_state(shot.shot_id, resolution, sha, "failed")
            raise
        row = JobRow(
            shot.shot_id, resolution, sha, route.model, job_id, "submitted", hold.id, route.tier
        )
        self._record(row)  # before waiting: a killed run resumes this job, not a new one
        crash_point(CRASH_AFTER_JOB)
        return self._finish(row, shot, resolution, skill)

    def _finish(self, row: JobRow, shot: ShotRow, resolution: ResolutionTier, skill: str) -> bytes:
        provider = self.provider_for(row.provider)
        hold = self._reservation(row.reservation_id)
        status = self._wait(provider, row)
        if status.state == "failed":
            if hold is not None:
                self.ledger.release(hold, f"job {row.job_id} failed: {status.message}")
            self._set_state(row.shot_id, row.resolution, row.genpack_sha, "failed")
            raise ProviderError(
                f"{row.shot_id}: {row.provider} job {row.job_id} failed: {status.message}",
                job_id=row.job_id,
            )
        data = provider.download(row.job_id)
        res: Resolution = getattr(self.config.resolution, resolution)
        actual = shot.duration_s * provider.price_per_second(res.width, res.height)
        if hold is not None:  # None: an earlier recovery already charged it
            self.ledger.settle(
                hold,
                actual,
                _runlog.LogEntry(
                    run_id=hold.run_id,
                    skill_name=skill or "render",
                    target=row.shot_id,
                    scene_id=shot.scene_id,
                    shot_id=row.shot_id,
                    model_used=row.provider,
                    tier=row.tier,
                    estimated_cost=hold.amount,
                    notes=f"{resolution} render, job {row.job_id}, {shot.duration_s:g}s",
                ),
            )
            self.spent += actual
        self._set_state(row.shot_id, row.resolution, row.genpack_sha, "done")
        return data

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
                self._set_state(row.shot_id, row.resolution, row.genpack_sha, state)
            if time.monotonic() >= deadline:
                raise ProviderError(
                    f"{row.shot_id}: {row.provider} job {row.job_id} is still {status.state} "
                    f"after {self.timeout_s:g}s; run again to resume polling it (it will not "
                    "be submitted or paid twice)",
                    job_id=row.job_id,
                )
            time.sleep(self.poll_interval_s)

    def _discard(self, row: JobRow) -> None:
        """Forget a failed job, or one whose submission was never recorded (its
        reservation, if a dead process left it open, is closed by the ledger's recovery)."""
        hold = self._reservation(row.reservation_id)
        if hold is not None and row.state == "failed":
            self.ledger.release(hold, f"job for {row.shot_id} failed")
        elif hold is not None:
            self.ledger.recover()
        with self.store.transaction() as conn:
            conn.execute(
                "DELETE FROM render_jobs WHERE shot_id = ? AND resolution = ? AND genpack_sha = ?",
                (row.shot_id, row.resolution, row.genpack_sha),
            )

    def _reservation(self, res_id: int | None) -> Reservation | None:
        found = (
            self.store.conn.execute(
                "SELECT id, run_id, scene_id, shot_id, amount FROM reservations WHERE id = ?",
                (res_id,),
            ).fetchone()
            if res_id is not None
            else None
        )
        return (
            Reservation(int(found[0]), found[1], found[2], found[3], float(found[4]))
            if found
            else None
        )

    def _record(self, row: JobRow) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO render_jobs VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    row.shot_id,
                    row.resolution,
                    row.genpack_sha,
                    row.provider,
                    row.job_id,
                    row.state,
                    row.reservation_id,
                    row.tier,
                    _runlog.utc_now(),
                ),
            )

    def _set_state(self, shot_id: str, resolution: str, sha: str, state: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE render_jobs SET state = ? WHERE shot_id = ? AND resolution = ? "
                "AND genpack_sha = ?",
                (state, shot_id, resolution, sha),
            )


def _animatic(folder: Path) -> VideoProvider:
    module, _, attr = ANIMATIC.partition(":")
    provider: VideoProvider = getattr(import_module(module), attr)(folder)
    return provider
