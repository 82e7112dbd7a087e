"""The scheduler's baton (``_scheduler``): one thread at a time runs the run's code, and a
thread whose job holds a provider slot goes first.

A thread holding a slot is about to send a job (its slot claimed, its intent to record) or
has one running (its job id to record): letting it through first keeps the provider busy
and the window between a job's intent and its job id short, while the threads behind it
only store what they made or prepare their next call. The slots are bounded (``--jobs``),
and each holder keeps the baton only between two waits, so nobody waits for ever.
"""

from __future__ import annotations

import threading

__all__ = ["Baton"]


class Baton:
    """A lock whose ``urgent`` takers go before the others waiting (see the module docs)."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._held = False
        self._urgent = 0  # urgent takers waiting

    def acquire(self, urgent: bool = False) -> None:
        """Take the baton, once free and (for a taker that is not urgent) wanted by no
        urgent taker."""
        with self._changed:
            if urgent:
                self._urgent += 1
            try:
                while self._held or (not urgent and self._urgent):
                    self._changed.wait()
            finally:
                if urgent:
                    self._urgent -= 1
            self._held = True

    def release(self) -> None:
        """Give the baton to the next taker."""
        with self._changed:
            if not self._held:
                raise RuntimeError("the baton is not held")
            self._held = False
            self._changed.notify_all()

    def locked(self) -> bool:
        """True while a thread holds it."""
        return self._held
