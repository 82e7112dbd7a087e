"""A gate's verdict: computed by code from structured data, never a model's opinion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["PASS", "FAIL", "FIX"]


@dataclass(frozen=True)
class Gate:
    """A verdict with its reasons. Computed by code from structured data."""

    verdict: Verdict
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_failures(cls, failures: Sequence[str], fixes: Sequence[str] = ()) -> Gate:
        """FAIL when anything failed, FIX when only fixable issues remain, else PASS."""
        if failures:
            return cls("FAIL", tuple(failures) + tuple(fixes))
        if fixes:
            return cls("FIX", tuple(fixes))
        return cls("PASS")

    @property
    def passed(self) -> bool:
        """PASS only; FIX and FAIL both send work back."""
        return self.verdict == "PASS"
