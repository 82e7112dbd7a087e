"""The read-only budget facts the runner prepares for governance skills.

Skills never touch the ledger (DESIGN §3): a skill that declares ``wants_budget_view`` gets
this snapshot in ``ctx.params["budget_view"]`` instead.
"""

from __future__ import annotations

from ..core._budget import BudgetView
from ..core._names import scene_of
from ..store._ledger import Ledger
from ..store._project import Project
from ._stops import all_open_hard_stops


def budget_view(project: Project, ledger: Ledger, target: str = "PROJECT") -> BudgetView:
    """Read-only budget facts for governance skills (grouped queries, no history walk).

    For a scene target only the caps over that scene: a cost review per scene batch must
    not read every shot's cap and the whole log, or a long production turns quadratic.
    """
    scene = scene_of(target)
    if scene:
        caps = [ledger.state("project", "PROJECT"), ledger.state("scene", scene)]
        return BudgetView(caps=[c for c in caps if c is not None])
    store = project.store
    conn = store.conn
    projected = 0.0
    report = store.latest("COST_REPORT", "PROJECT")
    if report is not None:
        projected = float(getattr(store.load(report.name), "projected_total", 0.0))
    return BudgetView(
        caps=ledger.states(),
        # spend booked without a tier (by hand, through the ledger) still shows in totals
        spend_by_tier={
            t or "untiered": float(c)
            for t, c in conn.execute(
                "SELECT tier, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend' "
                "GROUP BY tier"
            )
        },
        runs_by_tier={
            t or "untiered": int(n)
            for t, n in conn.execute(
                "SELECT tier, count(*) FROM runlog WHERE event = 'run' GROUP BY tier"
            )
        },
        regens_by_shot={
            s: int(n)
            for s, n in conn.execute(
                "SELECT shot_id, max(CAST(regen_count AS INTEGER)) FROM runlog WHERE event = "
                "'run' AND shot_id != '' GROUP BY shot_id"
            )
        },
        open_stops=[
            f"{s.kind} ({s.run_id}): {s.target}: {s.reason}" for s in all_open_hard_stops(project)
        ],
        projected_remaining=projected,
        reviews_pending={
            f"{c.level}:{c.scope}"
            for c in ledger.states()
            if c.state == "warning" and ledger.review_pending(c.level, c.scope)
        },
    )
