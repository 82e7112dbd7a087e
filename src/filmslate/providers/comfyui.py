"""ComfyUI adapters: a pinned workflow queued on a ComfyUI server you run, for video and images.

The catalogue's ComfyUI entries (``core/catalogue/comfyui.toml``: ``comfyui:wan2.2-i2v-14b``
for video, ``comfyui:flux-dev`` for images) name a workflow template shipped as package data
(``providers/comfyui_workflows/<id>.json``, pinned in :mod:`._comfyui_workflow`;
``comfyui:flux-kontext-dev`` is the reference-guided image workflow); a project can
give its own API-format workflow with its sha256 instead. The routes and how their failures are
classified are in :mod:`._comfyui_http`.

A submission uploads the first frame and the reference images first (``POST /upload/image``,
each under a name made from its digest), fills the template's placeholders from the job and
the catalogue entry, and queues it (``POST /prompt``) under the job's client reference, both as
the ``prompt_id`` (kept by current servers) and in ``extra_data`` (kept by every server), so a
run killed before it recorded the answer finds the prompt again (:meth:`find`) instead of
queueing it twice. ComfyUI does not refuse a repeated id: the lookup is what prevents a second
render.

What a job fills, by placeholder:

- ``{{prompt}}``, ``{{negative_prompt}}``, ``{{seed}}``; ``{{shot_id}}`` (video) or ``{{key}}``
  (image) for file names;
- ``{{width}}`` and ``{{height}}``: for a video entry with native resolutions, the smallest one
  that covers the job's frame (in the job's orientation; the conform step scales down, never
  up); otherwise the job's frame, for an image rounded up to a multiple of 16 (FLUX's latent);
- ``{{frames}}``: the entry's ``duration_input`` when it sends frames (Wan: 5 s -> 81), else
  the job's seconds x fps; ``{{fps}}`` the entry's frame rate, else the job's; ``{{duration_s}}``
  the snapped length;
- ``{{image}}``: the uploaded first frame; ``{{reference_1}}`` ... ``{{reference_N}}``: the
  uploaded references, one per slot the template has (at most the entry's max_references);
  fewer references than slots fill them again in order, more are left out. A catalogue
  workflow that loads a first frame or references refuses a job without them before anything
  is sent (its LoadImage would refuse an empty name).

The hardware is yours: ``offline`` is False (the server is not this process, and a job it ran
cannot be told from a new one by resubmitting) but the price is 0 unless configured.
"""

from __future__ import annotations

import abc
import hashlib
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from ..core._catalogue import ModelEntry
from ..core._errors import ProviderError
from ..engine._images import ImageJob, ImageProvider
from ..engine._video import JobStatus, Reference, VideoJob, VideoProvider
from ._comfyui_http import ComfyUIClient
from ._comfyui_workflow import (
    check_pin,
    fill,
    placeholders,
    shipped_workflow,
    upload_name,
    workflow_hash,
)
from ._job_limits import refuse_long_clip

DEFAULT_URL = "http://127.0.0.1:8188"
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".mkv", ".gif", ".webp")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
HISTORY_HINT = "the ComfyUI server's queue and history"
__all__ = [
    "ComfyUIImageProvider",
    "ComfyUIProvider",
    "ComfyUIVideoProvider",
    "fill_workflow",
    "workflow_hash",
]


@dataclass(frozen=True)
class _Upload:
    slot: str  # the placeholder: "image", "reference_1", ...
    data: bytes
    name: str  # the name it is uploaded under (from its digest)
    media_type: str


class _Workflow:
    """A pinned template on one server: uploads, fills and queues jobs."""

    def __init__(
        self,
        entry: ModelEntry | None,
        workflow: dict[str, Any] | None,
        workflow_sha256: str | None,
        client: ComfyUIClient,
        client_id: str,
    ) -> None:
        if workflow is None:
            if entry is None:
                raise ProviderError(
                    "a ComfyUI provider needs a catalogue entry or a workflow and its sha256",
                    failure="invalid_input",
                )
            workflow, shipped_pin = shipped_workflow(entry.model)
            workflow_sha256 = workflow_sha256 or shipped_pin
        if not workflow_sha256:
            raise ProviderError("a ComfyUI workflow needs its sha256 pin", failure="invalid_input")
        check_pin(workflow, workflow_sha256)
        self.entry = entry
        self.template = workflow
        self.pin = workflow_sha256.lower()
        self.slots = placeholders(workflow)
        self.client = client
        self.client_id = client_id

    def uploads(
        self, first: bytes | None, references: tuple[Reference, ...], stem: str
    ) -> list[_Upload]:
        """The images the template takes, in upload order."""
        found: list[_Upload] = []
        if "image" in self.slots and first is not None:
            found.append(_Upload("image", first, upload_name(first, stem), "image/png"))
        elif "image" in self.slots and self.entry is not None:
            # a catalogue workflow's LoadImage refuses an empty name: say so before queueing
            raise ProviderError(
                f"{stem}: the ComfyUI workflow takes a first frame ({{{{image}}}}) and the "
                "job has none: make the shot's storyboard first, or route it to a text-to-video "
                "workflow",
                failure="invalid_input",
            )
        slots = self._reference_slots()
        if slots and not references and self.entry is not None:
            raise ProviderError(
                f"{stem}: the ComfyUI workflow takes reference images ({{{{reference_1}}}}) and "
                "the job has none: route jobs without sheets to a text-to-image model",
                failure="invalid_input",
            )
        for index in range(1, slots + 1 if references else 1):
            # more slots than references: the references fill them again, in order
            ref = references[(index - 1) % len(references)]
            name = upload_name(ref.data, f"{stem}_ref{index}")
            found.append(_Upload(f"reference_{index}", ref.data, name, ref.media_type))
        return found

    def _reference_slots(self) -> int:
        """How many reference images the template loads (``{{reference_1}}`` on), at most the
        entry's ``max_references`` when it names references."""
        count = 0
        while f"reference_{count + 1}" in self.slots:
            count += 1
        shape = self.entry.input if self.entry is not None else None
        if shape is not None and shape.references:
            count = min(count, shape.max_references)
        return count

    def queue(
        self,
        numbers: dict[str, int | float],
        texts: dict[str, str],
        uploads: list[_Upload],
        reference: str,
    ) -> str:
        stored = {up.slot: self.client.upload(up.data, up.name, up.media_type) for up in uploads}
        graph = fill(self.template, numbers, {**texts, **stored})
        return self.client.queue_prompt(graph, reference, self.client_id)

    def payload(
        self,
        numbers: dict[str, int | float],
        texts: dict[str, str],
        uploads: list[_Upload],
        reference: str,
    ) -> dict[str, object]:
        """What queue() sends, images by their sha256 (and the names they are uploaded under)."""
        graph = fill(self.template, numbers, {**texts, **{up.slot: up.name for up in uploads}})
        return {
            "workflow": graph,
            "workflow_sha256": self.pin,
            "images": {up.slot: hashlib.sha256(up.data).hexdigest() for up in uploads},
            "client_id": self.client_id,
            "prompt_id": reference,
        }


J = TypeVar("J", VideoJob, ImageJob)
Parts = tuple[dict[str, int | float], dict[str, str], list[_Upload]]


class _ComfyUIModel(Generic[J]):
    """What ComfyUI's video and image providers share: one pinned workflow on one server,
    queued, found again by its client reference, polled, fetched and cancelled."""

    name: ClassVar[str] = "comfyui"
    finds_by_reference: ClassVar[bool] = True
    history_hint: ClassVar[str] = HISTORY_HINT
    outputs: ClassVar[tuple[tuple[str, ...], str]]  # the output files' extensions, and what

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        workflow: dict[str, Any] | None = None,
        workflow_sha256: str | None = None,
        http_client: httpx.Client | None = None,
        client_id: str = "filmslate",
        *,
        entry: ModelEntry | None = None,
        timeout: float | None = None,
        api_key_env: str | None = None,
    ) -> None:
        http = http_client if http_client is not None else httpx.Client(timeout=timeout or 60.0)
        client = ComfyUIClient(base_url, http, timeout=timeout, api_key_env=api_key_env)
        self.flow = _Workflow(entry, workflow, workflow_sha256, client, client_id)
        self.entry = entry
        self.base_url = client.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def submit(self, job: J) -> str:
        """Upload the images, queue the filled workflow; returns ComfyUI's prompt id."""
        self._check(job)
        numbers, texts, uploads = self._parts(job)
        return self.flow.queue(numbers, texts, uploads, job.reference)

    def payload(self, job: J) -> dict[str, object]:
        """The workflow ``submit`` queues for ``job``, images as their sha256."""
        return self.flow.payload(*self._parts(job), job.reference)

    def find(self, reference: str) -> str | None:
        """The prompt queued under this client reference, or None when it never arrived."""
        return self.flow.client.find(reference)

    def poll(self, job_id: str) -> JobStatus:
        """Queued, running, done, or failed with its kind."""
        return self.flow.client.status(job_id)

    def download(self, job_id: str) -> bytes:
        """The first output file of the job's kind among the prompt's outputs."""
        return self.flow.client.output(job_id, *self.outputs)

    def cancel(self, job_id: str) -> None:
        """Drop the prompt from the queue, or interrupt it when it runs."""
        self.flow.client.cancel(job_id)

    def _check(self, job: J) -> None:
        """Refuse locally, before anything is sent, what the workflow cannot render."""

    @abc.abstractmethod
    def _parts(self, job: J) -> Parts:
        """The placeholders' numbers and texts, and the images to upload, for ``job``."""


class ComfyUIProvider(_ComfyUIModel[VideoJob], VideoProvider):
    """A video workflow on a ComfyUI server you own (see the module docs); ``settings``:
    ``entry``, ``timeout`` and ``api_key_env``, as for every ComfyUI provider."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"text_to_video", "image_to_video"})
    outputs = (VIDEO_EXTENSIONS, "a video")

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        workflow: dict[str, Any] | None = None,
        workflow_sha256: str | None = None,
        http_client: httpx.Client | None = None,
        price_per_second: float = 0.0,
        client_id: str = "filmslate",
        **settings: Any,
    ) -> None:
        super().__init__(base_url, workflow, workflow_sha256, http_client, client_id, **settings)
        self.price = price_per_second
        if self.entry is not None and self.entry.kind == "video":
            self.max_clip_s = max(self.entry.allowed_durations())  # type: ignore[misc]

    def price_per_second(self, width: int, height: int) -> float:
        """The configured figure: 0 by default (your own GPU has no marginal price)."""
        return self.price

    def _check(self, job: VideoJob) -> None:
        if self.entry is not None:
            # the model would render its longest clip, which the conform step refuses as short
            refuse_long_clip(job.shot_id, job.duration_s, self.entry.key, self.max_clip_s)

    def _parts(self, job: VideoJob) -> Parts:
        entry = self.entry
        width, height = _video_size(entry, job.width, job.height)
        fps = entry.fps if entry is not None and entry.fps else job.fps
        seconds = entry.snap_duration(job.duration_s) if entry is not None else job.duration_s
        frames: int | float = max(1, math.ceil(seconds * fps))
        if entry is not None and entry.input.duration_format == "frames":
            frames = int(entry.duration_input(job.duration_s))
        numbers: dict[str, int | float] = {
            "seed": job.seed,
            "width": width,
            "height": height,
            "fps": fps,
            "frames": frames,
            "duration_s": seconds,
        }
        texts = {
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "shot_id": job.shot_id,
            "key": job.shot_id,
        }
        return numbers, texts, self.flow.uploads(job.image, job.references, job.shot_id)


ComfyUIVideoProvider = ComfyUIProvider


class ComfyUIImageProvider(_ComfyUIModel[ImageJob], ImageProvider):
    """An image workflow on a ComfyUI server you own (see the module docs)."""

    outputs = (IMAGE_EXTENSIONS, "an image")

    def _parts(self, job: ImageJob) -> Parts:
        numbers: dict[str, int | float] = {
            "seed": job.seed,
            "width": _multiple_of_16(job.width),
            "height": _multiple_of_16(job.height),
        }
        texts = {
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "key": job.key,
            "shot_id": job.key,
        }
        first, references = None, job.references
        if "image" in self.flow.slots and references:  # an edit workflow: the first reference
            first, references = references[0].data, references[1:]
        return numbers, texts, self.flow.uploads(first, references, job.key)


def fill_workflow(workflow: dict[str, Any], job: VideoJob, image_name: str = "") -> Any:
    """A copy of the workflow with a video job's values in its placeholders (no catalogue
    entry: the job's own frame, fps and seconds)."""
    numbers: dict[str, int | float] = {
        "seed": job.seed,
        "width": job.width,
        "height": job.height,
        "fps": job.fps,
        "frames": max(1, math.ceil(job.duration_s * job.fps)),
        "duration_s": job.duration_s,
    }
    texts = {
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "shot_id": job.shot_id,
        "key": job.shot_id,
        "image": image_name,
    }
    return fill(workflow, numbers, texts)


def _video_size(entry: ModelEntry | None, width: int, height: int) -> tuple[int, int]:
    if entry is None or not entry.resolutions:
        return width, height
    tier = entry.resolution_for(width, height)
    native_w, native_h = entry.resolutions[tier] if tier else (width, height)
    long_side, short_side = max(native_w, native_h), min(native_w, native_h)
    return (short_side, long_side) if height > width else (long_side, short_side)


def _multiple_of_16(value: int) -> int:
    return max(16, -(-value // 16) * 16)
