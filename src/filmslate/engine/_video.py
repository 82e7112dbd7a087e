"""The video-generation provider interface: submit, poll, download, price.

A provider is a small class with the four methods below and its capabilities as class
attributes. Job ids are returned by ``submit`` so the caller can record them before waiting:
after a crash the run polls the same job instead of paying again.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..schemas import GenPack, ShotRow

JobState = Literal["queued", "running", "done", "failed"]
ResolutionTier = Literal["proxy", "final"]


@dataclass(frozen=True)
class VideoJob:
    """One clip to generate."""

    shot_id: str
    prompt: str
    duration_s: float
    width: int
    height: int
    fps: int
    image: bytes | None = None
    seed: int = 0


@dataclass(frozen=True)
class JobStatus:
    """Where a submitted job is."""

    state: JobState
    message: str = ""


class VideoProvider(abc.ABC):
    """A video model or render engine."""

    name: ClassVar[str]
    max_clip_s: ClassVar[float] = 10.0
    capabilities: ClassVar[frozenset[str]] = frozenset()  # e.g. {"image_to_video", "audio"}
    offline: ClassVar[bool] = False

    @abc.abstractmethod
    def submit(self, job: VideoJob) -> str:
        """Start a job; returns the provider's job id."""

    @abc.abstractmethod
    def poll(self, job_id: str) -> JobStatus:
        """The job's current state."""

    @abc.abstractmethod
    def download(self, job_id: str) -> bytes:
        """The finished clip (MP4 bytes)."""

    @abc.abstractmethod
    def price_per_second(self, width: int, height: int) -> float:
        """Cost of one second of output at this resolution, in the project currency."""


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
    ) -> bytes:
        """The shot's clip at a resolution tier, metered and resumable."""
        ...
