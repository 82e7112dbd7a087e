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
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from ..core._catalogue import ModelEntry
from ..core._errors import ProviderError
from ..engine._images import ImageJob, ImageProvider
from ..engine._video import JobStatus, VideoJob, VideoProvider
from ._fal_input import data_uri, digest, image_input, video_input
from ._fal_queue import QUEUE_URL, FalQueue
from ._job_limits import catalogue_price_per_second, refuse_long_clip, refuse_long_prompt

__all__ = ["QUEUE_URL", "FalImageProvider", "FalProvider"]

HISTORY_HINT = (
    "fal's request history (https://fal.ai/dashboard/requests; the request carries the "
    "usage tag filmslate_ref=<reference>)"
)
# Units x-fal-billable-units counts that match a catalogue price one to one.
_UNIT_PRICED = ("per_second", "per_image", "per_megapixel")


J = TypeVar("J", VideoJob, ImageJob)


class _FalModel(Generic[J]):
    """What fal's video and image providers share: one model's queue, its catalogue entry,
    the input's fixed values, and the queue's status, cancel and billed units."""

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
        model = model_id or (entry.model if entry is not None else "")
        if not model:
            raise ProviderError("a fal provider needs a model id or a catalogue entry")
        self.entry = entry
        self.queue = FalQueue(
            model,
            http_client=http_client,
            base_url=base_url,
            api_key_env=api_key_env,
            max_retries=max_retries,
            backoff_s=backoff_s,
            sleep=sleep,
        )
        self.model_id = self.queue.model_id
        self.api_key_env = api_key_env
        self.extra_input = dict(extra_input or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, api_key_env={self.api_key_env!r})"

    def input(self, job: J, encode: Callable[[bytes, str], str]) -> dict[str, Any]:
        """The model input for ``job`` with images written by ``encode``."""
        if isinstance(job, VideoJob):
            return {**video_input(self.entry, job, encode), **self.extra_input}
        return {**image_input(self.entry, job, encode), **self.extra_input}

    def payload(self, job: J) -> dict[str, object]:
        """What ``submit`` sends, every image as ``"sha256:<hex>"``."""
        return self.input(job, digest)

    def poll(self, job_id: str) -> JobStatus:
        """IN_QUEUE -> queued, IN_PROGRESS -> running, COMPLETED -> done (or failed, with why)."""
        return self.queue.status(job_id)

    def cancel(self, job_id: str) -> bool:
        """Ask fal to cancel a queued request; True when it accepted."""
        return self.queue.cancel(job_id)

    def reported_cost(self, job_id: str) -> float | None:
        """fal's billed units times the catalogue's unit price, when both say (module docs)."""
        units = self.queue.billed_units.get(job_id)
        if units is None or self.entry is None:
            return None
        billing = self.entry.billing
        if billing.unit not in _UNIT_PRICED or billing.price is None or billing.by_resolution:
            return None
        return round(units * billing.price, 6)


class FalProvider(_FalModel[VideoJob], VideoProvider):
    """A video model hosted on fal.ai (see the module docs); ``settings`` are those of every
    fal provider (``model_id``, ``api_key_env``, ``http_client``, ``entry``, ``base_url``,
    ``max_retries``, ``backoff_s``, ``extra_input``, ``sleep``)."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"text_to_video", "image_to_video"})

    def __init__(
        self,
        *args: Any,
        price_per_second: float | None = None,
        max_clip_s: float | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(*args, **settings)
        self.price = price_per_second
        longest = max(self.entry.allowed_durations()) if self.entry is not None else 10.0
        self.max_clip_s = max_clip_s or longest  # type: ignore[misc]

    def submit(self, job: VideoJob) -> str:
        """Queue the job; returns fal's request id. Refused locally, with nothing sent, when
        fal would refuse it (and might bill): too long a clip or prompt."""
        refuse_long_clip(job.shot_id, job.duration_s, self.model_id, self.max_clip_s)
        refuse_long_prompt(job.shot_id, job.prompt, self.model_id, self.entry)
        return self.queue.submit(self.input(job, data_uri), job.reference, job.shot_id)

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

    def price_per_second(self, width: int, height: int) -> float:
        """The configured price, else the catalogue's for the shortest clip, per second."""
        return catalogue_price_per_second(self.price, self.entry, width, height)


class FalImageProvider(_FalModel[ImageJob], ImageProvider):
    """An image model hosted on fal.ai: reference sheets, storyboard frames, first frames."""

    def submit(self, job: ImageJob) -> str:
        """Queue the job; returns fal's request id (too long a prompt is refused unsent)."""
        refuse_long_prompt(job.key, job.prompt, self.model_id, self.entry)
        return self.queue.submit(self.input(job, data_uri), job.reference, job.key)

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
