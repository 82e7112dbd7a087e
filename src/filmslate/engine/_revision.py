"""Revision and escalation: the loop's state, read back from the run log.

A FAIL is revised with the gate's reasons; after the configured number of revisions the
skill escalates one tier (a ROUTING_DECISION), and past the top tier it hard-stops. Since all
of that is in the log, a killed or waiting loop resumes at the tier and attempt it reached.
"""

from __future__ import annotations

from ..core._errors import ArtifactNotFound, GateFailed, HardStop
from ..core._reasons import split_reasons
from ..store import _runlog
from ..store._project import Project
from ._decisions import write_escalation
from ._gateway import Gateway
from ._guards import graded
from ._inputs import subject_for
from ._router import EscalationCheck, Route, Router
from ._skill import Skill
from ._stops import record_hard_stop

# (tier reached, next attempt number, revisions used at that tier, feedback to revise with)
Resumed = tuple[Route, int, int, tuple[str, ...]]


class Revisions:
    """What the run log says about revising one skill on one target, and the escalation."""

    def __init__(self, project: Project, router: Router, gateway: Gateway) -> None:
        self.project = project
        self.store = project.store
        self.config = project.config
        self.router = router
        self.gateway = gateway

    def resume(self, skill_cls: type[Skill], target: str) -> Resumed:
        """Tier, attempt, revisions used at that tier and feedback, read from the run log.

        Runs since the last PASS count; a human override restarts the revision count but
        keeps the tier reached. A loop-back (the findings sent upstream, the work revised)
        starts afresh: the next run judges new work.
        """
        conn = self.store.conn
        lifted = conn.execute(
            "SELECT coalesce(max(seq), 0) FROM runlog WHERE event = 'override' AND target = ?",
            (target,),
        ).fetchone()[0]
        looped = conn.execute(
            "SELECT coalesce(max(seq), 0) FROM runlog WHERE event = 'loop_back' AND "
            "skill_name = ? AND target = ?",
            (skill_cls.name, target),
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT seq, outcome, tier, model_used, notes FROM runlog WHERE skill_name = ? AND "
            "target = ? AND event = 'run' AND outcome != 'WAITING' AND seq > ? "
            "ORDER BY seq DESC LIMIT 50",
            (skill_cls.name, target, looped),
        ).fetchall()
        failed = []
        for seq, outcome, tier, model, notes in rows:
            if outcome == "PASS":
                break
            failed.append((seq, tier, model, notes))
        base = self.router.route(skill_cls.tier, skill_cls.uses_model)
        if not failed:
            return base, 1, 0, ()
        _, tier, model, notes = failed[0]
        route = base if tier == base.tier else Route(tier, model, "resumed from the run log")
        at_tier = sum(1 for seq, t, _, _ in failed if t == tier and seq > lifted)
        feedback = split_reasons(notes)
        if at_tier > self.config.loops.max_revisions and skill_cls.uses_model:
            route = self.escalate(skill_cls, target, route, "; ".join(feedback))
            at_tier = 0
        return route, len(failed) + 1, max(0, at_tier - 1), feedback

    def escalate(self, skill_cls: type[Skill], target: str, route: Route, reasons: str) -> Route:
        """One tier up (recorded), or a hard stop: past the top tier, or for a deterministic
        skill, which no bigger model can fix."""
        if not skill_cls.uses_model:
            record_hard_stop(
                self.project, target, "gate", f"{skill_cls.name} FAIL: {reasons}", skill_cls.name
            )
            raise GateFailed(
                f"{skill_cls.name} failed on {target}: {reasons}. This skill is "
                "deterministic: fix its inputs and run again.",
                skill=skill_cls.name,
                target=target,
            )
        try:
            new = self.router.escalate(route, skill_cls.layer, EscalationCheck())
        except HardStop as stop:
            why = top_tier_stop(str(stop), target, reasons)
            record_hard_stop(
                self.project, target, "gate", f"{skill_cls.name}: {why}", skill_cls.name
            )
            raise HardStop(why, **stop.context) from None
        write_escalation(
            self.store, self.gateway, self.config, skill_cls, target, route, new, reasons
        )
        return new

    def attempts_so_far(self, skill: str, target: str) -> int:
        """How many graded attempts the skill has made on the target, ever."""
        return int(
            self.store.conn.execute(
                "SELECT count(*) FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
                "AND outcome IN ('PASS', 'FAIL', 'FIX')",
                (skill, target),
            ).fetchone()[0]
        )

    def standing_pass(self, skill_cls: type[Skill], target: str) -> str | None:
        """The run id of the skill's last run on the target when it is a PASS that still
        stands (its output fresh, no new take to grade, no newer history): None otherwise."""
        row = self._last_run(skill_cls.name, target)
        if row is None or row["outcome"] != "PASS" or not row["artifact_output"]:
            return None
        if skill_cls.grades and graded(self.store, skill_cls, target) is None:
            return None  # a new take to grade
        if self._history_moved(skill_cls, target, int(row["seq"])):
            return None
        try:
            if any(self.store.is_stale(name) for name in self._outputs(row)):
                return None
        except ArtifactNotFound:
            return None
        return row["run_id"]

    def _outputs(self, row: dict[str, str]) -> list[str]:
        """Every version the run wrote (a sheet per lock, not only the first output): each
        may have its own lineage, so one stale output means the run must go again."""
        written = self.store.conn.execute(
            "SELECT name FROM artifacts WHERE run_id = ?", (row["run_id"],)
        ).fetchall()
        return [row["artifact_output"], *(name for (name,) in written)]

    def _history_moved(self, skill_cls: type[Skill], target: str, since: int) -> bool:
        """True when a history input (a QC sheet) got a new version after the run at ``since``:
        history carries no lineage, so staleness cannot see it."""
        for need in skill_cls.needs:
            if need.history:
                latest = self.store.latest(need.kind, subject_for(need, target))
                if latest is not None and self.store.written_at(latest.filename) > since:
                    return True
        return False

    def _last_run(self, skill: str, target: str) -> dict[str, str] | None:
        row = self.store.conn.execute(
            f"SELECT {', '.join(_runlog.COLUMNS)} FROM runlog WHERE skill_name = ? AND "
            "target = ? AND event = 'run' ORDER BY seq DESC LIMIT 1",
            (skill, target),
        ).fetchone()
        return dict(zip(_runlog.COLUMNS, row, strict=True)) if row else None


def top_tier_stop(message: str, target: str, reasons: str, limit: int = 600) -> str:
    """A stop a person reads: the target named in the command to run, and what still fails
    (the last FAIL's reasons, shortened), so nobody has to dig through the run log."""
    message = message.replace("slate override TARGET", f"slate override {target}")
    if not reasons:
        return message
    shown = reasons if len(reasons) <= limit else reasons[: limit - 3].rstrip() + "..."
    return f"{message} Still failing: {shown}"
