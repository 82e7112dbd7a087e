"""How hard each provider may be driven at once (``slate run --jobs N``, issue 17).

``[providers.<name>] max_concurrent`` bounds the jobs (or text requests) in flight on that
provider; unset, the provider's default (``providers._factory.DEFAULT_MAX_CONCURRENT``: fal 2,
Replicate 4, ComfyUI 1), and for any other provider only ``--jobs`` bounds it.
``requests_per_minute`` bounds how many requests (text calls and job submissions; polls and
downloads are not counted) start in any 60 seconds. Every wait on a limit is made without the
scheduler's baton, so waiting never blocks the run's other work.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from ..core._config import Config

__all__ = ["ProviderLimits", "RateWindow"]

WINDOW_S = 60.0


def default_max_concurrent(name: str) -> int | None:
    """The provider's own default (None: none, only ``--jobs`` bounds it)."""
    from ..providers._factory import DEFAULT_MAX_CONCURRENT

    return DEFAULT_MAX_CONCURRENT.get(name)


class RateWindow:
    """At most ``per_minute`` starts in any ``WINDOW_S`` seconds (a sliding window)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.starts: deque[float] = deque()
        self.lock = threading.Lock()

    def take(self) -> None:
        """Wait until one more start fits in the window, then count it."""
        while True:
            with self.lock:
                now = self.clock()
                while self.starts and now - self.starts[0] >= WINDOW_S:
                    self.starts.popleft()
                if len(self.starts) < self.per_minute:
                    self.starts.append(now)
                    return
                wait = WINDOW_S - (now - self.starts[0])
            time.sleep(min(max(wait, 0.001), 0.25))  # re-checked: the clock may jump


class ProviderLimits:
    """The concurrency slots and request windows of every provider a run uses."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._slots: dict[str, threading.BoundedSemaphore | None] = {}
        self._windows: dict[str, RateWindow | None] = {}
        self._lock = threading.Lock()

    def limit_of(self, provider: str) -> int | None:
        """``max_concurrent`` of the provider (None: unbounded but for ``--jobs``)."""
        table = self.config.providers.table(provider)
        return table.max_concurrent or default_max_concurrent(provider)

    def slot(self, provider: str) -> threading.BoundedSemaphore | None:
        """The provider's concurrency semaphore (None: no limit of its own)."""
        with self._lock:
            if provider not in self._slots:
                limit = self.limit_of(provider)
                self._slots[provider] = threading.BoundedSemaphore(limit) if limit else None
            return self._slots[provider]

    def window(self, provider: str) -> RateWindow | None:
        """The provider's request window (None: ``requests_per_minute`` unset)."""
        with self._lock:
            if provider not in self._windows:
                rate = self.config.providers.table(provider).requests_per_minute
                self._windows[provider] = RateWindow(rate) if rate else None
            return self._windows[provider]
