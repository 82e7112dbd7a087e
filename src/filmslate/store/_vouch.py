"""What `slate reindex` vouches for: which copy of the run log it rebuilds the index from.

A CSV that lost or changed rows the index recorded is never trusted over the index's copy
(the rewritten CSV is kept as evidence under ``.filmslate/evidence/``); a CSV ahead of the
index (the index deleted, or older) is, but rows nothing vouches for are reported. Whatever
the rebuild could not vouch for, including rows the old index's heads remember past the end
of every copy, becomes one ``log_integrity`` hard stop: a tampered project never verifies
clean again until a person lifts it with a logged override.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from ..core._errors import IntegrityError
from . import _runlog
from ._chain import Signer, signer_of
from ._heads import (
    LOG,
    STOP_KIND,
    chain_breaks,
    csv_rows,
    describe_disagreement,
    describe_ranges,
    describe_rows,
    diff,
    index_head,
    index_rows,
    span,
    unsigned_message,
)
from ._index import INDEX_DIR
from ._store import Store


@dataclass
class ReindexPlan:
    """The log rows to rebuild the index from, and what could not be vouched for."""

    rows: list[dict[str, str]]
    findings: list[str] = field(default_factory=list)
    evidence: Path | None = None  # where a rewritten CSV is kept; a true one is written
    mirrored: int = 0  # rows of the CSV that stay (the rest is appended from the index)


def plan_reindex(root: Path, conn: sqlite3.Connection) -> ReindexPlan:
    """Choose the copy of the log the index is rebuilt from, and say what it cannot vouch for.

    A CSV that lost or changed rows the index recorded is never trusted over the index; a
    CSV ahead of the index (the index deleted, or older) is, but rows nothing vouches for
    are reported.
    """
    plan = _choose(root, conn)
    plan.findings += _witnesses(conn, len(plan.rows))
    return plan


def _choose(root: Path, conn: sqlite3.Connection) -> ReindexPlan:
    signer = signer_of(conn) or Signer(root)
    errors: list[str] = []
    logged = list(csv_rows(root, errors))
    # an unreadable log (a folder, a link, a changed header, bytes that are no text) chains
    # nowhere: it is set aside like a rewritten one
    chained = sum(1 for _, _, ok in chain_breaks(logged) if ok) if not errors else -1
    recorded = list(index_rows(conn))
    index_ok = _copy_intact(conn, recorded, signer)
    common = _common_prefix(logged[: max(chained, 0)], recorded)
    if (not recorded or common == len(recorded)) and chained == len(logged):
        return _from_csv(logged, common, signer)
    if index_ok:
        plan = _from_index(root, logged, recorded, common, chained, signer)
        if errors and plan.evidence is not None:
            kept = plan.evidence.relative_to(root)
            plan.findings[0] = (
                f"{LOG} could not be read ({errors[0]}); the index's copy of its "
                f"{len(recorded)} row(s) restored, the unreadable log kept as {kept}"
            )
        return plan
    if chained == len(logged):
        note = (
            f"the index's copy of the log had been edited from row {common + 1} "
            f"({describe_ranges(list(range(common + 1, len(recorded) + 1)))}); rebuilt from "
            f"{LOG}, which chains"
        )
        return ReindexPlan(logged, [note, *_unsigned(logged, signer)], mirrored=len(logged))
    problems = list(_runlog.chain_problems(root))
    raise IntegrityError(
        "the run log's chain is broken and the index's copy is not intact either, so "
        "the index cannot be rebuilt from it:\n  " + "\n  ".join(problems),
        problems=problems,
    )


def _witnesses(conn: sqlite3.Connection, rows: int) -> list[str]:
    """What the old index remembers beyond the chosen copy's end: rows lost from both."""
    head = index_head(conn)
    longest = max(head.rows if head else 0, _runlog.mirrored(conn))
    past = conn.execute(
        "SELECT count(*), max(log_seq) FROM artifacts WHERE log_seq > ?", (rows,)
    ).fetchone()
    out = []
    if longest > rows:
        out.append(
            f"the index had recorded a log of {longest} row(s) but no copy holds more than "
            f"{rows}: rows {rows + 1}..{longest} are missing from both"
        )
    if past[0]:
        out.append(
            f"{past[0]} artifact(s) were written at log rows past its end (up to row "
            f"{past[1]}): their write rows are missing"
        )
    return out


def _from_csv(logged: list[dict[str, str]], common: int, signer: Signer) -> ReindexPlan:
    findings = _unsigned(logged, signer)
    extra = logged[common:]
    if common and extra and (signer.key is None or findings):
        findings.append(
            f"{LOG} holds {span(common + 1, len(logged))} the index never recorded "
            f"(appended behind the store's back, or the index is older than the log): "
            + describe_rows(extra)
        )
    return ReindexPlan(logged, findings, mirrored=len(logged))


def _from_index(
    root: Path,
    logged: list[dict[str, str]],
    recorded: list[dict[str, str]],
    common: int,
    chained: int,
    signer: Signer,
) -> ReindexPlan:
    missing, added = diff(recorded[common:], logged[common:])
    what = describe_disagreement(common + 1, len(recorded), missing, added)
    if chained == len(logged) == common:
        if not os.path.lexists(root / LOG):
            what = f"the log file was deleted ({describe_rows(recorded)})"
        return ReindexPlan(
            recorded,
            [f"{what}; restored from the index", *_unsigned(recorded, signer)],
            mirrored=common,
        )
    keep = evidence_path(root)
    note = f"{what}; the index's copy restored, the rewritten log kept as {keep.relative_to(root)}"
    return ReindexPlan(recorded, [note, *_unsigned(recorded, signer)], evidence=keep)


def _copy_intact(conn: sqlite3.Connection, recorded: list[dict[str, str]], signer: Signer) -> bool:
    """True when the index's copy chains, matches its head and, with a key, is signed."""
    if not recorded or not all(ok for _, _, ok in chain_breaks(recorded)):
        return False
    head = index_head(conn)
    if head is not None and (head.rows, head.row_hash) != (
        len(recorded),
        recorded[-1]["row_hash"],
    ):
        return False
    return signer.key is None or not _unsigned(recorded, signer)


def _common_prefix(logged: list[dict[str, str]], recorded: list[dict[str, str]]) -> int:
    n = 0
    for a, b in zip(logged, recorded, strict=False):
        if a["row_hash"] != b["row_hash"]:
            break
        n += 1
    return n


def _unsigned(rows: list[dict[str, str]], signer: Signer) -> list[str]:
    if signer.key is None:
        return []
    bad = [i for i, r in enumerate(rows, 1) if not signer.valid(r["row_hash"], r["row_mac"])]
    return [f"{LOG}: {unsigned_message(bad, signer)}"] if bad else []


def evidence_path(root: Path) -> Path:
    """Where a rewritten log is kept: inside the index folder, never scanned as project."""
    stamp = _runlog.utc_now().replace(":", "").replace("-", "")
    return root / INDEX_DIR / "evidence" / f"RUN_LOG_v001.{stamp}.csv"


def record_findings(conn: sqlite3.Connection, plan: ReindexPlan) -> int:
    """Inside reindex's transaction: the heads from the rebuilt copy, and one hard stop
    naming everything the rebuild could not vouch for; returns its log row (0: none)."""
    # the row that published it: the first to name it (a run's summary row may name it later)
    first_row = "FROM runlog WHERE artifact_output = artifacts.name ORDER BY seq LIMIT 1"
    conn.execute(
        f"UPDATE artifacts SET log_seq = coalesce((SELECT seq {first_row}), 0), "
        f"log_head = coalesce((SELECT row_hash {first_row}), '')"
    )
    signer = signer_of(conn)
    if plan.rows:
        last = plan.rows[-1]
        mac = signer.head_mac(len(plan.rows), last["row_hash"]) if signer else ""
        _runlog.set_meta(conn, _runlog.HEAD_KEY, f"{len(plan.rows)}:{last['row_hash']}:{mac}")
    else:
        conn.execute("DELETE FROM meta WHERE key = ?", (_runlog.HEAD_KEY,))
    _runlog.set_meta(conn, _runlog.MIRRORED_KEY, str(plan.mirrored))
    if not plan.findings:
        return 0
    cells = _runlog.append(
        conn,
        _runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            skill_name="reindex",
            event="hard_stop",
            outcome=STOP_KIND,
            target="PROJECT",
            notes="reindex could not vouch for the log: " + " | ".join(plan.findings),
        ),
    )
    return int(cells["seq"])


def finish_reindex(store: Store, plan: ReindexPlan) -> None:
    """After reindex commits: set a rewritten CSV aside and mirror the rebuilt log."""
    path = store.root / LOG
    if plan.evidence is not None and os.path.lexists(path):
        plan.evidence.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, plan.evidence)
    _runlog.sync_csv(store.conn, store.root)
    store.log_problem = ""  # the CSV and the index agree again; what did not is a hard stop
