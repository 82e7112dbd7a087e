"""A gate's verdict: computed by code from structured data, never a model's opinion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["PASS", "FAIL", "FIX"]


@dataclass(frozen=True)
class FixRoute:
    """Where a gate's findings go (SPEC §1.4: back to the step that can fix them): the skill
    that revises the upstream work, the target it revises, and the findings, which travel as
    its revision notes. Asking the auditor again cannot fix a finding about the work."""

    skill: str
    target: str
    findings: tuple[str, ...]


@dataclass(frozen=True)
class Gate:
    """A verdict with its reasons. Computed by code from structured data.

    ``route`` (FAIL only) names the upstream step that can fix the findings among the
    reasons; the reasons outside ``route.findings`` are faults of the answer itself, which a
    revision of the same skill fixes first.
    """

    verdict: Verdict
    reasons: tuple[str, ...] = ()
    route: FixRoute | None = None

    @classmethod
    def from_failures(cls, failures: Sequence[str], fixes: Sequence[str] = ()) -> Gate:
        """FAIL when anything failed, FIX when only fixable issues remain, else PASS."""
        if failures:
            return cls("FAIL", tuple(failures) + tuple(fixes))
        if fixes:
            return cls("FIX", tuple(fixes))
        return cls("PASS")

    @classmethod
    def routed(
        cls, failures: Sequence[str], findings: Sequence[str], skill: str, target: str
    ) -> Gate:
        """FAIL on ``failures``; those among them that are ``findings`` about upstream work
        go to ``skill`` on ``target`` (the rest are the answer's own defects)."""
        gate = cls.from_failures(failures)
        if not findings:
            return gate
        return cls(gate.verdict, gate.reasons, FixRoute(skill, target, tuple(findings)))

    @property
    def passed(self) -> bool:
        """PASS only; FIX and FAIL both send work back."""
        return self.verdict == "PASS"

    @property
    def goes_upstream(self) -> bool:
        """True when only findings about upstream work remain: a revision of this skill
        cannot fix them, the route's skill can."""
        return self.route is not None and set(self.reasons) <= set(self.route.findings)
