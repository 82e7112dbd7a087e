"""The caps a paid call counts against, from what it was made for.

A call counts against the project, then its episode (in a series), its scene and its shot.
Its scene and shot ids give most of that; a call made on an episode itself (target ``E01``:
the episode's red team, audience, edit plan; logged with no scene) has its episode from its
target. The ledger's holds and settlements, its recompute from the run log, the running
mirror ``slate status`` checks it with and verify's expected holds all read it from here, so
they cannot disagree. A run-log row already carries ``target``, so an older log's rows give
the same scopes: nothing new is written to the log.
"""

from __future__ import annotations

import sqlite3

from ..core._budget import Level
from ..core._episodes import episode_of

# the index version whose spend_totals count an episode's own calls (``upgrade``)
SCOPES_VERSION = "2"


def scopes_of(scene_id: str, shot_id: str, target: str = "") -> list[tuple[Level, str]]:
    """The caps a call counts against: always the project, then its episode (in a series:
    from its scene, else from its target, for a call on the episode itself), its scene and
    its shot."""
    out: list[tuple[Level, str]] = [("project", "PROJECT")]
    episode = episode_of(scene_id) or episode_of(target)
    if episode:
        out.append(("episode", episode))
    if scene_id:
        out.append(("scene", scene_id))
    if shot_id:
        out.append(("shot", shot_id))
    return out


def _head(column: str) -> str:
    """SQL: the part of a column's text before its first '_' (all of it when there is none)."""
    return f"substr({column}, 1, instr({column} || '_', '_') - 1)"


def _is_episode(text: str) -> str:
    """SQL: ``text`` is an episode id (core._scene_ids.EPISODE_RE: E and two digits or more)."""
    return f"({text} GLOB 'E[0-9][0-9]*' AND substr({text}, 2) NOT GLOB '*[^0-9]*')"


def episode_sql(row: str = "") -> tuple[str, str]:
    """SQL for the episode scope of a run-log row (``row``: ``NEW``, ``OLD`` or '' for the
    table's own columns), as ``scopes_of`` finds it: (the episode, when the row has one)."""
    prefix = f"{row}." if row else ""
    scene, target = _head(f"{prefix}scene_id"), _head(f"{prefix}target")
    episode = (
        f"(CASE WHEN {_is_episode(scene)} THEN {scene} "
        f"WHEN {_is_episode(target)} THEN {target} ELSE '' END)"
    )
    return episode, f"{episode} != ''"


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring an index written before a call's episode came from its target up to date
    (inside the caller's write transaction; once per index).

    Its reservations get a ``target`` column, and the spend of the episodes' own calls
    (spend rows with no scene whose target is an episode), which its spend_totals counted
    for the project only, is added to their episode caps: the totals then equal what the
    run log recomputes to.
    """
    found = conn.execute("SELECT value FROM meta WHERE key = 'ledger_scopes'").fetchone()
    if found is not None and found[0] == SCOPES_VERSION:
        return
    columns = {row[1] for row in conn.execute("PRAGMA table_info(reservations)")}
    if "target" not in columns:
        conn.execute("ALTER TABLE reservations ADD COLUMN target TEXT NOT NULL DEFAULT ''")
    episode, _ = episode_sql()
    scene = _head("scene_id")
    conn.execute(
        "INSERT INTO spend_totals (level, scope, settled) SELECT 'episode', "
        f"{episode}, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend' "
        f"AND NOT {_is_episode(scene)} AND {_is_episode(_head('target'))} GROUP BY {episode} "
        "ON CONFLICT (level, scope) DO UPDATE SET settled = settled + excluded.settled"
    )
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_scopes', ?)", (SCOPES_VERSION,)
    )
