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
from functools import partial
from itertools import compress
from operator import attrgetter, itemgetter
from typing import NamedTuple, cast

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


# (the query selects exactly the fields, in order)
_new_row = partial(tuple.__new__, Row)


@dataclass
class Snapshot:
    """The index as one read transaction saw it."""

    artifacts: dict[str, Row]  # by name
    by_relpath: dict[str, Row]
    lineage: set[tuple[str, str]]
    totals: dict[tuple[str, str], tuple[float, float, float, str]]
    holds: dict[str, float]
    counts: dict[str, tuple[int, int]]
    recounted: dict[str, tuple[int, int]]
    gapped: list[str]
    mirror: dict[str, tuple[float, float]]
    log: list[tuple[str, ...]] = field(default_factory=list)
    held: int = 0  # the most rows the CSV ever held (``_runlog.mirrored``)
    # the artifact heads the copy's row at their seq does not match (seq: relpath, head)
    stale_heads: dict[int, tuple[str, str]] = field(default_factory=dict)


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
        rows = list(map(_new_row, conn.execute(f"SELECT {', '.join(Row._fields)} FROM artifacts")))
        return Snapshot(
            artifacts=dict(zip(map(attrgetter("name"), rows), rows, strict=True)),
            by_relpath=dict(zip(map(attrgetter("relpath"), rows), rows, strict=True)),
            lineage=set(conn.execute("SELECT artifact, input FROM lineage")),
            totals={
                (level, scope): (settled, reserved, headroom, warned)
                for level, scope, settled, reserved, headroom, warned in conn.execute(
                    "SELECT level, scope, settled, reserved, headroom, warned_at FROM spend_totals"
                )
            },
            holds=_counts.open_holds(conn),
            counts=_counts.kind_counts(conn),
            # what the running counts should say, counted from the artifact rows
            recounted={
                kind: (stems, versions)
                for kind, stems, versions in conn.execute(
                    "SELECT kind, count(DISTINCT stem), count(*) FROM artifacts GROUP BY kind"
                )
            },
            # the stems whose versions in the index are not 1..n
            gapped=[
                stem
                for (stem,) in conn.execute(
                    "SELECT stem FROM artifacts GROUP BY stem "
                    "HAVING min(version) != 1 OR max(version) != count(*)"
                )
            ],
            mirror={s: (a, b) for s, a, b in conn.execute("SELECT * FROM spend_mirror")},
            log=conn.execute(f"SELECT {_LOG_COLUMNS} FROM runlog ORDER BY seq").fetchall(),
            held=_runlog.mirrored(conn),
            stale_heads={
                seq: (relpath, head)
                for seq, relpath, head in conn.execute(
                    "SELECT a.log_seq, a.relpath, a.log_head FROM artifacts a LEFT JOIN runlog r "
                    "ON r.seq = a.log_seq WHERE a.log_seq > 0 AND r.row_hash IS NOT a.log_head"
                )
            },
        )


Values = Sequence[str]  # a run-log row as its cells in column order (``_runlog.COLUMNS``)
Writes = dict[str, Values]  # each artifact's publishing row (the first to name it), by name
_AT = {column: i for i, column in enumerate(_runlog.COLUMNS)}
_NAME, _SHA, _INPUTS = (_AT[c] for c in ("artifact_output", "artifact_sha256", "inputs"))
_LEDGER_EVENTS = frozenset({"spend", "override", "budget_warning"})


class Write(NamedTuple):
    """The run-log row that published an artifact version (its first mention)."""

    seq: int
    sha256: str
    inputs: tuple[str, ...]
    run_id: str
    timestamp: str

    @classmethod
    def of(cls, row: Values) -> Write:
        """What a publishing row records."""
        seq = row[_AT["seq"]]
        return cls(
            int(seq) if seq.isdigit() else 0,
            row[_SHA],
            inputs_of(row),
            row[_AT["run_id"]],
            row[_AT["timestamp"]],
        )


def inputs_of(row: Values) -> tuple[str, ...]:
    """The inputs a write row records."""
    return tuple(filter(None, row[_INPUTS].split(";")))


def writes_in(rows: Sequence[Values]) -> tuple[Writes, list[Violation]]:
    """The publishing row of every artifact the log names, and any name published twice.

    Later rows (a run's summary, a reuse) name an artifact with the same hash; a later row
    with another hash means the version number was used again for different bytes. Verify
    runs this over every row of the log, so the rows are sorted out column-wise.
    """
    name_of, sha_of = itemgetter(_NAME), itemgetter(_SHA)
    named = list(compress(rows, map(name_of, rows)))
    names = list(map(name_of, named))
    # built from the end, so each name keeps its first row
    writes: Writes = dict(zip(reversed(names), reversed(named), strict=True))
    twice = []
    if len(writes) < len(named):  # names mentioned again: with the same content?
        shas = list(map(sha_of, named))
        firsts = list(map(sha_of, map(writes.__getitem__, names)))
        for name, row, sha, first in zip(names, named, shas, firsts, strict=True):
            if sha and sha != first:
                seq = writes[name][_AT["seq"]]
                twice.append(
                    Violation(
                        _runlog.LOG_RELPATH,
                        f"{name} was written twice with different content (rows {seq} and "
                        f"{row[_AT['seq']]}): a deleted version's number was used again",
                    )
                )
    return writes, twice


def unlogged(snap: Snapshot, writes: Writes) -> list[str]:
    """The versions in the index without a run-log row of their content, by relpath."""
    rows = list(map(writes.get, snap.artifacts))
    if None not in rows:  # compared column-wise: each logged with the content it has
        logged = list(map(itemgetter(_SHA), cast(list[Values], rows)))
        if logged == list(map(attrgetter("sha256"), snap.artifacts.values())):
            return []
    return sorted(
        art.relpath
        for art, row in zip(snap.artifacts.values(), rows, strict=True)
        if row is None or row[_SHA] != art.sha256
    )


def values_of(cells: Mapping[str, str]) -> tuple[str, ...]:
    """A row read as a mapping, as its cells in column order ('' for a missing cell)."""
    return tuple(cells.get(column, "") for column in _runlog.COLUMNS)


def check_index(snap: Snapshot, rows: Sequence[Values], writes: Writes) -> list[Violation]:
    """Every derived table of the index against the log rows (the log file's, in order)."""
    problems = check_log_copy(snap, rows)
    problems += check_lineage(snap, writes)
    at_event = _AT["event"]
    ledger_rows = (
        dict(zip(_runlog.COLUMNS, row, strict=True))
        for row in rows
        if row[at_event] in _LEDGER_EVENTS
    )
    expected = totals_from_log(ledger_rows)
    problems += check_ledger(snap, expected)
    problems += check_mirror(snap, expected)
    problems += check_counts(snap)
    return problems


def check_log_copy(snap: Snapshot, rows: Sequence[Values]) -> list[Violation]:
    """The index's copy of the log row by row (the ledger and staleness read that copy)."""
    if rows is snap.log:
        return []  # the log file was found to be byte for byte the copy's rendering
    differ = [held[0] for held, row in zip(snap.log, rows, strict=False) if held != tuple(row)]
    if not differ:
        return []
    return [
        Violation(
            INDEX,
            f"the index's copy of run-log row(s) {_listing(differ)} differs from "
            f"{_runlog.LOG_RELPATH} (the index was edited): run `slate reindex`",
        )
    ]


def check_lineage(snap: Snapshot, writes: Writes) -> list[Violation]:
    """Each version's lineage rows equal the inputs its write row records."""
    with_inputs = compress(writes.items(), map(itemgetter(_INPUTS), writes.values()))
    expected = {
        (name, used)
        for name, row in with_inputs
        if name in snap.artifacts
        for used in inputs_of(row)
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
    for (_, scope), t in expected.items():  # every level: project, episode, scene, shot
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
    want = snap.recounted
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
