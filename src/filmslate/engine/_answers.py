"""Answers of paid text calls whose run has not finished: asked once, paid once.

A text model is paid when it answers, but its answer becomes an artifact only when the run
writes its outputs, and a run may ask several questions first. A process killed in between
would, on resume, ask (and pay for) the same questions again. So each answer is recorded,
with its cost and its budget hold, BEFORE the hold is settled. A resumed run asking the same
request (skill, target, attempt, call number, model, prompt and output type) gets the
recorded answer: no model call, and the hold, if the dead run never settled it, settled at
the recorded cost (the runner adopts such holds before the ledger's recovery would charge
them at worst case). Only answers of dead processes are recalled: live runs asking the same
question at once (the library allows it; `slate run` does not) each ask and pay.

The window left is the moment between the model's answer arriving and its row being
committed. A run's answers are forgotten once it is graded (its ``run`` row is logged), so a
later rerun asks the model afresh.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3

from pydantic import BaseModel

from ..store import _runlog
from ..store._index import crash_point, pid_alive
from ..store._ledger import Ledger, Reservation
from ..store._store import Store
from ._gateway import TextRequest

__all__ = ["CRASH_AFTER_ANSWER", "AnswerBook", "adopt_answer_holds", "open_hold", "request_key"]

CRASH_AFTER_ANSWER = "text_answer_recorded"  # FILMSLATE_CRASH_AT checkpoint (crash tests)

SCHEMA = """
CREATE TABLE IF NOT EXISTS text_answers (
    key TEXT PRIMARY KEY,
    skill TEXT NOT NULL,
    target TEXT NOT NULL,
    run_id TEXT NOT NULL,
    output TEXT NOT NULL,
    cost REAL NOT NULL,
    reservation_id INTEGER,
    created_at TEXT NOT NULL,
    pid INTEGER NOT NULL
)"""


def request_key(request: TextRequest) -> str:
    """What makes two requests the same question."""
    digest = hashlib.sha256()
    for part in (
        request.skill,
        request.target,
        str(request.attempt),
        str(request.call),
        request.model,
        request.output_type.__name__,
        request.system,
        request.prompt,
        # the images asked about (none: the key of a text-only question is unchanged)
        *(f"{i.label}:{hashlib.sha256(i.data).hexdigest()}" for i in request.images),
    ):
        digest.update(part.encode("utf-8") + b"\x00")
    return digest.hexdigest()


def open_hold(conn: sqlite3.Connection, res_id: int | None, run_id: str = "") -> Reservation | None:
    """An open budget hold (None: settled, released, or never taken). Reservation ids are
    reused once a hold closes, so a hold is named by its id AND the run that took it."""
    found = conn.execute(
        "SELECT id, run_id, scene_id, shot_id, amount FROM reservations WHERE id = ? "
        "AND (run_id = ? OR ? = '')",
        (res_id, run_id, run_id),
    ).fetchone()
    if found is None:
        return None
    return Reservation(int(found[0]), found[1], found[2], found[3], float(found[4]))


def adopt_answer_holds(store: Store) -> int:
    """Take over the unsettled holds of recorded answers left by dead processes, so they are
    settled at their recorded cost instead of charged at worst case."""
    store.conn.execute(SCHEMA)
    rows = store.conn.execute(
        "SELECT r.id, r.pid FROM reservations r JOIN text_answers a "
        "ON a.reservation_id = r.id AND a.run_id = r.run_id"
    ).fetchall()
    dead = [res_id for res_id, pid in rows if pid != os.getpid() and not pid_alive(pid)]
    if dead:
        with store.transaction() as conn:
            conn.executemany(
                "UPDATE reservations SET pid = ? WHERE id = ?",
                [(os.getpid(), res_id) for res_id in dead],
            )
    return len(dead)


class AnswerBook:
    """The recorded answers of one project's unfinished runs."""

    def __init__(self, store: Store, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger
        store.conn.execute(SCHEMA)

    def record(
        self, request: TextRequest, output: BaseModel, cost: float, hold_id: int, run_id: str
    ) -> None:
        """Keep a paid answer until its run is graded (before the hold is settled)."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO text_answers VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    request_key(request),
                    request.skill,
                    request.target,
                    run_id,
                    output.model_dump_json(),
                    cost,
                    hold_id,
                    _runlog.utc_now(),
                    os.getpid(),
                ),
            )
        crash_point(CRASH_AFTER_ANSWER)

    def recall(
        self, request: TextRequest, run_id: str, tier: str
    ) -> tuple[BaseModel, float] | None:
        """The recorded answer to this request and what settling it cost now (0.0 when the
        dead run had settled it already), or None when there is none."""
        found = self.store.conn.execute(
            "SELECT output, cost, reservation_id, run_id, pid FROM text_answers WHERE key = ?",
            (request_key(request),),
        ).fetchone()
        if found is None or pid_alive(int(found[4])) or self._graded(request, found[3]):
            return None  # none, a live run's own (not ours to take), or a finished run's
        output = request.output_type.model_validate_json(found[0])
        hold = open_hold(self.store.conn, found[2], found[3])
        if hold is None:
            return output, 0.0
        entry = _runlog.LogEntry(
            run_id=run_id,
            skill_name=request.skill,
            target=request.target,
            scene_id=hold.scene_id,
            shot_id=hold.shot_id,
            model_used=request.model,
            tier=tier,
            estimated_cost=hold.amount,
            notes=f"call {request.call}: the recorded answer of an interrupted run",
        )
        self.ledger.settle(hold, float(found[1]), entry)
        return output, float(found[1])

    def _graded(self, request: TextRequest, run_id: str) -> bool:
        """The answer's run finished after all (a crash came before its answers were
        forgotten): a new run asks afresh."""
        row = self.store.conn.execute(
            "SELECT 1 FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
            "AND run_id = ? AND outcome != 'WAITING' LIMIT 1",
            (request.skill, request.target, run_id),
        ).fetchone()
        return row is not None

    def forget(self, skill: str, target: str) -> None:
        """Drop the answers of a skill on a target once a run of it is graded."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM text_answers WHERE skill = ? AND target = ?", (skill, target))
