"""Running figures the index keeps as it is written, so `slate status` reads, not counts.

Triggers maintain them in the same transaction as the row that changes them: per kind, how
many stems and versions (``kind_counts``), and per budget scope, the settled spend and the
override headroom the index's own run-log rows add up to (``spend_mirror``). Status then costs
the same at 2,000 versions as at 20,000, and can tell, cheaply, when the ledger's
``spend_totals`` no longer add up to the log rows beside them (an edited index): it says so
instead of showing a false cap. `slate verify` recomputes all of it from the run-log file.
"""

from __future__ import annotations

import re
import sqlite3

from . import _scopes

# 2: the episode scope (a series' E02_S01 also counts for E02); 3: a call on an episode itself
# (target E02, no scene) counts for it too (``_scopes``)
VERSION = "3"
# Money is compared to half a cent: the log keeps six decimals, the ledger full floats.
TOLERANCE = 0.005

# A series' scene id E02_S03 counts for its episode E02 too, and so does a call on E02 itself
# (``_scopes.scopes_of``).
_EPISODE, _IN_EPISODE = _scopes.episode_sql("NEW")
_SPEND_SCOPES = (
    ("'PROJECT'", "1"),
    (_EPISODE, _IN_EPISODE),
    ("NEW.scene_id", "NEW.scene_id != ''"),
    ("NEW.shot_id", "NEW.shot_id != ''"),
)


def _mirror(sign: str, row: str) -> str:
    """Trigger body: add (or take back) one spend row's cost in each scope it counts for."""
    parts = []
    for scope, when in _SPEND_SCOPES:
        scope, when = scope.replace("NEW", row), when.replace("NEW", row)
        parts.append(
            f"INSERT OR IGNORE INTO spend_mirror (scope) SELECT {scope} WHERE {when};\n"
            f"UPDATE spend_mirror SET settled = settled {sign} CAST({row}.actual_cost AS REAL) "
            f"WHERE scope = {scope} AND {when};"
        )
    return "\n".join(parts)


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS kind_counts (
    kind TEXT PRIMARY KEY, stems INTEGER NOT NULL DEFAULT 0, versions INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER IF NOT EXISTS kind_counts_add AFTER INSERT ON artifacts BEGIN
    INSERT OR IGNORE INTO kind_counts (kind) VALUES (NEW.kind);
    UPDATE kind_counts SET versions = versions + 1, stems = stems + NOT EXISTS (
        SELECT 1 FROM artifacts WHERE stem = NEW.stem AND version != NEW.version
    ) WHERE kind = NEW.kind;
END;
CREATE TRIGGER IF NOT EXISTS kind_counts_drop AFTER DELETE ON artifacts BEGIN
    UPDATE kind_counts SET versions = versions - 1, stems = stems - NOT EXISTS (
        SELECT 1 FROM artifacts WHERE stem = OLD.stem
    ) WHERE kind = OLD.kind;
END;
CREATE TABLE IF NOT EXISTS spend_mirror (
    scope TEXT PRIMARY KEY, settled REAL NOT NULL DEFAULT 0, headroom REAL NOT NULL DEFAULT 0
);
CREATE TRIGGER IF NOT EXISTS spend_mirror_add AFTER INSERT ON runlog WHEN NEW.event = 'spend'
BEGIN
{_mirror("+", "NEW")}
END;
CREATE TRIGGER IF NOT EXISTS spend_mirror_drop AFTER DELETE ON runlog WHEN OLD.event = 'spend'
BEGIN
{_mirror("-", "OLD")}
END;
CREATE TRIGGER IF NOT EXISTS headroom_mirror_add AFTER INSERT ON runlog
WHEN NEW.event = 'override' AND NEW.outcome = 'budget' BEGIN
    INSERT OR IGNORE INTO spend_mirror (scope) VALUES (NEW.target);
    UPDATE spend_mirror SET headroom = headroom + CAST(NEW.estimated_cost AS REAL)
    WHERE scope = NEW.target;
END;
CREATE TRIGGER IF NOT EXISTS headroom_mirror_drop AFTER DELETE ON runlog
WHEN OLD.event = 'override' AND OLD.outcome = 'budget' BEGIN
    UPDATE spend_mirror SET headroom = headroom - CAST(OLD.estimated_cost AS REAL)
    WHERE scope = OLD.target;
END;
"""

_TRIGGERS = re.findall(r"CREATE TRIGGER IF NOT EXISTS (\w+)", SCHEMA)


def ensure(conn: sqlite3.Connection) -> None:
    """Create the running tables and their triggers once, filling them from what the index
    already holds (a project made before they existed), in one write transaction."""
    if _installed(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not _installed(conn):  # another process may have done it while we waited
            for trigger in _TRIGGERS:  # an older version's bodies are replaced, not kept
                conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            for statement in SCHEMA.split("\nCREATE ")[1:]:
                conn.execute("CREATE " + statement.strip().removesuffix(";"))
            recompute(conn)
            _scopes.upgrade(conn)  # the ledger of an index made before version 3
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('running_counts', ?)", (VERSION,)
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _installed(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM meta WHERE key = 'running_counts'").fetchone()
    return row is not None and row[0] == VERSION


def recompute(conn: sqlite3.Connection) -> None:
    """Refill the running tables from the index's rows (inside the caller's transaction)."""
    conn.execute("DELETE FROM kind_counts")
    conn.execute(
        "INSERT INTO kind_counts (kind, stems, versions) "
        "SELECT kind, count(DISTINCT stem), count(*) FROM artifacts GROUP BY kind"
    )
    conn.execute("DELETE FROM spend_mirror")
    for scope, when in (("'PROJECT'", "1"), ("scene_id", "scene_id != ''")):
        _refill(conn, scope, when)
    _refill(conn, *_scopes.episode_sql())
    _refill(conn, "shot_id", "shot_id != ''")
    conn.execute(
        "INSERT INTO spend_mirror (scope, headroom) SELECT target, sum(CAST(estimated_cost AS "
        "REAL)) FROM runlog WHERE event = 'override' AND outcome = 'budget' GROUP BY target "
        "ON CONFLICT (scope) DO UPDATE SET headroom = headroom + excluded.headroom"
    )


def _refill(conn: sqlite3.Connection, scope: str, when: str) -> None:
    conn.execute(
        f"INSERT INTO spend_mirror (scope, settled) SELECT {scope}, sum(CAST(actual_cost AS "
        f"REAL)) FROM runlog WHERE event = 'spend' AND {when} GROUP BY {scope} "
        "ON CONFLICT (scope) DO UPDATE SET settled = settled + excluded.settled"
    )


def kind_counts(conn: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """Per kind: (stems, versions), read from the running table."""
    rows = conn.execute("SELECT kind, stems, versions FROM kind_counts WHERE versions > 0")
    return {kind: (stems, versions) for kind, stems, versions in rows}


def ledger_disagreements(conn: sqlite3.Connection) -> list[str]:
    """Scopes whose ledger totals differ from the index's own spend and override rows.

    One pass over the scopes (which status lists anyway), never over the log.
    """
    rows = conn.execute(
        "SELECT t.scope, t.settled, t.headroom, coalesce(m.settled, 0), coalesce(m.headroom, 0) "
        "FROM spend_totals t LEFT JOIN spend_mirror m ON m.scope = t.scope "
        "UNION ALL SELECT m.scope, 0, 0, m.settled, m.headroom FROM spend_mirror m "
        "WHERE m.scope NOT IN (SELECT scope FROM spend_totals)"
    ).fetchall()
    found = {
        scope
        for scope, settled, headroom, logged, granted in rows
        if abs(settled - logged) > TOLERANCE or abs(headroom - granted) > TOLERANCE
    }
    held = open_holds(conn)
    for scope, reserved in conn.execute("SELECT scope, reserved FROM spend_totals"):
        if abs(reserved - held.get(scope, 0.0)) > TOLERANCE:
            found.add(scope)
    return sorted(found)


def open_holds(conn: sqlite3.Connection) -> dict[str, float]:
    """Per scope, the amount the open reservations hold (there are few at any time)."""
    held: dict[str, float] = {}
    rows = conn.execute("SELECT scene_id, shot_id, target, amount FROM reservations")
    for scene, shot, target, amount in rows:
        for _, scope in _scopes.scopes_of(scene, shot, target):
            held[scope] = held.get(scope, 0.0) + amount
    return held
