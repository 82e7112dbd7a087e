"""The run log page's facts: the newest rows matching the filters (the query `slate log`
makes), the values to filter by, and `slate verify`'s verdict on the project."""

from __future__ import annotations

from dataclasses import dataclass

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
    where = [f"{FILTERS[k]} = ?" for k in picked]
    args = [v.upper() if k == "status" else v for k, v in picked.items()]
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    conn = project.store.conn
    total = conn.execute(f"SELECT count(*) FROM runlog{clause}", args).fetchone()[0]
    found = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM runlog{clause} ORDER BY seq DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    rows = [
        {c: str(v) for c, v in zip(COLUMNS, row, strict=True) if c in SHOWN}
        for row in reversed(found)
    ]
    choices = {
        key: [
            str(v)
            for (v,) in conn.execute(
                f"SELECT DISTINCT {column} FROM runlog WHERE {column} != '' ORDER BY {column}"
            )
        ]
        for key, column in FILTERS.items()
    }
    return LogPage(rows, picked, choices, int(total), limit)


def verify_problems(project: Project) -> list[str]:
    """`slate verify`'s violations (none: the project is clean)."""
    return [str(v) for v in project.verify()]
