"""`slate verify` and `slate reindex`: compare the files, the run log and the index.

Files plus the run log are the truth. Verify reports every way they disagree with the index
or with SPEC §3 (a violation is a hard stop): it walks the whole project without following a
link (``_scan``: every file accounted for), hashes every artifact once, checks the log
(``_heads``) and recomputes what the index derives from it (``_derived``: spend, headroom,
lineage, counts). Reindex rebuilds the index from what it can vouch for and says what it
could not; a version the log records stays visible after it (the log remembers the write).
"""

from __future__ import annotations

import gc
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple, cast

from ..core._config import Config
from ..core._errors import ArtifactNameError, IntegrityError
from ..core._names import LAYERS, SCENE_RE, ArtifactName
from . import _counts, _heads, _runlog, _vouch
from ._derived import (
    Row,
    Snapshot,
    Values,
    Write,
    Writes,
    check_index,
    snapshot,
    unlogged,
    values_of,
    writes_in,
)
from ._ledger import Ledger
from ._scan import (
    WRITE_BITS,
    Allowed,
    Facts,
    FileFacts,
    Scan,
    Violation,
    file_facts,
    hash_files,
    scan_project,
    shown,
)
from ._store import Record, Store, index_world_state, insert_record

__all__ = ["WRITE_BITS", "Violation", "disk_files", "reindex", "verify"]

SCENE_DIGITS = re.compile(r"(?:E[0-9]+_)?S([0-9]+)")  # a series' E02_S03 too


def disk_files(root: Path, config: Config | None = None) -> tuple[list[Path], list[Violation]]:
    """Every regular file in the layer folders, and everything in the project that is wrong."""
    scan = scan_project(Path(root), Allowed.of(config))
    return [Path(root) / rel for rel in scan.files], scan.problems


class OnDisk(NamedTuple):
    """A file in a layer folder and its name, when it has a valid one (a clean file is
    its index row instead, so most files are never parsed)."""

    relpath: str
    name: ArtifactName | None
    stem: str
    version: int
    subject: str


Seen = OnDisk | Row  # a file on disk: what verify's sequence and width checks read


def _identify(rel: str, row: Row | None) -> tuple[OnDisk, str]:
    """Name a file; returns the reason it is not an artifact, or ''."""
    if row is not None:
        return OnDisk(rel, None, row.stem, row.version, row.subject), ""
    filename = rel.rsplit("/", 1)[-1]
    try:
        name = ArtifactName.parse(filename)
    except ArtifactNameError as exc:
        return OnDisk(rel, None, "", 0, ""), f"invalid artifact name: {exc}"
    if name.filename != filename:
        return OnDisk(rel, None, "", 0, ""), not_canonical(filename, name)
    return OnDisk(rel, name, name.stem, name.version, name.subject or ""), ""


def not_canonical(filename: str, name: ArtifactName) -> str:
    """Why a file whose name only reads as an artifact's once normalised is none."""
    odd = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in dict.fromkeys(filename) if not c.isascii())
    return (
        f"invalid artifact name: it holds {odd or 'characters'} that read as "
        f"{name.filename} only once normalised (full-width or compatibility forms), a name "
        "the store never writes: move it out of the project folder (to keep it as a version "
        f"of {name.stem}, `slate add` it under an ASCII name)"
    )


def _check_files(
    files: Sequence[str], facts: Mapping[str, Facts], snap: Snapshot
) -> tuple[list[Seen], list[Violation]]:
    """Every file in the layer folders against the index; a clean one costs a comparison."""
    by_relpath = snap.by_relpath
    indexed = list(map(by_relpath.get, files))
    if _all_clean(indexed, list(map(facts.__getitem__, files))):
        return cast(list[Seen], indexed), []
    disk: list[Seen] = []
    problems = []
    for rel in files:
        row, found = by_relpath.get(rel), facts[rel]
        if (
            row is not None
            and type(found) is FileFacts
            and found.sha256 == row.sha256
            and found.links == 1
            and not found.writable
        ):
            disk.append(row)
            continue
        named, wrong = _check_file(rel, found, snap, row)
        disk.append(named)
        problems.extend(wrong)
    return disk, problems


def _all_clean(rows: list[Row | None], found: list[Facts]) -> bool:
    """Every file is its index row: the same content, one link, read-only (column-wise)."""
    if None in rows or not all(map(FileFacts.__instancecheck__, found)):
        return False
    facts = cast(list[FileFacts], found)
    return (
        list(map(attrgetter("sha256"), facts))
        == list(map(attrgetter("sha256"), cast(list[Row], rows)))
        and set(map(attrgetter("links"), facts)) <= {1}
        and not any(map(attrgetter("writable"), facts))
    )


def _check_file(
    rel: str, facts: Facts, snap: Snapshot, row: Row | None
) -> tuple[OnDisk, list[Violation]]:
    disk, invalid = _identify(rel, row)
    if invalid:
        return disk, [Violation(rel, invalid)]
    if isinstance(facts, Violation):
        return disk, [facts]
    out = []
    if disk.name is not None and disk.name.relpath != rel:
        out.append(Violation(rel, f"{disk.name.kind} artifacts belong in {disk.name.spec.layer}/"))
    known = snap.artifacts.get(rel.rsplit("/", 1)[-1])
    if known is None:
        out.append(Violation(rel, "not in the index: added or renamed behind the store's back"))
    elif facts.sha256 != known.sha256:
        out.append(Violation(rel, "content changed after it was written (sha256 mismatch)"))
    if facts.writable:
        out.append(
            Violation(rel, "is writable: artifacts are read-only (chmod behind the store's back?)")
        )
    if facts.links > 1:
        out.append(
            Violation(
                rel,
                f"has {facts.links} hard links: an artifact must be its only name (through "
                "another one it can be changed from outside the project)",
            )
        )
    return disk, out


def _check_sequences(disk: Sequence[Seen], snap: Snapshot) -> list[Violation]:
    by_stem: dict[str, list[int]] = defaultdict(list)
    # every file on disk clean (each is its index row) and none missing: the index's gaps
    if len(disk) == len(snap.artifacts) and all(map(Row.__instancecheck__, disk)):
        gapped = snap.gapped
        wanted = set(gapped)
        for d in disk if wanted else ():
            if d.stem in wanted:
                by_stem[d.stem].append(d.version)
    else:
        for d in disk:
            if d.stem:
                by_stem[d.stem].append(d.version)
        gapped = [stem for stem, v in by_stem.items() if min(v) != 1 or max(v) != len(set(v))]
    out = []
    for stem in sorted(gapped):
        have = set(by_stem[stem])
        if have:
            missing = sorted(set(range(1, max(have) + 1)) - have)
            out.append(
                Violation(
                    stem,
                    "versions are not sequential: missing "
                    + ", ".join(f"v{v:03d}" for v in missing),
                )
            )
    return out


def _check_scene_widths(disk: Sequence[Seen]) -> list[Violation]:
    if len({_scene_width(s) for s in set(map(attrgetter("subject"), disk))} - {0}) < 2:
        return []  # one width (or none): looked at once per subject, not per version
    widths: dict[int, str] = {}
    seen: set[str] = set()
    for d in disk:
        if d.subject in seen or not SCENE_DIGITS.match(d.subject):
            continue
        seen.add(d.subject)  # one look per subject: a shot has many versions
        if (m := SCENE_DIGITS.match(d.subject)) and SCENE_RE.match(d.subject):
            widths.setdefault(len(m.group(1)), d.relpath.rsplit("/", 1)[-1])
    if len(widths) > 1:
        sample = ", ".join(f"{w} digits ({v})" for w, v in sorted(widths.items()))
        return [Violation("(project)", f"scene ids are padded inconsistently: {sample}")]
    return []


def _scene_width(subject: str) -> int:
    """How many digits a subject's scene id has (0: it names no scene)."""
    m = SCENE_DIGITS.match(subject)
    return len(m.group(1)) if m and SCENE_RE.match(subject) else 0


def _log_rows(
    store: Store, snap: Snapshot, suspect: bool
) -> tuple[list[Violation], Sequence[Values]]:
    """The log file's rows, and where its chain breaks when the log checks found it suspect
    (``_heads`` walks the chain on every verify; this second walk only says where, for the
    report); the index's copy stands in for the rows when the file is broken."""
    rows: Sequence[Values]
    try:
        chain = _runlog.chain_problems(store.root) if suspect else ()
        out = [Violation(_runlog.LOG_RELPATH, p) for p in chain]
        rows = [] if out else [values_of(cells) for _, cells in _runlog.read_csv(store.root)]
    except (OSError, UnicodeDecodeError, ValueError, IntegrityError) as exc:
        out, rows = [Violation(_runlog.LOG_RELPATH, f"cannot be read: {exc}")], []
    count = len(snap.log)
    last = snap.log[-1][_runlog.HASH] if snap.log else None
    # a suspect log's rows were counted by ``_heads``, which says which are missing or added
    if not (out or suspect) and (len(rows) != count or (rows and rows[-1][_runlog.HASH] != last)):
        out.append(
            Violation(
                _runlog.LOG_RELPATH,
                f"log has {len(rows)} rows but the index recorded {count} (rows removed or added)",
            )
        )
    return out, snap.log if out else rows


def _check_logged(snap: Snapshot, writes: Writes) -> list[Violation]:
    return [
        Violation(rel, "has no run-log row for its write (missing log entry: hard stop)")
        for rel in unlogged(snap, writes)
    ]


def _check_missing(
    snap: Snapshot, scan: Scan, writes: Writes, present: set[str]
) -> list[Violation]:
    """Versions the index or the log knows that are not on disk (a deletion stays visible
    after a reindex: the log remembers the write)."""
    indexed = snap.by_relpath.keys()
    gone = sorted(rel for rel in indexed - present if rel.split("/")[0] not in scan.unchecked)
    out = [Violation(rel, "missing from disk: deleted or renamed") for rel in gone]
    for name in sorted(writes.keys() - snap.artifacts.keys()):
        try:
            relpath = ArtifactName.parse(name).relpath
        except ArtifactNameError:
            continue  # not an artifact of a kind this project knows
        if relpath not in present and relpath.split("/")[0] not in scan.unchecked:
            out.append(
                Violation(
                    relpath,
                    f"missing from disk: the run log records its write (row "
                    f"{Write.of(writes[name]).seq}) but the index no longer lists it (deleted, "
                    "then reindexed?)",
                )
            )
    return out


def verify(store: Store, config: Config | None = None) -> list[Violation]:
    """Every violation in the project, in a stable order; empty when clean."""
    with _no_cycle_collection():
        return _verify(store, config)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Verify holds a row per version and per log row at once, none in a cycle: the cyclic
    collector would walk them all again and again for nothing (a tenth of verify's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _verify(store: Store, config: Config | None) -> list[Violation]:
    scan = scan_project(store.root, Allowed.of(config))
    snap = snapshot(store.conn)
    disk, wrong = _check_files(scan.files, hash_files(store.root, scan.files), snap)
    problems = scan.problems + wrong
    copy = _heads.read_copy(store.root, store.conn, snap.log, snap.held, snap.stale_heads)
    heads = [Violation(p, r) for p, r in _heads.log_problems(store.root, store.conn, copy)]
    log_problems: list[Violation] = []
    rows: Sequence[Values] = snap.log  # the CSV is the copy, and it chains: nothing to read
    if copy.walk is None:
        suspect = any(v.path == _runlog.LOG_RELPATH for v in heads)
        log_problems, rows = _log_rows(store, snap, suspect)
    writes, twice = writes_in(rows)
    problems.extend(_check_missing(snap, scan, writes, set(scan.files)))
    # The sequence rule is about what is on disk; the index allocates gap-free.
    problems.extend(_check_sequences(disk, snap))
    problems.extend(_check_scene_widths(disk))
    problems.extend(log_problems)
    problems.extend(_check_logged(snap, writes))
    problems.extend(twice)
    problems.extend(check_index(snap, rows, writes))
    return problems + heads


class Reindexed(NamedTuple):
    """What `slate reindex` did."""

    artifacts: int  # versions indexed
    rows: int  # log rows indexed
    not_indexed: list[str]  # files (and logged versions) left out, and why
    not_vouched: list[str]  # what about the log it could not vouch for (a hard stop)
    stop_row: int  # the log row recording that hard stop (0: none)


def reindex(store: Store, config: Config) -> Reindexed:
    """Rebuild the index from files and the run log in one transaction.

    A file without a run-log row of the same hash, a link, or a file outside its layer
    folder is not indexed: verify then reports it, as it reports a version the log records
    but the disk lacks. What it could not vouch for in the log is recorded as a hard stop.
    """
    plan = _vouch.plan_reindex(store.root, store.conn)  # which copy of the log to trust
    rows = plan.rows
    writes, _ = writes_in([values_of(cells) for cells in rows])
    scan = scan_project(store.root, Allowed.of(config))
    records, skipped = _records(store.root, scan, writes)
    present = {rel.rsplit("/", 1)[-1] for rel in scan.files}
    for name, write in sorted((n, Write.of(row)) for n, row in writes.items()):
        if name not in present:
            skipped.append(
                f"{name}: the run log records its write (row {write.seq}) but the file is "
                "missing; `slate verify` reports it"
            )
    with store.transaction() as conn:
        for table in ("artifacts", "lineage", "runlog", "world_states"):
            conn.execute(f"DELETE FROM {table}")
        for rec, inputs in records:
            insert_record(conn, rec, inputs)
            _index_world_state(conn, store.root, rec)
        conn.executemany(
            f"INSERT INTO runlog ({', '.join(_runlog.COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in _runlog.COLUMNS)})",
            [[r[c] for c in _runlog.COLUMNS] for r in rows],
        )
        Ledger(store, config).rebuild(conn)
        _counts.recompute(conn)
        stop_row = _vouch.record_findings(conn, plan)  # what it could not vouch for
    _vouch.finish_reindex(store, plan)
    return Reindexed(len(records), len(rows), skipped, plan.findings, stop_row)


def _records(
    root: Path, scan: Scan, writes: Writes
) -> tuple[list[tuple[Record, list[str]]], list[str]]:
    """The files that can be vouched for (right folder, a log row with their hash)."""
    records, skipped = [], []
    for rel in scan.files:
        filename = rel.rsplit("/", 1)[-1]
        try:
            name = ArtifactName.parse(filename)
        except ArtifactNameError as exc:
            skipped.append(f"{shown(rel)}: {exc}")
            continue
        if name.filename != filename:
            skipped.append(f"{shown(rel)}: {not_canonical(filename, name)}")
            continue
        if name.relpath != rel:
            skipped.append(f"{rel}: {name.kind} artifacts belong in {name.relpath}; move it back")
            continue
        facts, row = file_facts(root, rel), writes.get(filename)
        write = Write.of(row) if row is not None else None
        if isinstance(facts, Violation):
            skipped.append(str(facts))
        elif write is None or write.sha256 != facts.sha256:
            skipped.append(f"{rel}: no run-log row with this content")
        else:
            rec = Record(name, write.sha256, facts.size, write.run_id, write.timestamp)
            records.append((rec, list(write.inputs)))
    skipped.extend(str(p) for p in scan.problems if p.path.split("/")[0] in LAYERS)
    return records, skipped


def _index_world_state(conn: sqlite3.Connection, root: Path, rec: Record) -> None:
    try:
        data = (root / rec.name.relpath).read_bytes()
    except OSError:
        return  # gone since it was hashed: verify reports it
    index_world_state(conn, rec.name, data)
