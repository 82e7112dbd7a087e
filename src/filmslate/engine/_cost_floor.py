"""The cost floor (issue 12 §9): what the accepted takes would have cost with no regeneration,
beside what was spent, per scene and for the film.

A shot's accepted take is its FINAL when that passed its gate, else a PROXY whose last QC row
is PASS (what assemble-cut uses). The zero-regen floor of an accepted shot is one clip of its
planned length from the model that rendered it, at each tier it went through: the proxy, and
the final when it has one (proxy first). The model is the one recorded with the shot's last
finished render job, else the ``[visual]`` model of its hero tier; the price is the catalogue's
(per clip, per second, ... of the snapped length) or ``[prices.video]`` per second.

The spend beside it is what the log's spend rows say: video (renders, tier ``visual_*``) and
everything (text calls included). The ratio is video spend over the floor: 1.0 is a film made
with no retake. Grouped queries and one pass over the shot lists: no history walk.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..core._errors import ConfigError
from ..core._visual_models import clip_price, tier_model
from ..rules._takes import last_qc_verdict
from ..schemas import QcBatch, ShotList, ShotRow
from ..store._project import Project
from ._stops import gate_of

__all__ = ["FloorLine", "FloorReport", "cost_floor"]


@dataclass
class FloorLine:
    """One scene's (or the film's) floor and spend."""

    scope: str
    shots: int = 0  # planned
    accepted: int = 0  # with an accepted take
    accepted_s: float = 0.0  # their planned seconds
    floor: float = 0.0
    video_spend: float = 0.0
    total_spend: float = 0.0
    unpriced: list[str] = field(default_factory=list)  # models with no price anywhere

    @property
    def ratio(self) -> float | None:
        """Video spend over the floor (None when the floor is zero)."""
        return self.video_spend / self.floor if self.floor > 0 else None

    def add(self, other: FloorLine) -> None:
        """Fold a scene into the film's line."""
        self.shots += other.shots
        self.accepted += other.accepted
        self.accepted_s += other.accepted_s
        self.floor += other.floor
        self.video_spend += other.video_spend
        self.total_spend += other.total_spend
        self.unpriced += [m for m in other.unpriced if m not in self.unpriced]


@dataclass
class FloorReport:
    """Every scene's line in shot-list order, and the film's."""

    scenes: list[FloorLine]
    film: FloorLine
    currency: str


def cost_floor(project: Project) -> FloorReport:
    """The floor and the spend of every scene with a shot list, and of the film."""
    store, config = project.store, project.config
    models = _rendered_models(project)
    video, total = _spend_by_scene(project)
    scenes: list[FloorLine] = []
    for record in sorted(store.latest_of_each("SHOTLIST"), key=lambda r: r.name.subject or ""):
        shotlist = store.load(record.name)
        if not isinstance(shotlist, ShotList):
            continue
        scene = record.name.subject or ""
        line = FloorLine(
            scene, video_spend=video.get(scene, 0.0), total_spend=total.get(scene, 0.0)
        )
        batch = _qc_batch(project, scene)
        for row in shotlist.rows:
            line.shots += 1
            tiers = _accepted_tiers(project, row, batch)
            if not tiers:
                continue
            line.accepted += 1
            line.accepted_s += row.duration_s
            for tier in tiers:
                model = models.get((row.shot_id, tier)) or tier_model(config, row.hero_tier)
                try:
                    line.floor += clip_price(config, model, tier, row.duration_s)
                except ConfigError:
                    if model not in line.unpriced:
                        line.unpriced.append(model)
        scenes.append(line)
    film = FloorLine("FILM")
    for line in scenes:
        film.add(line)
    # spend booked on the film as a whole (no scene) still counts for the film
    film.video_spend += video.get("", 0.0)
    film.total_spend += total.get("", 0.0)
    return FloorReport(scenes, film, config.budget.currency)


def _accepted_tiers(project: Project, row: ShotRow, batch: QcBatch | None) -> tuple[str, ...]:
    """The tiers the shot's accepted take went through: (proxy, final), (proxy,) or none."""
    store = project.store
    final = store.latest("FINAL", row.shot_id)
    final_ok = final is not None and gate_of(project, final.filename) == "PASS"
    if final is not None and final_ok and not store.stale_inputs(final.name):
        return ("proxy", "final")
    proxy = store.latest("PROXY", row.shot_id)
    passed = last_qc_verdict(batch, row.shot_id) == "PASS"
    return ("proxy",) if proxy and passed and not store.stale_inputs(proxy.name) else ()


def _qc_batch(project: Project, scene: str) -> QcBatch | None:
    record = project.store.latest("QC_BATCH", scene)
    batch = project.store.load(record.name) if record else None
    return batch if isinstance(batch, QcBatch) else None


def _rendered_models(project: Project) -> dict[tuple[str, str], str]:
    """(shot, tier) -> the model of the shot's last finished render job at that tier."""
    conn = project.store.conn
    known = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'render_jobs'").fetchone()
    if known is None:  # nothing was ever rendered
        return {}
    rows = conn.execute(
        "SELECT shot_id, resolution, provider FROM render_jobs WHERE state = 'done' ORDER BY rowid"
    ).fetchall()
    return {(shot, tier): model for shot, tier, model in rows}


def _spend_by_scene(project: Project) -> tuple[dict[str, float], dict[str, float]]:
    """Scene -> video spend, and scene -> all spend, from the log's spend rows."""
    video: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    for scene, tier, cost in project.store.conn.execute(
        "SELECT scene_id, tier, sum(CAST(actual_cost AS REAL)) FROM runlog "
        "WHERE event = 'spend' GROUP BY scene_id, tier"
    ):
        total[scene or ""] += float(cost or 0.0)
        if str(tier or "").startswith("visual_"):
            video[scene or ""] += float(cost or 0.0)
    return video, total
