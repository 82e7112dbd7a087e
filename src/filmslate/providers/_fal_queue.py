"""fal's queue over HTTP, and how its answers are told apart (docs.fal.ai, "Queue", "Model
Errors", "Request Error Types"; the official fal-client does the same exchange):

- ``POST {base}/{model_id}`` with ``Authorization: Key <key>`` and the model input answers
  ``{"request_id", "status_url", "response_url", "cancel_url", ...}``.
- ``GET {base}/{owner}/{app}/requests/{id}/status`` answers ``{"status": "IN_QUEUE" |
  "IN_PROGRESS" | "COMPLETED", "queue_position", "logs", "metrics"}`` (202 until completed);
  a request that failed is COMPLETED with ``error`` and ``error_type``.
- ``GET {base}/{owner}/{app}/requests/{id}`` answers the model's output, or, for a failed
  request, the model's own error with its status code: 422 with ``{"detail": [{"loc", "msg",
  "type", ...}]}`` (``type = "content_policy_violation"`` for a content checker's refusal),
  or a 5xx / 504 with ``{"detail": "...", "error_type": "request_timeout" | "runner_..."}``
  (also in the ``X-Fal-Error-Type`` header). fal keeps a result for an hour.
- ``PUT .../requests/{id}/cancel`` answers 202 (``CANCELLATION_REQUESTED``), else 400
  (``ALREADY_COMPLETED``) or 404.
- Files in an output are public CDN URLs, fetched WITHOUT the key.

Failure kinds: 401/403 auth; 422 invalid_input, or refusal when a detail's type is
``content_policy_violation``; 400 invalid_input; 5xx server, a 504 or a timeout error type
timeout; a client-side timeout timeout. fal bills no 5xx ("server errors are never charged",
its FAQ) and may bill a 422, which is why neither is resubmitted unchanged by the engine.

The key is read from the environment variable ``api_key_env`` on each request; it is never
stored on the object, shown in a repr or left in a message, and it is only ever sent to the
configured queue host (a status or response URL on any other host is rebuilt on the base).
429 and 5xx answers to reads, and a failed connect, are retried ``max_retries`` times with
exponential backoff; a submit is retried only on 429 and on a 502-504 from fal's ingress (no
``x-fal-request-id``: it never reached the queue), like fal's own client. A submit that may have
been received (timeout, connection lost after sending) is not retried and says so
(``maybe_sent``): fal's queue takes no idempotency key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..core._errors import ProviderError
from ..engine._video import Failure, JobStatus

QUEUE_URL = "https://queue.fal.run"
TAGS_HEADER = "X-Fal-Tags"  # key=value pairs fal shows in the account's usage breakdown
BILLABLE_HEADER = "x-fal-billable-units"  # what the result fetch says was billed, in units
STATES = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "done"}
NAMESPACES = ("workflows", "comfy")  # app ids with a namespace keep three segments
_TIMEOUT_TYPES = ("request_timeout", "startup_timeout", "generation_timeout")
_REFUSAL_WORDS = ("content_policy", "content policy", "nsfw", "flagged", "moderation")


class FalQueue:
    """One fal model's queue: submit, status, result, cancel, CDN fetch (module docs)."""

    def __init__(
        self,
        model_id: str,
        *,
        http_client: httpx.Client,
        base_url: str = QUEUE_URL,
        api_key_env: str = "FAL_KEY",
        max_retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model_id = model_id.strip("/")
        self.http = http_client
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self._urls: dict[str, tuple[str, str, str]] = {}  # id -> (status, response, cancel)
        self.billed_units: dict[str, float] = {}  # id -> x-fal-billable-units of its result

    # --- the exchange ---------------------------------------------------------------------

    def submit(self, payload: dict[str, Any], reference: str, what: str) -> str:
        """Queue ``payload``; returns fal's request id (the key is checked before sending)."""
        self.key()
        tags = {TAGS_HEADER: f"filmslate_ref={reference}"} if reference else {}
        url = f"{self.base_url}/{self.model_id}"
        body = self.json("POST", url, json=payload, extra=tags)
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise ProviderError(
                f"fal answered the submit of {what} without a request_id", failure="other"
            )
        own = self.default_urls(request_id)
        given = (body.get("status_url"), body.get("response_url"), body.get("cancel_url"))
        urls = [g if self._ours(g) else o for g, o in zip(given, own, strict=True)]
        self._urls[request_id] = (str(urls[0]), str(urls[1]), str(urls[2]))
        return request_id

    def status(self, request_id: str) -> JobStatus:
        """The request's state; a failed one fetches its result to tell why."""
        body = self.json("GET", self.urls(request_id)[0])
        status = body.get("status")
        if status in ("FAILED", "CANCELED", "CANCELLED"):
            return JobStatus("failed", f"fal reports the request {str(status).lower()}", "other")
        if status not in STATES:
            raise ProviderError(
                f"fal reported an unknown status {str(status)[:40]!r} for request {request_id}",
                failure="other",
            )
        if status == "COMPLETED" and (body.get("error") or body.get("error_type")):
            return self._failed(request_id, body)
        return JobStatus(STATES[status])  # type: ignore[arg-type]

    def result(self, request_id: str) -> dict[str, Any]:
        """The finished request's output; a failed request's error raises, classified."""
        response = self.send("GET", self.urls(request_id)[1], phase="result")
        body = _body(response)
        if not isinstance(body, dict):
            raise ProviderError(
                f"fal's result for request {request_id} is not a JSON object: "
                f"{self.clean(response.text[:120])!r}",
                failure="download",
            )
        units = _number(response.headers.get(BILLABLE_HEADER))
        if units is not None:
            self.billed_units[request_id] = units
        return body

    def cancel(self, request_id: str) -> bool:
        """Ask fal to cancel; True when it accepted (the request had not finished)."""
        try:
            self.send("PUT", self.urls(request_id)[2])
        except ProviderError as exc:
            if exc.context.get("status") in (400, 404, 409):
                return False
            raise
        return True

    def fetch(self, url: str, request_id: str) -> bytes:
        """A file of the output from fal's CDN, without the key."""
        if not url.startswith(("https://", "http://")):
            raise ProviderError(f"fal's result for {request_id} has no file url", failure="other")
        response = self.send("GET", url, authorised=False, phase="download")
        if not response.content:
            raise ProviderError(
                f"the file of fal request {request_id} is empty", failure="download"
            )
        return response.content

    # --- URLs and the key -----------------------------------------------------------------

    def default_urls(self, request_id: str) -> tuple[str, str, str]:
        """(status, response, cancel) URLs of a request, built as fal builds them: the app
        is the owner and app name of the model id, without its endpoint path."""
        parts = self.model_id.split("/")
        keep = 3 if parts[0] in NAMESPACES else 2
        base = f"{self.base_url}/{'/'.join(parts[:keep])}/requests/{request_id}"
        return f"{base}/status", base, f"{base}/cancel"

    def urls(self, request_id: str) -> tuple[str, str, str]:
        return self._urls.get(request_id) or self.default_urls(request_id)

    def _ours(self, url: object) -> bool:
        """A URL on the queue's own host: the only place the key may go."""
        if not isinstance(url, str):
            return False
        try:
            return httpx.URL(url).netloc == httpx.URL(self.base_url).netloc
        except httpx.InvalidURL:
            return False

    def key(self) -> str:
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:
            raise ProviderError(
                f"no fal API key: set the environment variable {self.api_key_env} (or name "
                "another one in [providers.fal] api_key_env)",
                failure="auth",
                maybe_sent=False,
            )
        return key

    def clean(self, text: str) -> str:
        """The text with the key masked, in case a server echoes it back."""
        key = os.environ.get(self.api_key_env, "").strip()
        return text.replace(key, "***") if key else text

    # --- HTTP -----------------------------------------------------------------------------

    def json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self.send(method, url, **kwargs)
        body = _body(response)
        if not isinstance(body, dict):
            raise ProviderError(
                f"fal answered {method} {_path(url)} with malformed JSON: "
                f"{self.clean(response.text[:120])!r}",
                status=response.status_code,
                failure="other",
            )
        return body

    def send(
        self,
        method: str,
        url: str,
        authorised: bool = True,
        extra: dict[str, str] | None = None,
        phase: str = "",
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"Authorization": f"Key {self.key()}"} if authorised else {}
        headers.update(extra or {})
        submit = method == "POST"
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TimeoutException:
                if submit or last:  # a submit that timed out may have been accepted
                    hint = ": check fal's dashboard before resubmitting" if submit else ""
                    raise ProviderError(
                        f"fal timed out on {method} {_path(url)}{hint}",
                        maybe_sent=submit,
                        failure="download" if phase in ("result", "download") else "timeout",
                    ) from None
            except httpx.TransportError as exc:
                # only a failed connect proves a submit was not received
                sent = submit and not isinstance(exc, httpx.ConnectError)
                if last or sent:
                    raise ProviderError(
                        f"fal is unreachable ({type(exc).__name__}) on {method} {_path(url)}",
                        maybe_sent=sent,
                        failure="download" if phase in ("result", "download") else "server",
                    ) from None
            else:
                if not _retryable(response, submit) or last:
                    return self._checked(response, method, url, phase)
            self.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(
        self, response: httpx.Response, method: str, url: str, phase: str
    ) -> httpx.Response:
        code = response.status_code
        if code < 400:
            return response
        body = _body(response)
        detail = self.clean(_detail(body, response.text))
        kind = classify(code, body, _error_type(response))
        if phase == "download" or (phase == "result" and kind == "other"):
            kind = "download"  # the generation finished; fetching it again pays nothing
        elif phase == "result" and kind == "server" and not _error_type(response):
            kind = "download"  # the result endpoint failed, not the job
        if code in (401, 403):
            message = f"fal rejected the key in {self.api_key_env} ({code})"
        elif code == 404:
            message = f"fal does not know {_path(url)} (404): check the model id {self.model_id}"
        elif kind == "refusal":
            message = (
                f"fal's content checker refused the job for {self.model_id} ({code}): {detail}"
            )
        elif code == 422:
            message = f"fal rejected the input for {self.model_id} (422): {detail}"
        elif code == 429:
            message = f"fal is rate limiting (429) after {self.max_retries} retries"
        elif code >= 500:
            message = f"fal failed ({code}) after {self.max_retries} retries: {detail}"
        else:
            message = f"fal answered {method} {_path(url)} with {code}: {detail}"
        raise ProviderError(message, status=code, failure=kind)

    def _failed(self, request_id: str, status: dict[str, Any]) -> JobStatus:
        """A COMPLETED request with an error: its result holds the model's own error."""
        try:
            self.result(request_id)
        except ProviderError as exc:
            failure = exc.context.get("failure")
            if failure in ("refusal", "invalid_input", "timeout", "server", "auth"):
                return JobStatus("failed", exc.message[:300], failure)
        error = self.clean(str(status.get("error") or status.get("error_type")))
        return JobStatus(
            "failed", error[:300], classify(0, status, str(status.get("error_type") or ""))
        )


def _retryable(response: httpx.Response, submit: bool) -> bool:
    """429 always; a 5xx on a read; on a submit only a 5xx from fal's ingress (no request id:
    the queue never saw it), as fal's own client does, since a queued job is billed."""
    code = response.status_code
    if code == 429:
        return True
    if not submit:
        return code >= 500 and not _error_type(response)  # a failed job's own error is final
    return code in (502, 503, 504) and "x-fal-request-id" not in response.headers


def _error_type(response: httpx.Response) -> str:
    """fal's machine-readable error category of an answer ("" when it has none)."""
    body = _body(response)
    given = body.get("error_type") if isinstance(body, dict) else None
    return str(given or response.headers.get("x-fal-error-type", ""))


def classify(code: int, body: object, error_type: str = "") -> Failure:
    """The failure kind of an error answer (module docs)."""
    types = _detail_types(body) | ({error_type} if error_type else set())
    text = str(body).lower()
    if "content_policy_violation" in types or any(word in text for word in _REFUSAL_WORDS):
        return "refusal"
    if code in (401, 403):
        return "auth"
    if types & set(_TIMEOUT_TYPES) or code == 504:
        return "timeout"
    if code in (400, 422):
        return "invalid_input"
    if code == 429 or code >= 500 or any(t.startswith("runner_") for t in types):
        return "server"
    return "other"


def _detail_types(body: object) -> set[str]:
    found: set[str] = set()
    if isinstance(body, dict):
        if isinstance(body.get("error_type"), str):
            found.add(body["error_type"])
        body = body.get("detail")
    if isinstance(body, list):
        found.update(
            str(item["type"]) for item in body if isinstance(item, dict) and "type" in item
        )
    return found


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(body: Any, text: str) -> str:
    if body is None:
        return text[:200]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        parts = []
        for item in detail[:3]:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{where}: {item.get('msg', item.get('type', ''))}".strip(": "))
            else:
                parts.append(str(item))
        return "; ".join(parts)[:300]
    return str(detail)[:300]


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 and value == value else None


def _path(url: str) -> str:
    return httpx.URL(url).path
