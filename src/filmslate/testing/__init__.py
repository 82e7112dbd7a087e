"""Fakes for testing pipelines built on filmslate, shipped with the library.

``ScriptedTextModel`` answers text requests from a script; ``FakeVideoProvider`` renders
instantly. Both record what they were asked, so tests can assert on real calls.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ValidationError

from ..core._errors import ProviderError
from ..engine._gateway import Gateway, TextProvider, TextRequest, TextResult, Usage
from ..engine._skill import Registry
from ..engine._video import JobStatus, VideoJob, VideoProvider

if TYPE_CHECKING:
    from ..engine._runner import Runner

Answer = BaseModel | dict[str, Any] | Exception
Script = Iterable[Answer] | Callable[[TextRequest], Answer]


class ScriptedTextModel(TextProvider):
    """A text model that plays back a script of answers, in order or from a function.

    Each answer is a model instance, a dict validated into the request's output type, or an
    exception to raise. ``cost`` is charged per call; ``worst_case`` is what gets reserved.
    Register it on a gateway: ``gateway.register("scripted", ScriptedTextModel([...]))`` and
    map a tier to ``"scripted:any-name"``.
    """

    name: ClassVar[str] = "scripted"

    def __init__(
        self,
        script: Script,
        cost: float = 0.0,
        worst_case: float | None = None,
        tokens: tuple[int, int] = (100, 50),
    ) -> None:
        self._next: Callable[[TextRequest], Answer]
        if callable(script):
            self._next = script
        else:
            queue = list(script)
            self._next = lambda _request: _pop(queue)
        self.cost = cost
        self.worst_case = cost if worst_case is None else worst_case
        self.tokens = tokens
        self.requests: list[TextRequest] = []

    def complete(self, request: TextRequest) -> TextResult:
        """Serve the next scripted answer, validated into the request's output type."""
        self.requests.append(request)
        answer = self._next(request)
        if isinstance(answer, Exception):
            raise answer
        try:
            output = request.output_type.model_validate(
                answer.model_dump() if isinstance(answer, BaseModel) else answer
            )
        except ValidationError as exc:
            raise ProviderError(
                f"scripted answer for {request.skill} {request.target} does not "
                f"match {request.output_type.__name__}: {exc}"
            ) from None
        return TextResult(
            output=output, usage=Usage(*self.tokens), cost=self.cost, model=request.model
        )

    def worst_case_cost(self, request: TextRequest) -> float:
        """The configured worst case (what the runner reserves before calling)."""
        return self.worst_case

    def takes_images(self, model_name: str, declared: Collection[str] = ()) -> bool:
        """A script answers whatever it is shown (its requests record the images)."""
        return True


def _pop(queue: list[Answer]) -> Answer:
    if not queue:
        raise ProviderError("the scripted model ran out of answers")
    return queue.pop(0)


def scripted_runner(
    root: Path,
    script: Script,
    registry: Registry | None = None,
    *,
    cost: float = 0.0,
    worst_case: float | None = None,
) -> tuple[Runner, ScriptedTextModel]:
    """A runner on the project at ``root`` whose ``scripted:`` models play ``script``.

    Map the project's tiers to ``scripted:...`` in filmslate.toml; ``registry`` defaults to
    the built-in skills.
    """
    from ..engine._runner import Runner, provider_settings
    from ..store._project import Project

    project = Project(root)
    model = ScriptedTextModel(script, cost=cost, worst_case=worst_case)
    gateway = Gateway(project.root, provider_settings(project))
    gateway.register("scripted", model)
    return Runner(project, registry, gateway), model


FAKE_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


class FakeVideoProvider(VideoProvider):
    """Renders instantly to a tiny MP4-signed payload; can be told to fail some jobs.

    ``states`` scripts what successive polls of each job report (default: done at once).
    """

    name: ClassVar[str] = "fake-video"
    offline: ClassVar[bool] = True

    def __init__(
        self, price: float = 0.0, states: Iterable[str] = ("done",), max_clip_s: float = 10.0
    ) -> None:
        self.price = price
        self.states = list(states)
        self.max_clip_s = max_clip_s  # type: ignore[misc]
        self.jobs: dict[str, VideoJob] = {}
        self.polls: dict[str, int] = {}

    def submit(self, job: VideoJob) -> str:
        """Accept a job; its id is predictable for tests."""
        if job.duration_s > self.max_clip_s:
            raise ProviderError(
                f"{job.shot_id}: {job.duration_s}s exceeds the {self.max_clip_s}s clip limit"
            )
        job_id = f"fake-{len(self.jobs) + 1}"
        self.jobs[job_id] = job
        self.polls[job_id] = 0
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        """Report the scripted state for this poll (the last one repeats)."""
        if job_id not in self.jobs:
            raise ProviderError(f"unknown job {job_id}")
        index = min(self.polls[job_id], len(self.states) - 1)
        self.polls[job_id] += 1
        state = self.states[index]
        return JobStatus(state, "scripted failure" if state == "failed" else "")  # type: ignore[arg-type]

    def download(self, job_id: str) -> bytes:
        """The clip: an MP4 signature plus the prompt's bytes, so takes differ by prompt."""
        job = self.jobs[job_id]
        return FAKE_MP4 + job.prompt.encode("utf-8")[:256]

    def price_per_second(self, width: int, height: int) -> float:
        """The configured flat price."""
        return self.price
