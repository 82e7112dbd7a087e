"""The store: the only writer into a project.

Every artifact version is written once and never replaced: the bytes go to a temp file
(fsynced), the version is allocated under SQLite's write lock, and the file is published with
``os.link``, which fails rather than replace an existing file. An intent record makes a write
killed half-way roll back on the next open, so no partial or unindexed artifact survives.
The index (SQLite, WAL) is a cache of the files and the run log; ``reindex`` rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core._errors import ArtifactNotFound, HardStop, IntegrityError, SchemaError
from ..core._names import KINDS, ArtifactName, format_stem, kind, parse_stem
from ..schemas import Artifact, schema_for
from . import _runlog

INDEX_DIR = ".filmslate"
INDEX_FILE = "index.sqlite"
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH

SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, stem TEXT NOT NULL,
    version INTEGER NOT NULL, relpath TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, run_id TEXT NOT NULL, created_at TEXT NOT NULL,
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
    pid INTEGER NOT NULL, created_at TEXT NOT NULL, what TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spend_totals (
    level TEXT NOT NULL, scope TEXT NOT NULL, settled REAL NOT NULL DEFAULT 0,
    reserved REAL NOT NULL DEFAULT 0, headroom REAL NOT NULL DEFAULT 0,
    warned_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (level, scope)
);
"""

PARSE_CACHE_SIZE = 256
MAGIC = {"png": (0, b"\x89PNG\r\n\x1a\n"), "mp4": (4, b"ftyp")}


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


def insert_record(conn: sqlite3.Connection, rec: Record, inputs: Iterable[str]) -> None:
    """Index one artifact version and its lineage (inside the caller's transaction)."""
    n = rec.name
    conn.execute(
        "INSERT INTO artifacts (name, kind, subject, stem, version, relpath, sha256, size, "
        "run_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (n.filename, n.kind, n.subject or "", n.stem, n.version, n.relpath, rec.sha256,
         rec.size, rec.run_id, rec.created_at))
    conn.executemany("INSERT OR IGNORE INTO lineage (artifact, input) VALUES (?, ?)",
                     [(n.filename, i) for i in inputs])


def index_world_state(conn: sqlite3.Connection, name: ArtifactName, data: bytes) -> None:
    """Remember which scene a WORLD_STATE version is the state after (inside the write)."""
    if name.kind != "WORLD_STATE":
        return
    after = json.loads(data.decode("utf-8"))["timeline"].get("current_scene") or ""
    conn.execute("INSERT OR REPLACE INTO world_states (name, version, after_scene) "
                 "VALUES (?, ?, ?)", (name.filename, name.version, after))


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


def connect(path: Path) -> sqlite3.Connection:
    """Open an index database in WAL mode with our settings."""
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.executescript(SCHEMA + _runlog.SCHEMA)
    return conn


def _fsync_dir(path: Path) -> None:
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


class Store:
    """Versioned, immutable artifact storage for one project folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.meta_dir = self.root / INDEX_DIR
        for sub in ("tmp", "pending"):
            (self.meta_dir / sub).mkdir(parents=True, exist_ok=True)
        self.conn = connect(self.meta_dir / INDEX_FILE)
        self.log_problem = ""
        self._parsed: dict[tuple[str, str], Artifact] = {}
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
            if payload[offset:offset + len(magic)] != magic:
                raise SchemaError(f"payload is not a .{k.extension} file", kind=k.name)
            return payload
        model = schema_for(k.name)
        if isinstance(payload, bytes):
            payload = model.parse(payload)
        if not isinstance(payload, model):
            raise SchemaError(f"{k.name} needs a {model.__name__}, got "
                              f"{type(payload).__name__}", kind=k.name)
        _check_subject_matches(payload, subject)
        return payload.render()

    def write(self, kind_name: str, subject: str | None, payload: Artifact | bytes,
              inputs: Sequence[str | ArtifactName] = (),
              entry: _runlog.LogEntry | None = None) -> Record:
        """Store a payload as the next version of its stem, with lineage and a log row."""
        if self.log_problem:
            raise HardStop(self.log_problem)
        k = kind(kind_name)
        stem = format_stem(k.name, subject)
        data = self.render(k.name, subject, payload)
        input_names = self._resolve_inputs(inputs)
        entry = entry or _runlog.LogEntry(run_id=_runlog.new_run_id(), skill_name="store",
                                          event="write")
        tmp = self._write_temp(data)
        crash_point("after_temp")
        try:
            record = self._publish(k.name, subject, stem, tmp, data, input_names, entry)
        finally:
            tmp.unlink(missing_ok=True)
        crash_point("before_csv")
        _runlog.sync_csv(self.conn, self.root)
        return record

    def same_as_latest(self, kind_name: str, subject: str | None, payload: Artifact | bytes,
                       inputs: Sequence[str | ArtifactName] = ()) -> Record | None:
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

    def _publish(self, kind_name: str, subject: str | None, stem: str, tmp: Path, data: bytes,
                 inputs: list[str], entry: _runlog.LogEntry) -> Record:
        with self.transaction() as conn:
            row = conn.execute("SELECT max(version) FROM artifacts WHERE stem = ?",
                               (stem,)).fetchone()
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
                    path=str(final)) from None
            _fsync_dir(final.parent)
            crash_point("after_link")
        crash_point("after_commit")
        intent.unlink(missing_ok=True)
        return record

    def _write_intent(self, name: ArtifactName, tmp: Path, digest: str) -> Path:
        intent = self.meta_dir / "pending" / f"{name.filename}.json"
        body = json.dumps({"relpath": name.relpath, "tmp": tmp.name, "sha256": digest,
                           "pid": os.getpid()})
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

    # -- reading ------------------------------------------------------------------------

    def _row(self, filename: str) -> tuple[str, str, int, int, str, str] | None:
        row = self.conn.execute(
            "SELECT name, sha256, size, version, run_id, created_at FROM artifacts "
            "WHERE name = ?", (filename,)).fetchone()
        return tuple(row) if row else None

    def record(self, name: str | ArtifactName) -> Record:
        """The index record of one version (``SCENES_v002.csv``)."""
        parsed = name if isinstance(name, ArtifactName) else ArtifactName.parse(name)
        row = self._row(parsed.filename)
        if row is None:
            raise ArtifactNotFound(f"{parsed} is not in the project "
                                   f"(see `slate artifacts {parsed.kind}`)", name=str(parsed))
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
            raise ArtifactNotFound(f"no version of {format_stem(k.name, subject)} yet",
                                   name=text)
        return latest

    def read(self, name: str | ArtifactName) -> bytes:
        """The bytes of a version, verified against the recorded hash."""
        rec = self.record(name)
        path = self.root / rec.name.relpath
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"{rec.name.relpath} is missing from disk; the index says it "
                                 "was written. Run `slate verify`.", path=str(path)) from None
        if sha256_bytes(data) != rec.sha256:
            raise IntegrityError(f"{rec.name.relpath} was changed after it was written "
                                 "(hash mismatch). Run `slate verify`.", path=str(path))
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
            cached = schema_for(rec.name.kind).parse(self.read(rec.name))
        self._parsed[key] = cached  # most recently used last
        while len(self._parsed) > PARSE_CACHE_SIZE:
            self._parsed.pop(next(iter(self._parsed)))
        return cached

    def latest(self, kind_name: str, subject: str | None = None) -> Record | None:
        """The newest version of a stem, or None."""
        stem = format_stem(kind_name, subject)
        row = self.conn.execute(
            "SELECT name FROM artifacts WHERE stem = ? ORDER BY version DESC LIMIT 1",
            (stem,)).fetchone()
        return self.record(row[0]) if row else None

    def versions(self, kind_name: str, subject: str | None = None) -> list[Record]:
        """Every version of a stem, oldest first."""
        stem = format_stem(kind_name, subject)
        rows = self.conn.execute("SELECT name FROM artifacts WHERE stem = ? ORDER BY version",
                                 (stem,)).fetchall()
        return [self.record(r[0]) for r in rows]

    def latest_of_each(self, kind_name: str) -> list[Record]:
        """The latest version of every subject of a kind (every lock, every shot list)."""
        rows = self.conn.execute(
            "SELECT name FROM artifacts a WHERE kind = ? AND version = (SELECT max(version) "
            "FROM artifacts b WHERE b.stem = a.stem) ORDER BY stem", (kind(kind_name).name,)
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

    def lineage(self, name: str | ArtifactName) -> list[ArtifactName]:
        """The exact input versions an artifact was made from."""
        rec = self.record(name)
        rows = self.conn.execute("SELECT input FROM lineage WHERE artifact = ? ORDER BY input",
                                 (rec.filename,)).fetchall()
        return [ArtifactName.parse(r[0]) for r in rows]

    def dependents(self, name: str | ArtifactName, transitive: bool = False) -> list[ArtifactName]:
        """Artifacts made from this version (directly, or through any chain)."""
        start = self.record(name).filename
        seen: set[str] = set()
        frontier = [start]
        while frontier:
            marks = ",".join("?" for _ in frontier)
            rows = self.conn.execute(
                f"SELECT DISTINCT artifact FROM lineage WHERE input IN ({marks})",
                frontier).fetchall()
            frontier = [r[0] for r in rows if r[0] not in seen]
            seen.update(frontier)
            if not transitive:
                break
        return sorted(ArtifactName.parse(n) for n in seen)

    def stale_inputs(self, name: str | ArtifactName) -> list[tuple[ArtifactName, ArtifactName]]:
        """(input used, newer version available) for every input that has moved on."""
        out = []
        for used in self.lineage(name):
            newest = self._current(used)
            if newest is not None and newest.version > used.version:
                out.append((used, newest))
        return out

    def _current(self, used: ArtifactName) -> ArtifactName | None:
        """What replaces ``used`` today. WORLD_STATE versions form a timeline (one per scene),
        so a state is superseded only by a newer state after the same scene."""
        if used.kind != "WORLD_STATE":
            newest = self.latest(used.kind, used.subject)
            return newest.name if newest else None
        row = self.conn.execute("SELECT after_scene FROM world_states WHERE name = ?",
                                (used.filename,)).fetchone()
        state = self.state_after(row[0]) if row else None
        return state.name if state else used

    def state_after(self, scene: str) -> Record | None:
        """The latest WORLD_STATE that is the state after ``scene`` ('' = the initial one)."""
        row = self.conn.execute("SELECT name FROM world_states WHERE after_scene = ? ORDER BY "
                                "version DESC LIMIT 1", (scene,)).fetchone()
        return self.record(row[0]) if row else None

    def written_at(self, filename: str) -> int:
        """The run-log sequence number of a version's write (0 when there is none): what
        happened after it, the log says."""
        row = self.conn.execute("SELECT max(seq) FROM runlog WHERE event = 'write' AND "
                                "artifact_output = ?", (filename,)).fetchone()
        return int(row[0] or 0)

    def is_stale(self, name: str | ArtifactName) -> bool:
        """True when any input of this version has a newer version."""
        return bool(self.stale_inputs(name))

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per kind: (stems, versions). Cheap: one grouped query."""
        rows = self.conn.execute(
            "SELECT kind, count(DISTINCT stem), count(*) FROM artifacts GROUP BY kind").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows if r[0] in KINDS}


def _check_subject_matches(payload: Artifact, subject: str | None) -> None:
    """A payload that names its own subject must name the one it is filed under."""
    field = getattr(type(payload), "SUBJECT_FIELD", None)
    if field and subject is not None and getattr(payload, field, subject) != subject:
        raise SchemaError(f"payload says {field}={getattr(payload, field)!r} but is filed "
                          f"under {subject!r}", field=field)
