"""The index database and the file primitives every store module shares.

The index (SQLite, WAL) is a cache of the files and the run log: its schema, how a version and
its lineage enter it, the hashes that bind an index row to its bytes, and the crash and
liveness helpers the write path and the ledger rely on.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core._names import ArtifactName
from . import _runlog
from ._chain import IndexConnection

INDEX_DIR = ".filmslate"
INDEX_FILE = "index.sqlite"
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH

SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, stem TEXT NOT NULL,
    version INTEGER NOT NULL, relpath TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, run_id TEXT NOT NULL, created_at TEXT NOT NULL,
    -- the log head at its write (its write row's seq and hash): a witness of the log's length
    log_seq INTEGER NOT NULL DEFAULT 0, log_head TEXT NOT NULL DEFAULT '',
    UNIQUE (stem, version)
);
CREATE INDEX IF NOT EXISTS artifacts_kind ON artifacts(kind, subject);
CREATE INDEX IF NOT EXISTS artifacts_run ON artifacts(run_id);
CREATE TABLE IF NOT EXISTS lineage (
    artifact TEXT NOT NULL, input TEXT NOT NULL, PRIMARY KEY (artifact, input)
);
CREATE INDEX IF NOT EXISTS lineage_input ON lineage(input);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- WORLD_STATE versions form a timeline: which scene each one is the state after ('' = initial)
CREATE TABLE IF NOT EXISTS world_states (
    name TEXT PRIMARY KEY, version INTEGER NOT NULL, after_scene TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS world_states_after ON world_states(after_scene, version);
CREATE TABLE IF NOT EXISTS skill_layers (name TEXT PRIMARY KEY, layer TEXT NOT NULL);
-- budget ledger: open holds and running totals per cap (see _budget)
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, scene_id TEXT NOT NULL,
    shot_id TEXT NOT NULL, amount REAL NOT NULL, started INTEGER NOT NULL DEFAULT 0,
    pid INTEGER NOT NULL, created_at TEXT NOT NULL, what TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT ''  -- the call's target: an episode's own calls (_scopes)
);
CREATE TABLE IF NOT EXISTS spend_totals (
    level TEXT NOT NULL, scope TEXT NOT NULL, settled REAL NOT NULL DEFAULT 0,
    reserved REAL NOT NULL DEFAULT 0, headroom REAL NOT NULL DEFAULT 0,
    warned_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (level, scope)
);
"""


@dataclass(frozen=True)
class Record:
    """What the index knows about one artifact version."""

    name: ArtifactName
    sha256: str
    size: int
    run_id: str
    created_at: str

    @property
    def filename(self) -> str:
        """The file name, ``SCENES_v002.csv``."""
        return self.name.filename


def insert_record(
    conn: sqlite3.Connection, rec: Record, inputs: Iterable[str], head: tuple[int, str] = (0, "")
) -> None:
    """Index one artifact version, its lineage and the log head at its write (inside the
    caller's transaction)."""
    n = rec.name
    conn.execute(
        "INSERT INTO artifacts (name, kind, subject, stem, version, relpath, sha256, size, "
        "run_id, created_at, log_seq, log_head) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            n.filename,
            n.kind,
            n.subject or "",
            n.stem,
            n.version,
            n.relpath,
            rec.sha256,
            rec.size,
            rec.run_id,
            rec.created_at,
            *head,
        ),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO lineage (artifact, input) VALUES (?, ?)",
        [(n.filename, i) for i in inputs],
    )


def index_world_state(conn: sqlite3.Connection, name: ArtifactName, data: bytes) -> None:
    """Remember which scene a WORLD_STATE version is the state after (inside the write)."""
    if name.kind != "WORLD_STATE":
        return
    after = json.loads(data.decode("utf-8"))["timeline"].get("current_scene") or ""
    conn.execute(
        "INSERT OR REPLACE INTO world_states (name, version, after_scene) VALUES (?, ?, ?)",
        (name.filename, name.version, after),
    )


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def connect(path: Path) -> IndexConnection:
    """Open an index database in WAL mode with our settings."""
    # check_same_thread off: `slate run --jobs N` runs steps on several threads, one at a time
    # (workflow._scheduler serialises every store use; only provider waits overlap)
    conn = sqlite3.connect(
        path, timeout=60.0, isolation_level=None, factory=IndexConnection, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.executescript(SCHEMA + _runlog.SCHEMA)
    return conn


def fsync_dir(path: Path) -> None:
    """Make a directory entry (a just-linked file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def crash_point(where: str) -> None:
    """Fault injection for the crash tests: die here, as kill -9 would, when asked to."""
    if os.environ.get("FILMSLATE_CRASH_AT") == where:
        os.kill(os.getpid(), 9)


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (a crashed writer's id does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
