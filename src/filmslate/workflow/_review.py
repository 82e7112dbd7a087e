"""A person's verdict on a take (SPEC §1.8): approve or reject it, never silently.

The verdict is a QC row, as qc-grader's are: a new version of the scene's QC_BATCH in which
the shot's last row carries the person's verdict, their name, the reason and the cost impact
(approving a proxy lets its final render through; rejecting a take costs a new proxy), plus
a run-log row saying the same. Everything downstream reads the shot's last QC row, so the
verdict takes effect like a grader's would. `slate approve` / `slate reject` and the review
room of `slate serve` both call :func:`review_take`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from ..core._errors import ArtifactNotFound, UserError
from ..core._names import HERO_VISUAL, SHOT_RE, scene_of
from ..core._video_prices import video_cost
from ..engine._guards import HUMAN_REVIEW, graded
from ..engine._override import approver
from ..schemas import QcBatch, QcRow, ShotList, ShotRow
from ..skills.production._qc import QcGrader
from ..store import _runlog
from ..store._project import Project
from ..store._runlock import run_lock
from ..store._store import Record

__all__ = ["Review", "ReviewVerdict", "review_take", "take_cost_impact"]

ReviewVerdict = Literal["approve", "reject"]
QC_VERDICT = {"approve": "PASS", "reject": "FAIL"}
SKILL = HUMAN_REVIEW  # the run log's skill name for a person's verdict (a grade, _guards)


@dataclass(frozen=True)
class Review:
    """What a verdict wrote: the new QC_BATCH version, the take it judged, the money."""

    record: Record
    take: str
    verdict: str
    cost_impact: float
    currency: str


def review_take(
    project: Project, shot_id: str, verdict: ReviewVerdict, reason: str, approved_by: str = ""
) -> Review:
    """Record a person's verdict on the shot's latest take (a new QC_BATCH version)."""
    if verdict not in QC_VERDICT:
        raise UserError(f"a verdict is approve or reject, not {verdict!r}")
    if not reason.strip():
        raise UserError(f"to {verdict} a take, give --reason: say why, for the log")
    row = _shot_row(project, shot_id)
    take = project.store.latest("PROXY", shot_id)
    if take is None:
        raise ArtifactNotFound(
            f"{shot_id} has no take yet: render it first (`slate run render-proxy --shot "
            f"{shot_id}`)",
            shot=shot_id,
        )
    with run_lock(project.root, f"slate {verdict}"):  # no grader writes this batch meanwhile
        who = approved_by or approver()
        return _write(project, row, take, verdict, " ".join(reason.split()), who)


def take_cost_impact(project: Project, row: ShotRow, verdict: ReviewVerdict) -> float:
    """The money a verdict lets through: the final render an approved proxy unlocks (none
    when the final exists), or the new proxy a rejected take needs."""
    config = project.config
    model = str(getattr(config.visual, HERO_VISUAL[row.hero_tier]))
    if verdict == "approve":
        if project.store.latest("FINAL", row.shot_id) is not None:
            return 0.0
        return round(video_cost(config, model, "final", row.duration_s), 4)
    return round(video_cost(config, model, "proxy", row.duration_s), 4)


def _shot_row(project: Project, shot_id: str) -> ShotRow:
    if not SHOT_RE.fullmatch(shot_id):
        raise UserError(f"{shot_id!r} is not a shot id: expected one like S01_SH02")
    record = project.store.latest("SHOTLIST", scene_of(shot_id))
    shotlist = project.store.load(record.name) if record else None
    rows = (
        [r for r in shotlist.rows if r.shot_id == shot_id] if isinstance(shotlist, ShotList) else []
    )
    if not rows:
        raise ArtifactNotFound(
            f"no shot {shot_id} in the latest shot list of {scene_of(shot_id)}: "
            "`slate show SHOTLIST_" + scene_of(shot_id) + "` lists its shots",
            shot=shot_id,
        )
    return rows[0]


def _write(
    project: Project, row: ShotRow, take: Record, verdict: ReviewVerdict, reason: str, who: str
) -> Review:
    scene = scene_of(row.shot_id)
    record = project.store.latest("QC_BATCH", scene)
    batch = project.store.load(record.name) if record else None
    rows = list(batch.rows) if isinstance(batch, QcBatch) else []
    mine = [i for i, r in enumerate(rows) if r.shot_id == row.shot_id]
    if record is None or not mine or graded(project.store, QcGrader, row.shot_id) is None:
        raise UserError(
            f"{take.filename} has no QC row yet: grade it first (`slate run qc-grader --shot "
            f"{row.shot_id}`), then approve or reject it",
            shot=row.shot_id,
        )
    cost = take_cost_impact(project, row, verdict)
    currency = project.config.budget.currency
    said = (
        f"human {verdict} of {take.filename} by {who}: {reason} (cost impact {cost:.4f} {currency})"
    )
    last = rows[mine[-1]]
    notes = f"{said} | was {last.verdict}: {last.notes}"
    try:
        rows[mine[-1]] = QcRow.model_validate(
            {**last.model_dump(), "verdict": QC_VERDICT[verdict], "notes": notes}
        )
    except ValidationError as exc:
        raise UserError(f"the reason cannot go in a QC row: {exc.errors()[0]['msg']}") from None
    written = project.store.write(
        "QC_BATCH",
        scene,
        QcBatch(rows=rows),
        inputs=[record.filename, take.filename],
        entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            skill_name=SKILL,
            event="write",
            target=row.shot_id,
            scene_id=scene,
            shot_id=row.shot_id,
            model_used="human",
            tier="manual",
            estimated_cost=cost,
            outcome=QC_VERDICT[verdict],
            notes=said,
        ),
    )
    return Review(written, take.filename, QC_VERDICT[verdict], cost, currency)
