"""The HTTP side of the pydantic-ai adapter (``_pydantic_ai``): the vendor SDKs' async
``httpx2`` requests bridged onto the gateway's sync ``httpx.Client``, with our retries.

Transient failures are retried, honouring ``Retry-After`` (capped), while the whole call
stays within a total time budget; the SDKs' own retries are off, so a call is never retried
twice over. What is retried depends on whether the vendor may have acted on the request:

- never sent (refused connection, connect or pool timeout): always retried, nothing to pay;
- answered 429 or 5xx: retried, the vendor said it did not do the work;
- sent without an answer (a read timeout, a connection dropped mid-response): the vendor may
  have run, and billed, the request. It is retried only on a provider configured
  ``idempotent``; otherwise it is reported, and counted in :func:`requests_unanswered` so the
  caller charges it at worst case instead of sending (and paying for) it again.

Each call counts the requests it put on the wire (:func:`requests_sent`), and runs on a fresh
event loop of its own (:func:`run_blocking`). ``_pydantic_ai`` re-exports the public names.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import email.utils
import functools
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ..engine._gateway import ProviderContext

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "TRANSIENT_STATUSES",
    "BridgeTransport",
    "Sleep",
    "bridge_transport",
    "counting_requests",
    "requests_sent",
    "requests_unanswered",
    "retry_after_seconds",
    "run_blocking",
]

# Statuses worth another try: the server may answer differently in a moment.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
# Failures before the request left this machine: resending cannot double-charge.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request was (maybe partly) sent: the vendor may have run and billed it.
_SENT_UNANSWERED = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
# The sync client has already decoded the body; forwarding these would make httpx2 decode twice.
_DECODED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass
class _Attempts:
    count: int = 0  # requests put on the wire
    unanswered: int = 0  # of those, sent but never answered (the vendor may bill them)
    started: float = field(default_factory=time.monotonic)


# Requests sent on the wire for the current call. A context variable rather than an attribute:
# one provider (and its transport) may serve several runs at once.
_attempts: contextvars.ContextVar[_Attempts] = contextvars.ContextVar("filmslate_http_attempts")


def requests_sent() -> int:
    """How many HTTP requests the current call has sent, retries included."""
    return _attempts.get(_Attempts()).count


def requests_unanswered() -> int:
    """How many of the current call's requests were sent but never answered."""
    return _attempts.get(_Attempts()).unanswered


@contextlib.contextmanager
def counting_requests() -> Iterator[None]:
    """Count the requests sent inside the block afresh (what :func:`requests_sent` reports)."""
    counter = _attempts.set(_Attempts())  # the run's task sees a copy of this context
    try:
        yield
    finally:
        _attempts.reset(counter)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``), if any."""
    millis = response.headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            return max(float(millis) / 1000, 0.0)
    value = response.headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(float(value), 0.0)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)
    return None


class BridgeTransport:
    """An ``httpx2`` async transport that sends through a sync ``httpx.Client``, with retries.

    Built by :func:`bridge_transport` (``httpx2`` is imported lazily, with the vendor extras).
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        timeout_s: float,
        max_retries: int,
        backoff_s: float,
        wait_max_s: float,
        total_s: float = math.inf,
        idempotent: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._wait_max_s = wait_max_s
        self._total_s = total_s
        self._idempotent = idempotent
        self._sleep = sleep

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request``; retry transient failures; hand back an ``httpx2`` response."""
        import httpx2

        outgoing = self._client.build_request(
            request.method,
            str(request.url),
            content=await request.aread(),
            headers=[
                (k, v) for k, v in request.headers.multi_items() if k.lower() != "accept-encoding"
            ],
            timeout=self._timeout_s,
        )
        try:
            response = await self._send_with_retries(outgoing)
        except httpx.TransportError as exc:
            error_type = getattr(httpx2, type(exc).__name__, httpx2.TransportError)
            raise error_type(str(exc) or type(exc).__name__, request=request) from None
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _DECODED_HEADERS
        ]
        return httpx2.Response(
            response.status_code, headers=headers, content=response.content, request=request
        )

    async def aclose(self) -> None:
        """Nothing to close: the gateway owns the sync client."""

    async def _send_with_retries(self, outgoing: httpx.Request) -> httpx.Response:
        from tenacity import (
            AsyncRetrying,
            RetryCallState,
            retry_if_exception_type,
            retry_if_result,
        )

        def last_outcome(state: RetryCallState) -> Any:
            # Out of retries: hand the SDK the last response (or error) to report as it is.
            assert state.outcome is not None
            return state.outcome.result()

        retried = _NEVER_SENT + (_SENT_UNANSWERED if self._idempotent else ())
        retrying = AsyncRetrying(
            stop=self._stop,
            wait=self._wait,
            retry=(
                retry_if_exception_type(retried)
                | retry_if_result(lambda r: r.status_code in TRANSIENT_STATUSES)
            ),
            retry_error_callback=last_outcome,
            sleep=self._sleep,
        )
        response: httpx.Response = await retrying(self._send_once, outgoing)
        return response

    async def _send_once(self, outgoing: httpx.Request) -> httpx.Response:
        attempts = _attempts.get(None)
        if attempts is not None:
            attempts.count += 1
        try:
            # A blocking send is fine here: each call runs on its own event loop, alone.
            return self._client.send(outgoing)
        except _SENT_UNANSWERED:
            if attempts is not None:
                attempts.unanswered += 1
            raise

    def _wait(self, state: Any) -> float:
        told = None
        if state.outcome is not None and not state.outcome.failed:
            told = retry_after_seconds(state.outcome.result())
        if told is None:
            told = self._backoff_s * 2 ** (state.attempt_number - 1)
        return float(min(told, self._wait_max_s))

    def _stop(self, state: Any) -> bool:
        # Out of tries, or the next one could not start (after its wait) within the call's
        # time budget.
        if state.attempt_number > self._max_retries:
            return True
        attempts = _attempts.get(None)
        started = attempts.started if attempts is not None else state.start_time
        return bool(time.monotonic() - started + state.upcoming_sleep > self._total_s)


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end on a fresh event loop, even when called from async code.

    Used instead of pydantic-ai's ``run_sync``, whose event loop is never closed (a
    ResourceWarning and two leaked sockets per thread) and which fails inside a running loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Inside a running loop (an async caller, a notebook): a worker thread with its own loop,
    # in a copy of this context so capture_run_messages and the attempt counter still see it.
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()


def bridge_transport(context: ProviderContext, name: str = "", **overrides: Any) -> Any:
    """A :class:`BridgeTransport` (as an ``httpx2.AsyncBaseTransport``) for provider ``name``."""
    settings = context.settings
    options: dict[str, Any] = dict(
        timeout_s=settings.timeouts.get(name, settings.timeout_s),
        max_retries=settings.max_retries,
        backoff_s=settings.retry_backoff_s,
        wait_max_s=settings.retry_wait_max_s,
        total_s=settings.retry_total_s,
        idempotent=name in settings.idempotent,
    )
    return _transport_class()(context.http_client, **{**options, **overrides})


@functools.cache
def _transport_class() -> type[BridgeTransport]:
    import httpx2

    class HTTPX2BridgeTransport(BridgeTransport, httpx2.AsyncBaseTransport):
        """:class:`BridgeTransport` as the ``httpx2`` transport type the SDKs accept."""

    return HTTPX2BridgeTransport
