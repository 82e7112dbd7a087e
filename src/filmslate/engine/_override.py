"""Human overrides: the only way past a hard stop, and never a silent one.

An override lifts exactly one open hard stop on its target. It is an OVERRIDE artifact (a new
version each time) plus a run-log row pointing at the stop it lifts; a budget override also
raises the cap it hit by its stated cost impact.
"""

from __future__ import annotations

import getpass
import os

from ..core._errors import UserError
from ..core._names import target_fields
from ..schemas import Override
from ..store import _runlog
from ..store._ledger import Ledger, level_of
from ..store._project import Project
from ..store._store import Record
from ._stops import HardStopRow, all_open_hard_stops


def record_override(
    project: Project, target: str, reason: str, cost_impact: float, approved_by: str = ""
) -> Record:
    """Lift the oldest open hard stop on ``target``; returns the OVERRIDE artifact."""
    if not reason.strip():
        raise UserError("an override needs --reason: say why the stop may be passed")
    if cost_impact < 0:
        raise UserError("--cost-impact cannot be negative")
    stops = [s for s in all_open_hard_stops(project) if s.target == target]
    if not stops:
        raise UserError(
            f"no open hard stop on {target}; `slate status` lists open stops and their targets",
            target=target,
        )
    kind = stops[0].kind
    record = lift(project, stops[0], reason, cost_impact, approved_by)
    if kind == "budget":
        ledger = Ledger(project.store, project.config)
        level = level_of(target)
        with project.store.transaction() as conn:
            ledger.grant(conn, level, "PROJECT" if level == "project" else target, cost_impact)
    return record


def lift(
    project: Project,
    stop: HardStopRow,
    reason: str,
    cost_impact: float = 0.0,
    approved_by: str = "",
    by_skill: str = "override",
) -> Record:
    """Write the OVERRIDE that lifts one hard stop, and its log row pointing at the stop."""
    who = approved_by or approver()
    payload = Override(
        target=stop.target,
        hard_stop=f"{stop.kind}: {stop.target}: {stop.reason}",
        reason=reason,
        cost_impact=cost_impact,
        approved_by=who,
    )
    return project.store.write(
        "OVERRIDE",
        stop.target,
        payload,
        entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            parent_run_id=stop.run_id,
            skill_name=by_skill,
            event="override",
            outcome=stop.kind,
            **target_fields(stop.target),
            estimated_cost=cost_impact,
            model_used="human",
            tier="manual",
            notes=f"{who}: {reason}",
        ),
    )


def approver() -> str:
    """Who approves: FILMSLATE_USER, else the login name ("unknown" where there is none)."""
    try:
        return os.environ.get("FILMSLATE_USER") or getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"
