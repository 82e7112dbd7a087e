"""What the index derives, recomputed from the run log and compared (`slate verify`).

The index is a cache: its lineage rows come from the write rows' ``inputs``, the ledger's
totals from the spend and override rows, the running counts from the artifact rows, its copy
of the log from the log file. Each is recomputed here from the truth and every difference is a
violation naming the index table, so an edited index (a lowered spend, a raised headroom,
a deleted lineage row) cannot pass for a clean one. ``reindex`` rebuilds all of them.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from ..core._budget import Level
from . import _counts, _runlog
from ._index import INDEX_DIR, INDEX_FILE
from ._ledger import Totals, totals_from_log
from ._scan import Violation

INDEX = f"{INDEX_DIR}/{INDEX_FILE}"
TOLERANCE = _counts.TOLERANCE
SHOWN = 5  # names listed per violation before "and N more"
# The index's copy of the log as the text the file holds (seq is the only number).
_LOG_COLUMNS = ", ".join("CAST(seq AS TEXT)" if c == "seq" else c for c in _runlog.COLUMNS)


class Row(NamedTuple):
    """One artifact row of the index."""

    name: str
    relpath: str
    sha256: str
    kind: str
    subject: str
    stem: str
    version: int


@dataclass
class Snapshot:
    """The index as one read transaction saw it."""

    artifacts: dict[str, Row]
    lineage: set[tuple[str, str]]
    totals: dict[tuple[str, str], tuple[float, float, float, str]]
    holds: dict[str, float]
    counts: dict[str, tuple[int, int]]
    mirror: dict[str, tuple[float, float]]
    log: list[tuple[str, ...]] = field(default_factory=list)


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Every read inside sees the same committed state, even while others write."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def snapshot(conn: sqlite3.Connection) -> Snapshot:
    """Read everything verify compares, in one read transaction."""
    with read_transaction(conn):
        rows = conn.execute(f"SELECT {', '.join(Row._fields)} FROM artifacts")
        artifacts = {row.name: row for row in map(Row._make, rows)}
        return Snapshot(
            artifacts=artifacts,
            lineage=set(conn.execute("SELECT artifact, input FROM lineage")),
            totals={
                (level, scope): (settled, reserved, headroom, warned)
                for level, scope, settled, reserved, headroom, warned in conn.execute(
                    "SELECT level, scope, settled, reserved, headroom, warned_at FROM spend_totals"
                )
            },
            holds=_counts.open_holds(conn),
            counts=_counts.kind_counts(conn),
            mirror={s: (a, b) for s, a, b in conn.execute("SELECT * FROM spend_mirror")},
            log=conn.execute(f"SELECT {_LOG_COLUMNS} FROM runlog ORDER BY seq").fetchall(),
        )


class Write(NamedTuple):
    """The run-log row that published an artifact version (its first mention)."""

    seq: int
    sha256: str
    inputs: tuple[str, ...]
    run_id: str
    timestamp: str


def writes_in(rows: Sequence[Mapping[str, str]]) -> tuple[dict[str, Write], list[Violation]]:
    """The publishing row of every artifact the log names, and any name published twice.

    Later rows (a run's summary, a reuse) name an artifact with the same hash; a later row
    with another hash means the version number was used again for different bytes.
    """
    writes: dict[str, Write] = {}
    twice = []
    for row in rows:
        name = row["artifact_output"]
        if not name:
            continue
        first = writes.get(name)
        if first is None:
            inputs = tuple(filter(None, row["inputs"].split(";")))
            seq = int(row["seq"]) if row["seq"].isdigit() else 0
            writes[name] = Write(
                seq, row["artifact_sha256"], inputs, row["run_id"], row["timestamp"]
            )
        elif row["artifact_sha256"] and row["artifact_sha256"] != first.sha256:
            twice.append(
                Violation(
                    _runlog.LOG_RELPATH,
                    f"{name} was written twice with different content (rows {first.seq} and "
                    f"{row['seq']}): a deleted version's number was used again",
                )
            )
    return writes, twice


def check_index(
    snap: Snapshot, rows: Sequence[Mapping[str, str]], writes: Mapping[str, Write]
) -> list[Violation]:
    """Every derived table of the index against the log rows (the log file's, in order)."""
    problems = check_log_copy(snap, rows)
    problems += check_lineage(snap, writes)
    expected = totals_from_log(rows)
    problems += check_ledger(snap, expected)
    problems += check_mirror(snap, expected)
    problems += check_counts(snap)
    return problems


def check_log_copy(snap: Snapshot, rows: Sequence[Mapping[str, str]]) -> list[Violation]:
    """The index's copy of the log row by row (the ledger and staleness read that copy)."""
    # A row read from the file holds its cells in column order (a short row differs).
    differ = [
        held[0] for held, row in zip(snap.log, rows, strict=False) if held != tuple(row.values())
    ]
    if not differ:
        return []
    return [
        Violation(
            INDEX,
            f"the index's copy of run-log row(s) {_listing(differ)} differs from "
            f"{_runlog.LOG_RELPATH} (the index was edited): run `slate reindex`",
        )
    ]


def check_lineage(snap: Snapshot, writes: Mapping[str, Write]) -> list[Violation]:
    """Each version's lineage rows equal the inputs its write row records."""
    expected = {
        (name, used)
        for name in snap.artifacts
        if (write := writes.get(name)) is not None
        for used in write.inputs
    }
    lost, added = _group(expected - snap.lineage), _group(snap.lineage - expected)
    out = []
    for name in sorted(lost.keys() | added.keys()):
        row = snap.artifacts.get(name)
        where = row.relpath if row else name
        parts = []
        if name in lost:
            parts.append(f"lost input(s) {_listing(lost[name])} its run-log row records")
        if name in added:
            parts.append(f"has input(s) {_listing(added[name])} its run-log row does not")
        out.append(
            Violation(
                where,
                f"lineage in the index {' and '.join(parts)} (the index was edited): "
                "run `slate reindex`",
            )
        )
    return out


def check_ledger(snap: Snapshot, expected: Mapping[tuple[Level, str], Totals]) -> list[Violation]:
    """The ledger's spend, headroom, warning marks and holds against the log and the holds."""
    out = []
    recomputed: dict[tuple[str, str], Totals] = {k: v for k, v in expected.items()}
    for key in sorted(recomputed.keys() | snap.totals.keys()):
        want = recomputed.get(key, Totals())
        settled, reserved, headroom, warned = snap.totals.get(key, (0.0, 0.0, 0.0, ""))
        level, scope = key
        held = snap.holds.get(scope, 0.0)
        wrong = [
            f"{what} {have:.2f} but {source} {should:.2f}"
            for what, have, should, source in (
                ("settled", settled, want.settled, "the run log's spend rows add up to"),
                ("headroom", headroom, want.headroom, "its budget overrides add up to"),
                ("reserved", reserved, held, "the open reservations hold"),
            )
            if abs(have - should) > TOLERANCE
        ]
        if warned != want.warned_at:
            wrong.append(
                f"warned_at {warned or '(none)'!r} but the run log says "
                f"{want.warned_at or '(no open warning)'!r}"
            )
        if wrong:
            out.append(
                Violation(
                    INDEX,
                    f"spend_totals for the {level} cap {scope} says {'; '.join(wrong)} (the "
                    "index was edited, or a write was cut short): run `slate reindex`",
                )
            )
    return out


def check_mirror(snap: Snapshot, expected: Mapping[tuple[Level, str], Totals]) -> list[Violation]:
    """The running spend figures `slate status` checks the ledger with."""
    want: dict[str, tuple[float, float]] = {}
    for (_, scope), t in expected.items():
        settled, headroom = want.get(scope, (0.0, 0.0))
        want[scope] = (settled + t.settled, headroom + t.headroom)
    wrong = sorted(
        scope
        for scope in want.keys() | snap.mirror.keys()
        if any(
            abs(a - b) > TOLERANCE
            for a, b in zip(
                snap.mirror.get(scope, (0.0, 0.0)), want.get(scope, (0.0, 0.0)), strict=True
            )
        )
    )
    if not wrong:
        return []
    return [
        Violation(
            INDEX,
            f"spend_mirror disagrees with the run log for {_listing(wrong)} (the index was "
            "edited): run `slate reindex`",
        )
    ]


def check_counts(snap: Snapshot) -> list[Violation]:
    """The running counts `slate status` shows against the artifact rows."""
    stems: dict[str, set[str]] = defaultdict(set)
    versions: dict[str, int] = defaultdict(int)
    for row in snap.artifacts.values():
        stems[row.kind].add(row.stem)
        versions[row.kind] += 1
    want = {k: (len(stems[k]), versions[k]) for k in versions}
    wrong = sorted(k for k in want.keys() | snap.counts.keys() if want.get(k) != snap.counts.get(k))
    if not wrong:
        return []
    return [
        Violation(
            INDEX,
            f"kind_counts disagrees with the artifact rows for {_listing(wrong)} (the index "
            "was edited): run `slate reindex`",
        )
    ]


def _group(pairs: set[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for name, used in sorted(pairs):
        out[name].append(used)
    return out


def _listing(items: Sequence[object]) -> str:
    shown = ", ".join(str(i) for i in items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
