"""The refusals a shot's renders met, for regen-analyzer (issue 12 §8).

A provider's content-policy refusal or invalid-input error is recorded on the job in
``render_jobs`` (``failure``, ``message``) by the render service, and that GenPack is never
sent again unchanged. regen-analyzer declares ``wants_refusals``; the runner hands it the
target shot's refusals in ``ctx.params["refusals"]`` (skills never read the store), and it
rewords the prompt within the locks (``rules._reword``). One indexed query per run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store._store import Store
from ._lip_sync import pack_sha_of

__all__ = ["REFUSALS_PARAM", "REFUSED", "Refusal", "refusals_of"]

REFUSALS_PARAM = "refusals"  # the ctx.params key
REFUSED = ("refusal", "invalid_input")  # failure kinds never sent again unchanged


@dataclass(frozen=True)
class Refusal:
    """One refused render job of a shot."""

    shot_id: str
    resolution: str
    genpack_sha: str  # the GenPack whose prompt was refused
    model: str
    failure: str  # "refusal" or "invalid_input"
    message: str  # the provider's words


def refusals_of(store: Store, shot_id: str) -> tuple[Refusal, ...]:
    """The shot's refused render jobs, oldest first (none when nothing was ever rendered)."""
    conn = store.conn
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'render_jobs'").fetchone() is None:
        return ()
    columns = {row[1] for row in conn.execute("PRAGMA table_info(render_jobs)")}
    if "failure" not in columns:  # a table from before failures were recorded
        return ()
    rows = conn.execute(
        "SELECT resolution, genpack_sha, provider, failure, message FROM render_jobs "
        "WHERE shot_id = ? AND state = 'failed' AND failure IN (?, ?) ORDER BY rowid",
        (shot_id, *REFUSED),
    ).fetchall()
    return tuple(
        Refusal(shot_id, str(res), pack_sha_of(str(key)), *map(str, rest))  # lip sync: _lip_sync
        for res, key, *rest in rows
    )
