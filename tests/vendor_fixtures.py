"""What the ComfyUI and Replicate tests share: the jobs they send, an HTTP client per test
(closed after it), a project routed to a vendor's local server, and the check that a failed
download is fetched again without a second job.

A test module imports ``close_clients`` (an autouse fixture) and names it in its ``__all__``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from filmslate import ProviderError
from filmslate.engine._images import ImageJob
from filmslate.engine._video import JobStatus, VideoJob
from filmslate.testing._media_server import png_bytes
from test_runtime import configure

__all__ = ["FRAME", "close_clients", "http", "image_job", "route_to", "video_job"]

FRAME = png_bytes(640, 360, "storyboard SC01_SH001")
CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    """Every HTTP client a test opened is closed after it."""
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def http(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An HTTP client for one test (closed after it)."""
    client = httpx.Client(timeout=10, transport=transport)
    CLIENTS.append(client)
    return client


# A 4.2 s proxy job (640x360 @ 12 fps) with a first frame and a negative prompt, and a
# 1000x700 reference sheet of Nell: what the tests change is given by keyword.
VIDEO_JOB = VideoJob(
    "SC01_SH001",
    "Nell crosses the kitchen, ink wash.",
    4.2,
    640,
    360,
    12,
    image=FRAME,
    seed=42,
    reference="job-ref-0001",
    negative_prompt="no new props",
)
IMAGE_JOB = ImageJob("CHAR_NELL_REF", "Nell, front and side, plain backdrop.", 1000, 700, seed=7)


def video_job(model: str, **changes: Any) -> VideoJob:
    """The test video job for ``model``, with ``changes``."""
    return replace(VIDEO_JOB, **{"model": model, **changes})


def image_job(model: str, **changes: Any) -> ImageJob:
    """The test image job for ``model``, with ``changes``."""
    return replace(IMAGE_JOB, **{"model": model, **changes})


def route_to(film: Path, vendor: str, url: str, video: str, image: str = "") -> None:
    """Route the film's mid tier (and its images, when ``image`` names a model) to a vendor's
    models on its local server."""
    changes = {
        'mid = "fake:clip"': f'mid = "{video}"',
        "[providers]\n": f'[providers.{vendor}]\nbase_url = "{url}"\n\n[providers]\n',
    }
    if image:
        changes['model = "offline"'] = f'model = "{image}"'
    configure(film, **changes)


class VendorServer(Protocol):
    """What a local vendor server offers a test: failures planned ahead."""

    def fail_next(self, count: int, kind: str) -> None: ...


class Provider(Protocol):
    def submit(self, job: VideoJob) -> str: ...
    def poll(self, job_id: str) -> JobStatus: ...
    def download(self, job_id: str) -> bytes: ...


def assert_a_failed_download_is_fetched_again(
    provider: Provider,
    server: VendorServer,
    job: VideoJob,
    jobs_made: Callable[[], int],
    unplanned: str,
) -> bytes:
    """A download the server fails once (503) is a ``download`` failure; fetched again, the
    same output comes, and no second job was made. ``unplanned``: a failure kind the server
    cannot plan for its downloads. Returns the output."""
    server.fail_next(1, "download")
    job_id = provider.submit(job)
    assert provider.poll(job_id).state == "done"
    with pytest.raises(ProviderError, match="503") as caught:
        provider.download(job_id)
    assert caught.value.context["failure"] == "download"
    output = provider.download(job_id)  # the same output, fetched again
    assert jobs_made() == 1
    with pytest.raises(ValueError, match="one of invalid_input"):
        server.fail_next(1, unplanned)
    return output
