"""The read side of the store: records, verified bytes, parsed models and the queries over
versions. Nothing here writes; :class:`~filmslate.store._store.Store` adds the writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ..core._errors import ArtifactNotFound, IntegrityError
from ..core._names import KINDS, ArtifactName, format_stem, kind, parse_stem
from . import _counts
from ._index import Record, sha256_bytes

if TYPE_CHECKING:  # schemas load on first use, so `slate status` builds none of them
    from ..schemas import Artifact

PARSE_CACHE_SIZE = 256


class Catalog:
    """Reads the artifact versions of one project folder through its index."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = Path(root)
        self.conn = conn
        self._parsed: dict[tuple[str, str], Artifact] = {}
        _counts.ensure(conn)  # the running counts status reads (made once per project)

    def _row(self, filename: str) -> tuple[str, str, int, int, str, str] | None:
        row = self.conn.execute(
            "SELECT name, sha256, size, version, run_id, created_at FROM artifacts WHERE name = ?",
            (filename,),
        ).fetchone()
        return tuple(row) if row else None

    def record(self, name: str | ArtifactName) -> Record:
        """The index record of one version (``SCENES_v002.csv``)."""
        parsed = name if isinstance(name, ArtifactName) else ArtifactName.parse(name)
        row = self._row(parsed.filename)
        if row is None:
            raise ArtifactNotFound(
                f"{parsed} is not in the project (see `slate artifacts {parsed.kind}`)",
                name=str(parsed),
            )
        return Record(parsed, row[1], row[2], row[4], row[5])

    def resolve(self, name: str) -> Record:
        """A versioned name, or a stem meaning its latest version (``CHAR_ALEX_LOCK``)."""
        text = name.strip()
        base = text.rsplit(".", 1)[0] if "." in text and "_v" not in text else text
        if "_v" in base and base.rsplit("_v", 1)[-1][:3].isdigit():
            return self.record(text)
        k, subject = parse_stem(base)
        latest = self.latest(k.name, subject)
        if latest is None:
            raise ArtifactNotFound(f"no version of {format_stem(k.name, subject)} yet", name=text)
        return latest

    def read(self, name: str | ArtifactName) -> bytes:
        """The bytes of a version, verified against the recorded hash."""
        rec = self.record(name)
        path = self.root / rec.name.relpath
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(
                f"{rec.name.relpath} is missing from disk; the index says it "
                "was written. Run `slate verify`.",
                path=str(path),
            ) from None
        if sha256_bytes(data) != rec.sha256:
            raise IntegrityError(
                f"{rec.name.relpath} was changed after it was written "
                "(hash mismatch). Run `slate verify`.",
                path=str(path),
            )
        return data

    def load(self, name: str | ArtifactName) -> Artifact:
        """Read and parse a text artifact into its schema model (treat it as read-only).

        Versions never change, so parsed models are cached per store: a skill that reads the
        500-row SCENES table at every scene parses it once, not 500 times.
        """
        rec = self.record(name)
        key = (rec.filename, rec.sha256)
        cached = self._parsed.pop(key, None)
        if cached is None:
            from ..schemas import schema_for

            cached = schema_for(rec.name.kind).parse(self.read(rec.name))
        self._parsed[key] = cached  # most recently used last
        while len(self._parsed) > PARSE_CACHE_SIZE:
            self._parsed.pop(next(iter(self._parsed)))
        return cached

    def latest(self, kind_name: str, subject: str | None = None) -> Record | None:
        """The newest version of a stem, or None."""
        stem = format_stem(kind_name, subject)
        row = self.conn.execute(
            "SELECT name FROM artifacts WHERE stem = ? ORDER BY version DESC LIMIT 1", (stem,)
        ).fetchone()
        return self.record(row[0]) if row else None

    def versions(self, kind_name: str, subject: str | None = None) -> list[Record]:
        """Every version of a stem, oldest first."""
        stem = format_stem(kind_name, subject)
        rows = self.conn.execute(
            "SELECT name FROM artifacts WHERE stem = ? ORDER BY version", (stem,)
        ).fetchall()
        return [self.record(r[0]) for r in rows]

    def latest_of_each(self, kind_name: str) -> list[Record]:
        """The latest version of every subject of a kind (every lock, every shot list)."""
        rows = self.conn.execute(
            "SELECT name FROM artifacts a WHERE kind = ? AND version = (SELECT max(version) "
            "FROM artifacts b WHERE b.stem = a.stem) ORDER BY stem",
            (kind(kind_name).name,),
        ).fetchall()
        return [self.record(r[0]) for r in rows]

    def artifacts(self, kind_name: str | None = None) -> list[Record]:
        """Every artifact version, optionally of one kind, in name order."""
        sql = "SELECT name, sha256, size, run_id, created_at FROM artifacts"
        args: tuple[str, ...] = ()
        if kind_name:
            sql += " WHERE kind = ?"
            args = (kind(kind_name).name,)
        rows = self.conn.execute(sql + " ORDER BY stem, version", args).fetchall()
        return [Record(ArtifactName.parse(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per kind: (stems, versions), from the running counts the index keeps on write, so
        the cost does not grow with the versions (`slate verify` checks them)."""
        return {k: v for k, v in _counts.kind_counts(self.conn).items() if k in KINDS}
