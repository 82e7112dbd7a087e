"""The image service: metered, resumable image generation (reference sheets, storyboard
frames, first frames), the :class:`~filmslate.engine._images.ImageMaker` the runner passes
skills in ``ctx.params["images"]`` (for skills with ``uses_images``).

Each image use is routed by ``[images]`` in filmslate.toml (``model``, or the use's own
``sheet`` / ``storyboard`` / ``first_frame``); a use routed to ``"offline"`` has no model and
the skill draws its schematic (:meth:`ImageService.offline`). Every paid image gets the render
service's discipline, in the ``image_jobs`` table (``_render_jobs``):

1. the job is keyed by what it is for (its key and use) and the digest of what it asks
   (model, prompt, negative, size, seed, references): asking again for the same image finds
   the recorded job, so it is fetched, never paid twice;
2. reserve the catalogue entry's worst case (per image or per megapixel) against the project
   cap (and the scene's and shot's for a shot's frame); a paid model outside the catalogue is
   refused, since nobody could say what it costs;
3. record the submission intent (a fresh client reference and the exact payload, images as
   sha256) BEFORE the call, then the provider's job id BEFORE waiting;
4. poll, settle (the provider's reported cost, else the catalogue's price), download and
   check that the image decodes; a failed job is released, or charged where the catalogue
   says the vendor charges failed jobs.

A refused or invalid job is recorded and never sent again unchanged (``RenderRefused``); an
interrupted submission is settled by the provider's kind (``_submissions.settle_intent``).
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import replace
from typing import NoReturn

from PIL import Image, UnidentifiedImageError

from ..core._catalogue import ModelEntry
from ..core._errors import HardStop, ProviderError, UserError
from ..core._names import SHOT_RE, scene_of
from ..core._video_prices import catalogue_of
from ..store import _runlog
from ..store._ledger import Ledger
from ..store._project import Project
from ..store._store import crash_point
from ._clips import failed_charge, fetched, payload_json, refused_error, settled_cost, wait_for
from ._images import ImageJob, ImageProvider, ImageUse
from ._render import close_made, factory_providers, serving
from ._render_jobs import (
    IMAGE_TABLE,
    INTENT_STATES,
    OPEN_STATES,
    REFUSALS,
    JobRow,
    JobTable,
    adopt_open_jobs,
    spend_entry,
)
from ._stops import open_hard_stops
from ._submissions import settle_intent, stop_target

__all__ = ["CRASH_AFTER_IMAGE_INTENT", "IMAGE_FACTORY", "OFFLINE", "ImageService"]

IMAGE_FACTORY = "filmslate.providers._factory:image_providers"
OFFLINE = "offline"  # [images] model of a use that no image model serves
CRASH_AFTER_IMAGE_INTENT = "image_intent_recorded"  # FILMSLATE_CRASH_AT checkpoint


class ImageService:
    """Metered, resumable image generation for one project (see the module docs).

    ``providers`` maps a model string (or its provider prefix) to an image provider; a model
    none of them serves is looked up in the provider factory's (built once, when needed).
    """

    def __init__(
        self,
        project: Project,
        ledger: Ledger | None = None,
        providers: dict[str, ImageProvider] | None = None,
        *,
        poll_interval_s: float = 1.0,
        timeout_s: float = 600.0,
    ) -> None:
        self.project = project
        self.store = project.store
        self.config = project.config
        self.ledger = ledger or Ledger(project.store, project.config)
        self.providers: dict[str, ImageProvider] = dict(providers or {})
        self._made: dict[str, ImageProvider] | None = None  # the factory's, once loaded
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.run_id = _runlog.new_run_id()
        self.estimated = 0.0
        self.spent = 0.0
        self.jobs = JobTable(project.store, IMAGE_TABLE)
        adopt_open_jobs(self.store)

    # -- ImageMaker -----------------------------------------------------------------------

    def offline(self, use: ImageUse) -> bool:
        """True when ``use`` is served by no image model: the skill draws its schematic."""
        return self.model_for(use) == OFFLINE

    def image(self, job: ImageJob, skill: str = "") -> bytes:
        """The image for a job, routed by its use: fetched when it was made, else made and
        paid once (see the module docs)."""
        model = self.model_for(job.use)
        if model == OFFLINE:
            raise UserError(
                f"{job.key}: no image model serves {job.use!r} ([images] says offline): "
                "draw the schematic, or set [images] model in filmslate.toml"
            )
        entry = self.entry(model)
        job = replace(job, model=entry.key if entry is not None else "", reference="")
        digest = job_digest(job, model)
        row = self.jobs.get(job.key, job.use, digest)
        if row is not None and row.state in INTENT_STATES:
            row = settle_intent(self.project, self.ledger, self.jobs, row, skill, self.provider_for)
        if row is not None and row.refused:
            raise refused_error(row, "image")
        if row is not None and row.state == "done":
            return self._again(row, job, model, digest, skill)
        if row is not None and row.state in OPEN_STATES and row.job_id:
            return self._finish(row, job, skill)
        if row is not None:
            self._forget(row)
        return self._submit(job, model, digest, skill)

    # -- routing --------------------------------------------------------------------------

    def model_for(self, use: ImageUse) -> str:
        """The model string ``[images]`` routes ``use`` to (``"offline"``: none)."""
        return self.config.images.model_for(use) or OFFLINE

    def entry(self, model: str) -> ModelEntry | None:
        """The catalogue entry of an image model string (None: outside the catalogue)."""
        entry = catalogue_of(self.config).entries.get(model)
        return entry if entry is not None and entry.kind == "image" else None

    def provider_for(self, model: str) -> ImageProvider:
        """The provider serving an image model string, or a ProviderError naming the known."""
        found = serving(self.providers, model)
        if found is None and self._made is None:
            self._made = factory_providers(IMAGE_FACTORY, self.config, self.project.root)
            self.providers = {**self._made, **self.providers}  # given providers win
            found = serving(self.providers, model)
        if found is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise ProviderError(
                f"no image provider for model {model!r} (known: {known}); set [images] to a "
                "catalogue image model of a configured provider, or to offline",
                model=model,
            )
        return found

    def close(self) -> None:
        """Close what the provider factory opened (its HTTP clients)."""
        close_made(self._made)
        self._made = None

    # -- steps ----------------------------------------------------------------------------

    def _submit(self, job: ImageJob, model: str, digest: str, skill: str) -> bytes:
        provider = self.provider_for(model)
        entry = self.entry(model)
        if entry is None and not provider.offline:
            raise ProviderError(
                f"{job.key}: image model {model!r} is not in the catalogue, so nobody can say "
                f'what an image costs; describe it under [catalogue."{model}"] in filmslate.toml '
                "(docs/catalogue.md)",
                model=model,
            )
        job = replace(job, reference=str(uuid.uuid4()))
        payload = payload_json(provider.payload(job))  # before any spend: it may refuse
        worst = entry.worst_case_cost(0.0, job.width, job.height) if entry else 0.0
        shot = job.key if SHOT_RE.fullmatch(job.key) else ""
        hold = self.ledger.reserve(
            self.run_id,
            scene_of(job.key),
            shot,
            worst,
            what=f"{skill or 'image'} {job.key} {job.use} ({model})",
        )
        self.estimated += worst
        intent = JobRow(job.key, job.use, digest, model, "", "intent", hold.id, "image")
        intent = replace(
            intent,
            reference=job.reference,
            created_at=_runlog.utc_now(),
            hold_run=hold.run_id,
            payload=payload,
            seed=job.seed,
        )
        self.jobs.record_intent(intent)  # before the call: a crash leaves a settleable intent
        crash_point(CRASH_AFTER_IMAGE_INTENT)
        try:
            job_id = provider.submit(job)
        except ProviderError as exc:
            self._not_submitted(intent, exc)
        row = replace(intent, job_id=job_id, state="submitted")
        self.jobs.record(row)  # before waiting: a killed run resumes this job
        return self._finish(row, job, skill)

    def _not_submitted(self, intent: JobRow, exc: ProviderError) -> NoReturn:
        if exc.context.get("maybe_sent"):
            raise ProviderError(
                f"{exc.message}; the intent (reference {intent.reference}) is kept: the next "
                "run looks it up or stops for you to check, and never pays twice",
                **exc.context,
            ) from None
        hold = self.jobs.hold(intent)
        if hold is not None:  # turned away: no job ran
            self.ledger.release(hold, f"image submission failed: {exc}")
        failed = self.jobs.fail(intent, str(exc.context.get("failure") or "other"), exc.message)
        if failed.failure in REFUSALS:
            raise refused_error(failed, "image") from None
        raise exc

    def _finish(self, row: JobRow, job: ImageJob, skill: str) -> bytes:
        provider = self.provider_for(row.provider)
        entry = self.entry(row.provider)
        size = (job.width, job.height)
        status = wait_for(provider, row, self.jobs, self.timeout_s, self.poll_interval_s)
        hold = self.jobs.hold(row)
        if status.state == "failed":
            failure = status.failure or "other"
            charge = failed_charge(provider, row.job_id, entry, 0.0, size)
            if hold is not None and charge is None:
                self.ledger.release(hold, f"image job {row.job_id} failed ({failure})")
            elif hold is not None and charge is not None:
                note = f"image job {row.job_id} failed ({failure}); the vendor charges failures"
                self.ledger.settle(hold, charge[0], spend_entry(hold, row, skill, note, "FAILED"))
                self.spent += charge[0]
            failed = self.jobs.fail(row, failure, status.message)
            if failed.refused:
                raise refused_error(failed, "image")
            raise ProviderError(
                f"{row.shot_id}: {row.provider} image job {row.job_id} failed: {status.message}",
                job_id=row.job_id,
                failure=failure,
            )
        if hold is not None:
            actual, source = settled_cost(provider, row.job_id, entry, 0.0, size)
            note = f"{job.use} image, job {row.job_id}, {job.width}x{job.height} ({source})"
            self.ledger.settle(hold, actual, spend_entry(hold, row, skill, note))
            self.spent += actual
        self.jobs.set_state(row, "done")  # paid: from here on it is only fetched
        return fetched(self.jobs, row, lambda: fetch_image(provider, row))

    def _again(self, row: JobRow, job: ImageJob, model: str, digest: str, skill: str) -> bytes:
        """A made image fetched again; an offline one that cannot be fetched is redone."""
        provider = self.provider_for(row.provider)
        try:
            return fetched(self.jobs, row, lambda: fetch_image(provider, row))
        except ProviderError:
            if not provider.offline:
                raise  # paid: the next run fetches it again, never pays again
        self._forget(row)
        return self._submit(job, model, digest, skill)

    def _forget(self, row: JobRow) -> None:
        """Drop a failed or unknown job before asking again (never past an open stop)."""
        if row.state == "unknown" and open_hard_stops(self.project, stop_target(row.shot_id)):
            raise HardStop(
                f"{row.shot_id}: its {row.resolution} image may have been submitted "
                f"(reference {row.reference}) and is not asked for again until a person "
                f"checks: `slate override {stop_target(row.shot_id)} --reason ...`",
                target=stop_target(row.shot_id),
            )
        hold = self.jobs.hold(row)
        if hold is not None:
            self.ledger.release(hold, f"image job for {row.shot_id} {row.state}: discarded")
        self.jobs.delete(row)


def job_digest(job: ImageJob, model: str) -> str:
    """What identifies an image job: the model and everything the picture depends on."""
    parts = {
        "model": model,
        "use": job.use,
        "prompt": job.prompt,
        "negative": job.negative_prompt,
        "size": [job.width, job.height],
        "seed": job.seed,
        "references": [[ref.label, hashlib.sha256(ref.data).hexdigest()] for ref in job.references],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def fetch_image(provider: ImageProvider, row: JobRow) -> bytes:
    """The job's image, decodable: a bad copy is discarded and fetched once more."""
    problem = ""
    for _ in range(2):
        data = provider.download(row.job_id)
        problem = undecodable_image(data)
        if not problem:
            return data
        provider.discard(row.job_id)
    raise ProviderError(
        f"{row.shot_id}: the image of {row.provider} job {row.job_id} does not decode "
        f"({problem}), fetched twice; it is not stored. Run again to fetch it again (it is "
        "paid, and is not paid twice)",
        job_id=row.job_id,
        failure="download",
    )


def undecodable_image(data: bytes) -> str:
    """Why an image cannot be decoded ("" when it can)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return str(exc)[:200] or type(exc).__name__
    return ""
