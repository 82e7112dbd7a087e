"""The image-generation provider interface: reference sheets, storyboard frames, first frames.

An image provider has the video provider's shape (submit, poll, download, find) so the same
discipline applies to every paid image: reserved before, the submission intent recorded before
the call, the job id recorded before waiting, settled after, never submitted twice. Prices come
from the model catalogue (``core._catalogue``: per image or per megapixel).

Skills never hold a provider: a skill that makes images asks the :class:`ImageMaker` the
runner passes in ``ctx.params["images"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from ._video import JobProvider, Reference

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


class ImageProvider(JobProvider[ImageJob]):
    """An image model or local image engine; ``download`` returns the image (PNG or JPEG)."""

    def payload(self, job: ImageJob) -> dict[str, object]:
        """The exact input ``submit`` sends, every image replaced by its sha256."""
        return {"prompt": job.prompt, "seed": job.seed, "size": f"{job.width}x{job.height}"}


@runtime_checkable
class ImageMaker(Protocol):
    """What a skill may ask of the image service the runner passes it."""

    def offline(self, use: ImageUse) -> bool:
        """True when ``use`` is served by no image model: the skill draws its schematic."""
        ...

    def image(self, job: ImageJob, skill: str = "") -> bytes:
        """The image for a job, routed by its use, metered and resumable (PNG bytes)."""
        ...
