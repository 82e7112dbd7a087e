"""The image-generation provider interface: reference sheets, storyboard frames, first frames.

An image provider has the video provider's shape (submit, poll, download, find) so the same
discipline applies to every paid image: reserved before, the submission intent recorded before
the call, the job id recorded before waiting, settled after, never submitted twice. Prices come
from the model catalogue (``core._catalogue``: per image or per megapixel).

Skills never hold a provider: a skill that makes images asks the :class:`ImageMaker` the
runner passes in ``ctx.params["images"]``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, runtime_checkable

from ._video import JobStatus, Reference

# What an image is for; [images] in filmslate.toml may route each use to its own model.
ImageUse = Literal["sheet", "storyboard", "first_frame"]


@dataclass(frozen=True)
class ImageJob:
    """One image to generate."""

    key: str  # what it is for: "CHAR_NELL_REF", "SET_KITCHEN_REF", "S01_SH02"
    prompt: str
    width: int
    height: int
    use: ImageUse = "sheet"
    negative_prompt: str = ""
    references: tuple[Reference, ...] = ()  # sheets the model is given, where it takes them
    seed: int = 0
    reference: str = ""  # the client reference its submission intent was recorded under
    model: str = ""  # the catalogue key ("fal:fal-ai/flux/dev")


class ImageProvider(abc.ABC):
    """An image model or local image engine."""

    name: ClassVar[str]
    offline: ClassVar[bool] = False  # runs on this machine: a resubmission bills nothing
    finds_by_reference: ClassVar[bool] = False  # implements find()
    history_hint: ClassVar[str] = "the provider's request history"

    @abc.abstractmethod
    def submit(self, job: ImageJob) -> str:
        """Start a job; returns the provider's job id."""

    @abc.abstractmethod
    def poll(self, job_id: str) -> JobStatus:
        """The job's current state."""

    @abc.abstractmethod
    def download(self, job_id: str) -> bytes:
        """The finished image (PNG or JPEG bytes)."""

    def find(self, reference: str) -> str | None:
        """The id of the job submitted with this client reference, or None."""
        raise NotImplementedError(f"{self.name} cannot look a job up by its reference")

    def reported_cost(self, job_id: str) -> float | None:
        """What the provider says the job cost (USD), or None: the catalogue's price is used."""
        return None

    def payload(self, job: ImageJob) -> dict[str, object]:
        """The exact input ``submit`` sends, every image replaced by its sha256."""
        return {"prompt": job.prompt, "seed": job.seed, "size": f"{job.width}x{job.height}"}

    def discard(self, job_id: str) -> None:
        """Forget any local copy of the job's image (it did not decode)."""
        return None


@runtime_checkable
class ImageMaker(Protocol):
    """What a skill may ask of the image service the runner passes it."""

    def offline(self, use: ImageUse) -> bool:
        """True when ``use`` is served by no image model: the skill draws its schematic."""
        ...

    def image(self, job: ImageJob, skill: str = "") -> bytes:
        """The image for a job, routed by its use, metered and resumable (PNG bytes)."""
        ...
