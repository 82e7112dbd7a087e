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

from PIL import Image, UnidentifiedImageError

from ..core._catalogue import ModelEntry
from ..core._errors import HardStop, ProviderError, UserError
from ..core._names import SHOT_RE, scene_of
from ..core._video_prices import catalogue_of
from ._clips import payload_json, refused_error
from ._images import ImageJob, ImageProvider, ImageUse
from ._metered_jobs import MeteredJobs
from ._render_jobs import IMAGE_TABLE, INTENT_STATES, OPEN_STATES, JobRow
from ._stops import open_hard_stops
from ._submissions import fetch_checked, stop_target

__all__ = ["CRASH_AFTER_IMAGE_INTENT", "IMAGE_FACTORY", "OFFLINE", "ImageService"]

IMAGE_FACTORY = "filmslate.providers._factory:image_providers"
OFFLINE = "offline"  # [images] model of a use that no image model serves
CRASH_AFTER_IMAGE_INTENT = "image_intent_recorded"  # FILMSLATE_CRASH_AT checkpoint


class ImageService(MeteredJobs[ImageProvider]):
    """Metered, resumable image generation for one project (see the module docs).

    ``providers`` maps a model string (or its provider prefix) to an image provider; a model
    none of them serves is looked up in the provider factory's (built once, when needed).
    """

    FACTORY = IMAGE_FACTORY
    TABLE = IMAGE_TABLE
    CRASH_AFTER_INTENT = CRASH_AFTER_IMAGE_INTENT
    NOUN = "image"
    UNSERVED_FIX = "set [images] to a catalogue image model of a configured provider, or to offline"
    PREFIX = "image "
    TIMEOUT_S = 600.0

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
            row = self._settle_intent(row, skill)
        if row is not None and row.refused:
            raise refused_error(row, "image")
        if row is not None and row.state == "done":
            return self._fetched_again(row, lambda: self._submit(job, model, digest, skill))
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

    def _fetch(self, provider: ImageProvider, row: JobRow) -> bytes:
        return fetch_image(provider, row)

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
        what = f"{skill or 'image'} {job.key} {job.use} ({model})"
        hold = self._reserve(scene_of(job.key), shot, worst, what)
        key = (job.key, job.use, digest)
        intent = self._intent(
            hold, key, model, "image", reference=job.reference, payload=payload, seed=job.seed
        )
        row = self._send(intent, lambda: provider.submit(job))
        return self._finish(row, job, skill)

    def _finish(self, row: JobRow, job: ImageJob, skill: str) -> bytes:
        provider = self.provider_for(row.provider)
        priced = (self.entry(row.provider), 0.0, (job.width, job.height))
        status = self._wait(provider, row)
        if status.state == "failed":
            self._failed(row, provider, status, priced, skill)
        size = f"{job.width}x{job.height}"
        return self._paid(
            row,
            provider,
            priced,
            skill,
            lambda source: f"{job.use} image, job {row.job_id}, {size} ({source})",
        )

    def _forget(self, row: JobRow) -> None:
        """Drop a failed or unknown job before asking again (never past an open stop)."""
        if row.state == "unknown" and open_hard_stops(self.project, stop_target(row.shot_id)):
            raise HardStop(
                f"{row.shot_id}: its {row.resolution} image may have been submitted "
                f"(reference {row.reference}) and is not asked for again until a person "
                f"checks: `slate override {stop_target(row.shot_id)} --reason ...`",
                target=stop_target(row.shot_id),
            )
        self._discard(row)


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
    return fetch_checked(provider, row, undecodable_image, "image")


def undecodable_image(data: bytes) -> str:
    """Why an image cannot be decoded ("" when it can)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return str(exc)[:200] or type(exc).__name__
    return ""
