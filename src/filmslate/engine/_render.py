"""The render service: metered, resumable video generation (SPEC §5, §8).

Skills never touch the ledger, the store or a provider. A generation skill asks the
:class:`RenderService` the runner passes in ``ctx.params["render"]`` (for skills with
``uses_video``) for a clip; the service applies to every video call the discipline the runner
applies to text calls:

1. route the shot by hero tier (``Router.route_visual``, premium quota counted from the shots
   already rendered premium) and pick the provider serving that model;
2. build the job (``_clips``): for a catalogue model the snapped clip length, the prompt and
   negative prompt composed from the GenPack, the first frame and the sheets as references;
3. reserve the worst case (the catalogue entry's, per clip or per second; outside the
   catalogue the configured price per second) against the project, scene and shot caps;
4. record a submission intent (a fresh client reference, sent with the job, and the exact
   payload, images as sha256) in ``render_jobs``, then submit, and record the provider's job
   id BEFORE waiting;
5. poll (bounded by a timeout), settle (the provider's reported cost, else the catalogue's
   price), download. A failed job is released, or charged where the catalogue says the
   vendor charges failed jobs. A clip that does not decode is fetched once more (a local copy
   is discarded first) and never handed on: no undecodable clip becomes an artifact; a paid
   job whose download fails is fetched again by the next run, never paid again.

A job the provider refused (content policy) or called invalid input is recorded with its
failure and payload, and never sent again unchanged: the same GenPack with the same payload
raises ``RenderRefused`` before any spend, naming the shot for regen-analyzer to reword the
prompt within the locks (another first frame or other sheets make another job).

A proxy whose take got QC FIX may be re-rolled from the unchanged GenPack with a new seed
(``_clips.take_seed``; the roll and seed are recorded with the job); after FAIL the GenPack
must change.

Providers come from the project's config through the provider factory, named by string and
imported only when a model no provider given here serves is asked for (the offline animatic
and ``make demo`` never import a vendor's module).

A process killed after the job id is recorded leaves the job in ``render_jobs``: the next
service finds it by (shot, resolution, GenPack sha), takes over its open reservation and
polls the same job, so the provider is paid once and the reservation is settled once. One
killed between the intent and the job id leaves an intent; the next run settles it by the
provider's kind (see ``_video``): found by its reference, submitted again when it is offline,
or a stop naming the job for a person to check (charged at its worst case, the ledger's rule
for a call that may have been billed). docs/guide.md lists the window left per provider.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import cached_property
from importlib import import_module
from pathlib import Path
from typing import NoReturn

from ..core._config import Resolution
from ..core._errors import ProviderError, RegenRefused
from ..core._video_prices import video_cost, video_entry
from ..rules._takes import last_qc_verdict
from ..schemas import GenPack, QcBatch, ShotRow
from ..store._store import Store, crash_point
from ._clips import clip_job, payload_json, refused_error, take_seed
from ._lip_sync import checked_audio, fitted, job_sha, takes_audio
from ._metered_jobs import MeteredJobs
from ._render_jobs import INTENT_STATES, OPEN_STATES, JobRow, adopt_open_jobs
from ._router import Route, Router
from ._submissions import fetch_clip
from ._video import Reference, ResolutionTier, VideoProvider
from ._visual_switch import refuse_switch, refuse_unconfigured

__all__ = [
    "ANIMATIC",
    "CRASH_AFTER_INTENT",
    "CRASH_AFTER_JOB",
    "VIDEO_FACTORY",
    "JobRow",
    "RenderService",
]

# The offline renderer is a provider like any other; the engine names it, never imports it.
ANIMATIC = "filmslate.providers.animatic:AnimaticProvider"
# The providers a project's config names, built by the providers layer (named, not imported).
VIDEO_FACTORY = "filmslate.providers._factory:video_providers"

# FILMSLATE_CRASH_AT checkpoints (crash tests)
CRASH_AFTER_INTENT = "render_intent_recorded"
CRASH_AFTER_JOB = "render_job_recorded"


class RenderService(MeteredJobs[VideoProvider]):
    """Metered, resumable video generation for one project (see the module docs).

    ``providers`` maps a model string (or its prefix before ``:``) to a provider; ``animatic``
    is always available and renders into ``<project>/.filmslate/renders``. A model none of
    them serves is looked up in the provider factory's (built once, when first needed).
    """

    FACTORY = VIDEO_FACTORY
    CRASH_AFTER_INTENT = CRASH_AFTER_INTENT

    _shots_total: int | None = None  # counted once, when the premium quota is first asked

    @cached_property
    def router(self) -> Router:
        """The router of the project's tiers (the visual route by hero tier)."""
        return Router(self.store, self.config)

    def _builtin(self) -> dict[str, VideoProvider]:
        return {"animatic": _animatic(self.project.root / ".filmslate" / "renders")}

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
        references: tuple[Reference, ...] = (),
        audio: bytes | None = None,
    ) -> bytes:
        """The shot's clip at a resolution tier: resumed, reused, or generated and paid; the
        dialogue ``audio`` goes with it where the model takes it (``_lip_sync``)."""
        refuse_switch(self.project, self.route(shot), pack, shot)  # before any spend (SPEC §7)
        if audio is not None and self.takes_audio(shot):  # lip sync: part of the job's key
            audio = checked_audio(self.project, shot.shot_id, audio)
        else:
            audio = None
        sha = job_sha(pack, audio)
        row = self.job(shot.shot_id, resolution, sha)
        roll = self._roll(shot.shot_id, resolution, sha, row)
        if row is not None and row.state in INTENT_STATES:
            row = self._settle_intent(row, skill)
        if row is not None and row.refused:  # sent again only when the payload differs
            sent = (shot, pack, resolution, sha, (image, references, audio), skill, roll, row)
            return self._submit(*sent)
        if row is not None and row.state == "done" and row.roll == roll:
            redo = (shot, pack, resolution, sha, (image, references, audio), skill, roll)
            return self._fetched_again(row, lambda: self._submit(*redo))
        if row is not None and row.state in OPEN_STATES and row.job_id:
            return self._finish(row, shot, resolution, skill)
        if row is not None and row.state != "done":
            self._discard(row)
        return self._submit(shot, pack, resolution, sha, (image, references, audio), skill, roll)

    def takes_audio(self, shot: ShotRow) -> bool:
        """True when the model the shot routes to takes the dialogue audio (lip sync)."""
        return takes_audio(self.config, self.route(shot).model)

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
        return qc_state(self.store, shot_id)[0]

    def _unserved(self, model: str) -> NoReturn:
        refuse_unconfigured(self.config, model)  # a recorded job of a model since switched
        raise ProviderError(
            f"no video provider for model {model!r}: the render service knows "
            f"{', '.join(sorted(self.providers))}; set [visual] to one of them",
            model=model,
        )

    def _fetch(self, provider: VideoProvider, row: JobRow) -> bytes:
        return fetch_clip(provider, row)

    # -- steps ----------------------------------------------------------------------------

    def _roll(self, shot_id: str, resolution: str, sha: str, row: JobRow | None) -> int:
        """Which take of this GenPack to render: the recorded one, or, after a QC FIX of it,
        the next (a new seed); SPEC §8: after a FAIL of it the GenPack must change first."""
        if resolution == "final":  # the final takes the luck of the proxy that passed
            proxy = self.job(shot_id, "proxy", sha)
            return row.roll if row is not None else proxy.roll if proxy is not None else 0
        if row is None or row.state != "done":
            return row.roll if row is not None else 0
        verdict, graded = qc_state(self.store, shot_id)
        if graded <= row.graded or not latest_take(self.store, shot_id, sha):
            return row.roll  # QC has not graded this take yet
        if verdict == "FAIL":
            raise RegenRefused(
                f"{shot_id}: the last proxy got QC FAIL and this GenPack is unchanged "
                f"(sha {sha[:12]}): a regeneration must change it. Run regen-analyzer, then "
                f"prompt-packager on {shot_id}, and render again.",
                target=shot_id,
            )
        return row.roll + 1 if verdict == "FIX" else row.roll

    def _submit(
        self,
        shot: ShotRow,
        pack: GenPack,
        resolution: ResolutionTier,
        sha: str,
        sent: tuple[bytes | None, tuple[Reference, ...], bytes | None],
        skill: str,
        roll: int,
        refused: JobRow | None = None,
    ) -> bytes:
        image, references, audio = sent  # the first frame, the sheets, the dialogue
        route = self.route(shot)
        provider = self.provider_for(route.model)
        entry = video_entry(self.config, route.model)
        res: Resolution = getattr(self.config.resolution, resolution)
        job = clip_job(
            shot,
            pack,
            res,
            entry,
            image=image,
            references=references,
            seed=take_seed(shot.shot_id, roll),
            reference=str(uuid.uuid4()),
        )
        job = replace(job, audio=fitted(audio, job.duration_s))  # the dialogue (lip sync)
        payload = payload_json(provider.payload(job))  # before any spend: it may refuse
        if refused is not None and (not refused.payload or payload == refused.payload):
            raise refused_error(refused)  # the very job that was refused: never sent again
        worst = video_cost(self.config, route.model, resolution, shot.duration_s)
        what = f"{skill or 'render'} {shot.shot_id} {resolution} ({route.model})"
        hold = self._reserve(shot.scene_id, shot.shot_id, worst, what)
        intent = self._intent(
            hold,
            (shot.shot_id, resolution, sha),
            route.model,
            route.tier,
            reference=job.reference,
            payload=payload,
            seed=job.seed,
            roll=roll,
            graded=qc_state(self.store, shot.shot_id)[1] if resolution == "proxy" else 0,
        )
        row = self._send(intent, lambda: provider.submit(job))
        crash_point(CRASH_AFTER_JOB)
        return self._finish(row, shot, resolution, skill)

    def _finish(self, row: JobRow, shot: ShotRow, resolution: ResolutionTier, skill: str) -> bytes:
        provider = self.provider_for(row.provider)
        res: Resolution = getattr(self.config.resolution, resolution)
        priced = (video_entry(self.config, row.provider), shot.duration_s, (res.width, res.height))
        status = self._wait(provider, row)
        if status.state == "failed":
            self._failed(row, provider, status, priced, skill)
        rolled = f"; re-roll {row.roll} after QC FIX, seed {row.seed}" if row.roll else ""
        return self._paid(
            row,
            provider,
            priced,
            skill,
            lambda source: (
                f"{resolution} render, job {row.job_id}, {shot.duration_s:g}s ({source}{rolled})"
            ),
        )


def qc_state(store: Store, shot_id: str) -> tuple[str | None, int]:
    """The shot's last QC verdict and how many QC rows it has (its graded takes)."""
    record = store.latest("QC_BATCH", shot_id.split("_SH", 1)[0])
    loaded = store.load(record.name) if record else None
    batch = loaded if isinstance(loaded, QcBatch) else None
    graded = sum(1 for r in batch.rows if r.shot_id == shot_id) if batch else 0
    return last_qc_verdict(batch, shot_id), graded


def latest_take(store: Store, shot_id: str, sha: str) -> bool:
    """True when the shot's latest finished proxy was made from this GenPack."""
    latest = store.conn.execute(
        "SELECT genpack_sha FROM render_jobs WHERE shot_id = ? AND resolution = 'proxy' "
        "AND state = 'done' ORDER BY rowid DESC LIMIT 1",
        (shot_id,),
    ).fetchone()
    return latest is not None and latest[0] == sha


def _animatic(folder: Path) -> VideoProvider:
    module, _, attr = ANIMATIC.partition(":")
    provider: VideoProvider = getattr(import_module(module), attr)(folder)
    return provider
