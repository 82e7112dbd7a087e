"""Replicate's predictions API over HTTP, and how its answers are told apart.

The exchange (replicate.com/docs/reference/http, /docs/topics/predictions and its lifecycle
page; the official replicate-python client does the same):

- ``POST {base}/v1/models/{owner}/{name}/predictions`` with ``{"input": {...}}`` runs an
  official model; ``POST {base}/v1/predictions`` with ``{"version", "input"}`` runs a
  version (``owner/name:<id>`` or the 64-character id; since 2025-08 also ``owner/name``).
  ``Authorization: Bearer <REPLICATE_API_TOKEN>``. ``Prefer: wait=N`` holds the request up to
  N seconds (at most 60) and may answer the finished prediction at once.
- Both answer a prediction: ``{"id", "model", "version", "input", "status", "output",
  "error", "logs", "metrics": {"predict_time", "total_time"}, "urls": {"get", "cancel",
  "stream", "web"}, "created_at", "started_at", "completed_at"}``.
- ``GET {base}/v1/predictions/{id}``: ``status`` is ``starting`` (queued or booting),
  ``processing`` (running), ``succeeded``, ``failed`` (``error`` says why), ``canceled`` (by
  the user or a deadline after it started: billed for its run time) or ``aborted`` (a
  deadline before it started: free).
- ``POST {base}/v1/predictions/{id}/cancel`` cancels a prediction.
- ``POST {base}/v1/files`` (multipart ``content``) stores an input file and answers
  ``{"id", "urls": {"get"}}``; data URIs are recommended only under 1 MB, so larger images go
  there first.
- Errors are RFC 7807 problem details: ``{"type", "title", "status", "detail"}``; 422 is an
  input that failed the model's schema, 401/403 a bad token, 402 an account that cannot pay,
  429 a rate limit (``retry_after``).
- Output files are URLs on ``replicate.delivery`` (or data URIs): fetched WITHOUT the token,
  which goes only to the API host.

Replicate takes no idempotency key and no client reference (the create body is ``version``,
``input``, ``webhook``, ``webhook_completed``, ``webhook_events_filter``, ``stream``; the
official client sends nothing else), so a create that may have been received (a timeout, a
connection lost after sending, a 5xx) is not retried and says so (``maybe_sent``): the render
service keeps its intent and the next run stops for a person to check the prediction list.
429 answers and failed connects are retried with backoff; reads are also retried on 5xx.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..core._errors import ProviderError
from ..engine._video import Failure, JobStatus

API_URL = "https://api.replicate.com"
STATES = {"starting": "queued", "processing": "running", "succeeded": "done"}
DATA_URI_LIMIT = 1_000_000  # bytes: a larger image goes through the files API
_VERSION = re.compile(r"^(?:[\w.-]+/[\w.-]+:)?[0-9a-f]{64}$")
_REFUSAL_WORDS = ("nsfw", "safety", "sensitive", "content policy", "flagged", "moderation")
_INPUT_WORDS = ("invalid input", "validation", "is not one of", "must be", "unsupported")


class Predictions:
    """One Replicate model's predictions: create, get, cancel, upload, fetch (module docs)."""

    def __init__(
        self,
        model: str,
        *,
        http_client: httpx.Client,
        base_url: str = API_URL,
        api_key_env: str = "REPLICATE_API_TOKEN",
        wait_s: int | None = None,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model.strip("/")
        self.http = http_client
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.wait_s = wait_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.sleep = sleep

    def create(self, model_input: dict[str, Any], what: str) -> dict[str, Any]:
        """Start a prediction; returns it (finished already when ``Prefer: wait`` sufficed)."""
        if _VERSION.match(self.model):
            url, body = f"{self.base_url}/v1/predictions", {"version": self.model}
        else:
            url, body = f"{self.base_url}/v1/models/{self.model}/predictions", {}
        headers = {"Prefer": f"wait={self.wait_s}"} if self.wait_s else {}
        timeout = httpx.Timeout(30.0, read=self.wait_s + 5.0) if self.wait_s else None
        prediction = self.request(
            "POST", url, json={**body, "input": model_input}, extra=headers, timeout=timeout
        )
        if not isinstance(prediction.get("id"), str) or not prediction["id"]:
            raise ProviderError(
                f"Replicate answered the prediction for {what} without an id",
                failure="server",
                maybe_sent=True,
            )
        return prediction

    def get(self, prediction_id: str) -> dict[str, Any]:
        return self.request("GET", f"{self.base_url}/v1/predictions/{prediction_id}")

    def cancel(self, prediction_id: str) -> None:
        self.request("POST", f"{self.base_url}/v1/predictions/{prediction_id}/cancel")

    def upload(self, data: bytes, media_type: str) -> str:
        """Store an input file; returns the URL a model input takes."""
        name = "input.jpg" if media_type == "image/jpeg" else "input.png"
        files = {"content": (name, data, media_type)}
        body = self.request("POST", f"{self.base_url}/v1/files", files=files)
        url = (body.get("urls") or {}).get("get")
        if not isinstance(url, str) or not url:
            raise ProviderError("Replicate's files API answered without a URL", failure="server")
        return url

    def fetch(self, url: str) -> bytes:
        """An output file: the token goes along only when it is on the API host."""
        if url.startswith("data:"):
            try:
                return base64.b64decode(url.split(",", 1)[1], validate=False)
            except (IndexError, ValueError):
                raise ProviderError(
                    "Replicate's output is a malformed data URI", failure="download"
                ) from None
        on_api = httpx.URL(url).netloc == httpx.URL(self.base_url).netloc
        try:
            response = self.http.get(url, headers=self._auth() if on_api else {})
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"fetching Replicate's output failed ({type(exc).__name__}): {_where(url)}",
                failure="download",
            ) from None
        if response.status_code >= 400 or not response.content:
            raise ProviderError(
                f"fetching Replicate's output {_where(url)} answered {response.status_code}"
                + ("" if response.content else " with nothing"),
                failure="download",
                status=response.status_code,
            )
        return response.content

    def status_of(self, prediction: dict[str, Any]) -> JobStatus:
        """The job state of a prediction, a failure with its kind."""
        status = prediction.get("status")
        if status in STATES:
            return JobStatus(STATES[status])  # type: ignore[arg-type]
        if status == "failed":
            message = self.clean(str(prediction.get("error") or "the prediction failed"))[:300]
            return JobStatus("failed", message, failure=classify(message))
        if status in ("canceled", "aborted"):
            return JobStatus("failed", f"the prediction was {status}", failure="other")
        raise ProviderError(
            f"Replicate reported an unknown status {str(status)[:40]!r} for {prediction.get('id')}",
            failure="server",
        )

    # --- HTTP ---------------------------------------------------------------------------------

    def request(
        self, method: str, url: str, extra: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {**self._auth(required=True), **(extra or {})}
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.ConnectError:
                if last:
                    raise ProviderError(
                        f"Replicate is unreachable (ConnectError) on {method} {_where(url)}",
                        failure="server",
                        maybe_sent=False,
                    ) from None
            except httpx.TimeoutException:
                if method != "GET" or last:  # a create that timed out may have been accepted
                    raise ProviderError(
                        f"Replicate timed out on {method} {_where(url)}"
                        + (
                            ": check replicate.com/predictions before resubmitting"
                            if method != "GET"
                            else ""
                        ),
                        failure="timeout",
                        maybe_sent=method != "GET",
                    ) from None
            except httpx.TransportError as exc:
                if method != "GET" or last:
                    raise ProviderError(
                        f"Replicate is unreachable ({type(exc).__name__}) on {method} "
                        f"{_where(url)}",
                        failure="server",
                        maybe_sent=method != "GET",
                    ) from None
            else:
                code = response.status_code
                retry = code == 429 or (code >= 500 and method == "GET")
                if not retry or last:
                    return self._checked(response, method, url)
            self.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(self, response: httpx.Response, method: str, url: str) -> dict[str, Any]:
        code = response.status_code
        if code >= 400:
            raise self._error(response, method, url)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                f"Replicate answered {method} {_where(url)} with malformed JSON: "
                f"{self.clean(response.text[:120])!r}",
                status=code,
                failure="server",
                maybe_sent=method != "GET",
            )
        return body

    def _error(self, response: httpx.Response, method: str, url: str) -> ProviderError:
        code = response.status_code
        detail = self.clean(_problem(response))
        failure: Failure
        if code in (401, 403):
            failure, message = (
                "auth",
                f"Replicate rejected the token in {self.api_key_env} ({code})",
            )
        elif code == 402:
            failure, message = "auth", f"Replicate's account cannot pay (402): {detail}"
        elif code == 404:
            failure, message = (
                "invalid_input",
                f"Replicate does not know {_where(url)} (404): check the model {self.model}",
            )
        elif code == 422:
            failure = "refusal" if classify(detail) == "refusal" else "invalid_input"
            message = f"Replicate rejected the input for {self.model} (422): {detail}"
        elif code == 429:
            failure, message = (
                "server",
                f"Replicate is rate limiting (429) after {self.max_retries} retries",
            )
        elif code >= 500:
            failure, message = (
                "server",
                f"Replicate failed ({code}) on {method} {_where(url)}: {detail}",
            )
        else:
            failure, message = (
                "other",
                f"Replicate answered {method} {_where(url)} with {code}: {detail}",
            )
        # a 5xx to a create may have created the prediction; a 4xx refused it
        return ProviderError(
            message, status=code, failure=failure, maybe_sent=method != "GET" and code >= 500
        )

    def _auth(self, required: bool = False) -> dict[str, str]:
        key = os.environ.get(self.api_key_env, "").strip()
        if not key and required:
            raise ProviderError(
                f"no Replicate API token: set the environment variable {self.api_key_env}",
                failure="auth",
                maybe_sent=False,
            )
        return {"Authorization": f"Bearer {key}"} if key else {}

    def clean(self, text: str) -> str:
        """The text with the token masked, in case a server echoes it back."""
        key = os.environ.get(self.api_key_env, "").strip()
        return text.replace(key, "***") if key else text


def classify(message: str) -> Failure:
    """A failed prediction's kind from its error text: a safety refusal, a bad input, or the
    model's own failure."""
    lowered = message.lower()
    if any(word in lowered for word in _REFUSAL_WORDS):
        return "refusal"
    if any(word in lowered for word in _INPUT_WORDS):
        return "invalid_input"
    return "server"


def output_urls(output: Any) -> list[str]:
    """Every file URL in a prediction's output (a URL, a list of them, or a dict of them)."""
    if isinstance(output, str):
        return [output] if output.startswith(("http://", "https://", "data:")) else []
    if isinstance(output, list):
        return [url for item in output for url in output_urls(item)]
    if isinstance(output, dict):
        return [url for item in output.values() for url in output_urls(item)]
    return []


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


def _where(url: str) -> str:
    parsed = httpx.URL(url)
    return parsed.path if parsed.scheme != "data" else "a data URI"
