"""fal.ai video and image models, driven through fal's queue (submit, status, result, file).

:class:`FalProvider` (a :class:`VideoProvider`) and :class:`FalImageProvider` (an
:class:`ImageProvider`) build each job's input from the model's catalogue entry
(``providers._fal_input``: prompt, negative prompt, first frame, reference sheets as a URL list
or Kling elements, snapped duration, seed, resolution, aspect ratio, size, fixed values) and
speak the queue through ``providers._fal_queue`` (the exchange, the retries and how a failure
is classified: refusal, invalid input, timeout, server, download, auth).

``payload(job)`` is the exact JSON ``submit`` sends, with every image replaced by
``"sha256:<hex>"`` of its bytes: the render service records it before sending. The key is
read from the environment (``api_key_env``, default ``FAL_KEY``) at the first paid call; a
missing key is an ``auth`` failure then, never at config load. ``base_url`` points at fal's
queue (``https://queue.fal.run``) or anything that speaks it (a gateway, a local test server).

fal's queue takes no idempotency key, so a submit that may have arrived is reported with
``maybe_sent`` and the job's client reference goes along as a usage tag
(``X-Fal-Tags: filmslate_ref=<reference>``) for a person to find it in fal's request history.
``reported_cost`` is the result's ``x-fal-billable-units`` times the catalogue's unit price,
for the units fal bills by (seconds, images, megapixels) when the entry has one price; None
otherwise, and the catalogue's price settles the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from ..core._catalogue import ModelEntry
from ..core._errors import ProviderError
from ..engine._images import ImageJob, ImageProvider
from ..engine._video import JobStatus, VideoJob, VideoProvider
from ._fal_input import data_uri, digest, image_input, video_input
from ._fal_queue import QUEUE_URL, FalQueue

__all__ = ["QUEUE_URL", "FalImageProvider", "FalProvider"]

HISTORY_HINT = (
    "fal's request history (https://fal.ai/dashboard/requests; the request carries the "
    "usage tag filmslate_ref=<reference>)"
)
# Units x-fal-billable-units counts that match a catalogue price one to one.
_UNIT_PRICED = ("per_second", "per_image", "per_megapixel")


def _queue(
    model_id: str | None,
    entry: ModelEntry | None,
    http_client: httpx.Client,
    base_url: str,
    api_key_env: str,
    max_retries: int,
    backoff_s: float,
    sleep: Callable[[float], None],
) -> FalQueue:
    model = model_id or (entry.model if entry is not None else "")
    if not model:
        raise ProviderError("a fal provider needs a model id or a catalogue entry")
    return FalQueue(
        model,
        http_client=http_client,
        base_url=base_url,
        api_key_env=api_key_env,
        max_retries=max_retries,
        backoff_s=backoff_s,
        sleep=sleep,
    )


def _reported(queue: FalQueue, entry: ModelEntry | None, request_id: str) -> float | None:
    units = queue.billed_units.get(request_id)
    if units is None or entry is None:
        return None
    billing = entry.billing
    if billing.unit not in _UNIT_PRICED or billing.price is None or billing.by_resolution:
        return None
    return round(units * billing.price, 6)


class FalProvider(VideoProvider):
    """A video model hosted on fal.ai (see the module docs)."""

    name: ClassVar[str] = "fal"
    capabilities: ClassVar[frozenset[str]] = frozenset({"text_to_video", "image_to_video"})
    history_hint: ClassVar[str] = HISTORY_HINT

    def __init__(
        self,
        model_id: str | None = None,
        api_key_env: str = "FAL_KEY",
        *,
        http_client: httpx.Client,
        entry: ModelEntry | None = None,
        base_url: str = QUEUE_URL,
        price_per_second: float | None = None,
        max_clip_s: float | None = None,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        extra_input: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.entry = entry
        self.queue = _queue(
            model_id, entry, http_client, base_url, api_key_env, max_retries, backoff_s, sleep
        )
        self.model_id = self.queue.model_id
        self.api_key_env = api_key_env
        self.price = price_per_second
        longest = max(entry.allowed_durations()) if entry is not None else 10.0
        self.max_clip_s = max_clip_s or longest  # type: ignore[misc]
        self.extra_input = dict(extra_input or {})

    def __repr__(self) -> str:
        return f"FalProvider({self.model_id!r}, api_key_env={self.api_key_env!r})"

    def input(self, job: VideoJob, encode: Callable[[bytes, str], str]) -> dict[str, Any]:
        """The model input for ``job`` with images written by ``encode``."""
        return {**video_input(self.entry, job, encode), **self.extra_input}

    def payload(self, job: VideoJob) -> dict[str, object]:
        """What ``submit`` sends, every image as ``"sha256:<hex>"``."""
        return self.input(job, digest)

    def submit(self, job: VideoJob) -> str:
        """Queue the job; returns fal's request id."""
        self._check(job)
        return self.queue.submit(self.input(job, data_uri), job.reference, job.shot_id)

    def poll(self, job_id: str) -> JobStatus:
        """IN_QUEUE -> queued, IN_PROGRESS -> running, COMPLETED -> done (or failed, with why)."""
        return self.queue.status(job_id)

    def download(self, job_id: str) -> bytes:
        """Fetch the result, then the video file it points to (from the CDN, without the key)."""
        body = self.queue.result(job_id)
        video = body.get("video")
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str):
            raise ProviderError(
                f"fal's result for request {job_id} has no video url", failure="other"
            )
        return self.queue.fetch(url, job_id)

    def cancel(self, job_id: str) -> bool:
        """Ask fal to cancel a queued request; True when it accepted."""
        return self.queue.cancel(job_id)

    def reported_cost(self, job_id: str) -> float | None:
        """fal's billed units times the catalogue's unit price, when both say (module docs)."""
        return _reported(self.queue, self.entry, job_id)

    def price_per_second(self, width: int, height: int) -> float:
        """The configured price, else the catalogue's for the shortest clip, per second."""
        if self.price is not None or self.entry is None:
            return self.price or 0.0
        seconds = self.entry.allowed_durations()[0]
        return round(self.entry.cost(seconds, width, height) / seconds, 6)

    def _check(self, job: VideoJob) -> None:
        """Refuse locally what fal would refuse (and might bill): nothing is sent."""
        limit = self.entry.max_prompt_chars if self.entry is not None else None
        if job.duration_s > self.max_clip_s + 1e-3:
            raise ProviderError(
                f"{job.shot_id}: {job.duration_s}s exceeds {self.model_id}'s "
                f"{self.max_clip_s:g}s clip limit",
                failure="invalid_input",
                maybe_sent=False,
            )
        if limit is not None and len(job.prompt) > limit:
            raise ProviderError(
                f"{job.shot_id}: the prompt has {len(job.prompt)} characters, over "
                f"{self.model_id}'s {limit}",
                failure="invalid_input",
                maybe_sent=False,
            )


class FalImageProvider(ImageProvider):
    """An image model hosted on fal.ai: reference sheets, storyboard frames, first frames."""

    name: ClassVar[str] = "fal"
    history_hint: ClassVar[str] = HISTORY_HINT

    def __init__(
        self,
        model_id: str | None = None,
        api_key_env: str = "FAL_KEY",
        *,
        http_client: httpx.Client,
        entry: ModelEntry | None = None,
        base_url: str = QUEUE_URL,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        extra_input: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.entry = entry
        self.queue = _queue(
            model_id, entry, http_client, base_url, api_key_env, max_retries, backoff_s, sleep
        )
        self.model_id = self.queue.model_id
        self.api_key_env = api_key_env
        self.extra_input = dict(extra_input or {})

    def __repr__(self) -> str:
        return f"FalImageProvider({self.model_id!r}, api_key_env={self.api_key_env!r})"

    def input(self, job: ImageJob, encode: Callable[[bytes, str], str]) -> dict[str, Any]:
        """The model input for ``job`` with images written by ``encode``."""
        return {**image_input(self.entry, job, encode), **self.extra_input}

    def payload(self, job: ImageJob) -> dict[str, object]:
        """What ``submit`` sends, every image as ``"sha256:<hex>"``."""
        return self.input(job, digest)

    def submit(self, job: ImageJob) -> str:
        """Queue the job; returns fal's request id."""
        limit = self.entry.max_prompt_chars if self.entry is not None else None
        if limit is not None and len(job.prompt) > limit:
            raise ProviderError(
                f"{job.key}: the prompt has {len(job.prompt)} characters, over "
                f"{self.model_id}'s {limit}",
                failure="invalid_input",
                maybe_sent=False,
            )
        return self.queue.submit(self.input(job, data_uri), job.reference, job.key)

    def poll(self, job_id: str) -> JobStatus:
        """The request's state (see :class:`FalProvider`)."""
        return self.queue.status(job_id)

    def download(self, job_id: str) -> bytes:
        """The first image of the result (PNG or JPEG bytes), from the CDN without the key.

        A result whose safety checker flagged the image (``has_nsfw_concepts``) is a refusal:
        fal blacks such an image out, so it is never taken as a picture."""
        body = self.queue.result(job_id)
        flagged = body.get("has_nsfw_concepts")
        if isinstance(flagged, list) and any(flag is True for flag in flagged):
            raise ProviderError(
                f"fal's safety checker flagged the image of request {job_id}",
                failure="refusal",
            )
        images = body.get("images")
        first = images[0] if isinstance(images, list) and images else None
        url = first.get("url") if isinstance(first, dict) else None
        if not isinstance(url, str):
            raise ProviderError(
                f"fal's result for request {job_id} has no image url", failure="other"
            )
        data = self.queue.fetch(url, job_id)
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data[:3] == b"\xff\xd8\xff"):
            raise ProviderError(
                f"the image of fal request {job_id} is neither PNG nor JPEG", failure="download"
            )
        return data

    def cancel(self, job_id: str) -> bool:
        """Ask fal to cancel a queued request; True when it accepted."""
        return self.queue.cancel(job_id)

    def reported_cost(self, job_id: str) -> float | None:
        """fal's billed units times the catalogue's unit price, when both say."""
        return _reported(self.queue, self.entry, job_id)
