"""The ``render_jobs`` table: one row per (shot, resolution, GenPack) video job; and
``image_jobs``, the same table for paid images (``shot_id`` holds the image's key, e.g.
``CHAR_NELL_REF``, ``resolution`` its use, ``genpack_sha`` the digest of the job).

A row's life: ``intent`` (written, with a fresh client reference and the budget hold marked
started, in ONE transaction before the provider is called), ``submitted`` (the provider's job
id recorded, before any waiting), ``running``, then ``done`` or ``failed``; ``unknown`` when a
submission was interrupted before its id was recorded and the provider cannot say whether it
arrived (the run stopped for a person to check). ``reserved`` is the intent state of rows
written before intents carried a reference.

Beside the state a row records what was sent (``payload``: the provider's exact input, images
as sha256, written with the intent BEFORE the call), why a job failed (``failure``: the kind,
"refusal", "invalid_input", "timeout", ...; ``message``: the provider's words), the seed sent
and the ``roll`` (0 for a GenPack's first take, n for its n-th re-roll after a QC FIX), and
``graded``: how many QC rows the shot had when the job was made, so a re-roll follows only a
verdict on this very take.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, replace

from ..store import _runlog
from ..store._index import pid_alive
from ..store._ledger import Reservation
from ..store._store import Store
from ._answers import open_hold

__all__ = [
    "IMAGE_TABLE",
    "INTENT_STATES",
    "OPEN_STATES",
    "REFUSALS",
    "SPEECH_TABLE",
    "JobRow",
    "JobTable",
    "adopt_open_jobs",
    "spend_entry",
]

OPEN_STATES = ("submitted", "running")
INTENT_STATES = ("intent", "reserved")
# A job refused for what it asks (content policy, invalid input) is never sent again unchanged.
REFUSALS = ("refusal", "invalid_input")
VIDEO_TABLE, IMAGE_TABLE = "render_jobs", "image_jobs"
SPEECH_TABLE = "speech_jobs"  # scratch and hosted voices, one row per line (issue 15)
TABLES = (VIDEO_TABLE, IMAGE_TABLE, SPEECH_TABLE)
NOUNS = {VIDEO_TABLE: "render", IMAGE_TABLE: "image", SPEECH_TABLE: "speech"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
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
    payload TEXT NOT NULL DEFAULT '',
    failure TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    seed INTEGER NOT NULL DEFAULT 0,
    roll INTEGER NOT NULL DEFAULT 0,
    graded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shot_id, resolution, genpack_sha)
)"""
COLUMNS = (
    "shot_id, resolution, genpack_sha, provider, job_id, state, reservation_id, tier, "
    "reference, created_at, hold_run, payload, failure, message, seed, roll, graded"
)
# columns newer than the table's first version, added to older tables
_TEXT, _INT = "TEXT NOT NULL DEFAULT ''", "INTEGER NOT NULL DEFAULT 0"
COLUMN_NAMES = tuple(name.strip() for name in COLUMNS.split(","))
ADDED = (
    ("created_at", _TEXT),
    ("reference", _TEXT),
    ("hold_run", _TEXT),
    ("payload", _TEXT),
    ("failure", _TEXT),
    ("message", _TEXT),
    ("seed", _INT),
    ("roll", _INT),
    ("graded", _INT),
)


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
    payload: str = ""  # JSON of what the provider was sent (images as sha256)
    failure: str = ""  # the failure kind of a failed job
    message: str = ""  # the provider's message for a failed job
    seed: int = 0
    roll: int = 0  # 0: the GenPack's first take; n: its n-th re-roll after a QC FIX
    graded: int = 0  # QC rows of the shot when the job was made

    @property
    def refused(self) -> bool:
        """A job refused for what it asks: never to be sent again unchanged."""
        return self.state == "failed" and self.failure in REFUSALS


def ensure_table(conn: sqlite3.Connection, table: str = VIDEO_TABLE) -> None:
    """Create the table, or add the columns newer than an older table."""
    conn.execute(SCHEMA.format(table=table))
    # every step looks for open jobs (adopt_open_jobs), every route counts the premium shots
    # (RenderService.route): by index, not a scan of every job the production made
    conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_state ON {table}(state)")
    conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_tier ON {table}(tier, shot_id)")
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for column, declaration in ADDED:
        if column not in columns:
            with contextlib.suppress(sqlite3.OperationalError):  # another process just did
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def adopt_open_jobs(store: Store) -> int:
    """Take over the budget holds of jobs (and submission intents) left by dead processes.

    ``Ledger.recover`` would charge them at worst case; this process will poll the jobs (or
    settle the intents by the provider's rules) and settle what they really cost instead.
    Holds of live processes are left alone. Covers video and image jobs. Returns how many
    were adopted.
    """
    states = (*OPEN_STATES, *INTENT_STATES)
    rows = []
    for table in TABLES:
        ensure_table(store.conn, table)
        rows += store.conn.execute(
            f"SELECT r.id, r.pid FROM reservations r JOIN {table} j "
            "ON j.reservation_id = r.id AND (j.hold_run = r.run_id OR j.hold_run = '') "
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
    """Reads and writes of ``render_jobs`` (or ``image_jobs``) for one store."""

    def __init__(self, store: Store, table: str = VIDEO_TABLE) -> None:
        assert table in TABLES
        self.store = store
        self.table = table
        self.noun = NOUNS[table]  # for messages
        ensure_table(store.conn, table)

    def get(self, shot_id: str, resolution: str, sha: str) -> JobRow | None:
        """The recorded job for a (shot, resolution, GenPack) key."""
        found = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM {self.table} WHERE shot_id = ? AND resolution = ? "
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
                f"UPDATE {self.table} SET state = ? WHERE shot_id = ? AND resolution = ? "
                "AND genpack_sha = ?",
                (state, row.shot_id, row.resolution, row.genpack_sha),
            )

    def fail(self, row: JobRow, failure: str, message: str) -> JobRow:
        """Mark the job failed, with the kind of failure and the provider's message."""
        failed = replace(row, state="failed", failure=failure, message=message[:2000])
        with self.store.transaction() as conn:
            conn.execute(
                f"UPDATE {self.table} SET state = 'failed', failure = ?, message = ? "
                "WHERE shot_id = ? AND resolution = ? AND genpack_sha = ?",
                (failed.failure, failed.message, row.shot_id, row.resolution, row.genpack_sha),
            )
        return failed

    def delete(self, row: JobRow) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                f"DELETE FROM {self.table} WHERE shot_id = ? AND resolution = ? "
                "AND genpack_sha = ?",
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
            f"INSERT OR REPLACE INTO {self.table} ({COLUMNS}) "
            f"VALUES ({', '.join('?' * len(COLUMN_NAMES))})",
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
                row.payload,
                row.failure,
                row.message,
                row.seed,
                row.roll,
                row.graded,
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
        shot_id=hold.shot_id,  # the scopes it was held against: a sheet is no shot
        model_used=row.provider,
        tier=row.tier,
        estimated_cost=hold.amount,
        outcome=outcome,
        notes=notes,
    )
