"""Hard stops and gate verdicts, read from the run log (cheap: no model code imported).

A hard stop is a ``hard_stop`` row; an ``override`` row whose parent is that row lifts it.
"""

from __future__ import annotations

from . import _runlog
from ._names import SHOT_RE
from ._project import Project
from ._skill import scene_of


def gate_of(project: Project, name: str) -> str:
    """The recorded verdict of an artifact version (PASS for hand-added files)."""
    row = project.store.conn.execute(
        "SELECT outcome FROM runlog WHERE artifact_output = ? AND event IN ('write', 'run') "
        "ORDER BY seq DESC LIMIT 1", (name,)).fetchone()
    return str(row[0]) if row else ""


# Stops about one skill's own output block only that skill; the others stop everything
# in their scope (budget, lock, world state, log integrity).
SKILL_SCOPED_STOPS = ("gate", "regen_limit")


def open_hard_stops(project: Project, target: str, skill: str = "") -> list[tuple[str, str, str]]:
    """(run_id, kind, reason) of unlifted hard stops that block ``skill`` on ``target``."""
    scopes = sorted({"PROJECT", target, scene_of(target)} - {""})
    marks = ",".join("?" for _ in scopes)
    rows = project.store.conn.execute(
        f"SELECT run_id, outcome, notes, skill_name FROM runlog WHERE event = 'hard_stop' AND "
        f"target IN ({marks}) AND run_id NOT IN (SELECT parent_run_id FROM runlog WHERE "
        "event = 'override') ORDER BY seq", scopes).fetchall()
    return [(r[0], r[1], r[2]) for r in rows
            if r[1] not in SKILL_SCOPED_STOPS or not skill or r[3] == skill]


def all_open_hard_stops(project: Project) -> list[tuple[str, str, str]]:
    """(run_id, kind, target: reason) of every hard stop no override has lifted."""
    rows = project.store.conn.execute(
        "SELECT run_id, outcome, target, notes FROM runlog WHERE event = 'hard_stop' AND "
        "run_id NOT IN (SELECT parent_run_id FROM runlog WHERE event = 'override') "
        "ORDER BY seq").fetchall()
    return [(r[0], r[1], f"{r[2]}: {r[3]}") for r in rows]


def record_hard_stop(project: Project, target: str, kind: str, reason: str,
                     skill: str = "") -> None:
    """Log a hard stop; work on the target stops until an override lifts it."""
    project.store.log(_runlog.LogEntry(
        run_id=_runlog.new_run_id(), skill_name=skill or "runner", event="hard_stop",
        outcome=kind, target=target, scene_id=scene_of(target),
        shot_id=target if SHOT_RE.fullmatch(target) else "", notes=reason))
