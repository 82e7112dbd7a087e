"""Publishing artifact versions: one, or many together, all or nothing.

A batch stages every payload first (validated, written to a temp file, fsynced, read-only),
outside any lock. Publication is then one ``BEGIN IMMEDIATE`` transaction: the versions are
allocated, one intent record naming every file is written and fsynced, every log row and
index record is inserted, every file is published with ``os.link`` (which fails rather than
replace a file), and the transaction commits. A process killed before the commit leaves the
intent record behind and the next open removes exactly the files it names (same hash, not in
the index); after the commit every file is indexed. So an import of 20,000 scene slices lands
whole or not at all, and a single write is a batch of one.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..core._errors import ArtifactNotFound, HardStop, IntegrityError, SchemaError
from ..core._names import ArtifactName, format_stem, kind
from . import _runlog
from ._index import (
    READ_ONLY,
    Record,
    crash_point,
    fsync_dir,
    index_world_state,
    insert_record,
    sha256_bytes,
    sha256_file,
)
from ._lineage import Lineage
from ._scan import check_publish_target

if TYPE_CHECKING:  # schemas load on first use, so `slate status` builds none of them
    from ..schemas import Artifact

MAGIC = {"png": (0, b"\x89PNG\r\n\x1a\n"), "mp4": (4, b"ftyp"), "wav": (8, b"WAVE")}


@dataclass(eq=False)
class Staged:
    """One artifact version waiting in a batch: its bytes in a temp file, no version yet."""

    kind: str
    subject: str | None
    stem: str
    tmp: Path
    digest: str
    size: int
    inputs: list[str | Staged]
    entry: _runlog.LogEntry
    world: bytes | None = None  # a WORLD_STATE's bytes, for the timeline index
    record: Record | None = None

    @property
    def published(self) -> Record:
        """The record once the batch is published."""
        if self.record is None:
            raise RuntimeError(f"{self.stem} is staged, not published: leave the batch first")
        return self.record


class Batch:
    """Artifact versions that are published together or not at all (``Store.batch()``)."""

    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer
        self.items: list[Staged] = []
        self._ids: set[int] = set()

    def add(
        self,
        kind_name: str,
        subject: str | None,
        payload: Artifact | bytes,
        inputs: Sequence[str | ArtifactName | Staged] = (),
        entry: _runlog.LogEntry | None = None,
    ) -> Staged:
        """Stage a payload as the next version of its stem; inputs may be staged items."""
        for item in inputs:
            if isinstance(item, Staged) and id(item) not in self._ids:
                raise ValueError(f"{item.stem} is staged in another batch")
        staged = self.writer.stage(kind_name, subject, payload, inputs, entry)
        self.items.append(staged)
        self._ids.add(id(staged))
        return staged


class BatchWriter(Lineage):
    """The write side of the store: validate, stage, publish, and undo a killed publish."""

    meta_dir: Path
    log_problem: str

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

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Stage writes with ``add``; on leaving the block they are published together.

        An exception inside the block publishes nothing.
        """
        batch = Batch(self)
        try:
            yield batch
            if batch.items:
                self._publish(batch.items)
        finally:
            for item in batch.items:
                item.tmp.unlink(missing_ok=True)
        if batch.items:
            crash_point("before_csv")
            _runlog.sync_csv(self.conn, self.root)

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

    def stage(
        self,
        kind_name: str,
        subject: str | None,
        payload: Artifact | bytes,
        inputs: Sequence[str | ArtifactName | Staged] = (),
        entry: _runlog.LogEntry | None = None,
    ) -> Staged:
        """Validate a payload and write its bytes to a temp file (no lock, no version)."""
        if self.log_problem:
            raise HardStop(self.log_problem)
        k = kind(kind_name)
        data = self.render(k.name, subject, payload)
        named = self._resolve_inputs([i for i in inputs if not isinstance(i, Staged)])
        entry = entry or _runlog.LogEntry(
            run_id=_runlog.new_run_id(), skill_name="store", event="write"
        )
        tmp = self._write_temp(data)
        crash_point("after_temp")
        every: list[str | Staged] = [*named, *(i for i in inputs if isinstance(i, Staged))]
        world = data if k.name == "WORLD_STATE" else None
        stem, digest = format_stem(k.name, subject), sha256_bytes(data)
        return Staged(k.name, subject, stem, tmp, digest, len(data), every, entry, world)

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

    # -- publication ----------------------------------------------------------------------

    def _publish(self, items: list[Staged]) -> None:
        with self.transaction() as conn:
            names = _allocate(conn, items)
            for item, name in zip(items, names, strict=True):
                check_publish_target(self.root, self.root / name.relpath, item.tmp)  # no links
                (self.root / name.relpath).parent.mkdir(parents=True, exist_ok=True)
            intent = self._write_intent(items, names)
            crash_point("after_intent")
            try:
                _index_items(conn, items, names)
                self._link_all(items, names)
            except BaseException:
                self._unlink_ours(items, names)
                intent.unlink(missing_ok=True)
                raise
            crash_point("after_link")
        crash_point("after_commit")
        intent.unlink(missing_ok=True)

    def _write_intent(self, items: list[Staged], names: list[ArtifactName]) -> Path:
        intent = self.meta_dir / "pending" / f"{os.getpid()}-{os.urandom(6).hex()}.json"
        listing = [
            {"relpath": n.relpath, "tmp": i.tmp.name, "sha256": i.digest}
            for i, n in zip(items, names, strict=True)
        ]
        with open(intent, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "items": listing}))
            fh.flush()
            os.fsync(fh.fileno())
        return intent

    def _link_all(self, items: list[Staged], names: list[ArtifactName]) -> None:
        folders = set()
        for n, (item, name) in enumerate(zip(items, names, strict=True)):
            final = self.root / name.relpath
            try:
                os.link(item.tmp, final)
            except FileExistsError:
                raise IntegrityError(
                    f"{name.relpath} already exists but the index does not know it; nothing "
                    "was overwritten. Run `slate verify` to see how the project changed.",
                    path=str(final),
                ) from None
            folders.add(final.parent)
            if n == 0 and len(items) > 1:
                crash_point("mid_link")
        for folder in sorted(folders):
            fsync_dir(folder)

    def _unlink_ours(self, items: list[Staged], names: list[ArtifactName]) -> None:
        """Remove the files this failed publish linked (the same inode as its temp file)."""
        for item, name in zip(items, names, strict=True):
            final = self.root / name.relpath
            with suppress(OSError):
                if os.path.samefile(item.tmp, final):
                    final.unlink()

    # -- recovery -------------------------------------------------------------------------

    def roll_back_killed_writes(self) -> None:
        """Undo every publish whose process died before committing (intent records left)."""
        pending = sorted((self.meta_dir / "pending").glob("*.json"))
        if not pending:
            return
        with self.transaction() as conn:  # holding the write lock: their writers are gone
            for intent in pending:
                self._roll_back(conn, intent)

    def _roll_back(self, conn: sqlite3.Connection, intent: Path) -> None:
        try:
            info = json.loads(intent.read_text(encoding="utf-8"))
            items = info.get("items", [info])  # a single write's older record is one item
            listing = [(str(i["relpath"]), str(i["tmp"]), str(i["sha256"])) for i in items]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            intent.unlink(missing_ok=True)
            return
        for relpath, tmp, digest in listing:
            name = Path(relpath).name
            committed = conn.execute("SELECT 1 FROM artifacts WHERE name = ?", (name,)).fetchone()
            final = self.root / relpath
            # Only remove a file we published ourselves: same hash as the intent says.
            if not committed and final.is_file() and sha256_file(final) == digest:
                final.unlink()
            (self.meta_dir / "tmp" / tmp).unlink(missing_ok=True)
        intent.unlink(missing_ok=True)


def _allocate(conn: sqlite3.Connection, items: list[Staged]) -> list[ArtifactName]:
    """The next versions, in staging order (inside the write lock)."""
    last: dict[str, int] = {}
    names = []
    for item in items:
        if item.stem not in last:
            row = conn.execute(
                "SELECT max(version) FROM artifacts WHERE stem = ?", (item.stem,)
            ).fetchone()
            last[item.stem] = row[0] or 0
        last[item.stem] += 1
        names.append(ArtifactName(item.kind, item.subject, last[item.stem]))
    return names


def _index_items(conn: sqlite3.Connection, items: list[Staged], names: list[ArtifactName]) -> None:
    """Log and index every staged version; a staged input becomes its allocated name."""
    position = {id(item): name for item, name in zip(items, names, strict=True)}
    for item, name in zip(items, names, strict=True):
        inputs = sorted(
            {i.filename if isinstance(i, ArtifactName) else i for i in _names_of(item, position)}
        )
        entry = item.entry
        entry.artifact_output, entry.artifact_sha256 = name.filename, item.digest
        entry.inputs = tuple(inputs)
        cells = _runlog.append(conn, entry)
        record = Record(name, item.digest, item.size, entry.run_id, entry.timestamp)
        insert_record(conn, record, inputs, (int(cells["seq"]), cells["row_hash"]))
        if item.world is not None:
            index_world_state(conn, name, item.world)
        item.record = record


def _names_of(item: Staged, position: dict[int, ArtifactName]) -> list[str | ArtifactName]:
    return [position[id(i)] if isinstance(i, Staged) else i for i in item.inputs]


def _check_subject_matches(payload: Artifact, subject: str | None) -> None:
    """A payload that names its own subject must name the one it is filed under."""
    field = getattr(type(payload), "SUBJECT_FIELD", None)
    if field and subject is not None and getattr(payload, field, subject) != subject:
        raise SchemaError(
            f"payload says {field}={getattr(payload, field)!r} but is filed under {subject!r}",
            field=field,
        )
