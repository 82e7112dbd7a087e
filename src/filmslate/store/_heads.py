"""Log heads: how verify tells a shortened or rewritten run log, and what reindex vouches for.

The CSV is the log's human copy; the index holds a second copy and three witnesses a forger
editing the CSV does not fix by recomputing its hash chain:

- the index's log head (``meta.log_head``: rows and last hash, moved in the transaction of
  every append) and the most rows the CSV ever held (``meta.csv_seq``), so a row the CSV lost
  is told from a row it never had yet (a crash between commit and mirroring);
- every artifact record's head: the seq and hash of its write row (``artifacts.log_seq``);
- with a project key (``_chain``), each row's signature and the head's.

``log_problems`` reports, in one pass over the CSV and the index, where the two copies part
and exactly which rows one has and the other lacks; ``_vouch`` decides what reindex rebuilds
from and records what it could not vouch for as a ``log_integrity`` hard stop, which verify
keeps reporting (``open_integrity_stops``) until a person lifts it with a logged override.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from ..core._errors import IntegrityError
from . import _runlog
from ._chain import Signer, signer_of
from ._index import INDEX_DIR, INDEX_FILE

LOG = _runlog.LOG_RELPATH
INDEX = f"{INDEX_DIR}/{INDEX_FILE}"
STOP_KIND = "log_integrity"
EXAMPLES = 3
CONTENT = [c for c in _runlog.COLUMNS if c != "seq" and c not in _runlog.CHAIN_COLUMNS]
LIFT = "once explained, lift it with `slate override PROJECT --reason ... --cost-impact 0`"

WHAT = ("artifact_output", "target", "shot_id", "scene_id")  # what a row is about, first set

Rows = Iterable[dict[str, str]]


# -- reading the two copies -------------------------------------------------------------------


def csv_rows(root: Path, errors: list[str] | None = None) -> Iterator[dict[str, str]]:
    """Every data row of the CSV, chained or not, up to where it cannot be read; why it
    cannot is added to ``errors`` (a missing log is simply empty)."""
    why = _runlog.not_a_log_file(root / LOG)
    try:
        if why:
            raise IntegrityError(why)
        for _, cells in _runlog.read_csv(root):
            yield cells
    except (IntegrityError, OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        if errors is not None:
            first = str(exc).splitlines()[0]
            errors.append(first if len(first) <= 120 else first[:117] + "...")


def index_rows(conn: sqlite3.Connection, start: int = 1) -> Iterator[dict[str, str]]:
    """The index's copy of the log from row ``start``, streamed."""
    sql = f"SELECT {', '.join(_runlog.COLUMNS)} FROM runlog WHERE seq >= ? ORDER BY seq"
    for row in conn.execute(sql, (start,)):
        yield dict(zip(_runlog.COLUMNS, (str(v) for v in row), strict=True))


def chain_breaks(rows: Rows) -> Iterator[tuple[int, dict[str, str], bool]]:
    """(position, row, still chained) for each row; a row is chained while every row up to
    and including it has the right seq, previous hash and own hash."""
    prev, chained = _runlog.GENESIS, True
    for position, cells in enumerate(rows, start=1):
        chained = (
            chained
            and len(cells) == len(_runlog.COLUMNS)
            and cells["seq"] == str(position)
            and cells["prev_hash"] == prev
            and _runlog.row_hash(prev, cells) == cells["row_hash"]
        )
        prev = cells.get("row_hash", "")
        yield position, cells, chained


@dataclass(frozen=True)
class Head:
    """A log head: how many rows, the last one's hash, and its signature ('' unsigned)."""

    rows: int
    row_hash: str
    mac: str = ""


def index_head(conn: sqlite3.Connection) -> Head | None:
    """The head the index recorded at its last append (None when it recorded none)."""
    parts = _runlog.get_meta(conn, _runlog.HEAD_KEY).split(":")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return Head(int(parts[0]), parts[1], parts[2])


# -- verify -----------------------------------------------------------------------------------


@dataclass
class _Walk:
    """What one pass over the CSV, beside the index's copy, found."""

    rows: int = 0
    chained: int = 0
    parted_at: int = 0  # the first position where the copies disagree (0: none)
    unsigned: list[int] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Copy:
    """What verify read of the log in its one read transaction: the index's copy (each row
    its text cells in column order), the CSV rows mirrored at most, each artifact's write row
    (seq: relpath and row hash), and the walk of the copy when the CSV is byte for byte its
    rendering and chains (None otherwise: the CSV is then read and walked row by row)."""

    rows: Sequence[tuple[str, ...]]
    held: int
    heads: dict[int, tuple[str, str]]
    walk: _Walk | None


def read_copy(
    root: Path,
    conn: sqlite3.Connection,
    rows: Sequence[tuple[str, ...]],
    held: int,
    stale_heads: dict[int, tuple[str, str]],
) -> Copy:
    """Compare the CSV with the index's copy at once and, when it is its rendering, walk the
    chain over the copy (the same cells): the clean case never parses the CSV.

    ``stale_heads``: the artifact heads that do not match the copy's row at their seq (only
    the full walk of a CSV that differs needs every head)."""
    data = _runlog.log_bytes(root)
    if data is not None and _runlog.is_rendering(data, rows):
        signer = signer_of(conn) or Signer(root)
        walk = _walk_copy(rows, signer, stale_heads)
        if walk is not None:
            return Copy(rows, held, stale_heads, walk)
    return Copy(rows, held, all_heads(conn), None)


def all_heads(conn: sqlite3.Connection) -> dict[int, tuple[str, str]]:
    """Every artifact's head: its write row's seq -> (relpath, that row's hash)."""
    return {
        int(seq): (relpath, head)
        for relpath, seq, head in conn.execute(
            "SELECT relpath, log_seq, log_head FROM artifacts WHERE log_seq > 0"
        )
    }


def _walk_copy(
    rows: Sequence[tuple[str, ...]], signer: Signer, heads: dict[int, tuple[str, str]]
) -> _Walk | None:
    """``_walk`` over rows the CSV holds exactly, column by column rather than row by row;
    None when the chain breaks anywhere (the full walk then says where)."""
    if not set(map(len, rows)) <= {len(_runlog.COLUMNS)}:
        return None
    hashes = _runlog.values_hashes(rows)
    if (
        list(map(itemgetter(_runlog.HASH), rows)) != hashes
        or list(map(itemgetter(_runlog.PREV), rows)) != [_runlog.GENESIS, *hashes[:-1]]
        or list(map(itemgetter(_runlog.SEQ), rows)) != list(map(str, range(1, len(rows) + 1)))
    ):
        return None
    walk = _Walk(rows=len(rows), chained=len(rows))
    if signer.key is not None:
        macs = map(itemgetter(_runlog.MAC), rows)
        walk.unsigned = [
            position
            for position, (row_hash, mac) in enumerate(zip(hashes, macs, strict=True), start=1)
            if not signer.valid(row_hash, mac)
        ]
    # (every head that matches the copy's row is left out of ``heads`` by the caller)
    moved = sorted(
        (seq, relpath)
        for seq, (relpath, head) in heads.items()
        if seq <= len(hashes) and hashes[seq - 1] != head
    )
    walk.moved = [relpath for _, relpath in moved]
    return walk


def log_problems(
    store_root: Path, conn: sqlite3.Connection, copy: Copy | None = None
) -> list[tuple[str, str]]:
    """Every way the CSV, the index's copy and the heads disagree, as (path, reason);
    ``copy`` is what the caller read already (see ``read_copy``)."""
    signer = signer_of(conn) or Signer(store_root)
    if copy is None:
        held = _runlog.mirrored(conn)  # read first: it never runs ahead of the CSV
        heads = all_heads(conn)
        total = -1
    else:
        held, heads, total = copy.held, copy.heads, len(copy.rows)
    walk = copy.walk if copy is not None and copy.walk is not None else None
    if walk is None:
        walk = _walk(store_root, conn, signer, heads)
    if total < 0:
        total = int(conn.execute("SELECT count(*) FROM runlog").fetchone()[0])
    out = []
    parted = walk.parted_at or (walk.rows + 1 if walk.rows < min(total, held) else 0)
    if not os.path.lexists(store_root / LOG) and total:
        out.append((LOG, f"the log file is missing: {deleted(conn, total)}"))
    elif walk.errors and total:
        reason = f"cannot be read after row {walk.rows} ({walk.errors[0]})"
        out.append((LOG, f"{reason}: {deleted(conn, total, 'sets it aside and restores')}"))
    elif parted:
        out.append((LOG, _disagreement(store_root, conn, parted, total)))
    out += _head_problems(conn, signer, total)
    out += _artifact_head_problems(heads, walk, max(walk.rows, total))
    if walk.unsigned:
        out.append((LOG, unsigned_message(walk.unsigned, signer)))
    return out + open_integrity_stops(conn)


def _walk(
    root: Path, conn: sqlite3.Connection, signer: Signer, heads: dict[int, tuple[str, str]]
) -> _Walk:
    walk = _Walk()
    copy = (row[0] for row in conn.execute("SELECT row_hash FROM runlog ORDER BY seq"))
    for position, cells, chained in chain_breaks(csv_rows(root, walk.errors)):
        walk.rows = position
        mirror = next(copy, None)
        if not walk.parted_at and mirror != cells.get("row_hash"):
            walk.parted_at = position
        if not chained:
            walk.parted_at = walk.parted_at or position
            continue
        walk.chained = position
        if signer.key is not None and not signer.valid(cells["row_hash"], cells["row_mac"]):
            walk.unsigned.append(position)
        if position in heads and heads[position][1] != cells["row_hash"]:
            walk.moved.append(heads[position][0])
    return walk


def _disagreement(root: Path, conn: sqlite3.Connection, start: int, total: int) -> str:
    missing, added = diff(index_rows(conn, start), _from(csv_rows(root), start))
    return describe_disagreement(start, total, missing, added) + (
        "; `slate reindex` restores the index's copy and records this as a hard stop"
    )


def deleted(conn: sqlite3.Connection, total: int, repair: str = "restores") -> str:
    """What a deleted or unreadable log lost, from the index's copy."""
    return (
        f"the index holds its {total} row(s) ({describe_rows(list(index_rows(conn)))}); "
        f"`slate reindex` {repair} them and records this as a hard stop"
    )


def _from(rows: Rows, start: int) -> Iterator[dict[str, str]]:
    for position, cells in enumerate(rows, start=1):
        if position >= start:
            yield cells


def _head_problems(conn: sqlite3.Connection, signer: Signer, total: int) -> list[tuple[str, str]]:
    head = index_head(conn)
    if head is None:
        return []
    last = conn.execute("SELECT row_hash FROM runlog ORDER BY seq DESC LIMIT 1").fetchone()
    out = []
    if head.rows != total or (last and last[0] != head.row_hash):
        out.append(
            (
                INDEX,
                f"the index recorded a log of {head.rows} row(s) ending {head.row_hash[:12]} "
                f"but its copy holds {total}: rows were removed from the index",
            )
        )
    if signer.key is not None and signer.head_mac(head.rows, head.row_hash) != head.mac:
        out.append(
            (INDEX, f"the index's log head is not signed by the project key ({signer.source})")
        )
    return out


def _artifact_head_problems(
    heads: dict[int, tuple[str, str]], walk: _Walk, end: int
) -> list[tuple[str, str]]:
    out = []
    past = sorted((seq, rel) for seq, (rel, _) in heads.items() if seq > end)
    if past:
        sample = ", ".join(f"{rel} at row {seq}" for seq, rel in past[:EXAMPLES])
        out.append(
            (
                LOG,
                f"{len(past)} artifact(s) were written at log rows past its end (row {end}): "
                f"{sample}: rows {end + 1}..{past[-1][0]} at least are missing",
            )
        )
    if walk.moved:
        sample = ", ".join(walk.moved[:EXAMPLES])
        out.append(
            (
                LOG,
                f"{len(walk.moved)} artifact(s) were written at log rows that now hold other "
                f"rows ({sample}): the log was rewritten before them",
            )
        )
    return out


def open_integrity_stops(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every log-integrity hard stop no override has lifted, as a violation."""
    rows = conn.execute(
        "SELECT seq, notes FROM runlog WHERE event = 'hard_stop' AND outcome = ? AND run_id "
        "NOT IN (SELECT parent_run_id FROM runlog WHERE event = 'override') ORDER BY seq",
        (STOP_KIND,),
    ).fetchall()
    return [(LOG, f"{notes} (hard stop, log row {seq}: {LIFT})") for seq, notes in rows]


# -- describing -------------------------------------------------------------------------------


def _fingerprint(cells: dict[str, str]) -> bytes:
    """A row's content without its place in the chain (seq, hashes, signature)."""
    body = json.dumps([cells.get(c, "") for c in CONTENT], ensure_ascii=False)
    return hashlib.sha256(body.encode()).digest()


def diff(recorded: Rows, logged: Rows) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Rows the index recorded that the log lacks, and rows the log has that it never
    recorded (by content, so a row shifted by a removal before it is not counted)."""
    logged = list(logged)
    have = Counter(_fingerprint(r) for r in logged)
    missing = []
    for cells in recorded:
        key = _fingerprint(cells)
        if have[key]:
            have[key] -= 1
        else:
            missing.append(cells)
    added = []
    for cells in logged:
        key = _fingerprint(cells)
        if have[key]:
            have[key] -= 1
            added.append(cells)
    return missing, added


def describe_rows(rows: list[dict[str, str]]) -> str:
    """'2 row(s): row 14 (spend by render S01_SH02, 12.50), ...'."""
    shown = "; ".join(_describe(r) for r in rows[:EXAMPLES])
    more = f"; and {len(rows) - EXAMPLES} more" if len(rows) > EXAMPLES else ""
    return f"{len(rows)} row(s): {shown}{more}"


def _describe(cells: dict[str, str]) -> str:
    if len(cells) != len(_runlog.COLUMNS):
        return f"a malformed row of {len(cells)} cell(s)"
    what = next((cells[c] for c in WHAT if cells.get(c)), "")
    cost = cells.get("actual_cost", "0") or "0"
    money = f", cost {float(cost):.2f}" if _number(cost) and float(cost) else ""
    return (
        f"row {cells.get('seq', '?')} ({cells.get('event', '')} by "
        f"{cells.get('skill_name', '')}{' ' + what if what else ''}{money})"
    )


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def describe_disagreement(
    start: int, total: int, missing: list[dict[str, str]], added: list[dict[str, str]]
) -> str:
    """Say how the log differs from the index's copy from row ``start`` on."""
    if (
        not added
        and missing
        and start == int(missing[0].get("seq", 0))
        and len(missing) == (total - start + 1)
    ):
        return (
            f"{span(start, total)} {'is' if start == total else 'are'} missing from the end "
            "of the log (it was cut): " + describe_rows(missing)
        )
    parts = [f"from row {start} the log differs from the index's copy"]
    if missing:
        parts.append("missing from the log: " + describe_rows(missing))
    if added:
        parts.append("in the log but never recorded by the index: " + describe_rows(added))
    if not missing and not added:
        parts.append("the same rows, re-chained (hashes recomputed)")
    return "; ".join(parts)


def span(first: int, last: int) -> str:
    """'row 4' or 'rows 3..9'."""
    return f"row {first}" if first == last else f"rows {first}..{last}"


def unsigned_message(positions: list[int], signer: Signer) -> str:
    """Which rows lack the project key's signature."""
    return (
        f"{describe_ranges(positions)} ({len(positions)} row(s)) are not signed by the "
        f"project key ({signer.source}): written or rewritten by someone without it"
    )


def describe_ranges(positions: list[int]) -> str:
    """'rows 3..5, 9' for [3, 4, 5, 9] (at most five ranges shown)."""
    ranges: list[list[int]] = []
    for p in positions:
        if ranges and p == ranges[-1][1] + 1:
            ranges[-1][1] = p
        else:
            ranges.append([p, p])
    shown = [f"{a}..{b}" if a != b else str(a) for a, b in ranges[:5]]
    return "rows " + ", ".join(shown) + (", ..." if len(ranges) > 5 else "")
