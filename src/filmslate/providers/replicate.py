"""Replicate adapters: video and image models run as predictions (``_replicate_http`` has the
exchange and how failures are told apart).

The model comes from the catalogue entry (``replicate:kwaivgi/kling-v2.1``,
``replicate:black-forest-labs/flux-dev``): an ``owner/name`` id runs as an official model
(``POST /v1/models/{owner}/{name}/predictions``), an ``owner/name:<version>`` id as a version
(``POST /v1/predictions``). The input is built from the entry's input shape exactly as for fal
(``_fal_input``: prompt, negative prompt, first frame, references, snapped duration, seed,
resolution or aspect ratio, fixed values); images go as data URIs, or through Replicate's files
API when over 1 MB. :meth:`payload` is the same input with every image as ``"sha256:<hex>"``.

Cost: official models bill by output (per image, per second of video), which the catalogue
prices, so ``reported_cost`` is None and settlement uses the catalogue's price. A model billed
by compute time (a community model on its hardware) names its hardware price in the catalogue
(``billing.hardware_per_s``, or ``hardware_price_per_s`` here): its reported cost is
``metrics.predict_time`` x that price.

Replicate takes no client reference, so a prediction cannot be found again by one
(``finds_by_reference`` is False): a create that may have arrived is reported ``maybe_sent``
and a person checks the prediction list (``history_hint``).
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
from ._job_limits import catalogue_price_per_second, refuse_long_clip, refuse_long_prompt
from ._replicate_http import API_URL, DATA_URI_LIMIT, Predictions, output_urls

HISTORY_HINT = (
    "Replicate's prediction list (https://replicate.com/predictions, or GET /v1/predictions): "
    "match the model, the time and the prompt"
)
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".mkv", ".gif")
__all__ = ["ReplicateImageProvider", "ReplicateProvider", "ReplicateVideoProvider"]


J = TypeVar("J", VideoJob, ImageJob)


class _Runs:
    """What both providers share: one model's predictions and the last answer for each."""

    def __init__(
        self,
        model_id: str | None,
        entry: ModelEntry | None,
        http_client: httpx.Client | None,
        settings: dict[str, Any],
    ) -> None:
        model = model_id or (entry.model if entry is not None else "")
        if not model:
            raise ProviderError(
                "a Replicate provider needs a catalogue entry or a model id",
                failure="invalid_input",
            )
        timeout = settings.pop("timeout", None)
        http = http_client if http_client is not None else httpx.Client(timeout=timeout or 60.0)
        self.entry = entry
        hardware = settings.pop("hardware_price_per_s", None)
        if hardware is None and entry is not None:
            hardware = entry.billing.hardware_per_s
        self.hardware_price_per_s: float | None = hardware
        self.api = Predictions(model, http_client=http, **settings)
        self.seen: dict[str, dict[str, Any]] = {}  # prediction id -> its latest answer

    def encode(self, data: bytes, media_type: str) -> str:
        """An image as the input takes it: inline up to 1 MB, else stored first."""
        if len(data) <= DATA_URI_LIMIT:
            return data_uri(data, media_type)
        return self.api.upload(data, media_type)

    def create(self, model_input: dict[str, Any], what: str) -> str:
        prediction = self.api.create(model_input, what)
        self.seen[prediction["id"]] = prediction
        return str(prediction["id"])

    def poll(self, job_id: str) -> JobStatus:
        prediction = self.api.get(job_id)
        self.seen[job_id] = prediction
        return self.api.status_of(prediction)

    def finished(self, job_id: str) -> dict[str, Any]:
        prediction = self.seen.get(job_id)
        if prediction is None or prediction.get("status") != "succeeded":
            prediction = self.api.get(job_id)
            self.seen[job_id] = prediction
        if prediction.get("status") != "succeeded":
            raise ProviderError(
                f"Replicate prediction {job_id} is {prediction.get('status')}, not succeeded",
                failure="download",
            )
        return prediction

    def fetch(self, job_id: str, extensions: tuple[str, ...] = ()) -> bytes:
        urls = output_urls(self.finished(job_id).get("output"))
        chosen = [u for u in urls if u.split("?", 1)[0].lower().endswith(extensions)] or urls
        if not chosen:
            raise ProviderError(
                f"Replicate prediction {job_id} succeeded without an output file", failure="other"
            )
        return self.api.fetch(chosen[0])

    def reported_cost(self, job_id: str) -> float | None:
        if self.hardware_price_per_s is None:
            return None  # billed by output: the catalogue's price is the cost
        seconds = (self.finished(job_id).get("metrics") or {}).get("predict_time")
        if not isinstance(seconds, int | float) or seconds < 0:
            return None
        return round(float(seconds) * self.hardware_price_per_s, 6)


class _ReplicateModel(Generic[J]):
    """What Replicate's video and image providers share: one model's predictions (its
    settings), its catalogue entry, and the predictions' status, cancel and compute cost."""

    name: ClassVar[str] = "replicate"
    history_hint: ClassVar[str] = HISTORY_HINT

    def __init__(
        self,
        model_id: str | None = None,
        api_key_env: str = "REPLICATE_API_TOKEN",
        *,
        http_client: httpx.Client | None = None,
        entry: ModelEntry | None = None,
        base_url: str = API_URL,
        timeout: float | None = None,
        wait_s: int | None = None,
        hardware_price_per_s: float | None = None,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings: dict[str, Any] = {
            "base_url": base_url,
            "api_key_env": api_key_env,
            "timeout": timeout,
            "wait_s": wait_s,
            "hardware_price_per_s": hardware_price_per_s,
            "max_retries": max_retries,
            "backoff_s": backoff_s,
            "sleep": sleep,
        }
        self.runs = _Runs(model_id, entry, http_client, settings)
        self.entry = entry
        self.model_id = self.runs.api.model
        self.api_key_env = api_key_env

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, api_key_env={self.api_key_env!r})"

    def input(self, job: J, encode: Callable[[bytes, str], str]) -> dict[str, Any]:
        """The model input for ``job`` with images written by ``encode``."""
        if isinstance(job, VideoJob):
            return video_input(self.entry, job, encode)
        return image_input(self.entry, job, encode)

    def payload(self, job: J) -> dict[str, object]:
        """What ``submit`` sends, every image as ``"sha256:<hex>"``."""
        return {"model": self.model_id, "input": self.input(job, digest)}

    def poll(self, job_id: str) -> JobStatus:
        """starting -> queued, processing -> running, succeeded -> done, else failed (why)."""
        return self.runs.poll(job_id)

    def cancel(self, job_id: str) -> None:
        """Cancel the prediction (one that ran is still billed for its run time)."""
        self.runs.api.cancel(job_id)

    def reported_cost(self, job_id: str) -> float | None:
        """predict_time x the hardware price, for a model billed by compute; else None."""
        return self.runs.reported_cost(job_id)


class ReplicateProvider(_ReplicateModel[VideoJob], VideoProvider):
    """A video model on Replicate, run as a prediction (see the module docs); ``settings``
    are those of every Replicate provider (``model_id``, ``api_key_env``, ``http_client``,
    ``entry``, ``base_url``, ``timeout``, ``wait_s``, ``hardware_price_per_s``,
    ``max_retries``, ``backoff_s``, ``sleep``)."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"text_to_video", "image_to_video"})

    def __init__(self, *args: Any, price_per_second: float | None = None, **settings: Any) -> None:
        super().__init__(*args, **settings)
        self.price = price_per_second
        if self.entry is not None:
            self.max_clip_s = max(self.entry.allowed_durations())  # type: ignore[misc]

    def submit(self, job: VideoJob) -> str:
        """Create the prediction; returns its id (too long a prompt or clip is refused unsent)."""
        refuse_long_prompt(job.shot_id, job.prompt, self.model_id, self.entry)
        refuse_long_clip(job.shot_id, job.duration_s, self.model_id, self.max_clip_s)
        return self.runs.create(self.input(job, self.runs.encode), job.shot_id)

    def download(self, job_id: str) -> bytes:
        """The output video (fetched without the token unless it is on the API host)."""
        return self.runs.fetch(job_id, VIDEO_EXTENSIONS)

    def price_per_second(self, width: int, height: int) -> float:
        """The configured price, else the catalogue's for the shortest clip, per second."""
        return catalogue_price_per_second(self.price, self.entry, width, height)


ReplicateVideoProvider = ReplicateProvider


class ReplicateImageProvider(_ReplicateModel[ImageJob], ImageProvider):
    """An image model on Replicate: reference sheets, storyboard frames, first frames."""

    def submit(self, job: ImageJob) -> str:
        """Create the prediction; returns its id (too long a prompt is refused unsent)."""
        refuse_long_prompt(job.key, job.prompt, self.model_id, self.entry)
        return self.runs.create(self.input(job, self.runs.encode), job.key)

    def download(self, job_id: str) -> bytes:
        """The first output image."""
        return self.runs.fetch(job_id)
