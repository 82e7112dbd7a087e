"""Hard stops and gate verdicts, read from the run log (cheap: no model code imported).

A hard stop is a ``hard_stop`` row; an ``override`` row whose parent is that row lifts it.
"""

from __future__ import annotations

from typing import NamedTuple

from ..core._episodes import episode_of
from ..core._names import scene_of, target_fields
from ..store import _runlog
from ..store._project import Project


def gate_of(project: Project, name: str) -> str:
    """The recorded verdict of an artifact version (PASS for hand-added files)."""
    row = project.store.conn.execute(
        "SELECT outcome FROM runlog WHERE artifact_output = ? AND event IN ('write', 'run') "
        "ORDER BY seq DESC LIMIT 1",
        (name,),
    ).fetchone()
    return str(row[0]) if row else ""


# Stops about one skill's own output block only that skill; the others stop everything
# in their scope (budget, lock, world state, log integrity).
SKILL_SCOPED_STOPS = ("gate", "regen_limit")


class HardStopRow(NamedTuple):
    """One unlifted hard stop."""

    run_id: str
    kind: str
    target: str
    reason: str
    skill: str


def all_open_hard_stops(project: Project) -> list[HardStopRow]:
    """Every hard stop no override has lifted, oldest first."""
    rows = project.store.conn.execute(
        "SELECT run_id, outcome, target, notes, skill_name FROM runlog WHERE event = "
        "'hard_stop' AND run_id NOT IN (SELECT parent_run_id FROM runlog WHERE event = "
        "'override') ORDER BY seq"
    ).fetchall()
    return [HardStopRow(*row) for row in rows]


def open_hard_stops(project: Project, target: str, skill: str = "") -> list[HardStopRow]:
    """Unlifted hard stops that block ``skill`` on ``target`` (or what contains it)."""
    scopes = {"PROJECT", target, scene_of(target), episode_of(target)} - {""}
    return [
        stop
        for stop in all_open_hard_stops(project)
        if stop.target in scopes
        and (stop.kind not in SKILL_SCOPED_STOPS or not skill or stop.skill == skill)
    ]


def record_hard_stop(
    project: Project, target: str, kind: str, reason: str, skill: str = ""
) -> None:
    """Log a hard stop; work on the target stops until an override lifts it."""
    project.store.log(
        _runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            skill_name=skill or "runner",
            event="hard_stop",
            outcome=kind,
            **target_fields(target),
            notes=reason,
        )
    )
