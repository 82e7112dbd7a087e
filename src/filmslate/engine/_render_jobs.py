"""The ``render_jobs`` table: one row per (shot, resolution, GenPack) video job.

A row's life: ``intent`` (written, with a fresh client reference and the budget hold marked
started, in ONE transaction before the provider is called), ``submitted`` (the provider's job
id recorded, before any waiting), ``running``, then ``done`` or ``failed``; ``unknown`` when a
submission was interrupted before its id was recorded and the provider cannot say whether it
arrived (the run stopped for a person to check). ``reserved`` is the intent state of rows
written before intents carried a reference.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass

from ..store import _runlog
from ..store._index import pid_alive
from ..store._ledger import Reservation
from ..store._store import Store
from ._answers import open_hold

__all__ = [
    "INTENT_STATES",
    "OPEN_STATES",
    "JobRow",
    "JobTable",
    "adopt_open_jobs",
    "spend_entry",
]

OPEN_STATES = ("submitted", "running")
INTENT_STATES = ("intent", "reserved")

SCHEMA = """
CREATE TABLE IF NOT EXISTS render_jobs (
    shot_id TEXT NOT NULL,
    resolution TEXT NOT NULL,
    genpack_sha TEXT NOT NULL,
    provider TEXT NOT NULL,
    job_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    reservation_id INTEGER,
    tier TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL DEFAULT '',
    hold_run TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (shot_id, resolution, genpack_sha)
)"""
COLUMNS = (
    "shot_id, resolution, genpack_sha, provider, job_id, state, reservation_id, tier, "
    "reference, created_at, hold_run"
)
ADDED = ("reference", "hold_run")  # columns newer than the table's first version


@dataclass(frozen=True)
class JobRow:
    """One row of ``render_jobs``."""

    shot_id: str
    resolution: str
    genpack_sha: str
    provider: str
    job_id: str
    state: str
    reservation_id: int | None
    tier: str
    reference: str = ""
    created_at: str = ""  # when the intent was recorded
    hold_run: str = ""  # the run that took the hold (ids are reused once a hold closes)


def ensure_table(conn: sqlite3.Connection) -> None:
    """Create the table, or add the reference column to one made before it existed."""
    conn.execute(SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(render_jobs)")}
    for column in ADDED:
        if column not in columns:
            with contextlib.suppress(sqlite3.OperationalError):  # another process just did
                conn.execute(
                    f"ALTER TABLE render_jobs ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"
                )


def adopt_open_jobs(store: Store) -> int:
    """Take over the budget holds of jobs (and submission intents) left by dead processes.

    ``Ledger.recover`` would charge them at worst case; this process will poll the jobs (or
    settle the intents by the provider's rules) and settle what they really cost instead.
    Holds of live processes are left alone. Returns how many were adopted.
    """
    ensure_table(store.conn)
    states = (*OPEN_STATES, *INTENT_STATES)
    rows = store.conn.execute(
        "SELECT r.id, r.pid FROM reservations r JOIN render_jobs j ON j.reservation_id = r.id "
        "AND (j.hold_run = r.run_id OR j.hold_run = '') "
        f"WHERE j.state IN ({', '.join('?' * len(states))})",
        states,
    ).fetchall()
    dead = [res_id for res_id, pid in rows if pid != os.getpid() and not pid_alive(pid)]
    if dead:
        with store.transaction() as conn:
            conn.executemany(
                "UPDATE reservations SET pid = ? WHERE id = ?",
                [(os.getpid(), res_id) for res_id in dead],
            )
    return len(dead)


class JobTable:
    """Reads and writes of ``render_jobs`` for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        ensure_table(store.conn)

    def get(self, shot_id: str, resolution: str, sha: str) -> JobRow | None:
        """The recorded job for a (shot, resolution, GenPack) key."""
        found = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM render_jobs WHERE shot_id = ? AND resolution = ? "
            "AND genpack_sha = ?",
            (shot_id, resolution, sha),
        ).fetchone()
        return JobRow(*found) if found else None

    def record_intent(self, row: JobRow) -> None:
        """The intent and the hold's started mark, one fact: from here the call may have been
        sent, so a crash is settled by the provider's rules, never by a silent release."""
        with self.store.transaction() as conn:
            self._insert(conn, row)
            conn.execute(
                "UPDATE reservations SET started = 1 WHERE id = ? AND run_id = ?",
                (row.reservation_id, row.hold_run),
            )

    def record(self, row: JobRow) -> None:
        """Write a row (its intent time kept)."""
        with self.store.transaction() as conn:
            self._insert(conn, row)

    def set_state(self, row: JobRow, state: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE render_jobs SET state = ? WHERE shot_id = ? AND resolution = ? "
                "AND genpack_sha = ?",
                (state, row.shot_id, row.resolution, row.genpack_sha),
            )

    def delete(self, row: JobRow) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "DELETE FROM render_jobs WHERE shot_id = ? AND resolution = ? AND genpack_sha = ?",
                (row.shot_id, row.resolution, row.genpack_sha),
            )

    def hold(self, row: JobRow) -> Reservation | None:
        """The job's open budget hold (None: settled, released, or never taken)."""
        return open_hold(self.store.conn, row.reservation_id, row.hold_run)

    def hold_owner(self, row: JobRow) -> int | None:
        """The pid holding the job's reservation (None: no such open reservation)."""
        found = self.store.conn.execute(
            "SELECT pid FROM reservations WHERE id = ? AND (run_id = ? OR ? = '')",
            (row.reservation_id, row.hold_run, row.hold_run),
        ).fetchone()
        return int(found[0]) if found else None

    def _insert(self, conn: sqlite3.Connection, row: JobRow) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO render_jobs ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.shot_id,
                row.resolution,
                row.genpack_sha,
                row.provider,
                row.job_id,
                row.state,
                row.reservation_id,
                row.tier,
                row.reference,
                row.created_at or _runlog.utc_now(),
                row.hold_run,
            ),
        )


def spend_entry(
    hold: Reservation, row: JobRow, skill: str, notes: str, outcome: str = ""
) -> _runlog.LogEntry:
    """The log row of a render's spend (its settlement closes ``hold``)."""
    return _runlog.LogEntry(
        run_id=hold.run_id,
        skill_name=skill or "render",
        target=row.shot_id,
        scene_id=hold.scene_id,
        shot_id=row.shot_id,
        model_used=row.provider,
        tier=row.tier,
        estimated_cost=hold.amount,
        outcome=outcome,
        notes=notes,
    )
