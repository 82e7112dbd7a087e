"""fal.ai adapter over its queue API (submit, status, result, then the video file).

The exchange (https://docs.fal.ai, "Queue"):

- ``POST https://queue.fal.run/{model_id}`` with ``Authorization: Key <FAL_KEY>`` and the model's
  input as JSON answers ``{"request_id", "status_url", "response_url", ...}``.
- ``GET .../requests/{request_id}/status`` answers ``{"status": "IN_QUEUE" | "IN_PROGRESS" |
  "COMPLETED", ...}``; a completed request that failed carries an ``error`` field.
- ``GET .../requests/{request_id}`` answers the model's output: ``{"video": {"url": ...}}``.
- The video URL is a public CDN file: it is fetched WITHOUT the Authorization header, so the key
  never goes to another host.

Status and result URLs come from the submit answer; after a restart (a new provider polling an
id recorded earlier) they are rebuilt from the app id, which is the first two path segments of
the model id (``fal-ai/kling-video/v1/standard/image-to-video`` -> ``fal-ai/kling-video``), as
fal's queue does.

The key is read from the environment variable named by ``api_key_env`` on each request; it is
never stored on the object, shown in a repr, or left in an error message. 429 and 5xx answers,
and connection failures before a request was sent, are retried ``max_retries`` times with an
exponential backoff starting at ``backoff_s``; a timeout on submit is not retried (the job may
have been accepted: a retry could pay twice), and is reported instead.

fal's queue takes no idempotency key and no client-chosen request id (its queue API and its
official client send none), so a submit that may have been received (a timeout, a connection
lost after sending) is reported with ``maybe_sent``: the render service keeps its intent and
the next run stops for a person to check instead of paying twice. The job's client reference
goes along as a usage tag (``X-Fal-Tags: filmslate_ref=<reference>``), so that person can
match the request in fal's request history and usage.

The input sent is ``{"prompt", "seed", "duration", "image_url"}`` (image as a data URI, only for
jobs with an image) plus ``extra_input``; models with other input shapes take an
``input_builder``.
"""

from __future__ import annotations

import base64
import math
import os
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from ..core._errors import ProviderError
from ..engine._video import JobStatus, VideoJob, VideoProvider

QUEUE_URL = "https://queue.fal.run"
TAGS_HEADER = "X-Fal-Tags"  # key=value pairs fal shows in the account's usage breakdown
STATES = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "done"}
InputBuilder = Callable[[VideoJob], dict[str, Any]]


def default_input(job: VideoJob) -> dict[str, Any]:
    """The common input of fal's video models: prompt, seed, duration, optional image."""
    payload: dict[str, Any] = {
        "prompt": job.prompt,
        "seed": job.seed,
        "duration": max(1, math.ceil(job.duration_s)),
    }
    if job.image is not None:
        payload["image_url"] = "data:image/png;base64," + base64.b64encode(job.image).decode()
    return payload


class FalProvider(VideoProvider):
    """A video model hosted on fal.ai, driven through its queue (see the module docs)."""

    name: ClassVar[str] = "fal"
    capabilities: ClassVar[frozenset[str]] = frozenset({"text_to_video", "image_to_video"})
    history_hint: ClassVar[str] = (
        "fal's request history (https://fal.ai/dashboard/requests; the request carries the "
        "usage tag filmslate_ref=<reference>)"
    )

    def __init__(
        self,
        model_id: str,
        api_key_env: str = "FAL_KEY",
        *,
        http_client: httpx.Client,
        price_per_second: float,
        max_clip_s: float = 10.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        extra_input: dict[str, Any] | None = None,
        input_builder: InputBuilder = default_input,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model_id = model_id.strip("/")
        self.api_key_env = api_key_env
        self.http = http_client
        self.price = price_per_second
        self.max_clip_s = max_clip_s  # type: ignore[misc]
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.extra_input = dict(extra_input or {})
        self.input_builder = input_builder
        self.sleep = sleep
        self._urls: dict[str, tuple[str, str]] = {}  # request id -> (status url, response url)

    def __repr__(self) -> str:
        return f"FalProvider({self.model_id!r}, api_key_env={self.api_key_env!r})"

    def submit(self, job: VideoJob) -> str:
        """Queue the job; returns fal's request id."""
        if job.duration_s > self.max_clip_s:
            raise ProviderError(
                f"{job.shot_id}: {job.duration_s}s exceeds {self.model_id}'s "
                f"{self.max_clip_s}s clip limit"
            )
        payload = {**self.input_builder(job), **self.extra_input}
        tags = {TAGS_HEADER: f"filmslate_ref={job.reference}"} if job.reference else {}
        body = self._json("POST", f"{QUEUE_URL}/{self.model_id}", json=payload, extra=tags)
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise ProviderError(f"fal answered the submit of {job.shot_id} without a request_id")
        status_url, response_url = self._default_urls(request_id)
        self._urls[request_id] = (
            str(body.get("status_url") or status_url),
            str(body.get("response_url") or response_url),
        )
        return request_id

    def poll(self, job_id: str) -> JobStatus:
        """IN_QUEUE -> queued, IN_PROGRESS -> running, COMPLETED -> done (or failed on error)."""
        body = self._json("GET", self._url(job_id)[0])
        status = body.get("status")
        if status not in STATES:
            raise ProviderError(
                f"fal reported an unknown status {str(status)[:40]!r} for request {job_id}"
            )
        if status == "COMPLETED" and body.get("error"):
            return JobStatus("failed", self._clean(str(body["error"]))[:300])
        return JobStatus(STATES[status])  # type: ignore[arg-type]

    def download(self, job_id: str) -> bytes:
        """Fetch the result, then the video file it points to."""
        body = self._json("GET", self._url(job_id)[1])
        video = body.get("video")
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderError(f"fal's result for request {job_id} has no video url")
        response = self._send("GET", url, authorised=False)
        if not response.content:
            raise ProviderError(f"the video of fal request {job_id} is empty")
        return response.content

    def price_per_second(self, width: int, height: int) -> float:
        """The configured price (fal bills per second or per clip by model; set it per model)."""
        return self.price

    # --- HTTP ---------------------------------------------------------------------------------

    def _default_urls(self, request_id: str) -> tuple[str, str]:
        app = "/".join(self.model_id.split("/")[:2])
        base = f"{QUEUE_URL}/{app}/requests/{request_id}"
        return f"{base}/status", base

    def _url(self, request_id: str) -> tuple[str, str]:
        return self._urls.get(request_id) or self._default_urls(request_id)

    def _key(self) -> str:
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:
            raise ProviderError(f"no fal API key: set the environment variable {self.api_key_env}")
        return key

    def _clean(self, text: str) -> str:
        """The text with the key masked, in case a server echoes it back."""
        key = os.environ.get(self.api_key_env, "").strip()
        return text.replace(key, "***") if key else text

    def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, url, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                f"fal answered {method} {_path(url)} with malformed JSON: "
                f"{self._clean(response.text[:120])!r}",
                status=response.status_code,
            )
        return body

    def _send(
        self,
        method: str,
        url: str,
        authorised: bool = True,
        extra: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"Authorization": f"Key {self._key()}"} if authorised else {}
        headers.update(extra or {})
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TimeoutException:
                if method != "GET" or last:  # a submit that timed out may have been accepted
                    raise ProviderError(
                        f"fal timed out on {method} {_path(url)}"
                        + (
                            ": check fal's dashboard before resubmitting" if method != "GET" else ""
                        ),
                        maybe_sent=method != "GET",
                    ) from None
            except httpx.TransportError as exc:
                # only a failed connect proves a submit was not received
                sent = method != "GET" and not isinstance(exc, httpx.ConnectError)
                if last or sent:
                    raise ProviderError(
                        f"fal is unreachable ({type(exc).__name__}) on {method} {_path(url)}",
                        maybe_sent=sent,
                    ) from None
            else:
                retryable = response.status_code == 429 or response.status_code >= 500
                if not retryable or last:
                    return self._checked(response, method, url)
            self.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(self, response: httpx.Response, method: str, url: str) -> httpx.Response:
        code = response.status_code
        if code < 400:
            return response
        detail = self._clean(_detail(response))
        if code in (401, 403):
            message = f"fal rejected the key in {self.api_key_env} ({code})"
        elif code == 404:
            message = f"fal does not know {_path(url)} (404): check the model id {self.model_id}"
        elif code == 422:
            message = f"fal rejected the input for {self.model_id} (422): {detail}"
        elif code == 429:
            message = f"fal is rate limiting (429) after {self.max_retries} retries"
        elif code >= 500:
            message = f"fal failed ({code}) after {self.max_retries} retries: {detail}"
        else:
            message = f"fal answered {method} {_path(url)} with {code}: {detail}"
        raise ProviderError(message, status=code)


def _path(url: str) -> str:
    return httpx.URL(url).path


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return str(detail)[:300]
