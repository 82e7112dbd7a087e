"""`slate verify` and `slate reindex`: compare the files, the run log and the index.

Files plus the run log are the truth. Verify reports every way they disagree with the index
or with SPEC §3 (a violation is a hard stop); reindex rebuilds the index from them.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..core._config import Config
from ..core._errors import ArtifactNameError
from ..core._names import LAYERS, SCENE_RE, ArtifactName
from . import _heads, _runlog, _vouch
from ._ledger import Ledger
from ._store import Record, Store, index_world_state, insert_record, sha256_file

WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class Violation:
    """One way the project breaks the contract."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def disk_files(root: Path) -> tuple[list[Path], list[Violation]]:
    """Every file in the layer folders, and anything that does not belong there."""
    files, problems = [], []
    for layer in LAYERS:
        folder = root / layer
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            rel = f"{layer}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                problems.append(Violation(rel, "unexpected folder inside a layer folder"))
            elif rel != _runlog.LOG_RELPATH:
                files.append(Path(entry.path))
    return files, problems


def _check_file(root: Path, path: Path, index: dict[str, tuple[str, str]]) -> list[Violation]:
    rel = path.relative_to(root).as_posix()
    try:
        name = ArtifactName.parse(path.name)
    except ArtifactNameError as exc:
        return [Violation(rel, f"invalid artifact name: {exc}")]
    out = []
    if name.relpath != rel:
        out.append(Violation(rel, f"{name.kind} artifacts belong in {name.spec.layer}/"))
    known = index.get(name.filename)
    if known is None:
        out.append(Violation(rel, "not in the index: added or renamed behind the store's back"))
    elif sha256_file(path) != known[1]:
        out.append(Violation(rel, "content changed after it was written (sha256 mismatch)"))
    if path.stat().st_mode & WRITE_BITS:
        out.append(
            Violation(rel, "is writable: artifacts are read-only (chmod behind the store's back?)")
        )
    return out


def _check_sequences(names: list[ArtifactName]) -> list[Violation]:
    by_stem: dict[str, list[int]] = defaultdict(list)
    for n in names:
        by_stem[n.stem].append(n.version)
    out = []
    for stem, versions in sorted(by_stem.items()):
        have = sorted(set(versions))
        if have != list(range(1, len(have) + 1)):
            missing = sorted(set(range(1, have[-1] + 1)) - set(have))
            out.append(
                Violation(
                    stem,
                    "versions are not sequential: missing "
                    + ", ".join(f"v{v:03d}" for v in missing),
                )
            )
    return out


def _check_scene_widths(names: list[ArtifactName]) -> list[Violation]:
    widths = defaultdict(list)
    for n in names:
        if n.subject and (m := re.match(r"S(\d+)", n.subject)) and SCENE_RE.match(n.subject):
            widths[len(m.group(1))].append(n.filename)
    if len(widths) > 1:
        sample = ", ".join(f"{w} digits ({v[0]})" for w, v in sorted(widths.items()))
        return [Violation("(project)", f"scene ids are padded inconsistently: {sample}")]
    return []


def _check_log(store: Store, index: dict[str, tuple[str, str]]) -> list[Violation]:
    out = [Violation(_runlog.LOG_RELPATH, p) for p in _runlog.chain_problems(store.root)]
    conn = store.conn
    count, last = conn.execute(
        "SELECT count(*), (SELECT row_hash FROM runlog ORDER BY seq DESC LIMIT 1) FROM runlog"
    ).fetchone()
    rows = list(_runlog.read_csv(store.root)) if not out else []
    if not out and (len(rows) != count or (rows and rows[-1][1]["row_hash"] != last)):
        out.append(
            Violation(
                _runlog.LOG_RELPATH,
                f"log has {len(rows)} rows but the index recorded {count} (rows removed or added)",
            )
        )
    logged = dict(
        conn.execute(
            "SELECT artifact_output, artifact_sha256 FROM runlog WHERE artifact_output != ''"
        )
    )
    for name, (relpath, sha) in sorted(index.items()):
        if logged.get(name) != sha:
            out.append(
                Violation(
                    relpath, "has no run-log row for its write (missing log entry: hard stop)"
                )
            )
    return out


def verify(store: Store) -> list[Violation]:
    """Every violation in the project, in a stable order; empty when clean."""
    index = {
        name: (rel, sha)
        for name, rel, sha in store.conn.execute("SELECT name, relpath, sha256 FROM artifacts")
    }
    files, problems = disk_files(store.root)
    on_disk = set()
    for path in files:
        problems.extend(_check_file(store.root, path, index))
        on_disk.add(path.relative_to(store.root).as_posix())
    for _name, (rel, _sha) in sorted(index.items()):
        if rel not in on_disk:
            problems.append(Violation(rel, "missing from disk: deleted or renamed"))
    names = []  # the sequence rule is about what is on disk; the index allocates gap-free
    for path in files:
        with contextlib.suppress(ArtifactNameError):  # reported above as an invalid name
            names.append(ArtifactName.parse(path.name))
    problems.extend(_check_sequences(names))
    problems.extend(_check_scene_widths(names))
    problems.extend(_check_log(store, index))
    problems.extend(Violation(p, r) for p, r in _heads.log_problems(store.root, store.conn))
    return problems


def reindex(store: Store, config: Config) -> tuple[int, int, list[str]]:
    """Rebuild the index from files and the run log in one transaction.

    Returns (artifacts indexed, log rows, skipped files with reasons). A file without a
    run-log row of the same hash is not indexed: verify will then report it.
    """
    plan = _vouch.plan_reindex(store.root, store.conn)  # which copy of the log to trust
    rows = plan.rows
    writes = {r["artifact_output"]: r for r in rows if r["artifact_output"]}
    files, _ = disk_files(store.root)
    skipped, records = [], []
    for path in files:
        try:
            name = ArtifactName.parse(path.name)
        except ArtifactNameError as exc:
            skipped.append(f"{path.name}: {exc}")
            continue
        row = writes.get(name.filename)
        if row is None or row["artifact_sha256"] != sha256_file(path):
            skipped.append(f"{name.relpath}: no run-log row with this content")
            continue
        records.append(
            (
                Record(
                    name,
                    row["artifact_sha256"],
                    path.stat().st_size,
                    row["run_id"],
                    row["timestamp"],
                ),
                [i for i in row["inputs"].split(";") if i],
            )
        )
    with store.transaction() as conn:
        for table in ("artifacts", "lineage", "runlog"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM world_states")
        for rec, inputs in records:
            insert_record(conn, rec, inputs)
            index_world_state(conn, rec.name, (store.root / rec.name.relpath).read_bytes())
        conn.executemany(
            f"INSERT INTO runlog ({', '.join(_runlog.COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in _runlog.COLUMNS)})",
            [[r[c] for c in _runlog.COLUMNS] for r in rows],
        )
        Ledger(store, config).rebuild(conn)
        _vouch.record_findings(conn, plan)  # what it could not vouch for: a hard stop
    _vouch.finish_reindex(store, plan)
    return len(records), len(rows), skipped + plan.findings
