"""Video generation and assembly (SPEC §5, §8): render-proxy, render-final and assemble-cut.

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

- **render-proxy** renders ``PROXY_<SHOT>`` at ``config.resolution.proxy``. A regeneration is
  refused when its GenPack is the one the previous proxy was made from and that proxy's latest
  QC verdict is FAIL or FIX: change the GenPack (regen-analyzer, prompt-packager) first.
- **render-final** renders ``FINAL_<SHOT>`` at ``config.resolution.final``, proxy first: only
  when the shot's last QC_BATCH row is PASS.
- **assemble-cut** concatenates the accepted takes (FINAL, else a PROXY whose last QC row is
  PASS) in SCENES and SHOTLIST order into ``CUT_<TARGET>``, re-encoded to one resolution.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import imageio_ffmpeg  # type: ignore[import-untyped]

from ...store import _runlog
from ...store._ledger import Ledger, Reservation
from ...core._config import Resolution
from ...core._errors import ProviderError, RunError, UserError
from ...rules._media import probe
from ...store._project import Project
from ...engine._router import Route, Router
from ...engine._skill import REGISTRY, Context, Gate, Layer, Media, Need, Skill, Tier
from ...store._store import crash_point
from ...engine._video import JobStatus, VideoJob, VideoProvider
from ...core._video_prices import price_per_second
from ...providers.animatic import AnimaticProvider
from ...schemas import Artifact, GenPack, QcBatch, Scenes, ShotList, ShotRow
from ._production import shot_row, shot_seed
from ._qc import passed_with

RENDER_PARAM = "render"  # ctx.params key of the RenderService
CRASH_AFTER_JOB = "render_job_recorded"  # FILMSLATE_CRASH_AT checkpoint (crash tests)
ResolutionTier = Literal["proxy", "final"]
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


class RegenRefused(RunError):
    """A regeneration whose GenPack is unchanged since the take that failed QC."""


class ProxyFirst(RunError):
    """A final render asked for before the shot's proxy passed QC."""


class NoAcceptedTake(RunError):
    """A cut asked for while some shots have no accepted take."""


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


def genpack_sha(pack: GenPack) -> str:
    """The identity of a GenPack: the sha256 of its stored text."""
    return hashlib.sha256(pack.render()).hexdigest()


def last_qc_verdict(batch: QcBatch | None, shot_id: str) -> str | None:
    """The verdict of the shot's last row in a QC batch (None when it has none)."""
    rows = [row for row in batch.rows if row.shot_id == shot_id] if batch else []
    return rows[-1].verdict if rows else None


class RenderService:
    """Metered, resumable video generation for one project (see the module docs).

    ``providers`` maps a model string (or its prefix before ``:``) to a provider; ``animatic``
    is always available and renders into ``<project>/.filmslate/renders``.
    """

    def __init__(self, project: Project, ledger: Ledger | None = None,
                 providers: dict[str, VideoProvider] | None = None, *,
                 poll_interval_s: float = 1.0, timeout_s: float = 1800.0) -> None:
        self.project = project
        self.store = project.store
        self.config = project.config
        self.ledger = ledger or Ledger(project.store, project.config)
        self.router = Router(project.store, project.config)
        animatic = AnimaticProvider(project.root / ".filmslate" / "renders")
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
                (os.getpid(),))
        return int(cur.rowcount or 0)

    def render(self, shot: ShotRow, pack: GenPack, resolution: ResolutionTier,
               image: bytes | None = None, skill: str = "") -> bytes:
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
            (shot_id, resolution, sha)).fetchone()
        return JobRow(*found) if found else None

    def route(self, shot: ShotRow) -> Route:
        """The visual route of a shot by hero tier, within the premium quota."""
        premium = self.store.conn.execute(
            "SELECT count(DISTINCT shot_id) FROM render_jobs WHERE tier = 'visual_premium' "
            "AND shot_id != ?", (shot.shot_id,)).fetchone()[0]
        return self.router.route_visual(shot.hero_tier, self.shots_total(), int(premium))

    def provider_for(self, model: str) -> VideoProvider:
        """The provider serving a model string, or a ProviderError naming the known ones."""
        found = self.providers.get(model) or self.providers.get(model.split(":", 1)[0])
        if found is None:
            raise ProviderError(
                f"no video provider for model {model!r}: the render service knows "
                f"{', '.join(sorted(self.providers))}; set [visual] to one of them",
                model=model)
        return found

    def shots_total(self) -> int:
        """How many shots the latest shot lists plan (the base of the premium quota)."""
        if self._shots_total is None:
            self._shots_total = sum(len(getattr(self.store.load(rec.name), "rows", []))
                                    for rec in self.store.latest_of_each("SHOTLIST"))
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
            "AND state = 'done' ORDER BY rowid DESC LIMIT 1", (shot_id,)).fetchone()
        if previous is None or previous[0] != sha:
            return
        verdict = self.last_qc_verdict(shot_id)
        if verdict in ("FAIL", "FIX"):
            raise RegenRefused(
                f"{shot_id}: the last proxy got QC {verdict} and this GenPack is unchanged "
                f"(sha {sha[:12]}): a regeneration must change it. Run regen-analyzer, then "
                f"prompt-packager on {shot_id}, and render again.", target=shot_id)

    def _submit(self, shot: ShotRow, pack: GenPack, resolution: ResolutionTier, sha: str,
                image: bytes | None, skill: str) -> bytes:
        route = self.route(shot)
        provider = self.provider_for(route.model)
        res: Resolution = getattr(self.config.resolution, resolution)
        job = VideoJob(shot_id=shot.shot_id, prompt=pack.render().decode("utf-8"),
                       duration_s=shot.duration_s, width=res.width, height=res.height,
                       fps=res.fps, image=image, seed=shot_seed(shot.shot_id))
        worst = shot.duration_s * price_per_second(self.config, route.model, resolution) * 1
        hold = self.ledger.reserve(
            self.run_id, shot.scene_id, shot.shot_id, worst,
            what=f"{skill or 'render'} {shot.shot_id} {resolution} ({route.model})")
        self.estimated += worst
        self._record(JobRow(shot.shot_id, resolution, sha, route.model, "", "reserved",
                            hold.id, route.tier))
        self.ledger.mark_started(hold)
        try:
            job_id = provider.submit(job)
        except ProviderError as exc:
            self.ledger.release(hold, f"submission failed: {exc}")
            self._set_state(shot.shot_id, resolution, sha, "failed")
            raise
        row = JobRow(shot.shot_id, resolution, sha, route.model, job_id, "submitted", hold.id,
                     route.tier)
        self._record(row)  # before waiting: a killed run resumes this job, not a new one
        crash_point(CRASH_AFTER_JOB)
        return self._finish(row, shot, resolution, skill)

    def _finish(self, row: JobRow, shot: ShotRow, resolution: ResolutionTier,
                skill: str) -> bytes:
        provider = self.provider_for(row.provider)
        hold = self._reservation(row.reservation_id)
        status = self._wait(provider, row)
        if status.state == "failed":
            if hold is not None:
                self.ledger.release(hold, f"job {row.job_id} failed: {status.message}")
            self._set_state(row.shot_id, row.resolution, row.genpack_sha, "failed")
            raise ProviderError(f"{row.shot_id}: {row.provider} job {row.job_id} failed: "
                                f"{status.message}", job_id=row.job_id)
        data = provider.download(row.job_id)
        res: Resolution = getattr(self.config.resolution, resolution)
        actual = shot.duration_s * provider.price_per_second(res.width, res.height)
        if hold is not None:  # None: an earlier recovery already charged it
            self.ledger.settle(hold, actual, _runlog.LogEntry(
                run_id=hold.run_id, skill_name=skill or "render", target=row.shot_id,
                scene_id=shot.scene_id, shot_id=row.shot_id, model_used=row.provider,
                tier=row.tier, estimated_cost=hold.amount,
                notes=f"{resolution} render, job {row.job_id}, {shot.duration_s:g}s"))
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
                    "be submitted or paid twice)", job_id=row.job_id)
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
            conn.execute("DELETE FROM render_jobs WHERE shot_id = ? AND resolution = ? AND "
                         "genpack_sha = ?", (row.shot_id, row.resolution, row.genpack_sha))

    def _reservation(self, res_id: int | None) -> Reservation | None:
        found = self.store.conn.execute(
            "SELECT id, run_id, scene_id, shot_id, amount FROM reservations WHERE id = ?",
            (res_id,)).fetchone() if res_id is not None else None
        return Reservation(int(found[0]), found[1], found[2], found[3], float(found[4])) \
            if found else None

    def _record(self, row: JobRow) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO render_jobs VALUES (?,?,?,?,?,?,?,?,?)",
                         (row.shot_id, row.resolution, row.genpack_sha, row.provider,
                          row.job_id, row.state, row.reservation_id, row.tier,
                          _runlog.utc_now()))

    def _set_state(self, shot_id: str, resolution: str, sha: str, state: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE render_jobs SET state = ? WHERE shot_id = ? AND resolution = ? "
                         "AND genpack_sha = ?", (state, shot_id, resolution, sha))


# -- the skills ---------------------------------------------------------------------------------


def service_of(ctx: Context) -> RenderService:
    """The render service the runner passed in, or a clear error."""
    service = ctx.params.get(RENDER_PARAM)
    if not isinstance(service, RenderService):
        raise UserError("video generation needs the render service: run it through the runner "
                        f"with params={{{RENDER_PARAM!r}: RenderService(project)}}")
    return service


def clip_failures(data: bytes, shot: ShotRow, res: Resolution, label: str) -> list[str]:
    """What is wrong with a rendered clip: unreadable, wrong size, wrong length."""
    try:
        info = probe(data)
    except ProviderError as exc:
        return [f"{shot.shot_id}: the {label} cannot be decoded: {exc}"]
    out = []
    if (info.width, info.height) != (res.width, res.height):
        out.append(f"{shot.shot_id}: {label} is {info.width}x{info.height}, the {label} "
                   f"resolution is {res.width}x{res.height}")
    if abs(info.duration_s - shot.duration_s) > 1.0 / res.fps + 1e-6:
        out.append(f"{shot.shot_id}: {label} lasts {info.duration_s:g}s, the shot "
                   f"{shot.duration_s:g}s")
    return out


class _Render(Skill):
    """Shared shape of the two generation skills."""

    uses_video: ClassVar[bool] = True
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "vision"
    loop: ClassVar[str] = "production"
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False  # the video call is metered by the render service
    regen_limited: ClassVar[bool] = True
    revise_on_fail: ClassVar[bool] = False  # a bad clip is fixed upstream (the GenPack)
    resolution: ClassVar[ResolutionTier] = "proxy"

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Render the shot through the service."""
        row = shot_row(ctx)
        self.before_render(ctx, row)
        pack: GenPack = ctx.inputs.get("GENPACK")
        image = ctx.inputs.get("STORYBOARD")
        data = service_of(ctx).render(row, pack, self.resolution,
                                      image if isinstance(image, bytes) else None,
                                      skill=self.name)
        return [Media(self.produces[0], row.shot_id, data)]

    def before_render(self, ctx: Context, row: ShotRow) -> None:
        """Refuse before any spend (render-final: proxy first)."""

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL when the clip does not decode or has the wrong size or length."""
        res: Resolution = getattr(ctx.config.resolution, self.resolution)
        return Gate.from_failures(clip_failures(outputs[0].data, shot_row(ctx), res,
                                                self.resolution))


class RenderProxy(_Render):
    """Renders a shot's proxy clip; refuses a regen with an unchanged GenPack."""

    name: ClassVar[str] = "render-proxy"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("GENPACK", "shot"), Need("SHOTLIST", "scene"),
        Need("STORYBOARD", "shot", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("PROXY",)
    resolution: ClassVar[ResolutionTier] = "proxy"
    summary: ClassVar[str] = ("after prompt-packager PASS: the shot's proxy clip at proxy "
                              "resolution (metered, resumable)")


class RenderFinal(_Render):
    """Renders a shot's final clip, only after its proxy passed QC."""

    name: ClassVar[str] = "render-final"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("GENPACK", "shot"), Need("SHOTLIST", "scene"), Need("PROXY", "shot"),
        # the scene's QC sheet grows as its other shots are graded: read as a history (its
        # newer versions do not make this shot's final stale), checked row by row below
        Need("QC_BATCH", "scene", lineage=False, history=True),
        Need("STORYBOARD", "shot", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("FINAL",)
    resolution: ClassVar[ResolutionTier] = "final"
    summary: ClassVar[str] = "after the proxy passed QC: the shot's clip at final resolution"

    def before_render(self, ctx: Context, row: ShotRow) -> None:
        """Proxy first: the shot's last QC row must be a PASS of this GenPack's proxy."""
        passed, what = passed_with(ctx.inputs.get("QC_BATCH"), row.shot_id,
                                   ctx.inputs.get("GENPACK"))
        if not passed:
            raise ProxyFirst(
                f"{row.shot_id}: no final render before the proxy of its current GenPack "
                f"passes QC (last QC: {what}): run qc-grader on {row.shot_id}, and "
                "regenerate the proxy if it failed", target=row.shot_id)


# -- assemble-cut -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """The accepted clip of one shot."""

    shot_id: str
    kind: str
    data: bytes


class AssembleCut(Skill):
    """Concatenates the accepted takes in shot order into one MP4 (deterministic)."""

    name: ClassVar[str] = "assemble-cut"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"), Need("SHOTLIST", "all"), Need("PROXY", "all", optional=True),
        Need("FINAL", "all", optional=True), Need("QC_BATCH", "all", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("CUT",)
    target_scope: ClassVar[Any] = "target"
    uses_model: ClassVar[bool] = False
    revise_on_fail: ClassVar[bool] = False
    summary: ClassVar[str] = ("after QC: the accepted takes (final, else a passed proxy) "
                              "concatenated in shot order")

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The cut of the target (PROJECT or one scene)."""
        takes = accepted_takes(ctx)
        final = any(take.kind == "FINAL" for take in takes)
        res: Resolution = ctx.config.resolution.final if final else ctx.config.resolution.proxy
        return [Media("CUT", ctx.target, concat([t.data for t in takes], res))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL when the cut does not decode."""
        try:
            info = probe(outputs[0].data)
        except ProviderError as exc:
            return Gate("FAIL", (f"the cut cannot be decoded: {exc}",))
        return Gate.from_failures([] if info.frames else ["the cut has no frames"])


def scenes_in_order(ctx: Context) -> list[str]:
    """The target's scenes: every scene of SCENES in order, or the target scene."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    order = [row.scene_id for row in scenes.rows]
    if ctx.target == "PROJECT":
        return order
    if ctx.target not in order:
        raise UserError(f"{ctx.target} is not a scene of the latest SCENES", target=ctx.target)
    return [ctx.target]


def accepted_takes(ctx: Context) -> list[Take]:
    """Each shot's accepted take in order; NoAcceptedTake lists every shot without one."""
    shotlists: dict[str, ShotList] = ctx.inputs.all("SHOTLIST")
    finals, proxies = ctx.inputs.all("FINAL"), ctx.inputs.all("PROXY")
    batches: dict[str, QcBatch] = ctx.inputs.all("QC_BATCH")
    takes, missing = [], []
    for scene in scenes_in_order(ctx):
        if scene not in shotlists:
            missing.append(f"{scene} (no shot list)")
            continue
        for row in shotlists[scene].rows:
            verdict = last_qc_verdict(batches.get(scene), row.shot_id)
            if row.shot_id in finals:
                takes.append(Take(row.shot_id, "FINAL", finals[row.shot_id]))
            elif row.shot_id in proxies and verdict == "PASS":
                takes.append(Take(row.shot_id, "PROXY", proxies[row.shot_id]))
            else:
                why = "no proxy" if row.shot_id not in proxies else f"QC {verdict or 'missing'}"
                missing.append(f"{row.shot_id} ({why})")
    if missing:
        raise NoAcceptedTake(f"{ctx.target}: {len(missing)} shot(s) have no accepted take (a "
                             "FINAL, or a PROXY whose last QC row is PASS): "
                             + ", ".join(missing), target=ctx.target, missing=missing)
    return takes


ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
          "-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
          "-map_metadata", "-1", "-an"]


def concat(clips: list[bytes], res: Resolution) -> bytes:
    """One MP4 of the clips in order: each normalised to one size and rate, then joined
    with the concat demuxer (no second encode, so frame counts add up exactly)."""
    if not clips:
        raise UserError("nothing to assemble: the target has no shots")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    scale = (f"scale={res.width}:{res.height}:force_original_aspect_ratio=decrease,"
             f"pad={res.width}:{res.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={res.fps}")
    with tempfile.TemporaryDirectory(prefix="filmslate-cut-") as tmp:
        folder = Path(tmp)
        listing = []
        for index, data in enumerate(clips):
            source, normal = folder / f"in{index:05d}.mp4", folder / f"n{index:05d}.mp4"
            source.write_bytes(data)
            _ffmpeg([ffmpeg, "-i", str(source), "-vf", scale, *ENCODE, str(normal)])
            listing.append(f"file '{normal.name}'")
        (folder / "list.txt").write_text("\n".join(listing) + "\n")
        out = folder / "cut.mp4"
        _ffmpeg([ffmpeg, "-f", "concat", "-safe", "0", "-i", str(folder / "list.txt"),
                 "-c", "copy", "-map_metadata", "-1", "-fflags", "+bitexact",
                 "-movflags", "+faststart", str(out)])
        return out.read_bytes()


def _ffmpeg(command: list[str]) -> None:
    result = subprocess.run([command[0], "-v", "error", "-nostdin", "-y", *command[1:]],
                            capture_output=True, check=False)
    if result.returncode:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProviderError(f"ffmpeg failed while assembling: {lines[-1] if lines else '?'}")


REGISTRY.register(RenderProxy)
REGISTRY.register(RenderFinal)
REGISTRY.register(AssembleCut)

__all__ = ["CRASH_AFTER_JOB", "RENDER_PARAM", "AssembleCut", "JobRow", "NoAcceptedTake",
           "ProxyFirst", "RegenRefused", "RenderFinal", "RenderProxy", "RenderService", "Take",
           "accepted_takes", "clip_failures", "concat", "genpack_sha", "last_qc_verdict",
           "scenes_in_order", "service_of"]
