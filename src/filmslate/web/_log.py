"""The run log page's facts: the newest rows matching the filters (the query `slate log`
makes), the values to filter by, and `slate verify`'s verdict on the project."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ..store._project import Project
from ..store._runlog import COLUMNS

__all__ = ["SHOWN", "LogPage", "log_page", "verify_problems"]

SHOWN = (
    "seq",
    "timestamp",
    "event",
    "skill_name",
    "scene_id",
    "shot_id",
    "model_used",
    "tier",
    "actual_cost",
    "outcome",
    "artifact_output",
    "notes",
)
FILTERS = {"skill": "skill_name", "scene": "scene_id", "status": "outcome"}


@dataclass(frozen=True)
class LogPage:
    """Rows (oldest of the shown first) and the filter choices."""

    rows: list[dict[str, str]]
    chosen: dict[str, str]
    choices: dict[str, list[str]]
    total: int
    limit: int


def log_page(project: Project, chosen: dict[str, str], limit: int = 200) -> LogPage:
    """The newest ``limit`` rows matching ``chosen`` (skill, scene, status; empty: any)."""
    picked = {k: v.strip() for k, v in chosen.items() if k in FILTERS and v.strip()}
    where = [f"{FILTERS[k]} = ?" for k in picked]  # outcomes as stored: PASS, FAIL, budget
    args = list(picked.values())
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    found = project.store.conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM runlog{clause} ORDER BY seq DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    rows = [
        {c: str(v) for c, v in zip(COLUMNS, row, strict=True) if c in SHOWN}
        for row in reversed(found)
    ]
    seen = _seen(project, tuple(sorted(picked.items())))
    return LogPage(rows, picked, seen.choices, seen.total, limit)


@dataclass
class _Seen:
    """What the log held up to row ``seq`` (its hash ``head``): read again only past it."""

    seq: int = 0
    head: str = ""
    total: int = 0
    choices: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in FILTERS})


_SEEN: dict[tuple[str, tuple[tuple[str, str], ...]], _Seen] = {}
MAX_SEEN = 64  # filter combinations remembered per office process


def _seen(project: Project, picked: tuple[tuple[str, str], ...]) -> _Seen:
    """The matching row count and the filter values, read only over the rows appended since
    the last request (a page does not count the whole log each time it opens)."""
    conn = project.store.conn
    key = (str(project.root), picked)
    seen = _SEEN.get(key) or _Seen()
    at = conn.execute("SELECT row_hash FROM runlog WHERE seq = ?", (seen.seq,)).fetchone()
    if seen.seq and (at is None or at[0] != seen.head):
        seen = _Seen()  # the log was rebuilt: read it afresh
    last = conn.execute("SELECT seq, row_hash FROM runlog ORDER BY seq DESC LIMIT 1").fetchone()
    if last is None or last[0] == seen.seq:
        return seen
    where = "".join(f" AND {FILTERS[k]} = ?" for k, _ in picked)
    args = [seen.seq, last[0], *(v for _, v in picked)]
    new = conn.execute(
        f"SELECT count(*) FROM runlog WHERE seq > ? AND seq <= ?{where}", args
    ).fetchone()[0]
    choices = {
        name: sorted({*seen.choices[name], *_values(conn, column, seen.seq, int(last[0]))})
        for name, column in FILTERS.items()
    }
    seen = _Seen(int(last[0]), str(last[1]), seen.total + int(new), choices)
    if len(_SEEN) >= MAX_SEEN:
        _SEEN.clear()
    _SEEN[key] = seen
    return seen


def _values(conn: sqlite3.Connection, column: str, after: int, upto: int) -> list[str]:
    found = conn.execute(
        f"SELECT DISTINCT {column} FROM runlog WHERE seq > ? AND seq <= ? AND {column} != ''",
        (after, upto),
    )
    return [str(v) for (v,) in found]


def verify_problems(project: Project) -> list[str]:
    """`slate verify`'s violations (none: the project is clean)."""
    return [str(v) for v in project.verify()]
