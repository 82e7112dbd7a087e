"""Budget: caps at project, episode (a series'), scene and shot level, enforced with
reservations.

Every paid call reserves its worst-case cost under SQLite's write lock, then settles to the
actual cost (or is released) in one transaction with its run-log row. Totals are kept per
scope, so a check costs the same at scene 3 and at scene 500, and N concurrent calls can
never push committed spend past a cap.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from ..core._budget import CapState, Level
from ..core._config import Config
from ..core._episodes import EPISODE_RE
from ..core._errors import BudgetExceeded, CostReviewRequired, RunError
from ..core._names import SHOT_RE, scene_of
from . import _runlog
from ._scopes import scopes_of
from ._store import Store, pid_alive

__all__ = [
    "Ledger",
    "Reservation",
    "Totals",
    "committed",
    "level_of",
    "scopes_of",
    "totals_from_log",
]


@dataclass(frozen=True)
class Reservation:
    """A held amount of budget for one paid call."""

    id: int
    run_id: str
    scene_id: str
    shot_id: str
    amount: float
    target: str = ""  # what the call is made for: an episode's own call has no scene


def money(amount: float) -> str:
    """An amount as a person reads it: cents, and the fraction of a cent when it matters
    (a text call costs 0.0012; "0.00" would hide why a small cap stopped)."""
    text = f"{amount:.4f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{amount:.2f}"


class Ledger:
    """Reservations and settled spend for one project, in the project's index."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.conn: sqlite3.Connection = store.conn

    # -- caps ---------------------------------------------------------------------------

    def cap(self, level: Level) -> float | None:
        """The configured cap for a level (episode, scene and shot caps are optional)."""
        budget = self.config.budget
        return {
            "project": budget.project_cap,
            "episode": budget.episode_cap,
            "scene": budget.scene_cap,
            "shot": budget.shot_cap,
        }[level]

    def _totals(self, level: Level, scope: str) -> tuple[float, float, float, str]:
        row = self.conn.execute(
            "SELECT settled, reserved, headroom, warned_at FROM spend_totals "
            "WHERE level = ? AND scope = ?",
            (level, scope),
        ).fetchone()
        return tuple(row) if row else (0.0, 0.0, 0.0, "")

    def state(self, level: Level, scope: str) -> CapState | None:
        """The state of one cap, or None when that level has no cap."""
        base = self.cap(level)
        if base is None:
            return None
        settled, reserved, headroom, _ = self._totals(level, scope)
        cap = base + headroom
        committed = settled + reserved
        budget = self.config.budget
        state: Literal["ok", "warning", "stopped"] = "ok"
        if committed >= cap * budget.stop_pct / 100:
            state = "stopped"
        elif committed >= cap * budget.warn_pct / 100:
            state = "warning"
        return CapState(level, scope, cap, settled, reserved, state)

    def states(self) -> list[CapState]:
        """Every cap with spend against it, project first."""
        rows = self.conn.execute(
            "SELECT level, scope FROM spend_totals ORDER BY "
            "CASE level WHEN 'project' THEN 0 WHEN 'episode' THEN 1 WHEN 'scene' THEN 2 "
            "ELSE 3 END, scope"
        ).fetchall()
        found = [s for level, scope in rows if (s := self.state(level, scope)) is not None]
        if not any(s.level == "project" for s in found):
            found.insert(0, self.state("project", "PROJECT"))  # type: ignore[arg-type]
        return found

    # -- reserve / settle / release -----------------------------------------------------

    def reserve(
        self,
        run_id: str,
        scene_id: str,
        shot_id: str,
        amount: float,
        what: str = "",
        target: str = "",
    ) -> Reservation:
        """Hold ``amount`` against every cap the call counts for (``scopes_of`` its scene,
        shot and ``target``: a call on an episode itself counts for the episode), or refuse."""
        if amount < 0:
            raise ValueError("a reservation cannot be negative")
        refusal: RunError | None = None
        scopes = scopes_of(scene_id, shot_id, target)
        with self.store.transaction() as conn:
            for level, scope in scopes:
                refusal = refusal or self._admit(conn, level, scope, amount, what)
            if refusal is None:
                held = _hold(conn, Reservation(0, run_id, scene_id, shot_id, amount, target), what)
                for level, scope in scopes:
                    _bump(conn, level, scope, reserved=amount)
        if refusal is not None:
            self.store.log(
                _runlog.LogEntry(
                    run_id=run_id,
                    skill_name="budget-gates",
                    event="hard_stop" if isinstance(refusal, BudgetExceeded) else "budget_review",
                    outcome="budget",
                    estimated_cost=amount,
                    scene_id=scene_id,
                    shot_id=shot_id,
                    target=str(refusal.context.get("target", "PROJECT")),
                    notes=f"refused {what}: {refusal}",
                )
            )
            raise refusal
        return held

    def _admit(
        self, conn: sqlite3.Connection, level: Level, scope: str, amount: float, what: str
    ) -> RunError | None:
        """None when the call fits under this cap, else the error that refuses it."""
        state = self.state(level, scope)
        if state is None:
            return None
        budget = self.config.budget
        limit = state.cap * budget.stop_pct / 100
        if state.committed + amount > limit + 1e-9:
            return BudgetExceeded(
                f"{level} cap for {scope} would be exceeded: {money(state.committed)} committed "
                f"of {money(state.cap)} {budget.currency}, {what or 'this call'} needs up to "
                f"{money(amount)}. Simplify (downgrade C shots, split, shorten) or record "
                f"`slate override {_review_target(level, scope)} --reason ... --cost-impact "
                "AMOUNT`.",
                level=level,
                scope=scope,
                committed=state.committed,
                cap=state.cap,
                target=_review_target(level, scope) if level != "shot" else scope,
            )
        return self._require_review(conn, level, scope, state, amount)

    def _require_review(
        self, conn: sqlite3.Connection, level: Level, scope: str, state: CapState, amount: float
    ) -> RunError | None:
        """At the warning point a cost review (a fresh COST_REPORT) is required."""
        warn_at = state.cap * self.config.budget.warn_pct / 100
        if state.committed + amount < warn_at:
            return None
        warned_at = self._totals(level, scope)[3]
        if not warned_at:
            stamp = _runlog.utc_now()  # the same instant in the mark and its log row (reindex)
            conn.execute(
                "INSERT INTO spend_totals (level, scope, warned_at) VALUES (?,?,?) "
                "ON CONFLICT (level, scope) DO UPDATE SET warned_at = excluded.warned_at",
                (level, scope, stamp),
            )
            _runlog.append(
                conn,
                _runlog.LogEntry(
                    run_id=_runlog.new_run_id(),
                    skill_name="budget-gates",
                    event="budget_warning",
                    timestamp=stamp,
                    outcome="WARNING",
                    target=scope if level == "episode" else "",
                    scene_id=scene_of(scope),
                    shot_id=scope if level == "shot" else "",
                    notes=f"{level} {scope} reached {self.config.budget.warn_pct:.0f}% of its cap; "
                    "cost review required",
                ),
            )
            return None  # the call that crosses the line may proceed; later ones need a review
        if self._review_after(level, scope, warned_at):
            return None
        return CostReviewRequired(
            f"{level} {scope} is at {state.percent:.0f}% of its cap (warning state since "
            f"{warned_at}): run `slate cost --target {_review_target(level, scope)}` for a "
            "cost review before more paid work",
            level=level,
            scope=scope,
            target=_review_target(level, scope),
        )

    def review_pending(self, level: Level, scope: str) -> bool:
        """True when the cap entered its warning state and no cost review followed yet."""
        warned_at = self._totals(level, scope)[3]
        return bool(warned_at) and not self._review_after(level, scope, warned_at)

    def _review_after(self, level: Level, scope: str, since: str) -> bool:
        targets = {"PROJECT", _review_target(level, scope)}
        for target in targets:
            rec = self.store.latest("COST_REPORT", target)
            if rec is not None and rec.created_at > since:
                return True
        return False

    def mark_started(self, res: Reservation) -> None:
        """Record that the paid call is under way (a crash after this is charged)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE reservations SET started = 1 WHERE id = ?", (res.id,))

    def settle(self, res: Reservation, actual: float, entry: _runlog.LogEntry) -> None:
        """Replace the hold with the actual cost and log the spend, atomically."""
        with self.store.transaction() as conn:
            self._close(conn, res.id, actual, entry)
        _runlog.sync_csv(self.conn, self.store.root)

    def release(self, res: Reservation, reason: str) -> None:
        """Drop a hold whose call never ran or failed before costing anything."""
        entry = _runlog.LogEntry(
            run_id=res.run_id,
            skill_name="budget-gates",
            event="release",
            target=res.target,
            scene_id=res.scene_id,
            shot_id=res.shot_id,
            estimated_cost=res.amount,
            notes=reason,
        )
        with self.store.transaction() as conn:
            self._close(conn, res.id, 0.0, entry)
        _runlog.sync_csv(self.conn, self.store.root)

    def _close(
        self, conn: sqlite3.Connection, res_id: int, actual: float, entry: _runlog.LogEntry
    ) -> None:
        row = conn.execute(
            "SELECT amount, scene_id, shot_id, target FROM reservations WHERE id = ?", (res_id,)
        ).fetchone()
        if row is None:
            raise RunError(f"reservation {res_id} is not open (already settled or released)")
        amount, scene_id, shot_id, target = row
        conn.execute("DELETE FROM reservations WHERE id = ?", (res_id,))
        for level, scope in scopes_of(scene_id, shot_id, target):
            _bump(conn, level, scope, reserved=-amount)
        if entry.event == "run":
            entry.event = "spend"
        entry.target = entry.target or target  # the row says what the call was for
        entry.actual_cost = actual
        entry.estimated_cost = entry.estimated_cost or amount
        # settled by the scopes of the row itself: what the log recomputes (totals_from_log)
        for level, scope in scopes_of(entry.scene_id, entry.shot_id, entry.target):
            _bump(conn, level, scope, settled=actual)
        _runlog.append(conn, entry)

    def recover(self) -> list[str]:
        """Close reservations left by dead processes; returns what was done.

        A call that never started is released. One that started may have been billed, so it
        is charged at its worst case and flagged: the budget errs on the side of the cap.
        """
        done = []
        rows = self.conn.execute(
            "SELECT id, run_id, scene_id, shot_id, amount, started, pid, what, target "
            "FROM reservations"
        ).fetchall()
        for res_id, run_id, scene_id, shot_id, amount, started, pid, what, target in rows:
            if pid_alive(pid):
                continue
            res = Reservation(res_id, run_id, scene_id, shot_id, amount, target)
            if started:
                self.settle(
                    res,
                    amount,
                    _runlog.LogEntry(
                        run_id=run_id,
                        skill_name="budget-gates",
                        target=target,
                        scene_id=scene_id,
                        shot_id=shot_id,
                        outcome="UNKNOWN",
                        notes=f"{what}: process died during the paid call; charged at worst case",
                    ),
                )
                done.append(f"charged {amount:.2f} for interrupted call {what} ({run_id})")
            else:
                self.release(res, f"{what}: process died before the call; released")
                done.append(f"released {amount:.2f} held for {what} ({run_id})")
        return done

    def grant(self, conn: sqlite3.Connection, level: Level, scope: str, amount: float) -> None:
        """Raise a cap by a human override's cost impact (inside the override's transaction)."""
        _bump(conn, level, scope, headroom=amount)
        conn.execute(
            "UPDATE spend_totals SET warned_at = '' WHERE level = ? AND scope = ?", (level, scope)
        )

    def rebuild(self, conn: sqlite3.Connection) -> None:
        """Recompute the totals from the run log (inside reindex's transaction).

        The same recomputation verify compares the live totals with (``totals_from_log``).
        """
        conn.execute("DELETE FROM spend_totals")
        conn.execute("DELETE FROM reservations")
        columns = ("event", "outcome", "target", "scene_id", "shot_id", "actual_cost")
        rows = conn.execute(
            f"SELECT {', '.join(columns)}, estimated_cost, timestamp FROM runlog ORDER BY seq"
        )
        cells = (dict(zip((*columns, "estimated_cost", "timestamp"), r, strict=True)) for r in rows)
        for (level, scope), t in totals_from_log(cells).items():
            conn.execute(
                "INSERT INTO spend_totals (level, scope, settled, headroom, warned_at) "
                "VALUES (?,?,?,?,?)",
                (level, scope, t.settled, t.headroom, t.warned_at),
            )

    def open_reservations(self) -> int:
        """How many holds are open right now."""
        return int(self.conn.execute("SELECT count(*) FROM reservations").fetchone()[0])


def committed(ledger: Ledger, level: Level, scope: str) -> float:
    """What a scope has settled and holds, whether or not its level has a cap (an
    episode's spend without ``[budget] episode_cap``)."""
    settled, reserved, _, _ = ledger._totals(level, scope)
    return settled + reserved


def _hold(conn: sqlite3.Connection, res: Reservation, what: str) -> Reservation:
    """Record an open hold (inside reserve's transaction); it comes back with its id."""
    cur = conn.execute(
        "INSERT INTO reservations (run_id, scene_id, shot_id, amount, pid, created_at, what, "
        "target) VALUES (?,?,?,?,?,?,?,?)",
        (
            res.run_id,
            res.scene_id,
            res.shot_id,
            res.amount,
            os.getpid(),
            _runlog.utc_now(),
            what,
            res.target,
        ),
    )
    return replace(res, id=int(cur.lastrowid or 0))


def _bump(
    conn: sqlite3.Connection,
    level: str,
    scope: str,
    reserved: float = 0.0,
    settled: float = 0.0,
    headroom: float = 0.0,
) -> None:
    conn.execute(
        "INSERT INTO spend_totals (level, scope, settled, reserved, headroom) VALUES (?,?,?,?,?) "
        "ON CONFLICT (level, scope) DO UPDATE SET settled = settled + excluded.settled, "
        "reserved = reserved + excluded.reserved, headroom = headroom + excluded.headroom",
        (level, scope, settled, reserved, headroom),
    )


@dataclass
class Totals:
    """What the run log says one cap's ledger row must hold."""

    settled: float = 0.0
    headroom: float = 0.0
    warned_at: str = ""


def totals_from_log(rows: Iterable[Mapping[str, str]]) -> dict[tuple[Level, str], Totals]:
    """Per (level, scope), the ledger's totals recomputed from run-log rows in order.

    Settled spend comes from ``spend`` rows (counted for the scopes of their scene, shot and
    target: an episode's own calls have only the target, in old logs too), extra headroom from
    budget overrides, and the warning mark from the last ``budget_warning`` row no budget
    override on its scope followed.
    """
    out: dict[tuple[Level, str], Totals] = {}
    for row in rows:
        event = row["event"]
        if event == "spend":
            for key in scopes_of(row["scene_id"], row["shot_id"], row.get("target", "")):
                out.setdefault(key, Totals()).settled += float(row["actual_cost"] or 0)
        elif event == "override" and row["outcome"] == "budget":
            total = out.setdefault((level_of(row["target"]), row["target"]), Totals())
            total.headroom += float(row["estimated_cost"] or 0)
            total.warned_at = ""
        elif event == "budget_warning":
            key = scopes_of(row["scene_id"], row["shot_id"])[-1]
            if EPISODE_RE.fullmatch(row.get("target", "")):
                key = ("episode", row["target"])
            out.setdefault(key, Totals()).warned_at = row["timestamp"]
    return out


def level_of(target: str) -> Level:
    """The cap level a stop target names: PROJECT, an episode, a scene or a shot."""
    if target == "PROJECT":
        return "project"
    if EPISODE_RE.fullmatch(target):
        return "episode"
    return "shot" if SHOT_RE.fullmatch(target) else "scene"


def _review_target(level: Level, scope: str) -> str:
    if level == "episode":
        return scope
    return "PROJECT" if level == "project" else scene_of(scope)
