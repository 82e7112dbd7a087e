"""The budget page's facts, read from the store, never written.

The cap table is budget-gates' own BUDGET_STATUS, produced from the runner's read-only budget
view (``engine._budget_view``) exactly as `slate budget` produces it, only not stored: the
page shows the numbers `slate budget` prints. The ledger adds what the status leaves out
(settled and reserved apart); the run log's spend rows give the charts, each a grouped query.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core._budget import CapState
from ..engine._budget_view import budget_view
from ..engine._skill import Context, Inputs
from ..engine._stops import HardStopRow, all_open_hard_stops
from ..schemas import BudgetStatus, CostReport
from ..skills.governance._governance import BudgetGates
from ..store._ledger import Ledger
from ..store._project import Project

__all__ = ["MAX_POINTS", "BudgetPage", "budget_page", "budget_status"]

MAX_POINTS = 200  # spend over time: at most this many points, however long the log


@dataclass(frozen=True)
class SceneMoney:
    """A scene's projection (its latest COST_REPORT: video, vision and speech) beside what it
    spent on those same tiers, and all it spent (text models too)."""

    scene: str
    projected: float | None
    actual: float  # on the projected tiers only: like with like
    spent: float = 0.0  # every tier, the text models' too


@dataclass(frozen=True)
class BudgetPage:
    """Everything the budget page shows."""

    currency: str
    warn_pct: float
    stop_pct: float
    status: BudgetStatus
    caps: list[CapState]
    stops: list[HardStopRow]
    over_time: list[tuple[str, float]]  # (timestamp, cumulative spend)
    by_tier: dict[str, float]
    by_scene: dict[str, float]
    by_skill: dict[str, float]
    scenes: list[SceneMoney]
    recommendations: list[tuple[str, list[str]]]  # (COST_REPORT file, its advice)

    @property
    def scene_pairs(self) -> list[tuple[str, float | None, float]]:
        """(scene, projected, actual) for the chart."""
        return [(m.scene, m.projected, m.actual) for m in self.scenes]


def budget_status(project: Project) -> BudgetStatus:
    """BUDGET_STATUS as `slate budget` would write it now (budget-gates' produce, unstored)."""
    view = budget_view(project, Ledger(project.store, project.config))
    ctx = Context("PROJECT", Inputs(), project.config, params={"budget_view": view})
    status = BudgetGates().produce(ctx)[0]
    assert isinstance(status, BudgetStatus)
    return status


def budget_page(project: Project) -> BudgetPage:
    """The facts of the budget page."""
    budget = project.config.budget
    return BudgetPage(
        currency=budget.currency,
        warn_pct=budget.warn_pct,
        stop_pct=budget.stop_pct,
        status=budget_status(project),
        caps=Ledger(project.store, project.config).states(),
        stops=[s for s in all_open_hard_stops(project) if s.kind == "budget"],
        over_time=_over_time(project),
        by_tier=_spend_by(project, "tier"),
        by_scene=_spend_by(project, "scene_id"),
        by_skill=_spend_by(project, "skill_name"),
        scenes=_scene_money(project),
        recommendations=_recommendations(project),
    )


def _spend_by(project: Project, column: str) -> dict[str, float]:
    assert column in ("tier", "scene_id", "skill_name")  # a column name, never user input
    rows = project.store.conn.execute(
        f"SELECT {column}, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend' "
        f"GROUP BY {column} ORDER BY {column}"
    )
    unnamed = "project (no scene)" if column == "scene_id" else "none"
    return {(key or unnamed): round(float(total), 6) for key, total in rows}


# the run-log tiers a COST_REPORT projects: the video tiers, the vision checks, the voices
PROJECTED_TIERS = "(tier LIKE 'visual\\_%' ESCAPE '\\' OR tier IN ('vision', 'speech'))"


def _projected_spend(project: Project) -> dict[str, float]:
    """Each scene's spend on the tiers its cost report projects (one grouped query)."""
    rows = project.store.conn.execute(
        "SELECT scene_id, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend' "
        f"AND {PROJECTED_TIERS} GROUP BY scene_id"
    )
    return {str(key): round(float(total), 6) for key, total in rows}


def _over_time(project: Project) -> list[tuple[str, float]]:
    """Cumulative spend in at most MAX_POINTS steps (grouped in SQL by row number)."""
    conn = project.store.conn
    last = conn.execute("SELECT coalesce(max(seq), 0) FROM runlog").fetchone()[0]
    step = max(1, -(-int(last) // MAX_POINTS))
    rows = conn.execute(
        "SELECT max(timestamp), sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = "
        "'spend' GROUP BY seq / ? ORDER BY seq / ?",
        (step, step),
    )
    points, total = [], 0.0
    for stamp, amount in rows:
        total += float(amount)
        points.append((str(stamp), round(total, 6)))
    return points


def _scene_ids(project: Project) -> list[str]:
    from ..engine._readiness import scene_rows

    return [row.scene_id for row in scene_rows(project)]


def _scene_money(project: Project) -> list[SceneMoney]:
    spent, like = _spend_by(project, "scene_id"), _projected_spend(project)
    out = []
    for scene in _scene_ids(project):
        record = project.store.latest("COST_REPORT", scene)
        report = project.store.load(record.name) if record else None
        projected = report.projected_total if isinstance(report, CostReport) else None
        out.append(SceneMoney(scene, projected, like.get(scene, 0.0), spent.get(scene, 0.0)))
    return out


def _recommendations(project: Project) -> list[tuple[str, list[str]]]:
    """The latest cost report of PROJECT and of each scene, with their advice."""
    out = []
    for record in project.store.latest_of_each("COST_REPORT"):
        report = project.store.load(record.name)
        if isinstance(report, CostReport):
            advice = [*report.reduction_recommendations, *report.tier_reallocation_suggestions]
            out.append((record.filename, advice))
    return out
