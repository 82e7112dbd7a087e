"""What a paid job sends and what it costs, shared by the render and image services.

- **The job.** For a model in the catalogue the clip length sent is the entry's snap of the
  planned length (the conform step trims, never stretches), the prompt and negative prompt are
  composed from the GenPack within the model's limits (``rules._compose``), and the job names
  the catalogue key. A model outside the catalogue (the offline animatic, a custom provider)
  gets the GenPack's text and the planned length, as before.
- **The payload.** What the provider says it sends (``payload``), every image as its sha256,
  as canonical JSON: recorded with the job before it is sent.
- **The price.** Settlement is the provider's reported cost when it reports one, else the
  catalogue's price, else (outside the catalogue) the provider's price per second. A failed
  job is charged only where the catalogue says the vendor charges failed jobs.
- **Waiting.** Poll until done or failed, bounded; a refusal or invalid input raised while
  polling is a failed job like one reported by status.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import zlib
from collections.abc import Callable
from typing import cast

from ..core._catalogue import ModelEntry
from ..core._config import Resolution
from ..core._errors import ProviderError, RenderRefused
from ..rules._compose import compose
from ..rules._takes import shot_seed
from ..schemas import GenPack, ShotRow
from ._render_jobs import REFUSALS, JobRow, JobTable
from ._submissions import JobProvider
from ._video import Failure, JobStatus, Reference, VideoJob
from ._waits import job_over, waiting

__all__ = [
    "clip_job",
    "failed_charge",
    "fetched",
    "payload_json",
    "refused_error",
    "settled_cost",
    "take_seed",
    "wait_for",
]


def take_seed(shot_id: str, roll: int) -> int:
    """The seed of a shot's take: the shot's stable seed for a GenPack's first take; a re-roll
    after a QC FIX gets a new one, derived from the shot and the roll number."""
    if roll == 0:
        return shot_seed(shot_id)
    return zlib.crc32(f"{shot_id}#roll{roll}".encode()) & 0x7FFFFFFF


def clip_job(
    shot: ShotRow,
    pack: GenPack,
    res: Resolution,
    entry: ModelEntry | None,
    *,
    image: bytes | None,
    references: tuple[Reference, ...],
    seed: int,
    reference: str,
) -> VideoJob:
    """The job sent for a shot: snapped length, composed prompt, catalogue key (see above)."""
    if entry is None:
        prompt, negative, duration = pack.render().decode("utf-8"), "", shot.duration_s
    else:
        prompt, negative = compose(pack, entry)
        duration = entry.snap_duration(shot.duration_s)
        if not entry.fits_prompt(prompt):  # compose keeps within it; a changed entry may not
            raise ProviderError(
                f"{shot.shot_id}: the prompt composed for {entry.key} has {len(prompt)} "
                f"characters, over its limit of {entry.max_prompt_chars}; shorten the "
                "GenPack's action (prompt-packager) or raise max_prompt_chars in "
                f'[catalogue."{entry.key}"]',
                failure="invalid_input",
                target=shot.shot_id,
            )
    return VideoJob(
        shot_id=shot.shot_id,
        prompt=prompt,
        duration_s=duration,
        width=res.width,
        height=res.height,
        fps=res.fps,
        image=image,
        seed=seed,
        reference=reference,
        negative_prompt=negative,
        references=references,
        model=entry.key if entry is not None else "",
    )


def payload_json(payload: dict[str, object]) -> str:
    """Canonical JSON of a payload; any bytes left in it are written as their sha256."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_digest)


def _digest(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return f"sha256:{hashlib.sha256(value).hexdigest()}"
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return repr(value)


def reported_cost(provider: JobProvider, job_id: str) -> float | None:
    """What the provider says the job cost, or None (it does not say, or cannot be asked)."""
    try:
        cost = provider.reported_cost(job_id)
    except ProviderError:  # asking failed: the catalogue's price settles it
        return None
    if cost is None or not (math.isfinite(cost) and cost >= 0):
        return None
    return float(cost)


def settled_cost(
    provider: JobProvider,
    job_id: str,
    entry: ModelEntry | None,
    duration_s: float,
    size: tuple[int, int],
) -> tuple[float, str]:
    """(the cost to settle a finished job of ``duration_s`` seconds (0 for an image) and
    ``size`` at, where the number comes from)."""
    reported = reported_cost(provider, job_id)
    if reported is not None:
        return reported, f"reported by {provider.name}"
    if entry is not None:
        cost = entry.cost(duration_s, *size)
        return cost, f"catalogue price of {entry.key} ({entry.billing.as_of})"
    per_second = getattr(provider, "price_per_second", None)
    if per_second is None:  # an image provider outside the catalogue: never paid
        return 0.0, "no price"
    return duration_s * float(per_second(*size)), "price per second"


def failed_charge(
    provider: JobProvider,
    job_id: str,
    entry: ModelEntry | None,
    duration_s: float,
    size: tuple[int, int],
) -> tuple[float, str] | None:
    """What a failed job is charged (None: nothing, its hold is released). Only a catalogue
    entry whose vendor charges failed jobs (``billing.failed_jobs_charged``) charges one."""
    if entry is None or not entry.billing.failed_jobs_charged:
        return None
    return settled_cost(provider, job_id, entry, duration_s, size)


def refused_error(row: JobRow, noun: str = "render") -> RenderRefused:
    """The refusal to send a refused job again unchanged, naming the shot and what to do."""
    why = f"{row.failure}: {row.message}" if row.message else row.failure
    if noun == "render":
        todo = (
            f"GenPack {row.genpack_sha[:12]}; it is never sent again unchanged. Run "
            f"regen-analyzer on {row.shot_id} to reword the prompt within the locks, then "
            "prompt-packager, and render again"
        )
    else:  # an image job is keyed by its prompt: a reworded one is another job
        todo = (
            "its prompt; it is never sent again unchanged: reword the prompt within the "
            "locks (revise the lock or the shot it is drawn from) and run the step again"
        )
    return RenderRefused(
        f"{row.shot_id}: {row.provider} refused its {row.resolution} {noun} ({why}) made "
        f"from {todo}",
        target=row.shot_id,
        failure=row.failure,
        job_id=row.job_id,
    )


def fetched(jobs: JobTable, row: JobRow, fetch: Callable[[], bytes]) -> bytes:
    """A finished job's output; a refusal raised by the download (a safety checker that
    blanked the result) is recorded on the job, so it is never sent again unchanged."""
    try:
        with waiting(row.provider, "download"):
            return fetch()
    except ProviderError as exc:
        failure = exc.context.get("failure")
        if failure not in REFUSALS:
            raise  # still done: the next run fetches it again, without paying again
        raise refused_error(jobs.fail(row, str(failure), exc.message), jobs.noun) from None


def wait_for(
    provider: JobProvider, row: JobRow, jobs: JobTable, timeout_s: float, poll_interval_s: float
) -> JobStatus:
    """Poll until done or failed; a timeout leaves the job recorded for the next run."""
    deadline = time.monotonic() + timeout_s
    state = row.state
    while True:
        try:
            with waiting(row.provider, "poll"):
                status = provider.poll(row.job_id)
                if status.state in ("done", "failed"):
                    job_over()  # it runs there no more: its slots free before settling it
        except ProviderError as exc:
            failure = exc.context.get("failure")
            if failure not in REFUSALS:
                raise  # the job stays recorded: the next run polls it again
            return JobStatus("failed", exc.message, cast(Failure, failure))
        if status.state in ("done", "failed"):
            return status
        if status.state == "running" and state != "running":
            state = "running"
            jobs.set_state(row, state)
        if time.monotonic() >= deadline:
            raise ProviderError(
                f"{row.shot_id}: {row.provider} job {row.job_id} is still {status.state} "
                f"after {timeout_s:g}s; run again to resume polling it (it will not "
                "be submitted or paid twice)",
                job_id=row.job_id,
                failure="timeout",
            )
        with waiting(row.provider, "poll"):
            time.sleep(poll_interval_s)
