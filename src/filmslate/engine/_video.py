"""The video-generation provider interface: submit, poll, download, price.

A provider is a small class with the four methods below and its capabilities as class
attributes. Job ids are returned by ``submit`` so the caller can record them before waiting:
after a crash the run polls the same job instead of paying again.

The one window left is the submit call itself: a process killed after sending a job but
before recording its id. The render service records an intent with a client reference
(``VideoJob.reference``) before calling ``submit``; a resumed run settles such an intent by
the provider's kind: one that can look a job up by that reference (``finds_by_reference``)
is asked with :meth:`VideoProvider.find`; an ``offline`` one (nothing billed outside this
machine) is simply submitted again; any other is never resubmitted blindly: the run stops
and names the job for a person to check.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, Literal, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from ..schemas import GenPack, ShotRow

JobState = Literal["queued", "running", "done", "failed"]
ResolutionTier = Literal["proxy", "final"]
# Why a job or a call failed, told apart from the vendor's status and body (issue 12 §8):
# a refusal or invalid input is never resubmitted unchanged; a timeout or server failure may
# be retried only where nothing was billed; a download failure is retried without paying again.
Failure = Literal["refusal", "invalid_input", "timeout", "server", "download", "auth", "other"]


@dataclass(frozen=True)
class Reference:
    """An image sent with a job: a character or set sheet, or a first frame."""

    label: str  # what it is, e.g. "CHAR_NELL_REF_v002" or "storyboard S01_SH02"
    data: bytes  # PNG or JPEG bytes
    media_type: str = "image/png"


@dataclass(frozen=True)
class VideoJob:
    """One clip to generate."""

    shot_id: str
    prompt: str
    duration_s: float
    width: int
    height: int
    fps: int
    image: bytes | None = None  # the first frame, for image-to-video
    seed: int = 0
    reference: str = ""  # the client reference its submission intent was recorded under
    negative_prompt: str = ""  # the GenPack's forbidden drift, where the model takes one
    references: tuple[Reference, ...] = ()  # character and set sheets, where it takes them
    model: str = ""  # the catalogue key ("fal:fal-ai/..."); "" for a model outside it
    audio: bytes | None = None  # the shot's dialogue (WAV), for a model driven by it (lip sync)


@dataclass(frozen=True)
class JobStatus:
    """Where a submitted job is."""

    state: JobState
    message: str = ""
    failure: Failure | None = None  # set when state is "failed"


JobT = TypeVar("JobT", contravariant=True)


class JobProvider(abc.ABC, Generic[JobT]):
    """What every paid-job provider shares (video, image, speech): submit, poll, download, and
    how a resumed run may settle a submission whose id was never recorded."""

    name: ClassVar[str]
    offline: ClassVar[bool] = False  # runs on this machine: a resubmission bills nothing
    finds_by_reference: ClassVar[bool] = False  # implements find()
    history_hint: ClassVar[str] = "the provider's request history"  # where a person looks

    @abc.abstractmethod
    def submit(self, job: JobT) -> str:
        """Start a job; returns the provider's job id."""

    @abc.abstractmethod
    def poll(self, job_id: str) -> JobStatus:
        """The job's current state."""

    @abc.abstractmethod
    def download(self, job_id: str) -> bytes:
        """The finished result's bytes (the subclass says which format)."""

    def find(self, reference: str) -> str | None:
        """The id of the job submitted with this client reference, or None when the provider
        has none (it never arrived). Only for providers with ``finds_by_reference``."""
        raise NotImplementedError(f"{self.name} cannot look a job up by its reference")

    def reported_cost(self, job_id: str) -> float | None:
        """What the provider says the finished job cost (USD), or None when it does not say;
        settlement then uses the catalogue's price."""
        return None

    def discard(self, job_id: str) -> None:
        """Forget any local copy of the job's output, so the next download fetches (or
        renders) it again. Called when a download does not decode; nothing to do by default."""
        return None


class VideoProvider(JobProvider[VideoJob]):
    """A video model or render engine; ``download`` returns the finished clip (MP4 bytes)."""

    max_clip_s: ClassVar[float] = 10.0
    capabilities: ClassVar[frozenset[str]] = frozenset()  # e.g. {"image_to_video", "audio"}

    @abc.abstractmethod
    def price_per_second(self, width: int, height: int) -> float:
        """Cost of one second of output at this resolution, in the project currency."""

    def payload(self, job: VideoJob) -> dict[str, object]:
        """The exact input that ``submit`` sends for ``job``, with every image replaced by its
        sha256 (recorded with the job before it is sent)."""
        return {"prompt": job.prompt, "seed": job.seed, "duration_s": job.duration_s}


@runtime_checkable
class ClipRenderer(Protocol):
    """What a generation skill may ask of the render service the runner passes it."""

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
        """The shot's clip at a resolution tier, metered and resumable; ``audio`` is the shot's
        dialogue, sent where the model takes it (``engine._lip_sync``)."""
        ...
