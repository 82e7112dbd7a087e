"""The store: the only writer into a project.

Every artifact version is written once and never replaced: the bytes go to a temp file
(fsynced), the version is allocated under SQLite's write lock, and the file is published with
``os.link``, which fails rather than replace an existing file. An intent record makes a write
killed half-way roll back on the next open, so no partial or unindexed artifact survives;
several files written together (``Store.batch()``, an import) are published all or none.
The index (SQLite, WAL) is a cache of the files and the run log; ``reindex`` rebuilds it.

The read side lives in ``_catalog`` (records, bytes, parsed models) and ``_lineage`` (inputs,
dependents, staleness); staging and publication in ``_batch``; the index schema and file
primitives in ``_index``, re-exported here for the many callers that import them with the
store; the project key in ``_chain``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..core._errors import IntegrityError
from ..core._names import ArtifactName
from . import _runlog
from ._batch import Batch, BatchWriter, Staged
from ._chain import IndexConnection, Signer, load_signer
from ._index import (
    INDEX_DIR,
    INDEX_FILE,
    READ_ONLY,
    SCHEMA,
    Record,
    connect,
    crash_point,
    index_world_state,
    insert_record,
    pid_alive,
    sha256_bytes,
    sha256_file,
)

if TYPE_CHECKING:  # schemas load on first use, so `slate status` builds none of them
    from ..schemas import Artifact

__all__ = [
    "INDEX_DIR",
    "INDEX_FILE",
    "READ_ONLY",
    "SCHEMA",
    "Batch",
    "Record",
    "Staged",
    "Store",
    "connect",
    "crash_point",
    "index_world_state",
    "insert_record",
    "pid_alive",
    "sha256_bytes",
    "sha256_file",
]


class Store(BatchWriter):
    """Versioned, immutable artifact storage for one project folder."""

    def __init__(self, root: Path) -> None:
        meta_dir = Path(root) / INDEX_DIR
        for sub in ("tmp", "pending"):
            (meta_dir / sub).mkdir(parents=True, exist_ok=True)
        conn = connect(meta_dir / INDEX_FILE)
        super().__init__(root, conn)
        conn.signer = load_signer(self.root, _first_run_id(conn, self.root))
        self.meta_dir = meta_dir
        self.log_problem = ""
        self.recover()

    @property
    def signer(self) -> Signer:
        """The project's row signer (it signs nothing when the project has no key)."""
        assert isinstance(self.conn, IndexConnection) and self.conn.signer is not None
        return self.conn.signer

    def close(self) -> None:
        """Close the index connection."""
        self.conn.close()

    def log(self, entry: _runlog.LogEntry) -> dict[str, str]:
        """Append a run-log row (its own transaction) and mirror it to the CSV."""
        with self.transaction() as conn:
            cells = _runlog.append(conn, entry)
        _runlog.sync_csv(self.conn, self.root)
        return cells

    # -- writing ------------------------------------------------------------------------

    def write(
        self,
        kind_name: str,
        subject: str | None,
        payload: Artifact | bytes,
        inputs: Sequence[str | ArtifactName] = (),
        entry: _runlog.LogEntry | None = None,
    ) -> Record:
        """Store a payload as the next version of its stem, with lineage and a log row."""
        with self.batch() as batch:
            staged = batch.add(kind_name, subject, payload, inputs, entry)
        return staged.published

    def same_as_latest(
        self,
        kind_name: str,
        subject: str | None,
        payload: Artifact | bytes,
        inputs: Sequence[str | ArtifactName] = (),
    ) -> Record | None:
        """The latest version when it has exactly these bytes and inputs, else None.

        Lets a rerun that would produce an identical artifact reuse it instead of adding a
        version that says nothing new.
        """
        latest = self.latest(kind_name, subject)
        if latest is None:
            return None
        data = self.render(kind_name, subject, payload)
        if sha256_bytes(data) != latest.sha256:
            return None
        used = sorted(n.filename for n in self.lineage(latest.name))
        return latest if used == self._resolve_inputs(inputs) else None

    # -- recovery -----------------------------------------------------------------------

    def recover(self) -> None:
        """Roll back writes killed half-way, drop dead temp files, and catch the CSV up."""
        self.roll_back_killed_writes()
        for tmp in (self.meta_dir / "tmp").glob("*.part"):
            pid = int(tmp.name.split("-", 1)[0]) if tmp.name.split("-", 1)[0].isdigit() else 0
            if not pid_alive(pid):
                tmp.unlink(missing_ok=True)
        try:
            # Rows committed but not yet mirrored (a crash after commit) are appended here.
            _runlog.sync_csv(self.conn, self.root)
        except IntegrityError as exc:
            self.log_problem = str(exc)  # reported by verify; refuses writes until fixed


def _first_run_id(conn: sqlite3.Connection, root: Path) -> str | None:
    """The run id of the log's first row: the project's id, which names its key file."""
    row = conn.execute("SELECT run_id FROM runlog WHERE seq = 1").fetchone()
    if row:
        return str(row[0])
    try:
        first = next(_runlog.read_csv(root), None)
    except (IntegrityError, OSError, UnicodeDecodeError):
        return None
    return first[1].get("run_id") if first else None
