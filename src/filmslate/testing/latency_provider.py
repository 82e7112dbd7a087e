"""A video provider that takes a fixed time per job and counts every submission (issue 17).

For tests and benchmarks of concurrency and durability, across processes and machines that
share the project folder. Installed as a ``filmslate.video_providers`` plugin named
``latency`` (entry point ``latency = filmslate.testing.latency_provider:make``), it serves:

- ``latency:<seconds>``: a hosted job (billed, so never sent twice blindly) that the provider
  finds by its client reference, as fal's and Replicate's jobs are found;
- ``latency:<seconds>-blind``: the same, but it cannot look a job up;
- ``latency:<seconds>-local``: a job that renders on the machine running it (offline: sending
  it again bills nothing), as a ComfyUI box of one's own does.

A job is done ``<seconds>`` after its submission; its clip is the offline animatic's of the same
job (rendered at download, in ``.filmslate/renders``). Every submission appends a line (client
reference, job id, pid) to ``.filmslate/latency/submits.jsonl``: :func:`submissions` reads them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

from ..core._errors import ProviderError
from ..engine._video import JobStatus, VideoJob, VideoProvider
from ..providers.animatic import AnimaticProvider

__all__ = ["LatencyProvider", "make", "submissions"]

LOG = Path(".filmslate") / "latency" / "submits.jsonl"


class LatencyProvider(VideoProvider):
    """Jobs that take ``seconds`` each (see the module docs)."""

    name: ClassVar[str] = "latency"
    finds_by_reference: ClassVar[bool] = True
    history_hint: ClassVar[str] = ".filmslate/latency/submits.jsonl"
    max_clip_s: ClassVar[float] = 60.0  # any length, as the animatic

    def __init__(self, root: Path, seconds: float) -> None:
        self.root = root
        self.seconds = seconds
        self.folder = root / ".filmslate" / "latency"
        self.animatic = AnimaticProvider(root / ".filmslate" / "renders")

    def price_per_second(self, width: int, height: int) -> float:
        return 0.0001  # as the demo prices its animatic: within its caps

    def submit(self, job: VideoJob) -> str:
        clip = self.animatic.submit(job)  # writes the job down; rendered at download
        job_id = f"lat-{uuid.uuid4().hex[:12]}"
        record = {"job": job_id, "clip": clip, "reference": job.reference, "at": time.time()}
        self.folder.mkdir(parents=True, exist_ok=True)
        _write(self.folder / f"{job_id}.json", record)
        if job.reference:
            _write(self.folder / f"ref-{job.reference}", {"job": job_id})
        with open(self.root / LOG, "a", encoding="utf-8") as log:  # one line: O_APPEND
            log.write(json.dumps({**record, "pid": os.getpid()}) + "\n")
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        elapsed = time.time() - float(self._job(job_id)["at"])
        return JobStatus("done") if elapsed >= self.seconds else JobStatus("running")

    def download(self, job_id: str) -> bytes:
        return self.animatic.download(str(self._job(job_id)["clip"]))

    def discard(self, job_id: str) -> None:
        self.animatic.discard(str(self._job(job_id)["clip"]))

    def find(self, reference: str) -> str | None:
        path = self.folder / f"ref-{reference}"
        return str(json.loads(path.read_text())["job"]) if path.exists() else None

    def _job(self, job_id: str) -> dict[str, Any]:
        try:
            found: dict[str, Any] = json.loads((self.folder / f"{job_id}.json").read_text())
        except (OSError, ValueError):
            raise ProviderError(f"latency: no job {job_id}", job_id=job_id) from None
        return found


class BlindLatencyProvider(LatencyProvider):
    """A latency job that cannot be looked up by its reference."""

    finds_by_reference: ClassVar[bool] = False


class LocalLatencyProvider(LatencyProvider):
    """A latency job rendered on the machine that runs it."""

    offline: ClassVar[bool] = True
    finds_by_reference: ClassVar[bool] = False


def make(*, model: str, root: Path, **_: Any) -> LatencyProvider:
    """The plugin factory: ``latency:<seconds>[-blind|-local]``."""
    spec = model.split(":", 1)[1]
    seconds, _dash, flavour = spec.partition("-")
    kinds = {"": LatencyProvider, "blind": BlindLatencyProvider, "local": LocalLatencyProvider}
    return kinds[flavour](Path(root), float(seconds))


def submissions(root: Path) -> list[dict[str, Any]]:
    """Every submission made in the project at ``root`` (reference, job, clip, pid, at)."""
    path = root / LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(path: Path, record: dict[str, Any]) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(record), encoding="utf-8")
    partial.replace(path)
