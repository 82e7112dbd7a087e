"""Run-logger derived metrics (SPEC §5 observability), computed from the index.

Every figure is one grouped query or a pass over the latest QC and shot-list versions (each
read once), so the cost does not grow with history beyond the rows that matter. Consistency
(issue 13 §6, ``rules._consistency``): per character and per set, the share of accepted takes
whose face/wardrobe (set/lighting) scores are compliant, and the takes that are not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..rules._consistency import Consistency, consistency
from ._store import Store

QC_CATEGORIES = (
    "face_consistency",
    "wardrobe_consistency",
    "set_continuity",
    "prop_accuracy",
    "lighting_consistency",
    "motion_integrity",
    "audio_consistency",
)


@dataclass
class Metrics:
    """The derived metrics; zeros and empty tables where nothing has run yet."""

    runs: int = 0
    average_regens_per_shot: float = 0.0
    drift_frequency: dict[str, float] = field(default_factory=dict)
    cost_per_scene: dict[str, float] = field(default_factory=dict)
    tier_usage: dict[str, int] = field(default_factory=dict)
    failure_rate_per_model: dict[str, float] = field(default_factory=dict)
    common_qc_violations: list[tuple[str, int]] = field(default_factory=list)
    high_risk_shot_types: list[tuple[str, float]] = field(default_factory=list)
    character_consistency: list[Consistency] = field(default_factory=list)
    set_consistency: list[Consistency] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain data (``slate metrics --json``), consistency with its share."""
        data = asdict(self)
        for key in ("character_consistency", "set_consistency"):
            data[key] = [{**asdict(c), "share": c.share} for c in getattr(self, key)]
        return data


def _runlog_metrics(store: Store, m: Metrics) -> None:
    conn = store.conn
    m.runs = conn.execute("SELECT count(*) FROM runlog WHERE event = 'run'").fetchone()[0]
    regens = [
        r[0]
        for r in conn.execute(
            "SELECT max(CAST(regen_count AS INTEGER)) FROM runlog WHERE shot_id != '' "
            "AND event = 'run' GROUP BY shot_id"
        )
    ]
    m.average_regens_per_shot = sum(regens) / len(regens) if regens else 0.0
    m.cost_per_scene = {
        s: round(c, 6)
        for s, c in conn.execute(
            "SELECT scene_id, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE scene_id != '' "
            "AND event = 'spend' GROUP BY scene_id ORDER BY scene_id"
        )
    }
    m.tier_usage = dict(
        conn.execute(
            "SELECT tier, count(*) FROM runlog WHERE event = 'run' AND tier != '' "
            "GROUP BY tier ORDER BY tier"
        )
    )
    m.failure_rate_per_model = {
        model: round(fails / total, 4)
        for model, fails, total in conn.execute(
            "SELECT model_used, sum(outcome = 'FAIL'), count(*) FROM runlog WHERE event = 'run' "
            "AND model_used != '' GROUP BY model_used ORDER BY model_used"
        )
    }


def _latest_rows(store: Store, kind: str) -> list[Any]:
    """The rows of the latest version of every subject of a CSV kind, each file read once."""
    return [
        row
        for record in store.latest_of_each(kind)
        for row in getattr(store.load(record.name), "rows", [])
    ]


def _qc_metrics(rows: list[Any], shots: dict[str, Any], m: Metrics) -> None:
    if not rows:
        return
    drift: Counter[str] = Counter()
    for row in rows:
        for cat in QC_CATEGORIES:
            score = getattr(row, cat, None)
            if score is not None and score < 2:
                drift[cat] += 1
    m.drift_frequency = {c: round(drift[c] / len(rows), 4) for c in QC_CATEGORIES}
    m.common_qc_violations = drift.most_common()
    failed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for row in rows:
        shot = shots.get(row.shot_id)
        shot_type = shot.camera_type if shot is not None else "unknown"
        seen[shot_type] += 1
        failed[shot_type] += row.verdict != "PASS"
    m.high_risk_shot_types = sorted(
        ((t, round(failed[t] / seen[t], 4)) for t in seen), key=lambda item: (-item[1], item[0])
    )
    figures = consistency(rows, shots)
    m.character_consistency, m.set_consistency = figures.characters, figures.sets


def compute_metrics(store: Store) -> Metrics:
    """All derived metrics of SPEC §5's run-logger."""
    m = Metrics()
    _runlog_metrics(store, m)
    shots = {row.shot_id: row for row in _latest_rows(store, "SHOTLIST")}
    _qc_metrics(_latest_rows(store, "QC_BATCH"), shots, m)
    return m
