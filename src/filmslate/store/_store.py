"""The store: the only writer into a project.

Every artifact version is written once and never replaced: the bytes go to a temp file
(fsynced), the version is allocated under SQLite's write lock, and the file is published with
``os.link``, which fails rather than replace an existing file. An intent record makes a write
killed half-way roll back on the next open, so no partial or unindexed artifact survives.
The index (SQLite, WAL) is a cache of the files and the run log; ``reindex`` rebuilds it.

The read side lives in ``_catalog`` (records, bytes, parsed models) and ``_lineage`` (inputs,
dependents, staleness); the index schema and file primitives in ``_index``, re-exported here
for the many callers that import them with the store.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..core._errors import ArtifactNotFound, HardStop, IntegrityError, SchemaError
from ..core._names import ArtifactName, format_stem, kind
from . import _runlog
from ._index import (
    INDEX_DIR,
    INDEX_FILE,
    READ_ONLY,
    SCHEMA,
    Record,
    connect,
    crash_point,
    fsync_dir,
    index_world_state,
    insert_record,
    pid_alive,
    sha256_bytes,
    sha256_file,
)
from ._lineage import Lineage

if TYPE_CHECKING:  # schemas load on first use, so `slate status` builds none of them
    from ..schemas import Artifact

__all__ = [
    "INDEX_DIR",
    "INDEX_FILE",
    "READ_ONLY",
    "SCHEMA",
    "Record",
    "Store",
    "connect",
    "crash_point",
    "index_world_state",
    "insert_record",
    "pid_alive",
    "sha256_bytes",
    "sha256_file",
]

MAGIC = {"png": (0, b"\x89PNG\r\n\x1a\n"), "mp4": (4, b"ftyp")}


class Store(Lineage):
    """Versioned, immutable artifact storage for one project folder."""

    def __init__(self, root: Path) -> None:
        meta_dir = Path(root) / INDEX_DIR
        for sub in ("tmp", "pending"):
            (meta_dir / sub).mkdir(parents=True, exist_ok=True)
        super().__init__(root, connect(meta_dir / INDEX_FILE))
        self.meta_dir = meta_dir
        self.log_problem = ""
        self.recover()

    def close(self) -> None:
        """Close the index connection."""
        self.conn.close()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction: allocation and ledger work go here."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def log(self, entry: _runlog.LogEntry) -> dict[str, str]:
        """Append a run-log row (its own transaction) and mirror it to the CSV."""
        with self.transaction() as conn:
            cells = _runlog.append(conn, entry)
        _runlog.sync_csv(self.conn, self.root)
        return cells

    # -- writing ------------------------------------------------------------------------

    def render(self, kind_name: str, subject: str | None, payload: Artifact | bytes) -> bytes:
        """Validate a payload against its kind and return the exact bytes to store."""
        k = kind(kind_name)
        if k.binary:
            if not isinstance(payload, bytes):
                raise SchemaError(f"{k.name} artifacts are {k.extension} bytes", kind=k.name)
            offset, magic = MAGIC[k.extension]
            if payload[offset : offset + len(magic)] != magic:
                raise SchemaError(f"payload is not a .{k.extension} file", kind=k.name)
            return payload
        from ..schemas import schema_for

        model = schema_for(k.name)
        if isinstance(payload, bytes):
            payload = model.parse(payload)
        if not isinstance(payload, model):
            raise SchemaError(
                f"{k.name} needs a {model.__name__}, got {type(payload).__name__}", kind=k.name
            )
        _check_subject_matches(payload, subject)
        return payload.render()

    def write(
        self,
        kind_name: str,
        subject: str | None,
        payload: Artifact | bytes,
        inputs: Sequence[str | ArtifactName] = (),
        entry: _runlog.LogEntry | None = None,
    ) -> Record:
        """Store a payload as the next version of its stem, with lineage and a log row."""
        if self.log_problem:
            raise HardStop(self.log_problem)
        k = kind(kind_name)
        stem = format_stem(k.name, subject)
        data = self.render(k.name, subject, payload)
        input_names = self._resolve_inputs(inputs)
        entry = entry or _runlog.LogEntry(
            run_id=_runlog.new_run_id(), skill_name="store", event="write"
        )
        tmp = self._write_temp(data)
        crash_point("after_temp")
        try:
            record = self._publish(k.name, subject, stem, tmp, data, input_names, entry)
        finally:
            tmp.unlink(missing_ok=True)
        crash_point("before_csv")
        _runlog.sync_csv(self.conn, self.root)
        return record

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

    def _resolve_inputs(self, inputs: Sequence[str | ArtifactName]) -> list[str]:
        names = []
        for item in inputs:
            name = item if isinstance(item, ArtifactName) else ArtifactName.parse(str(item))
            if self._row(name.filename) is None:
                raise ArtifactNotFound(f"input {name} is not in the project", name=str(name))
            names.append(name.filename)
        return sorted(set(names))

    def _write_temp(self, data: bytes) -> Path:
        tmp = self.meta_dir / "tmp" / f"{os.getpid()}-{os.urandom(6).hex()}.part"
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, READ_ONLY)
        return tmp

    def _publish(
        self,
        kind_name: str,
        subject: str | None,
        stem: str,
        tmp: Path,
        data: bytes,
        inputs: list[str],
        entry: _runlog.LogEntry,
    ) -> Record:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT max(version) FROM artifacts WHERE stem = ?", (stem,)
            ).fetchone()
            name = ArtifactName(kind_name, subject, (row[0] or 0) + 1)
            final = self.root / name.relpath
            final.parent.mkdir(parents=True, exist_ok=True)
            digest = sha256_bytes(data)
            intent = self._write_intent(name, tmp, digest)
            crash_point("after_intent")
            entry.artifact_output, entry.artifact_sha256 = name.filename, digest
            entry.inputs = tuple(inputs)
            _runlog.append(conn, entry)
            record = Record(name, digest, len(data), entry.run_id, entry.timestamp)
            insert_record(conn, record, inputs)
            index_world_state(conn, name, data)
            try:
                os.link(tmp, final)
            except FileExistsError:
                intent.unlink()
                raise IntegrityError(
                    f"{name.relpath} already exists but the index does not know it; nothing "
                    "was overwritten. Run `slate verify` to see how the project changed.",
                    path=str(final),
                ) from None
            fsync_dir(final.parent)
            crash_point("after_link")
        crash_point("after_commit")
        intent.unlink(missing_ok=True)
        return record

    def _write_intent(self, name: ArtifactName, tmp: Path, digest: str) -> Path:
        intent = self.meta_dir / "pending" / f"{name.filename}.json"
        body = json.dumps(
            {"relpath": name.relpath, "tmp": tmp.name, "sha256": digest, "pid": os.getpid()}
        )
        with open(intent, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        return intent

    # -- recovery -----------------------------------------------------------------------

    def recover(self) -> None:
        """Roll back writes killed half-way, drop dead temp files, and catch the CSV up."""
        pending = list((self.meta_dir / "pending").glob("*.json"))
        if pending:
            with self.transaction() as conn:
                for intent in pending:
                    self._roll_back(conn, intent)
        for tmp in (self.meta_dir / "tmp").glob("*.part"):
            pid = int(tmp.name.split("-", 1)[0]) if tmp.name.split("-", 1)[0].isdigit() else 0
            if not pid_alive(pid):
                tmp.unlink(missing_ok=True)
        try:
            # Rows committed but not yet mirrored (a crash after commit) are appended here.
            _runlog.sync_csv(self.conn, self.root)
        except IntegrityError as exc:
            self.log_problem = str(exc)  # reported by verify; refuses writes until fixed

    def _roll_back(self, conn: sqlite3.Connection, intent: Path) -> None:
        """Undo one unfinished publish; we hold the write lock, so its writer is gone."""
        try:
            info = json.loads(intent.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            intent.unlink(missing_ok=True)
            return
        name = Path(info["relpath"]).name
        committed = conn.execute("SELECT 1 FROM artifacts WHERE name = ?", (name,)).fetchone()
        final = self.root / info["relpath"]
        # Only remove a file we published ourselves: same hash as the intent says.
        if not committed and final.exists() and sha256_file(final) == info.get("sha256"):
            final.unlink()
        (self.meta_dir / "tmp" / info["tmp"]).unlink(missing_ok=True)
        intent.unlink(missing_ok=True)


def _check_subject_matches(payload: Artifact, subject: str | None) -> None:
    """A payload that names its own subject must name the one it is filed under."""
    field = getattr(type(payload), "SUBJECT_FIELD", None)
    if field and subject is not None and getattr(payload, field, subject) != subject:
        raise SchemaError(
            f"payload says {field}={getattr(payload, field)!r} but is filed under {subject!r}",
            field=field,
        )
