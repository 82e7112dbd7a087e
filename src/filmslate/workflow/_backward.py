"""Backward routing (SPEC §1.4, §6; issue 14): a gate's findings go to the step that can fix
them, never back to the auditor that found them.

A FAIL whose gate carries a route (``core._gate.FixRoute``: the skill and target that revise
the upstream work, and the findings) is sent there: a ``loop_back`` row in the run log names
where it came from, where it goes and the findings; the route's skill runs with the findings
as its revision notes and writes the new upstream version (story-architect: new BEATS and
SCENES; scene-revision: the scene's new SCENES row and script slice); everything made from
the old version is then stale, and the orchestrator reruns it. Each route is bounded by
``loops.max_revisions`` revisions since the auditor last passed; past it the auditor's
target hard-stops for a person (``slate override``).

A cost overrun may force narrative simplification (SPEC §6 cross-loop triggers): when even
every reduction the cost plan may make (cheaper routing, shorter and split shots) cannot fit
a projection under its cap, :func:`simplify_story` sends the cost report's overrun to
story-architect as a "simplify" revision (fewer or shorter scenes, fewer shots, the costliest
named), logged and bounded like any other route; past the bound the budget hard-stops.
"""

from __future__ import annotations

from ..core._gate import FixRoute, Gate
from ..core._names import target_fields
from ..engine._runner import Runner, RunResult
from ..engine._stops import record_hard_stop
from ..store import _runlog
from ..store._store import Record

__all__ = ["LoopBack", "loop_backs_since_pass", "record_loop_back", "simplify_story"]

EVENT = "loop_back"
STORY = "story-architect"  # the step that can make the story cheaper: fewer, shorter scenes


class LoopBack(Exception):
    """A step's FAIL that goes upstream: the failing run and where its findings go."""

    def __init__(self, failed: RunResult, route: FixRoute) -> None:
        super().__init__(failed.skill)
        self.failed, self.route = failed, route

    def __str__(self) -> str:
        return (
            f"{self.failed.skill} {self.failed.target} -> {self.route.skill} "
            f"{self.route.target}: " + "; ".join(self.route.findings)
        )


def loop_backs_since_pass(runner: Runner, skill: str, target: str) -> int:
    """How many times the skill's findings on the target went upstream since it last passed."""
    conn = runner.store.conn
    passed = conn.execute(
        "SELECT coalesce(max(seq), 0) FROM runlog WHERE skill_name = ? AND target = ? AND "
        "event = 'run' AND outcome = 'PASS'",
        (skill, target),
    ).fetchone()[0]
    return int(
        conn.execute(
            "SELECT count(*) FROM runlog WHERE event = ? AND skill_name = ? AND target = ? "
            "AND seq > ?",
            (EVENT, skill, target, passed),
        ).fetchone()[0]
    )


def record_loop_back(runner: Runner, back: LoopBack) -> str | None:
    """Log the route (from, to, the findings) and return None, or, past the bound, record a
    hard stop on the auditor's target and return why."""
    failed, route = back.failed, back.route
    bound = runner.config.loops.max_revisions
    if loop_backs_since_pass(runner, failed.skill, failed.target) >= bound:
        reason = (
            f"{failed.skill} on {failed.target} still FAILs after {bound} revision(s) by "
            f"{route.skill} on {route.target}: " + "; ".join(route.findings)
        )
        record_hard_stop(runner.project, failed.target, "gate", reason, failed.skill)
        return reason + ". Revise the work by hand, or record `slate override`."
    report = failed.records[0].filename if failed.records else ""
    runner.store.log(
        _runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            parent_run_id=failed.run_id,
            skill_name=failed.skill,
            event=EVENT,
            **target_fields(failed.target),
            outcome="FAIL",
            artifact_output=report,
            notes=f"to {route.skill} on {route.target}: " + "; ".join(route.findings),
        )
    )
    return None


def simplify_story(
    runner: Runner, skill: str, target: str, findings: tuple[str, ...], report: Record | None
) -> LoopBack | None:
    """The route of a cost overrun no shot reduction fits: story-architect on PROJECT, the
    findings its revision notes (``report``, the cost report, is what the loop_back row
    names). None when the story cannot be revised here (imported scenes: no premise) or the
    route has reached ``loops.max_revisions`` since ``skill`` last passed on ``target``: the
    caller then hard-stops for the budget."""
    if runner.store.latest("PREMISE") is None:
        return None
    if loop_backs_since_pass(runner, skill, target) >= runner.config.loops.max_revisions:
        return None
    route = FixRoute(STORY, "PROJECT", findings)
    failed = RunResult(
        skill,
        target,
        "done",
        Gate("FAIL", findings, route),
        [report] if report is not None else [],
        run_id=report.run_id if report is not None else "",
    )
    return LoopBack(failed, route)
